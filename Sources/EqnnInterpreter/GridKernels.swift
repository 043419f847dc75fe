import EqnnIR

/// Positions of a d-dimensional grid, row-major (the last axis fastest), and
/// the neighbourhoods a convolution reads. Rows of an activation are
/// (sample, position) pairs: row = sample * positions + position.
public struct GridGeometry: Sendable {
    public let extents: [Int]
    /// Row-major: position p's coordinate on axis a is p / strides[a] % extents[a].
    public let strides: [Int]
    public let positions: Int
    public let circular: Bool

    public init(_ extents: [Int], circular: Bool) {
        self.extents = extents
        self.circular = circular
        var strides = [Int](repeating: 1, count: extents.count)
        for a in stride(from: extents.count - 2, through: 0, by: -1) { strides[a] = strides[a + 1] * extents[a + 1] }
        self.strides = strides
        positions = extents.reduce(1, *)
    }

    /// The offsets of a kernel in the IR's order (Convolution.offsetVectors), flattened: offset o, axis a at o * d + a.
    func offsets(kernel: Int) -> [Int] {
        Convolution.offsetVectors(kernel: kernel, dimension: extents.count).flatMap { $0 }
    }

    /// The position at each offset around `position` into `out`, -1 outside
    /// the grid (zero padding). `coordinates` is scratch of one entry per axis.
    func neighbours(of position: Int, offsets: [Int], into out: inout [Int], coordinates: inout [Int]) {
        let d = extents.count
        var rest = position
        for a in 0..<d {
            coordinates[a] = rest / strides[a]
            rest %= strides[a]
        }
        for o in out.indices {
            var index = 0
            for a in 0..<d {
                var c = coordinates[a] &+ offsets[o &* d &+ a]
                if c < 0 || c >= extents[a] {
                    guard circular else { index = -1; break }
                    c = ((c % extents[a]) + extents[a]) % extents[a]
                }
                index &+= c &* strides[a]
            }
            out[o] = index
        }
    }
}

extension GridGeometry {
    /// For every position and offset of a kernel (entry position * K + o), the
    /// neighbour's position, -1 outside the grid: built once per convolution
    /// and grid, read by every sample's gather and scatter.
    func neighbourTable(kernel: Int) -> [Int] {
        let vectors = offsets(kernel: kernel), count = vectors.count / max(1, extents.count)
        var table = [Int](repeating: -1, count: positions * count)
        var row = [Int](repeating: 0, count: count), coordinates = extents
        for q in 0..<positions {
            neighbours(of: q, offsets: vectors, into: &row, coordinates: &coordinates)
            for o in 0..<count { table[q * count + o] = row[o] }
        }
        return table
    }
}

enum GridKernels {
    /// Gathers the neighbourhoods of rows `rows` into `columns`: column c * K + o as
    /// the IR orders them, or o * C + c (`offsetMajor`: each neighbour's channels
    /// copied whole; for the dense form, whose weights the executable reorders).
    /// `table` is `grid.neighbourTable(kernel: c.kernel)`.
    static func gatherNeighbourhoods<T: BinaryFloatingPoint>(_ c: Convolution, _ grid: GridGeometry, table: [Int], x: UnsafePointer<T>,
                                                            rows: Range<Int>, into columns: UnsafeMutablePointer<T>,
                                                            offsetMajor: Bool = false) {
        let offsets = c.offsets, channels = c.channels
        guard !offsetMajor else {
            return Elementwise.gather(x, channels: channels, table: table, offsets: offsets, positions: grid.positions, rows: rows, into: columns)
        }
        forEachRow(rows, c, grid, table: table) { t, start in
            // Channel by channel, so that the writes of a row are contiguous.
            var out = columns + t &* channels &* offsets
            for ch in 0..<channels {
                for o in 0..<offsets {
                    let q = start[o]
                    out[o] = q < 0 ? 0 : x[q &+ ch]
                }
                out += offsets
            }
        }
    }

    /// The adjoint of the gather: adds each neighbourhood's gradient back onto its positions.
    static func scatterNeighbourhoods<T: BinaryFloatingPoint>(_ c: Convolution, _ grid: GridGeometry, table: [Int], columns: UnsafePointer<T>,
                                                               rows: Range<Int>, into dx: UnsafeMutablePointer<T>,
                                                               offsetMajor: Bool = false) {
        let offsets = c.offsets, channels = c.channels
        guard !offsetMajor else {
            return Elementwise.scatter(columns, channels: channels, table: table, offsets: offsets, positions: grid.positions, rows: rows, into: dx)
        }
        forEachRow(rows, c, grid, table: table) { t, start in
            var source = columns + t &* channels &* offsets
            for ch in 0..<channels {
                for o in 0..<offsets {
                    let q = start[o]
                    if q >= 0 { dx[q &+ ch] += source[o] }
                }
                source += offsets
            }
        }
    }

