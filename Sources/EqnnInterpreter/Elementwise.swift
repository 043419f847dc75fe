import EqnnKernels

/// Loops over every entry of an activation, run by the C kernels of EqnnKernels
/// for Float and Double (branch-free and vectorized: Swift's relu compiled to a
/// branch per entry, mispredicted on half of them), by Swift loops otherwise.
enum Elementwise {
    /// Runs the C kernel for T's precision on a read and a written pointer (of `readCount` and
    /// `writtenCount` entries; 1 where the kernel indexes on its own), seen as Float or Double;
    /// false where T is neither, for the caller's Swift loop.
    static func inC<T>(_ read: UnsafePointer<T>, _ readCount: Int, _ written: UnsafeMutablePointer<T>, _ writtenCount: Int,
                       float: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                       double: (UnsafePointer<Double>, UnsafeMutablePointer<Double>) -> Void) -> Bool {
        if T.self == Float.self {
            read.withMemoryRebound(to: Float.self, capacity: readCount) { r in
                written.withMemoryRebound(to: Float.self, capacity: writtenCount) { float(r, $0) }
            }
            return true
        }
        if T.self == Double.self {
            read.withMemoryRebound(to: Double.self, capacity: readCount) { r in
                written.withMemoryRebound(to: Double.self, capacity: writtenCount) { double(r, $0) }
            }
            return true
        }
        return false
    }

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
                if inC(yp, n, dp, n, float: { eqnn_relu_backward_s($0, $1, n) }, double: { eqnn_relu_backward_d($0, $1, n) }) { return }
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
                if inC(bp, d, xp, v.count, float: { eqnn_add_rows_s($1, $0, rows, d) }, double: { eqnn_add_rows_d($1, $0, rows, d) }) { return }
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
        if inC(x, rows * d, y, 1, float: { eqnn_pool_rows_s($0, rows, d, target, Float(share), $1) },
               double: { eqnn_pool_rows_d($0, rows, d, target, Double(share), $1) }) { return }
        for r in 0..<rows { for c in 0..<d { y[target[r] * d + c] += share * x[r * d + c] } }
    }

    /// Its backward: dx[r] = share dy[target[r]].
    static func unpoolRows<T: BinaryFloatingPoint>(_ dy: UnsafePointer<T>, rows: Int, width d: Int, target: UnsafePointer<Int>, share: T,
                                                   into dx: UnsafeMutablePointer<T>) {
        if inC(dy, 1, dx, rows * d, float: { eqnn_unpool_rows_s($0, rows, d, target, Float(share), $1) },
               double: { eqnn_unpool_rows_d($0, rows, d, target, Double(share), $1) }) { return }
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
            if inC(x, 1, columns, 1, float: { eqnn_gather_s($0, channels, t, offsets, positions, rows.lowerBound, rows.count, $1) },
                   double: { eqnn_gather_d($0, channels, t, offsets, positions, rows.lowerBound, rows.count, $1) }) { return }
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
            if inC(columns, 1, dx, 1, float: { eqnn_scatter_s($0, channels, t, offsets, positions, rows.lowerBound, rows.count, $1) },
                   double: { eqnn_scatter_d($0, channels, t, offsets, positions, rows.lowerBound, rows.count, $1) }) { return }
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
