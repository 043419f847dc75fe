import EqnnKernels

/// Loops over every entry of an activation, run by the C kernels of EqnnKernels
/// for Float and Double (branch-free and vectorized: Swift's relu compiled to a
/// branch per entry, mispredicted on half of them), by Swift loops otherwise.
enum Elementwise {
    /// x = max(x, 0), NaN kept.
    static func relu<T: BinaryFloatingPoint>(_ x: inout [T]) {
        x.withUnsafeMutableBufferPointer { v in
            guard let p = v.baseAddress else { return }
            if T.self == Float.self { return p.withMemoryRebound(to: Float.self, capacity: v.count) { eqnn_relu_s($0, v.count) } }
            if T.self == Double.self { return p.withMemoryRebound(to: Double.self, capacity: v.count) { eqnn_relu_d($0, v.count) } }
            for i in v.indices { v[i] = v[i] < 0 ? 0 : v[i] }
        }
    }

    /// dy = 0 where y <= 0 (or NaN): relu's backward, read from its output y.
    static func reluBackward<T: BinaryFloatingPoint>(output y: [T], _ dy: inout [T]) {
        let n = min(y.count, dy.count)
        y.withUnsafeBufferPointer { yv in
            dy.withUnsafeMutableBufferPointer { d in
                guard let yp = yv.baseAddress, let dp = d.baseAddress else { return }
                if T.self == Float.self {
                    return yp.withMemoryRebound(to: Float.self, capacity: n) { y in
                        dp.withMemoryRebound(to: Float.self, capacity: n) { eqnn_relu_backward_s(y, $0, n) }
                    }
                }
                if T.self == Double.self {
                    return yp.withMemoryRebound(to: Double.self, capacity: n) { y in
                        dp.withMemoryRebound(to: Double.self, capacity: n) { eqnn_relu_backward_d(y, $0, n) }
                    }
                }
                for i in 0..<n { d[i] = yv[i] > 0 ? d[i] : 0 }
            }
        }
    }

    /// Adds `bias` (d entries) to every row of x (rows of d entries).
    static func addRows<T: BinaryFloatingPoint>(_ x: inout [T], _ bias: [T]) {
        let d = bias.count
        guard d > 0 else { return }
        let rows = x.count / d
        bias.withUnsafeBufferPointer { bv in
            x.withUnsafeMutableBufferPointer { v in
                guard let bp = bv.baseAddress, let xp = v.baseAddress else { return }
                if T.self == Float.self {
                    return bp.withMemoryRebound(to: Float.self, capacity: d) { b in
                        xp.withMemoryRebound(to: Float.self, capacity: v.count) { eqnn_add_rows_s($0, b, rows, d) }
                    }
                }
                if T.self == Double.self {
                    return bp.withMemoryRebound(to: Double.self, capacity: d) { b in
                        xp.withMemoryRebound(to: Double.self, capacity: v.count) { eqnn_add_rows_d($0, b, rows, d) }
                    }
                }
                for r in 0..<rows { for c in 0..<d { v[r * d + c] += bv[c] } }
            }
        }
    }

    /// The sum over x's rows (of d entries) of each column, in double precision.
    static func columnSums<T: BinaryFloatingPoint>(_ x: [T], columns d: Int) -> [Double] {
        var sums = [Double](repeating: 0, count: d)
        guard d > 0 else { return sums }
        let rows = x.count / d
        x.withUnsafeBufferPointer { xv in
            sums.withUnsafeMutableBufferPointer { s in
                guard let xp = xv.baseAddress, let out = s.baseAddress else { return }
                if T.self == Float.self { return xp.withMemoryRebound(to: Float.self, capacity: xv.count) { eqnn_column_sums_s($0, rows, d, out) } }
                if T.self == Double.self { return xp.withMemoryRebound(to: Double.self, capacity: xv.count) { eqnn_column_sums_d($0, rows, d, out) } }
                for r in 0..<rows { for c in 0..<d { s[c] += Double(xv[r * d + c]) } }
            }
        }
        return sums
    }
}