    /// Calls `body(t, sources)` for the t-th row of `rows`, sources[o] the index of the
    /// first channel of its neighbour at offset o in the activation, -1 outside the grid.
    @inline(__always)
    static func forEachRow(_ rows: Range<Int>, _ c: Convolution, _ grid: GridGeometry, table: [Int],
                           _ body: (Int, UnsafeMutablePointer<Int>) -> Void) {
        let offsets = c.offsets, channels = c.channels
        var sources = [Int](repeating: 0, count: offsets)
        sources.withUnsafeMutableBufferPointer { buffer in
            guard let start = buffer.baseAddress else { return }
            for (t, row) in rows.enumerated() {
                let sample = row / grid.positions, first = (row % grid.positions) &* offsets
                for o in 0..<offsets {
                    let q = table[first &+ o]
                    start[o] = q < 0 ? -1 : (sample &* grid.positions &+ q) &* channels
                }
                body(t, start)
            }
        }
    }

    /// Mean pooling of `samples` grids: returns the pooled values and extents.
    static func poolForward<T: BinaryFloatingPoint>(_ p: Pool, _ x: [T], samples: Int, extents: [Int]) -> (values: [T], extents: [Int]) {
        let channels = p.channels
        let grid = GridGeometry(extents, circular: false)
        let (outExtents, target) = poolTargets(p.pooling, grid)
        let outPositions = outExtents.reduce(1, *)
        let share = T(Double(outPositions) / Double(grid.positions))
        var y = [T](repeating: 0, count: samples * outPositions * channels)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                target.withUnsafeBufferPointer { tp in
                    guard let xa = xp.baseAddress, let ya = yp.baseAddress, let ta = tp.baseAddress else { return }
                    for s in 0..<samples {
                        Elementwise.poolRows(xa + s * grid.positions * channels, rows: grid.positions, width: channels, target: ta, share: share,
                                             into: ya + s * outPositions * channels)
                    }
                }
            }
        }
        return (y, outExtents)
    }

    /// dx at every position is dy of its pooled position, times the mean's weight.
    static func poolBackward<T: BinaryFloatingPoint>(_ p: Pool, _ dy: [T], samples: Int, extents: [Int]) -> [T] {
        let channels = p.channels
        let grid = GridGeometry(extents, circular: false)
        let (outExtents, target) = poolTargets(p.pooling, grid)
        let outPositions = outExtents.reduce(1, *)
        let share = T(Double(outPositions) / Double(grid.positions))
        var dx = [T](repeating: 0, count: samples * grid.positions * channels)
        dy.withUnsafeBufferPointer { dyp in
            dx.withUnsafeMutableBufferPointer { dxp in
                target.withUnsafeBufferPointer { tp in
                    guard let dya = dyp.baseAddress, let dxa = dxp.baseAddress, let ta = tp.baseAddress else { return }
                    for s in 0..<samples {
                        Elementwise.unpoolRows(dya + s * outPositions * channels, rows: grid.positions, width: channels, target: ta,
                                               share: share, into: dxa + s * grid.positions * channels)
                    }
                }
            }
        }
        return dx
    }

    /// The pooled extents and, for every position, the pooled position it falls in.
    /// (The extents were checked against the pool size before running.)
    static func poolTargets(_ pooling: Pooling, _ grid: GridGeometry) -> ([Int], [Int]) {
        switch pooling {
        case .global, .sum:  // sums pool points only (PointKernels): the checker keeps them off grids
            return ([], [Int](repeating: 0, count: grid.positions))
        case .mean(let size):
            let out = grid.extents.map { $0 / size }
            var outStrides = [Int](repeating: 1, count: out.count)
            for a in stride(from: out.count - 2, through: 0, by: -1) { outStrides[a] = outStrides[a + 1] * out[a + 1] }
            let target = (0..<grid.positions).map { q in
                var rest = q, index = 0
                for a in grid.extents.indices {
                    index += (rest / grid.strides[a]) / size * outStrides[a]
                    rest %= grid.strides[a]
                }
                return index
            }
            return (out, target)
        }
    }
}
