import EqnnIR

/// Dense forms of linear ops whose pair bases cover most of their block
/// (steerable kernels: every basis matrix spans the whole kernel): the copies'
/// blocks of W = sum_j theta_j B_j come from one matrix product per block,
/// Theta (copy pairs x J) times B (J x entries), and dtheta from the transposed
/// one, instead of a scattered loop over every entry of every basis matrix.
/// Sparse pair bases (the exact solver's orbits) keep the entry loop.
enum DenseBases {
    /// W^T (in x out) of `l`, as Linear.expanded(transposed: true).
    static func expandedTransposed<T: BinaryFloatingPoint & SIMDScalar>(_ l: Linear, _ theta: [Double], as: T.Type) -> [T] {
        guard l.bases.contains(where: { $0.dense != nil }) else { return l.expanded(theta, transposed: true, as: T.self) }
        let rows = l.outputDimension, columns = l.inputDimension
        var out = [T](repeating: 0, count: rows * columns)
        for block in l.blocks {
            let basis = l.bases[block.basis], b = basis.matrices
            let copies = block.output.copies * block.input.copies, count = b.count
            let size = b.rows * b.columns
            var coefficients = [Double](repeating: 0, count: copies * count)
            for o in 0..<block.output.copies {
                for i in 0..<block.input.copies {
                    for j in 0..<count {
                        coefficients[(o * block.input.copies + i) * count + j] = theta[l.parameters.offset + l.parameter(block, output: o, input: i, basis: j)]
                    }
                }
            }
            var blocks = [Double](repeating: 0, count: copies * size)
            if let dense = basis.dense {
                coefficients.withUnsafeBufferPointer { c in
                    dense.withUnsafeBufferPointer { d in
                        blocks.withUnsafeMutableBufferPointer { w in
                            guard let ca = c.baseAddress, let da = d.baseAddress, let wa = w.baseAddress else { return }
                            MatrixProduct.multiplyAdd(m: copies, n: size, k: count, a: ca, rowStride: count, columnStride: 1,
                                                      b: da, ldb: size, c: wa, ldc: size)
                        }
                    }
                }
            } else {
                for p in 0..<copies {
                    for j in 0..<count where coefficients[p * count + j] != 0 {
                        for e in b.starts[j]..<b.starts[j + 1] {
                            blocks[p * size + b.entryRows[e] * b.columns + b.entryColumns[e]] += coefficients[p * count + j] * b.values[e]
                        }
                    }
                }
            }
            for o in 0..<block.output.copies {
                for i in 0..<block.input.copies {
                    let p = o * block.input.copies + i
                    let rowBase = block.output.offset + o * block.output.dimension
                    let columnBase = block.input.offset + i * block.input.dimension
                    for r in 0..<b.rows {
                        for c in 0..<b.columns { out[(columnBase + c) * rows + rowBase + r] += T(blocks[p * size + r * b.columns + c]) }
                    }
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
        for o in 0..<block.output.copies {
            for i in 0..<block.input.copies {
                let p = o * block.input.copies + i
                let rowBase = block.output.offset + o * block.output.dimension
                let columnBase = block.input.offset + i * block.input.dimension
                for r in 0..<b.rows {
                    for c in 0..<b.columns { gathered[p * size + r * b.columns + c] = Double(dWt[start[columnBase + c] + rowBase + r]) }
                }
            }
        }
        var product = [Double](repeating: 0, count: copies * count)
        transposed.withUnsafeBufferPointer { d in
            gathered.withUnsafeBufferPointer { g in
                product.withUnsafeMutableBufferPointer { out in
                    guard let da = d.baseAddress, let ga = g.baseAddress, let oa = out.baseAddress else { return }
                    MatrixProduct.multiplyAdd(m: copies, n: count, k: size, a: ga, rowStride: size, columnStride: 1,
                                              b: da, ldb: count, c: oa, ldc: count)
                }
            }
        }
        for o in 0..<block.output.copies {
            for i in 0..<block.input.copies {
                for j in 0..<count {
                    dTheta[l.parameters.offset + l.parameter(block, output: o, input: i, basis: j)] += product[(o * block.input.copies + i) * count + j]
                }
            }
        }
    }
}
