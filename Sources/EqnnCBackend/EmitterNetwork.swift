import EqnnIR

/// The per-network C: init (W and the mixing matrices from theta), the baked
/// model, and forward, one block of code per op of the graph.
extension Emitter {
    func initFunction() -> String {
        var out = "void \(p)_init(\(p)_model *model, const \(real) *theta, const \(real) *normalizer) {\n"
        out += "    size_t i;\n    int k, e, o, q, j;\n    (void)k;\n    (void)e;\n    (void)o;\n    (void)q;\n    (void)j;\n"
        for (k, op) in graph.ops.enumerated() {
            switch op.tables {
            case .linear(let l):
                if let plan = structured(k) {
                    let inputs = plan.stacks.reduce(0) { $0 + $1.inputs.count }
                    out += """
                        memset(model->m\(k), 0, sizeof model->m\(k));
                        for (q = 0; q < \(inputs); ++q) {
                            const \(p)_mixing_row *row = &\(p)_mixing\(k)[q];
                            for (k = 0; k < row->in_copies; ++k)
                                for (o = 0; o < row->out_copies; ++o)
                                    for (e = row->first_term; e < row->first_term + row->terms; ++e)
                                        model->m\(k)[row->mixing_offset + k * row->out_copies + o] += theta[row->theta_offset + o * row->out_stride + k * row->basis_size + \(p)_terms\(k)[e]] * \(p)_term_weights\(k)[e];
                        }

                    """
                } else {
                    out += "    memset(model->w\(k), 0, sizeof model->w\(k));\n"
                    guard !l.blocks.isEmpty else { continue }
                    out += """
                        for (q = 0; q < \(l.blocks.count); ++q) {
                            const \(p)_dense_block *row = &\(p)_blocks\(k)[q];
                            for (o = 0; o < row->out_copies; ++o)
                                for (k = 0; k < row->in_copies; ++k)
                                    for (j = 0; j < row->basis_size; ++j) {
                                        const \(real) c = theta[row->theta_offset + o * row->out_stride + k * row->basis_size + j];
                                        for (e = \(p)_basis\(k)_starts[row->first_matrix + j]; e < \(p)_basis\(k)_starts[row->first_matrix + j + 1]; ++e)
                                            model->w\(k)[\(denseRow(k, "row->in_offset + k * row->in_dim + \(p)_basis\(k)_columns[e]")) * \(l.outputDimension) + row->out_offset + o * row->out_dim + \(p)_basis\(k)_rows[e]] += c * \(p)_basis\(k)_values[e];
                                    }
                        }

                    """
                }
            case .bias(let b):
                out += "    memset(model->b\(k), 0, sizeof model->b\(k));\n"
                if b.basis.entryCount > 0 {
                    out += """
                        for (k = 0; k < \(b.basis.count); ++k)
                            for (e = \(p)_basis\(k)_starts[k]; e < \(p)_basis\(k)_starts[k + 1]; ++e)
                                model->b\(k)[\(p)_basis\(k)_rows[e]] += theta[\(b.parameters.offset) + k] * \(p)_basis\(k)_values[e];

                    """
                }
            case .message(let m):
                // The radial network with its matrices transposed (see the message function).
                let (h, b, w, first) = (m.hidden, m.basisCount, m.weights, m.parameters.offset)
                out += """
                    for (k = 0; k < \(h); ++k) {
                        for (j = 0; j < \(b); ++j) model->r\(k)[j * \(h) + k] = theta[\(first) + k * \(b) + j];
                        model->r\(k)[\(h * b) + k] = theta[\(m.firstBias) + k];
                        for (j = 0; j < \(w); ++j) model->r\(k)[\(h * b + h) + k * \(w) + j] = theta[\(m.secondLayer) + j * \(h) + k];
                    }
                    for (j = 0; j < \(w); ++j) model->r\(k)[\(h * b + h + h * w) + j] = theta[\(m.secondBias) + j];

                """
            case .bilinear(let b) where !b.blocks.isEmpty:
                out += """
                    for (q = 0; q < \(b.blocks.count); ++q) {
                        const \(p)_bilinear_init_row *row = &\(p)_bilinear\(k)_init[q];
                        for (k = 0; k < row->in_copies; ++k)
                            for (j = 0; j < row->sources; ++j)
                                for (o = 0; o < row->out_copies; ++o)
                                    model->t\(k)[row->mixing_offset + (row->contracts_first ? (j * row->in_copies + k) * row->out_copies : (k * row->sources + j) * row->out_copies) + o] = theta[row->theta_offset + o * row->out_stride + k * row->sources + j];
                    }

                """
            default:
                continue
            }
        }
        let d = graph.input.dimension, e = graph.output.dimension
        out += """
            for (i = 0; i < \(d); ++i) {
                model->input_shift[i] = normalizer ? normalizer[i] : 0;
                model->input_scale[i] = normalizer ? normalizer[\(d) + i] : 1;
            }
            for (i = 0; i < \(e); ++i) {
                model->output_shift[i] = normalizer ? normalizer[\(2 * d) + i] : 0;
                model->output_scale[i] = normalizer ? normalizer[\(2 * d + e) + i] : 1;
            }
        }


        """
        return out
    }

