import EqnnIR

/// Batchnorm (the IR's `batchNorm` op) on rows of `dimension` values: the
/// rows are every position of every sample, and a field's statistics are
/// shared by its coordinates. Every loop runs row by row over contiguous
/// coordinates, with per-coordinate tables (the field of each coordinate, its
/// scale and shift), so that the work is a few passes over the activations.
enum BatchNormKernels {
    /// The field of every coordinate.
    static func fieldOf(_ n: BatchNorm) -> [Int] {
        var out = [Int](repeating: 0, count: n.dimension)
        for (f, field) in n.fields.enumerated() { for c in field.offset..<(field.offset + field.length) { out[c] = f } }
        return out
    }

    /// Per field: the mean (0 when not centred) and the variance (the mean
    /// square when not centred) over the rows and the field's coordinates.
    static func statistics<T: BinaryFloatingPoint>(_ n: BatchNorm, _ x: [T], rows: Int) -> (mean: [Double], variance: [Double]) {
        let d = n.dimension, fields = fieldOf(n)
        var mean = [Double](repeating: 0, count: n.fields.count), variance = mean
        guard rows > 0 else { return (mean, variance) }
        var columnSums = [Double](repeating: 0, count: d)
        x.withUnsafeBufferPointer { xp in
            for r in 0..<rows { for c in 0..<d { columnSums[c] += Double(xp[r &* d &+ c]) } }
        }
        for c in 0..<d where n.fields[fields[c]].centred { mean[fields[c]] += columnSums[c] }
        for (f, field) in n.fields.enumerated() { mean[f] /= Double(rows * field.length) }
        let centre = (0..<d).map { mean[fields[$0]] }
        var columnSquares = [Double](repeating: 0, count: d)
        x.withUnsafeBufferPointer { xp in
            for r in 0..<rows {
                for c in 0..<d {
                    let v = Double(xp[r &* d &+ c]) - centre[c]
                    columnSquares[c] += v * v
                }
            }
        }
        for c in 0..<d { variance[fields[c]] += columnSquares[c] }
        for (f, field) in n.fields.enumerated() { variance[f] /= Double(rows * field.length) }
        return (mean, variance)
    }

    /// gamma, beta, mean and variance per field, as theta holds them (beta and the mean 0 where not centred).
    static func running(_ n: BatchNorm, _ theta: [Double]) -> [[Double]] {
        let indices = n.indices()
        return [indices.map { theta[$0.gamma] }, indices.map { $0.beta.map { theta[$0] } ?? 0 },
                indices.map { $0.mean.map { theta[$0] } ?? 0 }, indices.map { theta[$0.variance] }]
    }

    /// y = gamma (x - mean) / sqrt(variance + epsilon) + beta, field by field.
    static func forward<T: BinaryFloatingPoint>(_ n: BatchNorm, _ x: [T], rows: Int, gamma: [Double], beta: [Double],
                                                mean: [Double], variance: [Double]) -> [T] {
        let d = n.dimension, fields = fieldOf(n)
        let scale = (0..<n.fields.count).map { gamma[$0] / (variance[$0] + BatchNorm.epsilon).squareRoot() }
        let s = (0..<d).map { T(scale[fields[$0]]) }
        let t = (0..<d).map { T(beta[fields[$0]] - scale[fields[$0]] * mean[fields[$0]]) }
        var y = x
        y.withUnsafeMutableBufferPointer { yp in
            for r in 0..<rows { for c in 0..<d { yp[r &* d &+ c] = yp[r &* d &+ c] * s[c] + t[c] } }
        }
        return y
    }

    /// dL/dx with the batch's statistics (they depend on x), and dL/d(gamma, beta) into dTheta:
    /// dx = gamma / sigma (dy - mean(dy) - xhat mean(dy xhat)), xhat = (x - mu) / sigma,
    /// without the mean(dy) term on fields that are not centred.
    /// `mean` and `variance`: the batch's, `statistics(n, x, rows:)`.
    static func backward<T: BinaryFloatingPoint>(_ n: BatchNorm, _ x: [T], dy: [T], rows: Int, mean: [Double], variance: [Double],
                                                 gamma: [Double], dTheta: inout [Double]) -> [T] {
        let d = n.dimension, fields = fieldOf(n), count = n.fields.count
        let inverse = variance.map { 1 / ($0 + BatchNorm.epsilon).squareRoot() }
        let centre = (0..<d).map { mean[fields[$0]] }, spread = (0..<d).map { inverse[fields[$0]] }
        // Column sums of dy and of dy * xhat, then per field.
        var sumDy = [Double](repeating: 0, count: d), sumDyXhat = sumDy
        x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { gp in
                for r in 0..<rows {
                    for c in 0..<d {
                        let g = Double(gp[r &* d &+ c])
                        sumDy[c] += g
                        sumDyXhat[c] += g * (Double(xp[r &* d &+ c]) - centre[c]) * spread[c]
                    }
                }
            }
        }
        var fieldDy = [Double](repeating: 0, count: count), fieldDyXhat = fieldDy
        for c in 0..<d {
            fieldDy[fields[c]] += sumDy[c]
            fieldDyXhat[fields[c]] += sumDyXhat[c]
        }
        for (f, index) in n.indices().enumerated() {
            dTheta[index.gamma] += fieldDyXhat[f]
            if let beta = index.beta { dTheta[beta] += fieldDy[f] }
        }
        // dx = a (dy - b - xhat c) per coordinate, with a, b, c of its field.
        var a = [Double](repeating: 0, count: d), b = a, c3 = a
        for c in 0..<d {
            let f = fields[c], size = Double(rows * n.fields[f].length)
            a[c] = gamma[f] * inverse[f]
            b[c] = n.fields[f].centred ? fieldDy[f] / size : 0
            c3[c] = fieldDyXhat[f] / size
        }
        var dx = dy
        x.withUnsafeBufferPointer { xp in
            dx.withUnsafeMutableBufferPointer { dp in
                for r in 0..<rows {
                    for c in 0..<d {
                        let i = r &* d &+ c
                        let xhat = (Double(xp[i]) - centre[c]) * spread[c]
                        dp[i] = T(a[c] * (Double(dp[i]) - b[c] - xhat * c3[c]))
                    }
                }
            }
        }
        return dx
    }
}
