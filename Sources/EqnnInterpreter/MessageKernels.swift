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
        /// 1, e, e (x) e, ... up to the op's degree, row-major (pairs x `powerCount`), degree l from `powerOffsets[l]`.
        var powers: [Double]
        var powerOffsets: [Int]
        var powerCount: Int { powerOffsets.last ?? 1 }
        /// phi(r) and d phi / dr (pairs x basisCount).
        var basis: [Double]
        var basisDerivatives: [Double]
        /// The radial network's hidden layer before and after silu (pairs x hidden), and its outputs (pairs x weights).
        var hidden: [Double]
        var activated: [Double]
        var weights: [Double]
    }

    static func pairs(_ m: Message, _ points: PointBatch, theta: [Double], receivers: Range<Int>? = nil, index: CellIndex? = nil) -> Pairs {
        let neighbours = Neighbours(points, radius: m.radius, receivers: receivers, index: index)
        let count = neighbours.count, d = m.dimension, k = m.basisCount, h = m.hidden
        let powerOffsets = m.powerOffsets
        let width = powerOffsets[m.degree + 1]
        var units = [Double](repeating: 0, count: count * d), powers = [Double](repeating: 0, count: count * width)
        var basis = [Double](repeating: 0, count: count * k), basisDerivatives = basis
        units.withUnsafeMutableBufferPointer { u in
            powers.withUnsafeMutableBufferPointer { y in
                basis.withUnsafeMutableBufferPointer { b in
                    basisDerivatives.withUnsafeMutableBufferPointer { db in
                        guard let u = u.baseAddress, let y = y.baseAddress, let b = b.baseAddress, let db = db.baseAddress else { return }
                        for e in 0..<count {
                            let r = neighbours.distances[e]
                            if r > 0 { for a in 0..<d { u[e * d + a] = neighbours.differences[e * d + a] / r } }
                            m.radialBasis(r, into: b + e * k, derivatives: db + e * k)
                            let row = y + e * width
                            row[0] = 1
                            for l in 1..<(m.degree + 1) {
                                let (from, to) = (powerOffsets[l - 1], powerOffsets[l])
                                for index in 0..<(to - from) { for a in 0..<d { row[to + index * d + a] = row[from + index] * u[e * d + a] } }
                            }
                        }
                    }
                }
            }
        }
        // hidden = phi W1^T + b1; activated = silu(hidden); weights = activated W2^T + b2.
        var hidden = [Double](repeating: 0, count: count * h)
        for e in 0..<count { for j in 0..<h { hidden[e * h + j] = theta[m.firstBias + j] } }
        product(count, h, k, basis, transposed(theta, at: m.firstLayer, rows: h, columns: k), &hidden)
        let activated = hidden.map { Scalar.value(.silu, $0) }
        var weights = [Double](repeating: 0, count: count * m.weights)
        for e in 0..<count { for j in 0..<m.weights { weights[e * m.weights + j] = theta[m.secondBias + j] } }
        product(count, m.weights, h, activated, transposed(theta, at: m.secondLayer, rows: m.weights, columns: h), &weights)
        return Pairs(neighbours: neighbours, units: units, powers: powers, powerOffsets: powerOffsets, basis: basis,
                     basisDerivatives: basisDerivatives, hidden: hidden, activated: activated, weights: weights)
    }

    /// Every path's matrix B, and the scratch of the largest F = B (I (x) y).
    static func pathTables(_ m: Message) -> (matrices: [[Double]], scratch: Int) {
        (m.paths.map(\.matrix), m.paths.reduce(1) { max($0, $1.output.dimension * $1.input.dimension) })
    }

    /// Receivers per piece of a forward pass that keeps no pairs, and the most pairs a piece
    /// holds (fewer receivers where the points are dense; at least one): its memory is bounded
    /// whatever the cloud, even one whose points all sit within the radius of each other.
    static let receiversPerPiece = 2048
    static let pairsPerPiece = 1 << 18

    /// [x ; m] for every point, the pairs found and dropped piece by piece (inference).
    static func forward<T: BinaryFloatingPoint>(_ m: Message, _ x: [T], _ points: PointBatch, theta: [Double], ordered: Bool = false) -> [T] {
        var y = copied(m, x, total: points.total)
        let (width, channels, d) = (m.outputDimension, m.channels, points.dimension)
        for s in 0..<points.samples {
            let sample = points.starts[s]..<points.starts[s + 1]
            if !ordered, sample.count > receiversPerPiece, d <= 3 {
                // A large sample runs in cell order, so that a piece's neighbours sit close in memory
                // (100,000 points: half the time), and its rows go back to their places.
                let order = CellIndex.cellOrder(points, sample: sample, radius: m.radius)
                let cloud = PointBatch(counts: [order.count], positions: order.flatMap { points.positions[($0 * d)..<($0 * d + d)] }, dimension: d)
                let local = forward(m, order.flatMap { x[($0 * channels)..<($0 * channels + channels)] }, cloud, theta: theta, ordered: true)
                for (k, i) in order.enumerated() { y[(i * width)..<(i * width + width)] = local[(k * width)..<(k * width + width)] }
                continue
            }
            let index = CellIndex(points, sample: sample, radius: m.radius)
            for first in stride(from: sample.lowerBound, to: sample.upperBound, by: receiversPerPiece) {
                let block = first..<min(sample.upperBound, first + receiversPerPiece)
                let counts = Neighbours.counts(points, radius: m.radius, receivers: block, index: index)
                var start = block.lowerBound, pairs = 0
                for (offset, count) in counts.enumerated() {
                    let i = block.lowerBound + offset
                    if i > start, pairs + count > pairsPerPiece {
                        accumulate(m, x, self.pairs(m, points, theta: theta, receivers: start..<i, index: index), into: &y)
                        (start, pairs) = (i, 0)
                    }
                    pairs += count
                }
                accumulate(m, x, self.pairs(m, points, theta: theta, receivers: start..<block.upperBound, index: index), into: &y)
            }
        }
        return y
    }

    /// [x ; m] for every point from the pairs of all of them.
    static func forward<T: BinaryFloatingPoint>(_ m: Message, _ x: [T], _ p: Pairs, total: Int) -> [T] {
        var y = copied(m, x, total: total)
        accumulate(m, x, p, into: &y)
        return y
    }

    /// [x ; 0] for every point.
    static func copied<T: BinaryFloatingPoint>(_ m: Message, _ x: [T], total: Int) -> [T] {
        let width = m.outputDimension, channels = m.channels
        var y = [T](repeating: 0, count: total * width)
        for i in 0..<total { for c in 0..<channels { y[i * width + c] = x[i * channels + c] } }
        return y
    }

    /// The messages of the pairs `p` into their receivers' rows of y (each receiver's pairs all in p).
    static func accumulate<T: BinaryFloatingPoint>(_ m: Message, _ x: [T], _ p: Pairs, into y: inout [T]) {
        let width = m.outputDimension, channels = m.channels, powerCount = p.powerCount
        let (matrices, scratch) = pathTables(m)
        var message = [Double](repeating: 0, count: width), f = [Double](repeating: 0, count: scratch)
        var e = 0
        while e < p.neighbours.count {
            let i = p.neighbours.receivers[e]
            for c in message.indices { message[c] = 0 }
            while e < p.neighbours.count, p.neighbours.receivers[e] == i {
                let j = p.neighbours.senders[e]
                for (path, b) in zip(m.paths, matrices) {
                    let (rows, columns) = (path.output.dimension, path.input.dimension)
                    pathMatrix(b, rows * columns, p.powers, from: e * powerCount + p.powerOffsets[path.degree],
                               count: p.powerOffsets[path.degree + 1] - p.powerOffsets[path.degree], into: &f)
                    for u in 0..<path.input.copies {
                        let w = p.weights[e * m.weights + path.firstWeight + u]
                        let xin = j * channels + path.input.offset + u * columns
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
            for c in channels..<width { y[i * width + c] = T(message[c]) }
        }
    }

    /// dL/dx from dL/dy; adds dL/d(theta) and, when asked, dL/d(positions).
    static func backward<T: BinaryFloatingPoint>(_ m: Message, _ x: [T], _ p: Pairs, total: Int, theta: [Double], dy: [T],
                                                 dTheta: inout [Double], dPositions: inout [Double]?) -> [T] {
        let width = m.outputDimension, d = m.dimension, count = p.neighbours.count, channels = m.channels
        let powerCount = p.powerCount
        var dx = [T](repeating: 0, count: total * channels)
        for i in 0..<total { for c in 0..<channels { dx[i * channels + c] = dy[i * width + c] } }
        var dWeights = [Double](repeating: 0, count: count * m.weights)
        var dPowers = [Double](repeating: 0, count: count * powerCount)
        let (matrices, scratch) = pathTables(m)
        var f = [Double](repeating: 0, count: scratch), dF = f
        for e in 0..<count {
            let (i, j) = (p.neighbours.receivers[e], p.neighbours.senders[e])
            for (path, b) in zip(m.paths, matrices) {
                let (rows, columns) = (path.output.dimension, path.input.dimension)
                let (first, terms) = (p.powerOffsets[path.degree], p.powerOffsets[path.degree + 1] - p.powerOffsets[path.degree])
                pathMatrix(b, rows * columns, p.powers, from: e * powerCount + first, count: terms, into: &f)
                for rc in 0..<(rows * columns) { dF[rc] = 0 }
                for u in 0..<path.input.copies {
                    let w = p.weights[e * m.weights + path.firstWeight + u]
                    let xin = j * channels + path.input.offset + u * columns
                    let g = i * width + path.output.offset + u * rows
                    var dw = 0.0
                    for r in 0..<rows {
                        let gr = Double(dy[g + r])
                        guard gr != 0 else { continue }
                        for c in 0..<columns {
                            let xc = Double(x[xin + c]), frc = f[r * columns + c]
                            dw += gr * frc * xc
                            dF[r * columns + c] += w * gr * xc
                            dx[xin + c] += T(w * gr * frc)
                        }
                    }
                    dWeights[e * m.weights + path.firstWeight + u] += dw
                }
                // F[r, c] = sum_k B[r, c * K + k] y[k]: dy[k] += sum_{r,c} B[r, c * K + k] dF[r, c].
                let base = e * powerCount + first
                for rc in 0..<(rows * columns) where dF[rc] != 0 {
                    let g = dF[rc]
                    for k in 0..<terms { dPowers[base + k] += b[rc * terms + k] * g }
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
        var dUnit = [Double](repeating: 0, count: d), digits = [Int](repeating: 0, count: m.degree)
        for e in 0..<count {
            // u^(x)l: d/du_a of entry (k_1..k_l) = sum_t [k_t = a] prod_{s != t} u_(k_s).
            for a in 0..<d { dUnit[a] = 0 }
            for l in 1..<(m.degree + 1) {
                let first = e * powerCount + p.powerOffsets[l]
                for index in 0..<(p.powerOffsets[l + 1] - p.powerOffsets[l]) {
                    let g = dPowers[first + index]
                    guard g != 0 else { continue }
                    var rest = index
                    for t in stride(from: l - 1, through: 0, by: -1) { digits[t] = rest % d; rest /= d }
                    for t in 0..<l {
                        var product = g
                        for s in 0..<l where s != t { product *= p.units[e * d + digits[s]] }
                        dUnit[digits[t]] += product
                    }
                }
            }
            let r = p.neighbours.distances[e]
            var dr = 0.0, along = 0.0
            for j in 0..<k { dr += dBasis[e * k + j] * p.basisDerivatives[e * k + j] }
            for a in 0..<d { along += p.units[e * d + a] * dUnit[a] }
            // r_ij = pos_j - pos_i: d|r| = u . dr_ij, d u = (I - u u^T) dr_ij / |r|.
            let (i, j) = (p.neighbours.receivers[e], p.neighbours.senders[e])
            for a in 0..<d {
                let ua = p.units[e * d + a]
                let g = dr * ua + (r > 0 ? (dUnit[a] - along * ua) / r : 0)
                dPositions?[j * d + a] += g
                dPositions?[i * d + a] -= g
            }
        }
        return dx
    }

    /// F = B (I (x) y) into f (rc entries), y the `count` powers of one degree at `from`.
    static func pathMatrix(_ b: [Double], _ rc: Int, _ powers: [Double], from: Int, count: Int, into f: inout [Double]) {
        for index in 0..<rc {
            var sum = 0.0
            for k in 0..<count { sum += b[index * count + k] * powers[from + k] }
            f[index] = sum
        }
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