    func bakedModel() -> String {
        var out = "static const \(p)_model \(p)_baked_model = {\n"
        let theta = model.parameters
        var arrays: [[Double]] = []
        for (k, op) in graph.ops.enumerated() {
            switch op.tables {
            case .linear(let l):
                if let plan = structured(k) {
                    arrays.append(plan.mixing(l, theta).flatMap { $0 })
                } else {
                    arrays.append(denseRows(k, l.expanded(theta, transposed: true)))
                }
            case .bias(let b): arrays.append(b.basis.expanded(theta, offset: b.parameters.offset, transposed: false))
            case .bilinear(let b): arrays.append(b.mixing(theta).flatMap { $0 })
            case .message(let m): arrays.append(Emitter.radialLayout(m, theta))
            default: continue
            }
        }
        let n = model.normalizer
        arrays += [n.inputShift, n.inputScale, n.outputShift, n.outputScale]
        out += arrays.map { values in
            values.allSatisfy { $0 == 0 } ? "    {0}" : "    " + list(values.map(literal)).split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n    ")
        }.joined(separator: ",\n")
        out += "\n};\n\nconst \(p)_model *\(p)_baked(void) {\n    return &\(p)_baked_model;\n}\n\n"
        return out
    }

    func forwardFunction() -> String {
        if gridAxes > 0 { return gridForwardFunction() }
        if pointAxes > 0 { return pointsForwardFunction() }
        let e = graph.output.dimension
        var out = """
        void \(p)_forward(const \(p)_model *restrict model, const \(real) *restrict input, \(real) *restrict output, size_t batch) {
            \(real) buffer_a[\(P)_TILE * \(P)_MAX_DIM];
            \(real) buffer_b[\(P)_TILE * \(P)_MAX_DIM];\(structuredOps.isEmpty && bilinearOps.isEmpty ? "" : "\n    \(real) gathered[\(P)_GATHER_CAP], products[\(P)_PRODUCT_CAP];")
            size_t first;
            for (first = 0; first < batch; first += \(P)_TILE) {
                const size_t n = batch - first < \(P)_TILE ? batch - first : \(P)_TILE;
                \(real) *x = buffer_a, *y = buffer_b, *swap;
                size_t t, i;
                int b, s, c;
                (void)swap;
                (void)b;
                (void)s;
                (void)c;
        \(normalizedInput(row: "first + t"))
        """
        for (k, op) in graph.ops.enumerated() {
            out += "        /* \(opName(op)): \(op.inputDimension) -> \(op.outputDimension), \(op.representation) */\n"
            out += body(op, k).split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "        " + $0 }.joined(separator: "\n")
        }
        out += """
                for (t = 0; t < n; ++t)
                    for (i = 0; i < \(e); ++i)
                        output[(first + t) * \(e) + i] = x[t * \(e) + i] * model->output_scale[i] + model->output_shift[i];
            }
        }

        """
        return out
    }

    /// A message op's radial network as the C model stores it: W1^T, b1, W2^T, b2.
    static func radialLayout(_ m: Message, _ theta: [Double]) -> [Double] {
        let (h, b, w) = (m.hidden, m.basisCount, m.weights)
        var out = [Double](repeating: 0, count: m.parameters.count)
        for k in 0..<h {
            for j in 0..<b { out[j * h + k] = theta[m.firstLayer + k * b + j] }
            out[h * b + k] = theta[m.firstBias + k]
            for j in 0..<w { out[h * b + h + k * w + j] = theta[m.secondLayer + j * h + k] }
        }
        for j in 0..<w { out[h * b + h + h * w + j] = theta[m.secondBias + j] }
        return out
    }

    /// The loop that standardizes the n input rows into x, input row `row` (a C expression in t) for row t.
    func normalizedInput(row: String) -> String {
        let d = graph.input.dimension
        return """
                for (t = 0; t < n; ++t)
                    for (i = 0; i < \(d); ++i)
                        x[t * \(d) + i] = (input[(\(row)) * \(d) + i] - model->input_shift[i]) / model->input_scale[i];

        """
    }

    func opName(_ op: Op) -> String {
        switch op {
        case .linear(let l): return "linear \(l.parameters.name)"
        case .bias(let b): return "bias \(b.parameters.name)"
        case .bilinear(let b): return "bilinear \(b.parameters.name)"
        case .pointwise(let pw): return pw.function.rawValue
        case .gate: return "gate"
        case .norm: return "norm"
        case .convolution(let c): return "convolution \(c.linear.parameters.name)"
        case .pool(let pool): return pool.pooling.description
        case .batchNorm: return "batchnorm"
        case .message: return "message"
        }
    }

    /// y = W x on n rows (y zeroed first where the plan adds into it).
    func linearCode(_ k: Int, _ l: Linear) -> String {
        if let plan = structured(k) {
            var code = "for (t = 0; t < n * \(l.outputDimension); ++t) y[t] = 0;\n"
            code += "for (b = 0; b < \(plan.stacks.count); ++b)\n"
            code += "    \(p)_stack(&\(p)_stacks\(k)[b], \(p)_inputs\(k), \(p)_entries, \(p)_entry_values,\n"
            code += "               model->m\(k) + \(p)_stacks\(k)[b].mixing_offset, x, y, gathered, products, n, \(l.inputDimension), \(l.outputDimension));\n"
            return code
        }
        return "\(p)_linear(model->w\(k), x, y, n, \(l.inputDimension), \(l.outputDimension));\n"
    }

    /// The statements of one op inside the tile loop (x: input, y: scratch; results end in x).
    func body(_ op: Op, _ k: Int) -> String {
        let swap = "swap = x;\nx = y;\ny = swap;\n"
        switch op {
        case .convolution, .pool:
            return ""  // grid networks: see gridForwardFunction
        case .batchNorm:
            return ""  // folded into the weights before the emitter (CBackend.generate)
        case .message:
            return ""  // networks on points: pointsForwardFunction calls the message kernels
        case .linear(let l):
            return linearCode(k, l) + swap
        case .bias(let b):
            return "for (t = 0; t < n; ++t)\n    for (i = 0; i < \(b.basis.rows); ++i) x[t * \(b.basis.rows) + i] += model->b\(k)[i];\n"
        case .bilinear(let b):
            guard !b.blocks.isEmpty else { return "" }
            var code = "for (t = 0; t < n * \(b.dimension); ++t) y[t] = x[t];\n"
            code += "for (b = 0; b < \(b.blocks.count); ++b)\n"
            code += "    \(p)_bilinear(&\(p)_bilinear\(k)[b], \(p)_bilinear\(k)_sources, model->t\(k) + \(p)_bilinear\(k)[b].mixing_offset, x, y, gathered, products, n, \(b.dimension));\n"
            return code + swap
        case .pointwise(let pw):
            if pw.function == .identity { return "" }
            return "\(p)_apply_\(pw.function.rawValue)(x, n * \(pw.dimension));\n"
        case .gate(let g):
            var code = "for (t = 0; t < n; ++t) {\n    const \(real) *row = x + t * \(g.inputDimension);\n    \(real) *result = y + t * \(g.outputDimension);\n"
            code += scalarsThroughSilu(g.scalars, into: "result")
            if let first = g.blocks.first?.gate, g.blocks.enumerated().allSatisfy({ $0.element.gate == first + $0.offset }) {
                // The gates are contiguous: their sigmoids in one loop, then the products.
                code += "    {\n        \(real) gates[\(g.blocks.count)];\n"
                code += "        for (b = 0; b < \(g.blocks.count); ++b) gates[b] = \(p)_sigmoid(row[\(first) + b]);\n"
                code += "        for (b = 0; b < \(g.blocks.count); ++b) {\n            const \(p)_gated_block *block = &\(p)_gated\(k)[b];\n            for (c = block->offset; c < block->offset + block->length; ++c) result[c] = row[c] * gates[b];\n        }\n    }\n"
            } else if !g.blocks.isEmpty {
                code += "    for (b = 0; b < \(g.blocks.count); ++b) {\n        const \(p)_gated_block *block = &\(p)_gated\(k)[b];\n        const \(real) gate = \(p)_sigmoid(row[block->gate]);\n        for (c = block->offset; c < block->offset + block->length; ++c) result[c] = row[c] * gate;\n    }\n"
            }
            return code + "}\n" + swap
        case .norm(let nm):
            var code = "for (t = 0; t < n; ++t) {\n    \(real) *row = x + t * \(nm.dimension);\n"
            code += scalarsThroughSilu(nm.scalars, into: "row")
            if !nm.blocks.isEmpty {
                code += "    for (b = 0; b < \(nm.blocks.count); ++b) {\n        const \(p)_normed_block *block = &\(p)_normed\(k)[b];\n        \(real) squares = 0, scale;\n        for (c = block->offset; c < block->offset + block->length; ++c) squares += row[c] * row[c];\n        scale = \(p)_sigmoid(sqrt\(f)(squares));\n        for (c = block->offset; c < block->offset + block->length; ++c) row[c] *= scale;\n    }\n"
            }
            return code + "}\n"
        }
    }

    /// The scalar channels of a gate or norm op through silu (read from `row`), one loop per
    /// contiguous run of them.
    func scalarsThroughSilu(_ scalars: [Int], into target: String) -> String {
        var code = ""
        var k = 0
        while k < scalars.count {
            var end = k + 1
            while end < scalars.count && scalars[end] == scalars[end - 1] + 1 { end += 1 }
            code += "    for (c = \(scalars[k]); c < \(scalars[end - 1] + 1); ++c) {\n        const \(real) v = row[c];\n"
                + "        \(target)[c] = \(expression(.silu, "v"));\n    }\n"
            k = end
        }
        return code
    }
}
