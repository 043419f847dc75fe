import EqnnIR

/// Dense forms of linear ops whose pair bases cover most of their block
/// (steerable and frequency-aligned kernels: every basis matrix spans its
/// block): the copies' blocks of W = sum_j theta_j B_j come from one matrix
/// product per block, Theta (copy pairs x J) times B (J x entries), and dtheta
/// from B times G^T (entries x copy pairs), instead of a scattered loop over
/// every entry of every basis matrix, in the precision the network runs in.
/// Sparse pair bases (orbit indicators) keep the entry loop.
enum DenseBases {
    /// W^T (in x out) of `l`, as Linear.expanded(transposed: true), computed in T.
    static func expandedTransposed<T: BinaryFloatingPoint & SIMDScalar>(_ l: Linear, _ theta: [Double], as: T.Type) -> [T] {
        guard l.bases.contains(where: { $0.dense != nil }) else { return l.expanded(theta, transposed: true, as: T.self) }
        let rows = l.outputDimension
        var out = [T](repeating: 0, count: rows * l.inputDimension)
        for block in l.blocks {
            let basis = l.bases[block.basis], b = basis.matrices
            let copies = block.output.copies * block.input.copies, count = b.count, size = b.rows * b.columns
            var coefficients = [T](repeating: 0, count: copies * count)
            forEachCopyPair(block) { p, o, i, _, _ in
                for j in 0..<count { coefficients[p * count + j] = T(theta[l.parameters.offset + l.parameter(block, output: o, input: i, basis: j)]) }
            }
            var blocks = [T](repeating: 0, count: copies * size)
            let expanded: Void? = withDense(basis, as: T.self) { dense in
                MatrixProduct.multiplyAdd(m: copies, n: size, k: count, a: coefficients, rowStride: count, columnStride: 1,
                                          b: dense, ldb: size, c: &blocks, ldc: size)
            }
            if expanded == nil {
                for p in 0..<copies {
                    for j in 0..<count where coefficients[p * count + j] != 0 {
                        for e in b.starts[j]..<b.starts[j + 1] {
                            blocks[p * size + b.entryRows[e] * b.columns + b.entryColumns[e]] += coefficients[p * count + j] * T(b.values[e])
                        }
                    }
                }
            }
            forEachCopyPair(block) { p, _, _, rowBase, columnBase in
                for r in 0..<b.rows {
                    for c in 0..<b.columns { out[(columnBase + c) * rows + rowBase + r] += blocks[p * size + r * b.columns + c] }
                }
            }
        }
        return out
    }

    /// dtheta += the contraction of dW^T (in x out, its IR column j at row start[j] / out)
    /// with the block's dense pair basis, in T: dTheta^T (J x copy pairs) = B (J x entries) G^T
    /// (entries x copy pairs), G the block's entries of dW per copy pair.
    static func accumulate<T: BinaryFloatingPoint & SIMDScalar>(_ l: Linear, _ block: LinearBlock, dWt: UnsafeBufferPointer<T>,
                                                                start: [Int], into dTheta: inout [Double]) {
        let basis = l.bases[block.basis], b = basis.matrices
        let copies = block.output.copies * block.input.copies, count = b.count, size = b.rows * b.columns
        var gathered = [T](repeating: 0, count: size * copies)
        forEachCopyPair(block) { p, _, _, rowBase, columnBase in
            for r in 0..<b.rows {
                for c in 0..<b.columns { gathered[(r * b.columns + c) * copies + p] = dWt[start[columnBase + c] + rowBase + r] }
            }
        }
        var product = [T](repeating: 0, count: count * copies)
        let contracted: Void? = withDense(basis, as: T.self) { dense in
            MatrixProduct.multiplyAdd(m: count, n: copies, k: size, a: dense, rowStride: size, columnStride: 1,
                                      b: gathered, ldb: copies, c: &product, ldc: copies)
        }
        guard contracted != nil else { return }
        forEachCopyPair(block) { p, o, i, _, _ in
            for j in 0..<count { dTheta[l.parameters.offset + l.parameter(block, output: o, input: i, basis: j)] += Double(product[j * copies + p]) }
        }
    }

    /// The pair basis's dense matrices in T's precision (nil when it has none, or T is neither Float nor Double).
    private static func withDense<T: BinaryFloatingPoint, R>(_ basis: PairBasis, as: T.Type, _ body: (UnsafePointer<T>) -> R) -> R? {
        func rebound<S>(_ values: [S]?) -> R? {
            values?.withUnsafeBufferPointer { p in p.baseAddress.map { $0.withMemoryRebound(to: T.self, capacity: p.count) { body($0) } } } ?? nil
        }
        if T.self == Float.self { return rebound(basis.denseSingle) }
        if T.self == Double.self { return rebound(basis.dense) }
        return nil
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
}
