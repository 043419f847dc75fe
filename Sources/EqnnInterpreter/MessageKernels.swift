import EqnnIR

/// The message op (docs in EqnnIR's Message) forward and backward. The
/// geometry of every pair (its radial basis, the radial network, the powers of
/// its direction) runs in double precision, in matrix products over all
/// pairs; the messages are summed in double precision and stored in T.
enum MessageKernels {
    /// Everything forward computes per pair, which backward reads again.
    struct Pairs {
        var neighbours: Neighbours
        /// Unit vectors (pairs x d; zero where two points coincide).
        var units: [Double]
        /// phi(r) and d phi / dr (pairs x basisCount).
        var basis: [Double]
        var basisDerivatives: [Double]
        /// The radial network's hidden layer before and after silu (pairs x hidden), and its outputs (pairs x weights).
        var hidden: [Double]
        var activated: [Double]
        var weights: [Double]
    }

    static func pairs(_ m: Message, _ points: PointBatch, theta: [Double]) -> Pairs {
        let neighbours = Neighbours(points, radius: m.radius)
        let count = neighbours.count, d = m.dimension, k = m.basisCount, h = m.hidden
        var units = [Double](repeating: 0, count: count * d)
        var basis = [Double](repeating: 0, count: count * k), basisDerivatives = basis
        for e in 0..<count {
            let r = neighbours.distances[e]
            if r > 0 { for a in 0..<d { units[e * d + a] = neighbours.differences[e * d + a] / r } }
            let (values, derivatives) = m.radialBasis(r)
            for j in 0..<k {
                basis[e * k + j] = values[j]
                basisDerivatives[e * k + j] = derivatives[j]
            }
        }
        // hidden = phi W1^T + b1; activated = silu(hidden); weights = activated W2^T + b2.
        var hidden = [Double](repeating: 0, count: count * h)
        for e in 0..<count { for j in 0..<h { hidden[e * h + j] = theta[m.firstBias + j] } }
        let w1t = transposed(theta, at: m.firstLayer, rows: h, columns: k)
        product(count, h, k, basis, w1t, &hidden)
        let activated = hidden.map { Scalar.value(.silu, $0) }
        var weights = [Double](repeating: 0, count: count * m.weights)
        for e in 0..<count { for j in 0..<m.weights { weights[e * m.weights + j] = theta[m.secondBias + j] } }
        let w2t = transposed(theta, at: m.secondLayer, rows: m.weights, columns: h)
        product(count, m.weights, h, activated, w2t, &weights)
        return Pairs(neighbours: neighbours, units: units, basis: basis, basisDerivatives: basisDerivatives,
                     hidden: hidden, activated: activated, weights: weights)
    }

    /// [x ; m] for every point.
    static func forward<T: BinaryFloatingPoint>(_ m: Message, _ x: [T], _ points: PointBatch, theta: [Double]) -> [T] {
        let p = pairs(m, points, theta: theta)
        let width = m.outputDimension
        var y = [T](repeating: 0, count: points.total * width)
        for i in 0..<points.total { for c in 0..<m.channels { y[i * width + c] = x[i * m.channels + c] } }
        var message = [Double](repeating: 0, count: width)
        var e = 0
        while e < p.neighbours.count {
            let i = p.neighbours.receivers[e]
            for c in message.indices { message[c] = 0 }
            while e < p.neighbours.count, p.neighbours.receivers[e] == i {
                let j = p.neighbours.senders[e]
                let powers = directionPowers(p, e, m)
                for path in m.paths {
                    let f = pathMatrix(path, powers[path.degree])
                    let (rows, columns) = (path.output.dimension, path.input.dimension)
                    for u in 0..<path.input.copies {
                        let w = p.weights[e * m.weights + path.firstWeight + u]
                        let xin = j * m.channels + path.input.offset + u * columns
                        let out = path.output.offset + u * rows
                        for r in 0..<rows {
                            var sum = 0.0
                            for c in 0..<columns { sum += f[r * columns + c] * Double(x[xin + c]) }
                            message[out + r] += w * sum
                        }
                    }
                }
                e += 1
            }
            for c in m.channels..<width { y[i * width + c] = T(message[c]) }
        }
        return y
    }

