import EqnnIR

/// Samples of a network on point clouds, as the data lay them out: every
/// sample's points one after another, `counts[s]` of them for sample s, each
/// with a position in R^dimension (`positions`, total x dimension, row-major).
public struct PointBatch: Sendable, Equatable {
    public var counts: [Int]
    public var positions: [Double]
    public var dimension: Int
    /// Where each sample's points start, and the total after the last.
    public let starts: [Int]

    public init(counts: [Int], positions: [Double], dimension: Int) {
        self.counts = counts
        self.positions = positions
        self.dimension = dimension
        var starts = [0]
        for c in counts { starts.append((starts.last ?? 0) + c) }
        self.starts = starts
    }

    public var samples: Int { counts.count }
    public var total: Int { starts.last ?? 0 }

    /// Each sample's number of (directed) pairs closer than `radius`: what a training batch keeps per message op.
    public func pairCounts(radius: Double) -> [Int] {
        (0..<samples).map { s in
            let sample = starts[s]..<starts[s + 1]
            guard sample.count > 1 else { return 0 }
            return Neighbours.counts(self, radius: radius, receivers: sample, index: CellIndex(self, sample: sample, radius: radius)).reduce(0, +)
        }
    }

    /// Samples `range` alone (their points first).
    public func slice(_ range: Range<Int>) -> PointBatch {
        let (first, last) = (starts[range.lowerBound], starts[range.upperBound])
        return PointBatch(counts: Array(counts[range]), positions: Array(positions[(first * dimension)..<(last * dimension)]),
                          dimension: dimension)
    }

    /// The samples `indices`, in that order, with their rows of `values` (width per point).
    public func gather(_ indices: [Int], _ values: [Double], width: Int) -> (batch: PointBatch, values: [Double]) {
        var counts: [Int] = [], positions: [Double] = [], rows: [Double] = []
        for s in indices {
            counts.append(self.counts[s])
            positions += self.positions[(starts[s] * dimension)..<(starts[s + 1] * dimension)]
            rows += values[(starts[s] * width)..<(starts[s + 1] * width)]
        }
        return (PointBatch(counts: counts, positions: positions, dimension: dimension), rows)
    }
}

/// The points of one sample by cells of side `radius`: a point's neighbours lie in
/// the 3^d cells around its own, so finding them takes time independent of the
/// sample's size at a fixed density. Small samples (and d > 3) keep all pairs.
struct CellIndex {
    let points: Range<Int>
    let dimension: Int
    let radius: Double
    /// nil: every point of the sample is a candidate.
    let cells: [[Int]: [Int]]?
    let around: [[Int]]

    init(_ batch: PointBatch, sample points: Range<Int>, radius: Double) {
        self.points = points
        dimension = batch.dimension
        self.radius = radius
        var around: [[Int]] = [[]]
        for _ in 0..<batch.dimension { around = around.flatMap { prefix in [-1, 0, 1].map { prefix + [$0] } } }
        self.around = around
        guard points.count > 64, batch.dimension <= 3 else {
            cells = nil
            return
        }
        var cells: [[Int]: [Int]] = [:]
        for i in points { cells[CellIndex.cell(batch, i, radius), default: []].append(i) }
        self.cells = cells
    }

    /// The points of a sample sorted by cell (lexicographically), each cell's in their order.
    static func cellOrder(_ batch: PointBatch, sample: Range<Int>, radius: Double) -> [Int] {
        let keys = sample.map { cell(batch, $0, radius) }
        return sample.sorted { a, b in
            let (ka, kb) = (keys[a - sample.lowerBound], keys[b - sample.lowerBound])
            return ka == kb ? a < b : ka.lexicographicallyPrecedes(kb)
        }
    }

    /// The cell of point i; coordinates beyond 2^40 cells share the edge cells (which only costs time).
    static func cell(_ batch: PointBatch, _ i: Int, _ radius: Double) -> [Int] {
        (0..<batch.dimension).map { a in
            let q = (batch.positions[i * batch.dimension + a] / radius).rounded(.down)
            return q.isFinite ? Int(max(-1e12, min(1e12, q))) : 0
        }
    }

    /// The points that may lie within the radius of point i (i among them), each once (the
    /// cells are disjoint), in increasing order when `sorted`.
    func candidates(_ batch: PointBatch, of i: Int, sorted: Bool = true) -> [Int] {
        guard let cells else { return Array(points) }
        let home = CellIndex.cell(batch, i, radius)
        var found: [Int] = []
        var visited: Set<[Int]> = []
        for offset in around {
            let key = zip(home, offset).map { $0 + $1 }
            guard visited.insert(key).inserted, let members = cells[key] else { continue }
            found += members
        }
        return sorted ? found.sorted() : found
    }
}

