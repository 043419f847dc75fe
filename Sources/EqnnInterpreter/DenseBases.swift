import EqnnIR

/// Dense forms of linear ops whose pair bases cover most of their block
/// (steerable and frequency-aligned kernels: every basis matrix spans its
/// block): the copies' blocks of W = sum_j theta_j B_j come from one matrix
/// product per block, Theta (copy pairs x J) times B (J x entries), and dtheta
/// from G (copy pairs x entries) times B^T, instead of a scattered loop over
/// every entry of every basis matrix. Sparse pair bases (orbit indicators) keep the entry loop.
enum DenseBases {
    /// W^T (in x out) of `l`, as Linear.expanded(transposed: true).
    static func expandedTransposed<T: BinaryFloatingPoint & SIMDScalar>(_ l: Linear, _ theta: [Double], as: T.Type) -> [T] {
        guard l.bases.contains(where: { $0.dense != nil }) else { return l.expanded(theta, transposed: true, as: T.self) }
        let rows = l.outputDimension
        var out = [T](repeating: 0, count: rows * l.inputDimension)
        for block in l.blocks {
            let basis = l.bases[block.basis], b = basis.matrices
            let copies = block.output.copies * block.input.copies, count = b.count, size = b.rows * b.columns
            var coefficients = [Double](repeating: 0, count: copies * count)
            forEachCopyPair(block) { p, o, i, _, _ in
                for j in 0..<count { coefficients[p * count + j] = theta[l.parameters.offset + l.parameter(block, output: o, input: i, basis: j)] }
            }
            var blocks = [Double](repeating: 0, count: copies * size)
            if let dense = basis.dense {
                multiplyAdd(m: copies, n: size, k: count, coefficients, dense, into: &blocks)
            } else {
                for p in 0..<copies {
                    for j in 0..<count where coefficients[p * count + j] != 0 {
                        for e in b.starts[j]..<b.starts[j + 1] {
                            blocks[p * size + b.entryRows[e] * b.columns + b.entryColumns[e]] += coefficients[p * count + j] * b.values[e]
                        }
                    }
                }
            }
            forEachCopyPair(block) { p, _, _, rowBase, columnBase in
                for r in 0..<b.rows {
                    for c in 0..<b.columns { out[(columnBase + c) * rows + rowBase + r] += T(blocks[p * size + r * b.columns + c]) }
                }
            }
        }
        return out
    }

    /// dtheta += the contraction of dW^T (in x out, its IR column j at row start[j] / out)
    /// with the block's dense pair basis: dTheta (copy pairs x J) = G (copy pairs x entries) B^T (entries x J).
    static func accumulate<T: BinaryFloatingPoint>(_ l: Linear, _ block: LinearBlock, dWt: UnsafeBufferPointer<T>,
                                                   start: [Int], into dTheta: inout [Double]) {
        guard let transposed = l.bases[block.basis].denseTransposed else { return }
        let b = l.bases[block.basis].matrices
        let copies = block.output.copies * block.input.copies, count = b.count, size = b.rows * b.columns
        var gathered = [Double](repeating: 0, count: copies * size)
        forEachCopyPair(block) { p, _, _, rowBase, columnBase in
            for r in 0..<b.rows {
                for c in 0..<b.columns { gathered[p * size + r * b.columns + c] = Double(dWt[start[columnBase + c] + rowBase + r]) }
            }
        }
        var product = [Double](repeating: 0, count: copies * count)
        multiplyAdd(m: copies, n: count, k: size, gathered, transposed, into: &product)
        forEachCopyPair(block) { p, o, i, _, _ in
            for j in 0..<count { dTheta[l.parameters.offset + l.parameter(block, output: o, input: i, basis: j)] += product[p * count + j] }
        }
    }

    /// Each (output copy o, input copy i) of a block as copy pair p = o * input copies + i,
    /// with the IR row and column where its sub-block starts.
    @inline(__always)
    private static func forEachCopyPair(_ block: LinearBlock, _ body: (_ p: Int, _ o: Int, _ i: Int, _ rowBase: Int, _ columnBase: Int) -> Void) {
        for o in 0..<block.output.copies {
            for i in 0..<block.input.copies {
                body(o * block.input.copies + i, o, i, block.output.offset + o * block.output.dimension, block.input.offset + i * block.input.dimension)
            }
        }
    }

    /// c (m x n) += a (m x k) b (k x n), all row-major.
    private static func multiplyAdd(m: Int, n: Int, k: Int, _ a: [Double], _ b: [Double], into c: inout [Double]) {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    guard let aa = ap.baseAddress, let ba = bp.baseAddress, let ca = cp.baseAddress else { return }
                    MatrixProduct.multiplyAdd(m: m, n: n, k: k, a: aa, rowStride: k, columnStride: 1, b: ba, ldb: n, c: ca, ldc: n)
                }
            }
        }
    }
}
