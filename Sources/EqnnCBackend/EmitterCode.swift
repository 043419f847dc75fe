import EqnnIR

extension Emitter {
    var usesDenseLinear: Bool {
        graph.ops.indices.contains { k in
            if case .linear = graph.ops[k] { return structured[k] == nil }
            return false
        }
    }

    func pointwiseFunctions() -> [PointwiseFunction] {
        var seen: [PointwiseFunction] = []
        for op in graph.ops {
            if case .pointwise(let pw) = op, !seen.contains(pw.function) { seen.append(pw.function) }
        }
        return seen
    }

    var usesSilu: Bool {
        graph.ops.contains {
            switch $0 {
            case .gate, .norm: return true
            case .pointwise(let pw): return pw.function == .silu
            default: return false
            }
        }
    }

    var usesSigmoid: Bool {
        usesSilu || graph.ops.contains {
            switch $0 {
            case .pointwise(let pw): return pw.function == .sigmoid
            default: return false
            }
        }
    }

    /// The C expression of f(v).
    func expression(_ function: PointwiseFunction, _ v: String) -> String {
        let one = literal(1), zero = "0"
        switch function {
        case .relu: return "(\(v) > \(zero) ? \(v) : \(zero))"
        case .leakyRelu: return "(\(v) > \(zero) ? \(v) : \(literal(0.01)) * \(v))"
        case .tanh: return "tanh\(f)(\(v))"
        case .sigmoid: return "\(p)_sigmoid(\(v))"
        case .silu: return "(\(v) * \(p)_sigmoid(\(v)))"
        case .gelu: return "(\(literal(0.5)) * \(v) * (\(one) + erf\(f)(\(v) * \(literal(0.7071067811865476)))))"
        case .softplus: return "(\(v) > \(literal(30)) ? \(v) : log1p\(f)(exp\(f)(\(v))))"
        case .identity: return v
        }
    }

    func helpers() -> String {
        var out = ""
        if usesSigmoid {
            out += """
            static \(real) \(p)_sigmoid(\(real) v) {
                if (v >= 0) return \(literal(1)) / (\(literal(1)) + exp\(f)(-v));
                {
                    \(real) e = exp\(f)(v);
                    return e / (\(literal(1)) + e);
                }
            }


            """
        }
        if !structured.isEmpty {
            out += """
            /* y[t] = W x[t] for a structured W: a list of block pairs of known shape; the
               input-block sums they read are computed once per sample into sums. */
            static void \(p)_structured(const int (*pairs)[7], int count, const int (*summed)[2], int summedCount,
                                        const \(real) *restrict coefficients, const \(real) *restrict x, \(real) *restrict y,
                                        \(real) *restrict sums, size_t n, size_t in, size_t out) {
                size_t t;
                int q, i, j;
                for (t = 0; t < n * out; ++t) y[t] = 0;
                for (t = 0; t < n; ++t) {
                    for (q = 0; q < summedCount; ++q) {
                        const \(real) *restrict xs = x + t * in + summed[q][0];
                        \(real) sum = 0;
                        for (i = 0; i < summed[q][1]; ++i) sum += xs[i];
                        sums[q] = sum;
                    }
                    for (q = 0; q < count; ++q) {
                        const int *pair = pairs[q];
                        const \(real) *restrict c = coefficients + pair[5];
                        const \(real) *restrict xi = x + t * in + pair[3];
                        \(real) *restrict yo = y + t * out + pair[1];
                        switch (pair[0]) {
                        case 0:
                            yo[0] += c[0] * xi[0];
                            break;
                        case 1:
                            yo[0] += c[0] * sums[pair[6]];
                            break;
                        case 2:
                            for (i = 0; i < pair[2]; ++i) yo[i] += c[0] * xi[0];
                            break;
                        case 3: {
                            const \(real) a = c[0], b = c[1] * sums[pair[6]];
                            for (i = 0; i < pair[2]; ++i) yo[i] += a * xi[i] + b;
                            break;
                        }
            default:
                            /* y_i += sum_s c_s x_{i+s mod n}, without a modulo in the inner loop */
                            for (i = 0; i < pair[2]; ++i) {
                                \(real) acc = 0;
                                for (j = i; j < pair[2]; ++j) acc += c[j - i] * xi[j];
                                for (j = 0; j < i; ++j) acc += c[j - i + pair[2]] * xi[j];
                                yo[i] += acc;
                            }
                            break;
                        }
                    }
                }
            }


            """
        }
        if usesDenseLinear {
            out += """
            /* y[t] = W x[t] for the n samples of a tile; wt is W transposed (in x out), so the
               inner loop runs over contiguous outputs and every row of wt serves the whole tile. */
            static void \(p)_linear(const \(real) *restrict wt, const \(real) *restrict x, \(real) *restrict y,
                                    size_t n, size_t in, size_t out) {
                size_t t, i, o;
                for (t = 0; t < n * out; ++t) y[t] = 0;
                for (i = 0; i < in; ++i) {
                    const \(real) *restrict w = wt + i * out;
                    for (t = 0; t < n; ++t) {
                        const \(real) xi = x[t * in + i];
                        \(real) *restrict yt = y + t * out;
                        if (xi == 0) continue;
                        for (o = 0; o < out; ++o) yt[o] += xi * w[o];
                    }
                }
            }


            """
        }
        for function in pointwiseFunctions() where function != .identity {
            out += """
            static void \(p)_\(function.rawValue)(\(real) *x, size_t count) {
                size_t i;
                for (i = 0; i < count; ++i) {
                    const \(real) v = x[i];
                    x[i] = \(expression(function, "v"));
                }
            }


            """
        }
        return out
    }

