import EqnnIR

/// Batchnorm (the IR's `batchNorm` op) on rows of `dimension` values: the
/// rows are every position of every sample, and a field's statistics are
/// shared by its coordinates.
enum BatchNormKernels {
    /// Per field: the mean (0 when not centred) and the variance (the mean
    /// square when not centred) over the rows and the field's coordinates.
    static func statistics<T: BinaryFloatingPoint>(_ n: BatchNorm, _ x: [T], rows: Int) -> (mean: [Double], variance: [Double]) {
        var mean = [Double](repeating: 0, count: n.fields.count), variance = mean
        guard rows > 0 else { return (mean, variance) }
        for (f, field) in n.fields.enumerated() {
            let count = Double(rows * field.length)
            if field.centred {
                var sum = 0.0
                for r in 0..<rows { for c in field.offset..<(field.offset + field.length) { sum += Double(x[r * n.dimension + c]) } }
                mean[f] = sum / count
            }
            var squares = 0.0
            for r in 0..<rows {
                for c in field.offset..<(field.offset + field.length) {
                    let v = Double(x[r * n.dimension + c]) - mean[f]
                    squares += v * v
                }
            }
            variance[f] = squares / count
        }
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
        var y = x
        for (f, field) in n.fields.enumerated() {
            let scale = gamma[f] / (variance[f] + BatchNorm.epsilon).squareRoot()
            let shift = beta[f] - scale * mean[f]
            let (s, t) = (T(scale), T(shift))
            for r in 0..<rows { for c in field.offset..<(field.offset + field.length) { y[r * n.dimension + c] = x[r * n.dimension + c] * s + t } }
        }
        return y
    }

    /// dL/dx with the batch's statistics (they depend on x), and dL/d(gamma, beta) into dTheta.
    static func backward<T: BinaryFloatingPoint>(_ n: BatchNorm, _ x: [T], dy: [T], rows: Int, theta gamma: [Double],
                                                 dTheta: inout [Double]) -> [T] {
        let (mean, variance) = statistics(n, x, rows: rows)
        var dx = dy
        for ((f, field), index) in zip(n.fields.enumerated(), n.indices()) {
            let inverse = 1 / (variance[f] + BatchNorm.epsilon).squareRoot()
            let count = Double(rows * field.length)
            // Sums over the field of dy and dy * xhat, xhat = (x - mean) * inverse.
            var sumDy = 0.0, sumDyXhat = 0.0
            for r in 0..<rows {
                for c in field.offset..<(field.offset + field.length) {
                    let g = Double(dy[r * n.dimension + c])
                    sumDy += g
                    sumDyXhat += g * (Double(x[r * n.dimension + c]) - mean[f]) * inverse
                }
            }
            dTheta[index.gamma] += sumDyXhat
            if let beta = index.beta { dTheta[beta] += sumDy }
            // dx = gamma * inverse * (dy - mean(dy) - xhat * mean(dy * xhat)); without centring, no mean(dy) term.
            let a = gamma[f] * inverse, meanDy = field.centred ? sumDy / count : 0, meanDyXhat = sumDyXhat / count
            for r in 0..<rows {
                for c in field.offset..<(field.offset + field.length) {
                    let i = r * n.dimension + c
                    let xhat = (Double(x[i]) - mean[f]) * inverse
                    dx[i] = T(a * (Double(dy[i]) - meanDy - xhat * meanDyXhat))
                }
            }
        }
        return dx
    }
}
