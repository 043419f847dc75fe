extension Model {
    /// The same function in inference mode with every batchnorm op folded
    /// into the linear op (or convolution) and the bias before it, as the
    /// generated C runs it: field f's y = s_f (W x + b) + t_f, with
    /// s_f = gamma_f / sqrt(sigma2_f + epsilon) and t_f = beta_f - s_f mu_f, is
    /// W' x + b' with W' the rows of output copy f of every block times s_f
    /// (Theta_j[f, :] *= s_f: still equivariant) and b' = s b + t. b' lies in
    /// the invariant subspace, so the bias basis represents it exactly: s is
    /// one number per summand copy (the invariants of a copy are its own), and
    /// t is constant on a centred field (a permutation field, whose constant
    /// vector is invariant) and 0 on any other. The batchnorm slices sit after
    /// every other parameter (Lowering), so theta keeps its other offsets and
    /// loses its tail. A model without batchnorm is returned as it is.
    public func foldingBatchNorm() -> Model {
        let ops = graph.ops
        guard let first = ops.compactMap({ op -> Int? in
            if case .batchNorm(let n) = op { return min(n.parameters.offset, n.statistics.offset) } else { return nil }
        }).min() else { return self }
        var theta = parameters
        var kept: [Op] = []
        for (k, op) in ops.enumerated() {
            guard case .batchNorm(let n) = op else { kept.append(op); continue }
            // Lowering puts the linear op, its bias, then batchnorm.
            guard k >= 2, case .bias(let bias) = ops[k - 1], let linear = ops[k - 2].linearMap else { kept.append(op); continue }
            let indices = n.indices()
            let scale = indices.map { parameters[$0.gamma] / (parameters[$0.variance] + BatchNorm.epsilon).squareRoot() }
            let shift = indices.enumerated().map { f, i in
                (i.beta.map { parameters[$0] } ?? 0) - scale[f] * (i.mean.map { parameters[$0] } ?? 0)
            }
            var fieldOf = [Int](repeating: 0, count: n.dimension)
            for (f, field) in n.fields.enumerated() { for c in field.offset..<(field.offset + field.length) { fieldOf[c] = f } }
            for block in linear.blocks {
                let count = linear.bases[block.basis].count
                for o in 0..<block.output.copies {
                    let s = scale[fieldOf[block.output.offset + o * block.output.dimension]]
                    for i in 0..<block.input.copies {
                        for j in 0..<count { theta[linear.parameters.offset + linear.parameter(block, output: o, input: i, basis: j)] *= s }
                    }
                }
            }
            var b = bias.basis.expanded(parameters, offset: bias.parameters.offset, transposed: false)
            for c in 0..<n.dimension { b[c] = scale[fieldOf[c]] * b[c] + shift[fieldOf[c]] }
            for (j, value) in bias.basis.coefficients(nearest: b).enumerated() { theta[bias.parameters.offset + j] = value }
        }
        var folded = graph
        folded.ops = kept
        folded.parameterCount = first
        folded.structureHash = StructureHash.of(folded)
        return Model(graph: folded, parameters: Array(theta.prefix(first)), normalizer: normalizer)
    }
}