    /// dL/dx from dL/dy; adds dL/d(theta) and, when asked, dL/d(positions).
    static func backward<T: BinaryFloatingPoint>(_ m: Message, _ x: [T], _ points: PointBatch, theta: [Double], dy: [T],
                                                 dTheta: inout [Double], dPositions: inout [Double]?) -> [T] {
        let p = pairs(m, points, theta: theta)
        let width = m.outputDimension, d = m.dimension, count = p.neighbours.count
        var dx = [T](repeating: 0, count: points.total * m.channels)
        for i in 0..<points.total { for c in 0..<m.channels { dx[i * m.channels + c] = dy[i * width + c] } }
        var dWeights = [Double](repeating: 0, count: count * m.weights)
        var dUnits = [Double](repeating: 0, count: count * d)
        for e in 0..<count {
            let (i, j) = (p.neighbours.receivers[e], p.neighbours.senders[e])
            let powers = directionPowers(p, e, m)
            var dPowers = powers.map { [Double](repeating: 0, count: $0.count) }
            for path in m.paths {
                let f = pathMatrix(path, powers[path.degree])
                let (rows, columns) = (path.output.dimension, path.input.dimension)
                var dF = [Double](repeating: 0, count: rows * columns)
                for u in 0..<path.input.copies {
                    let w = p.weights[e * m.weights + path.firstWeight + u]
                    let xin = j * m.channels + path.input.offset + u * columns
                    let g = i * width + path.output.offset + u * rows
                    var dw = 0.0
                    for r in 0..<rows {
                        let gr = Double(dy[g + r])
                        guard gr != 0 else { continue }
                        for c in 0..<columns {
                            let xc = Double(x[xin + c])
                            dw += gr * f[r * columns + c] * xc
                            dF[r * columns + c] += w * gr * xc
                            dx[xin + c] += T(w * gr * f[r * columns + c])
                        }
                    }
                    dWeights[e * m.weights + path.firstWeight + u] += dw
                }
                // F[r, c] = sum_k B[r, c * K + k] y[k]: dy[k] += sum_{r,c} B[r, c * K + k] dF[r, c].
                let y = powers[path.degree].count
                for r in 0..<rows {
                    for c in 0..<columns where dF[r * columns + c] != 0 {
                        let g = dF[r * columns + c], base = (r * columns + c) * y
                        for k in 0..<y { dPowers[path.degree][k] += path.matrix[base + k] * g }
                    }
                }
            }
            // u^(x)l: d/du_a of entry (k_1..k_l) = sum_t [k_t = a] prod_{s != t} u_(k_s).
            let unit = Array(p.units[(e * d)..<(e * d + d)])
            for l in 1..<powers.count {
                for (index, g) in dPowers[l].enumerated() where g != 0 {
                    var digits = [Int](repeating: 0, count: l), rest = index
                    for t in stride(from: l - 1, through: 0, by: -1) { digits[t] = rest % d; rest /= d }
                    for t in 0..<l {
                        var product = g
                        for s in 0..<l where s != t { product *= unit[digits[s]] }
                        dUnits[e * d + digits[t]] += product
                    }
                }
            }
        }
        // The radial network backward: dW2, db2, then through silu to dW1, db1, and to phi.
        let (h, k) = (m.hidden, m.basisCount)
        var dActivated = [Double](repeating: 0, count: count * h)
        let w2 = Array(theta[m.secondLayer..<(m.secondLayer + m.weights * h)])
        product(count, h, m.weights, dWeights, w2, &dActivated)
        var dW2 = [Double](repeating: 0, count: m.weights * h)
        productTransposingA(m.weights, h, count, dWeights, p.activated, &dW2)
        var dHidden = dActivated
        for index in dHidden.indices { dHidden[index] *= Scalar.derivative(.silu, p.hidden[index]) }
        var dW1 = [Double](repeating: 0, count: h * k)
        productTransposingA(h, k, count, dHidden, p.basis, &dW1)
        for (index, g) in dW1.enumerated() { dTheta[m.firstLayer + index] += g }
        for (index, g) in dW2.enumerated() { dTheta[m.secondLayer + index] += g }
        for e in 0..<count {
            for j in 0..<h { dTheta[m.firstBias + j] += dHidden[e * h + j] }
            for j in 0..<m.weights { dTheta[m.secondBias + j] += dWeights[e * m.weights + j] }
        }
        guard dPositions != nil else { return dx }
        var dBasis = [Double](repeating: 0, count: count * k)
        let w1 = Array(theta[m.firstLayer..<(m.firstLayer + h * k)])
        product(count, k, h, dHidden, w1, &dBasis)
        for e in 0..<count {
            let r = p.neighbours.distances[e]
            var dr = 0.0
            for j in 0..<k { dr += dBasis[e * k + j] * p.basisDerivatives[e * k + j] }
            // r_ij = pos_j - pos_i: d|r| = u . dr_ij, d u = (I - u u^T) dr_ij / |r|.
            var along = 0.0
            for a in 0..<d { along += p.units[e * d + a] * dUnits[e * d + a] }
            let (i, j) = (p.neighbours.receivers[e], p.neighbours.senders[e])
            for a in 0..<d {
                let ua = p.units[e * d + a]
                let g = dr * ua + (r > 0 ? (dUnits[e * d + a] - along * ua) / r : 0)
                dPositions?[j * d + a] += g
                dPositions?[i * d + a] -= g
            }
        }
        return dx
    }