/// The directed pairs (i receives from j) of points of one sample closer than
/// a radius, for the receivers in `receivers` (every point without), sorted by
/// i then j, with r_ij = pos_j - pos_i.
struct Neighbours {
    var receivers: [Int] = []
    var senders: [Int] = []
    /// r_ij per pair (pairs x dimension).
    var differences: [Double] = []
    var distances: [Double] = []

    init(_ batch: PointBatch, radius: Double, receivers range: Range<Int>? = nil, index: CellIndex? = nil) {
        let range = range ?? 0..<batch.total
        for s in 0..<batch.samples {
            let (first, last) = (batch.starts[s], batch.starts[s + 1])
            let (low, high) = (max(first, range.lowerBound), min(last, range.upperBound))
            guard low < high, last - first > 1 else { continue }
            let cells = index.flatMap { $0.points == first..<last ? $0 : nil } ?? CellIndex(batch, sample: first..<last, radius: radius)
            for i in low..<high {
                for j in cells.candidates(batch, of: i) where j != i { consider(batch, i, j, radius) }
            }
        }
    }

    /// How many points within the radius each point of `receivers` (a range of one
    /// sample's points) has: what sizes the pieces of a forward pass, before any pair is stored.
    static func counts(_ batch: PointBatch, radius: Double, receivers: Range<Int>, index: CellIndex) -> [Int] {
        let d = batch.dimension
        return receivers.map { i in
            index.candidates(batch, of: i, sorted: false).reduce(0) { count, j in
                guard j != i else { return count }
                var squares = 0.0
                for a in 0..<d {
                    let diff = batch.positions[j * d + a] - batch.positions[i * d + a]
                    squares += diff * diff
                }
                return squares.squareRoot() < radius ? count + 1 : count
            }
        }
    }

    private mutating func consider(_ batch: PointBatch, _ i: Int, _ j: Int, _ radius: Double) {
        let d = batch.dimension
        var squares = 0.0
        for a in 0..<d {
            let diff = batch.positions[j * d + a] - batch.positions[i * d + a]
            squares += diff * diff
        }
        let r = squares.squareRoot()
        guard r < radius else { return }
        receivers.append(i)
        senders.append(j)
        for a in 0..<d { differences.append(batch.positions[j * d + a] - batch.positions[i * d + a]) }
        distances.append(r)
    }

    var count: Int { receivers.count }
}

/// Pooling over each sample's points: `pool sum` adds them, `pool mean` (global) averages them,
/// by the grids' pool kernels with every point of a sample pooled into its one row.
enum PointKernels {
    static func poolForward<T: BinaryFloatingPoint>(_ p: Pool, _ x: [T], _ points: PointBatch) -> [T] {
        let channels = p.channels, target = [Int](repeating: 0, count: points.counts.max() ?? 0)
        var y = [T](repeating: 0, count: points.samples * channels)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                target.withUnsafeBufferPointer { tp in
                    guard let xa = xp.baseAddress, let ya = yp.baseAddress, let ta = tp.baseAddress else { return }
                    for s in 0..<points.samples {
                        Elementwise.poolRows(xa + points.starts[s] * channels, rows: points.counts[s], width: channels, target: ta,
                                             share: share(p, points.counts[s]), into: ya + s * channels)
                    }
                }
            }
        }
        return y
    }

    static func poolBackward<T: BinaryFloatingPoint>(_ p: Pool, _ dy: [T], _ points: PointBatch) -> [T] {
        let channels = p.channels, target = [Int](repeating: 0, count: points.counts.max() ?? 0)
        var dx = [T](repeating: 0, count: points.total * channels)
        dy.withUnsafeBufferPointer { dyp in
            dx.withUnsafeMutableBufferPointer { dxp in
                target.withUnsafeBufferPointer { tp in
                    guard let dya = dyp.baseAddress, let dxa = dxp.baseAddress, let ta = tp.baseAddress else { return }
                    for s in 0..<points.samples {
                        Elementwise.unpoolRows(dya + s * channels, rows: points.counts[s], width: channels, target: ta,
                                               share: share(p, points.counts[s]), into: dxa + points.starts[s] * channels)
                    }
                }
            }
        }
        return dx
    }

    /// Each point's weight in its sample's pool (a sample without points pools to zero).
    static func share<T: BinaryFloatingPoint>(_ p: Pool, _ count: Int) -> T {
        p.pooling == .sum ? 1 : 1 / T(max(1, count))
    }
}