extension Elementwise {
    /// Mean pooling of one sample: y[target[r]] += share x[r] for `rows` rows of d entries.
    static func poolRows<T: BinaryFloatingPoint>(_ x: UnsafePointer<T>, rows: Int, width d: Int, target: UnsafePointer<Int>, share: T,
                                                 into y: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            return x.withMemoryRebound(to: Float.self, capacity: rows * d) { x in
                y.withMemoryRebound(to: Float.self, capacity: 1) { eqnn_pool_rows_s(x, rows, d, target, Float(share), $0) }
            }
        }
        if T.self == Double.self {
            return x.withMemoryRebound(to: Double.self, capacity: rows * d) { x in
                y.withMemoryRebound(to: Double.self, capacity: 1) { eqnn_pool_rows_d(x, rows, d, target, Double(share), $0) }
            }
        }
        for r in 0..<rows { for c in 0..<d { y[target[r] * d + c] += share * x[r * d + c] } }
    }

    /// Its backward: dx[r] = share dy[target[r]].
    static func unpoolRows<T: BinaryFloatingPoint>(_ dy: UnsafePointer<T>, rows: Int, width d: Int, target: UnsafePointer<Int>, share: T,
                                                   into dx: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            return dy.withMemoryRebound(to: Float.self, capacity: 1) { dy in
                dx.withMemoryRebound(to: Float.self, capacity: rows * d) { eqnn_unpool_rows_s(dy, rows, d, target, Float(share), $0) }
            }
        }
        if T.self == Double.self {
            return dy.withMemoryRebound(to: Double.self, capacity: 1) { dy in
                dx.withMemoryRebound(to: Double.self, capacity: rows * d) { eqnn_unpool_rows_d(dy, rows, d, target, Double(share), $0) }
            }
        }
        for r in 0..<rows { for c in 0..<d { dx[r * d + c] = share * dy[target[r] * d + c] } }
    }
}

extension Elementwise {
    /// A convolution's offset-major neighbourhoods of `rows` (row = sample * positions +
    /// position): columns[t][o] = the channels of neighbour table[position * offsets + o] of
    /// the same sample, zeros where it is -1 (outside the grid).
    static func gather<T: BinaryFloatingPoint>(_ x: UnsafePointer<T>, channels: Int, table: [Int], offsets: Int, positions: Int,
                                               rows: Range<Int>, into columns: UnsafeMutablePointer<T>) {
        table.withUnsafeBufferPointer { tp in
            guard let t = tp.baseAddress else { return }
            if T.self == Float.self {
                return x.withMemoryRebound(to: Float.self, capacity: 1) { x in
                    columns.withMemoryRebound(to: Float.self, capacity: 1) {
                        eqnn_gather_s(x, channels, t, offsets, positions, rows.lowerBound, rows.count, $0)
                    }
                }
            }
            if T.self == Double.self {
                return x.withMemoryRebound(to: Double.self, capacity: 1) { x in
                    columns.withMemoryRebound(to: Double.self, capacity: 1) {
                        eqnn_gather_d(x, channels, t, offsets, positions, rows.lowerBound, rows.count, $0)
                    }
                }
            }
            for (i, row) in rows.enumerated() {
                let sample = row / positions, base = x + sample * positions * channels
                for o in 0..<offsets {
                    let q = t[(row - sample * positions) * offsets + o], out = columns + (i * offsets + o) * channels
                    if q < 0 { out.update(repeating: 0, count: channels) } else { out.update(from: base + q * channels, count: channels) }
                }
            }
        }
    }

    /// The adjoint of `gather`: adds each neighbourhood's gradient onto dx.
    static func scatter<T: BinaryFloatingPoint>(_ columns: UnsafePointer<T>, channels: Int, table: [Int], offsets: Int, positions: Int,
                                                rows: Range<Int>, into dx: UnsafeMutablePointer<T>) {
        table.withUnsafeBufferPointer { tp in
            guard let t = tp.baseAddress else { return }
            if T.self == Float.self {
                return columns.withMemoryRebound(to: Float.self, capacity: 1) { c in
                    dx.withMemoryRebound(to: Float.self, capacity: 1) {
                        eqnn_scatter_s(c, channels, t, offsets, positions, rows.lowerBound, rows.count, $0)
                    }
                }
            }
            if T.self == Double.self {
                return columns.withMemoryRebound(to: Double.self, capacity: 1) { c in
                    dx.withMemoryRebound(to: Double.self, capacity: 1) {
                        eqnn_scatter_d(c, channels, t, offsets, positions, rows.lowerBound, rows.count, $0)
                    }
                }
            }
            for (i, row) in rows.enumerated() {
                let sample = row / positions, base = dx + sample * positions * channels
                for o in 0..<offsets {
                    let q = t[(row - sample * positions) * offsets + o], source = columns + (i * offsets + o) * channels
                    guard q >= 0 else { continue }
                    for c in 0..<channels { base[q * channels + c] += source[c] }
                }
            }
        }
    }
}