    func initFunction() -> String {
        var out = "void \(p)_init(\(p)_model *model, const \(real) *theta, const \(real) *normalizer) {\n"
        out += "    size_t i;\n    int k, e;\n    (void)k;\n    (void)e;\n"
        for (k, op) in graph.ops.enumerated() {
            switch op {
            case .linear(let l) where structured[k] != nil:
                guard let plan = structured[k] else { continue }
                out += """
                    memset(model->s\(k), 0, sizeof model->s\(k));
                    for (k = 0; k < \(plan.terms.count); ++k)
                        model->s\(k)[\(p)_terms\(k)[k][0]] += theta[\(l.parameters.offset) + \(p)_terms\(k)[k][1]] * \(p)_term_weights\(k)[k];

                """
            case .linear(let l):
                out += "    memset(model->w\(k), 0, sizeof model->w\(k));\n"
                if l.basis.entryCount > 0 {
                    out += """
                        for (k = 0; k < \(l.basis.count); ++k)
                            for (e = \(p)_basis\(k)_starts[k]; e < \(p)_basis\(k)_starts[k + 1]; ++e)
                                model->w\(k)[\(p)_basis\(k)_columns[e] * \(l.basis.rows) + \(p)_basis\(k)_rows[e]] += theta[\(l.parameters.offset) + k] * \(p)_basis\(k)_values[e];

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
            case .bilinear(let b):
                out += "    for (i = 0; i < \(b.parameters.count); ++i) model->t\(k)[i] = theta[\(b.parameters.offset) + i];\n"
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
        let theta = weights.parameters
        var arrays: [[Double]] = []
        for (k, op) in graph.ops.enumerated() {
            switch op {
            case .linear(let l) where structured[k] != nil:
                guard let plan = structured[k] else { continue }
                var slots = [Double](repeating: 0, count: plan.slotCount)
                for term in plan.terms { slots[term.slot] += theta[l.parameters.offset + term.basis] * term.weight }
                arrays.append(slots)
            case .linear(let l): arrays.append(l.basis.expanded(theta, offset: l.parameters.offset, transposed: true))
            case .bias(let b): arrays.append(b.basis.expanded(theta, offset: b.parameters.offset, transposed: false))
            case .bilinear(let b): arrays.append(Array(theta[b.parameters.offset..<(b.parameters.offset + b.parameters.count)]))
            default: continue
            }
        }
        arrays += [weights.inputShift, weights.inputScale, weights.outputShift, weights.outputScale]
        out += arrays.map { values in
            values.allSatisfy { $0 == 0 } ? "    {0}" : "    " + list(values.map(literal)).split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n    ")
        }.joined(separator: ",\n")
        out += "\n};\n\nconst \(p)_model *\(p)_baked(void) {\n    return &\(p)_baked_model;\n}\n\n"
        return out
    }

    func forwardFunction() -> String {
        let d = graph.input.dimension, e = graph.output.dimension
        var out = """
        void \(p)_forward(const \(p)_model *restrict model, const \(real) *restrict input, \(real) *restrict output, size_t batch) {
            \(real) buffer_a[\(P)_TILE * \(P)_MAX_DIM];
            \(real) buffer_b[\(P)_TILE * \(P)_MAX_DIM];\(structured.isEmpty ? "" : "\n    \(real) sums[\(P)_MAX_SUMS] = {0};")
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
                for (t = 0; t < n; ++t)
                    for (i = 0; i < \(d); ++i)
                        x[t * \(d) + i] = (input[(first + t) * \(d) + i] - model->input_shift[i]) / model->input_scale[i];

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

    func opName(_ op: Op) -> String {
        switch op {
        case .linear(let l): return "linear \(l.parameters.name)"
        case .bias(let b): return "bias \(b.parameters.name)"
        case .bilinear(let b): return "bilinear \(b.parameters.name)"
        case .pointwise(let pw): return pw.function.rawValue
        case .gate: return "gate"
        case .norm: return "norm"
        }
    }

    /// The statements of one op inside the tile loop (x: input, y: scratch; results end in x).
    func body(_ op: Op, _ k: Int) -> String {
        let swap = "swap = x;\nx = y;\ny = swap;\n"
        switch op {
        case .linear(let l):
            if let plan = structured[k] {
                let sums = plan.sumBlocks.isEmpty ? "NULL, 0" : "\(p)_sums\(k), \(plan.sumBlocks.count)"
                return "\(p)_structured(\(p)_pairs\(k), \(plan.pairs.count), \(sums), model->s\(k), x, y, sums, n, \(l.basis.columns), \(l.basis.rows));\n" + swap
            }
            return "\(p)_linear(model->w\(k), x, y, n, \(l.basis.columns), \(l.basis.rows));\n" + swap
        case .bias(let b):
            return "for (t = 0; t < n; ++t)\n    for (i = 0; i < \(b.basis.rows); ++i) x[t * \(b.basis.rows) + i] += model->b\(k)[i];\n"
        case .bilinear(let b):
            guard !b.blocks.isEmpty else { return "" }
            let largest = b.groups.reduce(0) { max($0, $1.inputLength) }
            // y_out += sum_s X_s z_s with z_s = sum_i theta[i, s] x_i (see the graph IR docs).
            return """
            for (t = 0; t < n; ++t) {
                const \(real) *row = x + t * \(b.dimension);
                \(real) *result = y + t * \(b.dimension);
                for (i = 0; i < \(b.dimension); ++i) result[i] = row[i];
                for (b = 0; b < \(b.groups.count); ++b) {
                    const int *group = \(p)_bilinear\(k)[b];
                    \(real) z[\(largest)];
                    for (s = 0; s < group[3]; ++s) {
                        const \(real) *source = row + \(p)_bilinear\(k)_sources[group[4] + s];
                        int q;
                        for (c = 0; c < group[2]; ++c) z[c] = 0;
                        for (q = 0; q < group[5]; ++q) {
                            const int *input = \(p)_bilinear\(k)_inputs[group[6] + q];
                            const \(real) coefficient = model->t\(k)[input[1] + s];
                            const \(real) *xi = row + input[0];
                            for (c = 0; c < group[2]; ++c) z[c] += coefficient * xi[c];
                        }
                        for (q = 0; q < group[1]; ++q) {
                            \(real) sum = 0;
                            for (c = 0; c < group[2]; ++c) sum += source[q * group[2] + c] * z[c];
                            result[group[0] + q] += sum;
                        }
                    }
                }
            }

            """ + swap
        case .pointwise(let pw):
            if pw.function == .identity { return "" }
            return "\(p)_\(pw.function.rawValue)(x, n * \(pw.dimension));\n"
        case .gate(let g):
            var code = "for (t = 0; t < n; ++t) {\n    const \(real) *row = x + t * \(g.inputDimension);\n    \(real) *result = y + t * \(g.outputDimension);\n"
            code += scalarsThroughSilu(g.scalars.count, k, into: "result")
            if !g.blocks.isEmpty {
                code += "    for (b = 0; b < \(g.blocks.count); ++b) {\n        const int *block = \(p)_gated\(k)[b];\n        const \(real) gate = \(p)_sigmoid(row[block[2]]);\n        for (c = block[0]; c < block[0] + block[1]; ++c) result[c] = row[c] * gate;\n    }\n"
            }
            return code + "}\n" + swap
        case .norm(let nm):
            var code = "for (t = 0; t < n; ++t) {\n    \(real) *row = x + t * \(nm.dimension);\n"
            code += scalarsThroughSilu(nm.scalars.count, k, into: "row")
            if !nm.blocks.isEmpty {
                code += "    for (b = 0; b < \(nm.blocks.count); ++b) {\n        const int *block = \(p)_normed\(k)[b];\n        \(real) squares = 0, scale;\n        for (c = block[0]; c < block[0] + block[1]; ++c) squares += row[c] * row[c];\n        scale = \(p)_sigmoid(sqrt\(f)(squares));\n        for (c = block[0]; c < block[0] + block[1]; ++c) row[c] *= scale;\n    }\n"
            }
            return code + "}\n"
        }
    }

    /// The scalar channels of a gate or norm op through silu (read from `row`).
    func scalarsThroughSilu(_ count: Int, _ k: Int, into target: String) -> String {
        guard count > 0 else { return "" }
        return "    for (c = 0; c < \(count); ++c) {\n        const \(real) v = row[\(p)_scalars\(k)[c]];\n"
            + "        \(target)[\(p)_scalars\(k)[c]] = \(expression(.silu, "v"));\n    }\n"
    }
}