    /// 1, u, u (x) u, ... up to the op's degree for pair e.
    static func directionPowers(_ p: Pairs, _ e: Int, _ m: Message) -> [[Double]] {
        let unit = Array(p.units[(e * m.dimension)..<((e + 1) * m.dimension)])
        var out: [[Double]] = [[1]]
        for _ in 0..<m.degree {
            guard let last = out.last else { break }
            out.append(last.flatMap { v in unit.map { v * $0 } })
        }
        return out
    }

    /// F = B (I (x) y): output x input, from B (output x (input * |y|)).
    static func pathMatrix(_ path: MessageBlock, _ y: [Double]) -> [Double] {
        let (rows, columns, width) = (path.output.dimension, path.input.dimension, y.count)
        var f = [Double](repeating: 0, count: rows * columns)
        for rc in 0..<(rows * columns) {
            var sum = 0.0
            for k in 0..<width { sum += path.matrix[rc * width + k] * y[k] }
            f[rc] = sum
        }
        return f
    }

    /// The rows x columns matrix at `offset` of theta, transposed.
    static func transposed(_ theta: [Double], at offset: Int, rows: Int, columns: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = theta[offset + r * columns + c] } }
        return out
    }

    /// C (m x n) += A (m x k) B (k x n), all row-major.
    static func product(_ m: Int, _ n: Int, _ k: Int, _ a: [Double], _ b: [Double], _ c: inout [Double]) {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    guard let aa = ap.baseAddress, let ba = bp.baseAddress, let ca = cp.baseAddress else { return }
                    MatrixProduct.multiplyAdd(m: m, n: n, k: k, a: aa, rowStride: k, columnStride: 1, b: ba, ldb: n, c: ca, ldc: n)
                }
            }
        }
    }

    /// C (m x n) += A^T B, A stored k x m and B k x n, row-major.
    static func productTransposingA(_ m: Int, _ n: Int, _ k: Int, _ a: [Double], _ b: [Double], _ c: inout [Double]) {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    guard let aa = ap.baseAddress, let ba = bp.baseAddress, let ca = cp.baseAddress else { return }
                    MatrixProduct.multiplyAdd(m: m, n: n, k: k, a: aa, rowStride: 1, columnStride: m, b: ba, ldb: n, c: ca, ldc: n)
                }
            }
        }
    }
}
