import EqnnIR

/// The fixed C runtime: the same text for every network that uses it (the
/// activations' expressions, sigmoid, the matrix product, the structured and
/// bilinear kernels), included according to the ops the graph has.
extension Emitter {
    var usesDenseLinear: Bool {
        graph.ops.indices.contains { k in
            graph.ops[k].linearMap != nil && structured(k) == nil
        }
    }

    /// Columns of the matrix product's register tile: two 256-bit vectors.
    var tileColumns: Int { precision == .f32 ? 16 : 8 }

    func pointwiseFunctions() -> [Activation] {
        var seen: [Activation] = []
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
    func expression(_ function: Activation, _ v: String) -> String {
        let one = literal(1), zero = "0"
        switch function {
        case .relu: return "(\(v) > \(zero) ? \(v) : \(zero))"
        case .leakyRelu: return "(\(v) > \(zero) ? \(v) : \(literal(Activation.leakySlope)) * \(v))"
        case .tanh: return "tanh\(f)(\(v))"
        case .sigmoid: return "\(p)_sigmoid(\(v))"
        case .silu: return "(\(v) * \(p)_sigmoid(\(v)))"
        case .gelu: return "(\(literal(0.5)) * \(v) * (\(one) + erf\(f)(\(v) * \(literal(0.7071067811865476)))))"
        case .softplus: return "(\(v) > \(literal(Activation.softplusThreshold)) ? \(v) : log1p\(f)(exp\(f)(\(v))))"
        case .identity: return v
        case .gated, .norm: return v  // never a pointwise op: lowering gives them ops of their own
        }
    }

    func helpers() -> String {
        var out = ""
        if usesSigmoid && precision == .f32 {
            // expf is a call gcc cannot vectorize; this is plain arithmetic, so loops over it vectorize.
            out += """
            /* e^x for -87 <= x <= 0: x = k ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor polynomial
               of degree 7 (relative error below 1e-8 before rounding), 2^k from the exponent bits. */
            static inline float \(p)_exp_nonpositive(float x) {
                const float k = (float)(int)(x * 1.44269504f - 0.5f);
                const float r = (x - k * 0.693145751953125f) - k * 1.42860677e-6f;
                union { uint32_t bits; float value; } scale;  /* 2^k: C99 reads the other member as that type */
                scale.bits = (uint32_t)((int)k + 127) << 23;
                return scale.value * (1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f
                    + r * (0.00833333377f + r * (0.00138888892f + r * 0.000198412701f)))))));
            }

            /* 1 / (1 + e^-v) from e = e^-|v| (never overflows, clamped at e^-87), without branches:
               the sign and NaN tests are integer masks, so loops over it vectorize. A NaN stays NaN. */
            static inline float \(p)_sigmoid(float v) {
                union { float value; uint32_t bits; } in, a, low, high;
                uint32_t negative, nan;
                in.value = v;
                a.bits = in.bits | 0x80000000u;
                a.bits = a.bits < 0xC2AE0000u ? a.bits : 0xC2AE0000u;
                high.value = \(p)_exp_nonpositive(a.value);
                low.value = high.value / (1.0f + high.value);
                high.value = 1.0f / (1.0f + high.value);
                negative = (uint32_t)0 - (in.bits >> 31);
                nan = (uint32_t)0 - (uint32_t)((in.bits & 0x7FFFFFFFu) > 0x7F800000u);
                low.bits = (((low.bits & negative) | (high.bits & ~negative)) & ~nan) | (in.bits & nan);
                return low.value;
            }


            """
        } else if usesSigmoid {
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
        out += matrixProduct()
        if !structuredOps.isEmpty || !bilinearOps.isEmpty {
            out += """
            /* Samples per piece of a tile: as many as fit the buffers G (`gathered` values per
               sample) and Z (`products` values per sample; 0 when Z is not used), at least one. */
            static size_t \(p)_group(size_t n, size_t gathered, size_t products) {
                size_t group = n;
                if (group > \(P)_GATHER_CAP / gathered) group = \(P)_GATHER_CAP / gathered;
                if (products > 0 && group > \(P)_PRODUCT_CAP / products) group = \(P)_PRODUCT_CAP / products;
                return group < 1 ? 1 : group;
            }


            """
        }
        if !structuredOps.isEmpty {
            out += """
            /* y[t] += W x[t] for the n samples of a tile, one stack of a structured linear op
               (see LinearPlan): per input, G[(t, q), k] gathers width values of input copy k per
               sample, and Z = G M mixes the copies in a matrix product; the scatter writes Z to the
               output copies. Inputs that gather in place are read from x without a copy, and a
               stack that scatters in place adds its products straight into y. Samples and the
               depth are cut so that G and Z fit their buffers. */
            static void \(p)_stack(const \(p)_stack_table *stack, const \(p)_stack_input *inputs, const int (*entries)[2], const \(real) *values,
                                   const \(real) *restrict mixing, const \(real) *restrict x, \(real) *restrict y,
                                   \(real) *restrict g, \(real) *restrict z, size_t n, size_t in, size_t out) {
                const size_t b = (size_t)stack->out_copies, dim = (size_t)stack->out_dim, width = (size_t)stack->width;
                const int direct = stack->in_place;
                const size_t group = \(p)_group(n, width, direct ? 0 : width * b);
                size_t first;
                for (first = 0; first < n; first += group) {
                    const size_t count = n - first < group ? n - first : group, rows = count * width;
                    /* Where the products go: y itself (rows t, columns the output copies), or Z. */
                    \(real) *target = direct ? y + first * out + (size_t)stack->out_offset : z;
                    const size_t target_rows = direct ? out : width * b, target_columns = direct ? dim : 1;
                    const size_t target_q = direct ? 1 : b;
                    size_t t, o, e;
                    int q;
                    if (!direct)
                        for (t = 0; t < rows * b; ++t) z[t] = 0;
                    for (q = stack->first_input; q < stack->first_input + stack->inputs; ++q) {
                        const \(p)_stack_input *input = &inputs[q];
                        const size_t row = (size_t)input->row, copies = (size_t)input->in_copies, input_dim = (size_t)input->in_dim;
                        const \(real) *xs = x + first * in + (size_t)input->in_offset;
                        size_t chunk, k0, k;
                        if (input->in_place == 2) {
                            /* In place, narrow: G[(t, c), k] = x[t, copy k, c], read where it is. */
                            for (e = 0; e < width; ++e)
                                \(p)_gemm(count, b, copies, xs + e, in, input_dim, mixing + row * b, b, target + e * target_q, target_rows,
                                           target_columns);
                            continue;
                        }
                        chunk = \(P)_GATHER_CAP / rows;
                        if (chunk > copies) chunk = copies;
                        if (chunk < 1) chunk = 1;
                        for (k0 = 0; k0 < copies; k0 += chunk) {
                            const size_t kc = copies - k0 < chunk ? copies - k0 : chunk;
                            if (input->in_place) {
                                /* In place: a transposing copy. */
                                for (t = 0; t < count; ++t)
                                    for (e = 0; e < width; ++e)
                                        for (k = 0; k < kc; ++k) g[(t * width + e) * kc + k] = xs[t * in + (k0 + k) * input_dim + e];
                            } else {
                                for (t = 0; t < rows * kc; ++t) g[t] = 0;
                                for (t = 0; t < count; ++t) {
                                    \(real) *gt = g + t * width * kc;
                                    for (k = 0; k < kc; ++k) {
                                        const \(real) *xk = xs + t * in + (k0 + k) * input_dim;
                                        for (e = (size_t)input->first_gather; e < (size_t)(input->first_gather + input->gathers); ++e)
                                            gt[(size_t)entries[e][0] * kc + k] += values[e] * xk[entries[e][1]];
                                    }
                                }
                            }
                            if (!direct)
                                \(p)_gemm(rows, b, kc, g, kc, 1, mixing + (row + k0) * b, b, z, b, 1);
                            else
                                for (e = 0; e < width; ++e)
                                    \(p)_gemm(count, b, kc, g + e * kc, width * kc, 1, mixing + (row + k0) * b, b, target + e,
                                               out, dim);
                        }
                    }
                    if (direct) continue;
                    for (t = 0; t < count; ++t) {
                        \(real) *yt = y + (first + t) * out + (size_t)stack->out_offset;
                        const \(real) *zt = z + t * width * b;
                        for (e = (size_t)stack->first_scatter; e < (size_t)(stack->first_scatter + stack->scatters); ++e) {
                            const \(real) v = values[e];
                            \(real) *yr = yt + entries[e][0];
                            const \(real) *zq = zt + (size_t)entries[e][1] * b;
                            for (o = 0; o < b; ++o) yr[o * dim] += v * zq[o];
                        }
                    }
                }
            }


            """
        }
        if !bilinearOps.isEmpty {
            out += """
            /* The same, contracting first: P[(t, r), s a + i] = sum_c x[t, source s, r dim + c]
               x[t, copy i, c], then y[t, copy o, r] += sum_k P[(t, r), k] M[k, o] in one matrix product. */
            static void \(p)_contract(const \(p)_bilinear_block *block, const int *sources, const \(real) *restrict mixing,
                                      const \(real) *restrict x, \(real) *restrict y, \(real) *restrict p, \(real) *restrict z,
                                      size_t n, size_t d) {
                const size_t b = (size_t)block->out_copies, rows = (size_t)block->out_dim, a = (size_t)block->in_copies, dim = (size_t)block->in_dim;
                const size_t count_sources = (size_t)block->sources, width = count_sources * a;
                const size_t group = \(p)_group(n, rows * width, rows * b);
                size_t first;
                for (first = 0; first < n; first += group) {
                    const size_t count = n - first < group ? n - first : group;
                    size_t t, r, s, i, c, o;
                    for (t = 0; t < count; ++t) {
                        const \(real) *row = x + (first + t) * d, *inputs = row + (size_t)block->in_offset;
                        for (r = 0; r < rows; ++r) {
                            \(real) *pr = p + (t * rows + r) * width;
                            for (s = 0; s < count_sources; ++s) {
                                const \(real) *xs = row + sources[(size_t)block->first_source + s] + r * dim;
                                for (i = 0; i < a; ++i) {
                                    const \(real) *xi = inputs + i * dim;
                                    \(real) sum = 0;
                                    for (c = 0; c < dim; ++c) sum += xs[c] * xi[c];
                                    pr[s * a + i] = sum;
                                }
                            }
                        }
                    }
                    for (t = 0; t < count * rows * b; ++t) z[t] = 0;
                    \(p)_gemm(count * rows, b, width, p, width, 1, mixing, b, z, b, 1);
                    for (t = 0; t < count; ++t) {
                        \(real) *yt = y + (first + t) * d + (size_t)block->out_offset;
                        for (r = 0; r < rows; ++r) {
                            const \(real) *zr = z + (t * rows + r) * b;
                            for (o = 0; o < b; ++o) yt[o * rows + r] += zr[o];
                        }
                    }
                }
            }

            /* y[t] += W(x[t]) x[t] for one block of a bilinear op: Z[(t, c), s b + o] =
               sum_i x[t, copy i, c] M[i, s b + o] in one matrix product over the samples,
               then y[t, copy o, r] += sum_s sum_c x[t, source s, r dim + c] Z[(t, c), s b + o]. */
            static void \(p)_bilinear(const \(p)_bilinear_block *block, const int *sources, const \(real) *restrict mixing,
                                      const \(real) *restrict x, \(real) *restrict y, \(real) *restrict g, \(real) *restrict z,
                                      size_t n, size_t d) {
                const size_t b = (size_t)block->out_copies, out_dim = (size_t)block->out_dim, a = (size_t)block->in_copies, dim = (size_t)block->in_dim;
                const size_t width = (size_t)block->sources * b;
                size_t group, first;
                if (block->contracts_first) {
                    \(p)_contract(block, sources, mixing, x, y, g, z, n, d);
                    return;
                }
                group = \(p)_group(n, dim * a, dim * width);
                for (first = 0; first < n; first += group) {
                    const size_t count = n - first < group ? n - first : group;
                    size_t t, i, c, s, r, o;
                    for (t = 0; t < count; ++t) {
                        const \(real) *xt = x + (first + t) * d + (size_t)block->in_offset;
                        for (i = 0; i < a; ++i)
                            for (c = 0; c < dim; ++c) g[(t * dim + c) * a + i] = xt[i * dim + c];
                    }
                    for (t = 0; t < count * dim * width; ++t) z[t] = 0;
                    \(p)_gemm(count * dim, width, a, g, a, 1, mixing, width, z, width, 1);
                    for (t = 0; t < count; ++t) {
                        const \(real) *row = x + (first + t) * d;
                        \(real) *yt = y + (first + t) * d + (size_t)block->out_offset;
                        for (s = 0; s < (size_t)block->sources; ++s) {
                            const \(real) *source = row + sources[(size_t)block->first_source + s];
                            for (c = 0; c < dim; ++c) {
                                const \(real) *zc = z + (t * dim + c) * width + s * b;
                                for (r = 0; r < out_dim; ++r) {
                                    const \(real) v = source[r * dim + c];
                                    \(real) *yr = yt + r;
                                    for (o = 0; o < b; ++o) yr[o * out_dim] += v * zc[o];
                                }
                            }
                        }
                    }
                }
            }


            """
        }
        if usesDenseLinear {
            out += """
            /* y[t] = W x[t] for the n samples of a tile; wt is W transposed (in x out). */
            static void \(p)_linear(const \(real) *restrict wt, const \(real) *restrict x, \(real) *restrict y,
                                    size_t n, size_t in, size_t out) {
                size_t t;
                for (t = 0; t < n * out; ++t) y[t] = 0;
                \(p)_gemm(n, out, in, x, in, 1, wt, out, y, out, 1);
            }


            """
        }
        for function in pointwiseFunctions() where function != .identity {
            out += """
            static void \(p)_apply_\(function.rawValue)(\(real) *x, size_t count) {
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

    /// C[i, j] += sum_p A[i, p] B[p, j], row-major, BLIS-style: a panel of B (256 x NR,
    /// zero-padded) is packed once and serves every 6-row strip of A; a 6 x NR tile of C
    /// stays in 12 vector registers. With AVX the tile uses GCC/clang vector types (and
    /// FMA where the target has it); otherwise the same loops in plain C99.
    func matrixProduct() -> String {
        let nr = tileColumns, lanes = precision == .f32 ? 8 : 4
        let splat = "((\(p)_vec){" + Array(repeating: "v", count: lanes).joined(separator: ", ") + "})"
        let fma = precision == .f32 ? "_mm256_fmadd_ps" : "_mm256_fmadd_pd"
        let m256 = precision == .f32 ? "__m256" : "__m256d"
        var rows = ""
        for r in 0..<6 {
            rows += "        x = \(P)_SPLAT(a\(r)[p * csa]);\n        \(P)_MADD(c\(r)0, x, b0);\n        \(P)_MADD(c\(r)1, x, b1);\n"
        }
        let stores = (0..<6).map { r in "    \(p)_store(tile + \(r * nr), c\(r)0);\n    \(p)_store(tile + \(r * nr + lanes), c\(r)1);\n" }.joined()
        return """
        #define \(P)_MR 6
        #define \(P)_NR \(nr)
        #define \(P)_KC 256

        #if defined(__GNUC__) && defined(__AVX__)
        typedef \(real) \(p)_vec __attribute__((vector_size(32)));
        typedef \(real) \(p)_unaligned __attribute__((vector_size(32), aligned(sizeof(\(real))), may_alias));
        #define \(P)_SPLAT(v) \(splat)
        #if defined(__FMA__)
        #include <immintrin.h>
        #define \(P)_MADD(c, x, b) c = (\(p)_vec)\(fma)((\(m256))(x), (\(m256))(b), (\(m256))(c))
        #else
        #define \(P)_MADD(c, x, b) c += (x) * (b)
        #endif
        static void \(p)_store(\(real) *to, \(p)_vec v) {
            *(\(p)_unaligned *)to = v;
        }

        /* tile (6 x NR) = sum_p a_r[p csa] panel[p] for p < kb. */
        static void \(p)_kernel(size_t kb, const \(real) *a0, const \(real) *a1, const \(real) *a2, const \(real) *a3,
                                 const \(real) *a4, const \(real) *a5, size_t csa, const \(real) *restrict panel, \(real) *restrict tile) {
            \(p)_vec c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};
            size_t p;
            for (p = 0; p < kb; ++p) {
                const \(p)_vec b0 = *(const \(p)_unaligned *)(panel + p * \(P)_NR), b1 = *(const \(p)_unaligned *)(panel + p * \(P)_NR + \(lanes));
                \(p)_vec x;
        \(rows)    }
        \(stores)}
        #endif

        /* c[i * ldc + j * csc] += sum_p a[i * lda + p * csa] b[p * ldb + j] for i < m, j < n, p < k,
           in the unpacked form: 4 x NR tiles of C in local arrays, B read in place. Small m, and
           every m without AVX. */
        static void \(p)_gemm_direct(size_t m, size_t n, size_t k, const \(real) *restrict a, size_t lda, size_t csa,
                                      const \(real) *restrict b, size_t ldb, \(real) *restrict c, size_t ldc, size_t csc) {
            size_t i, j, p, jj;
            for (j = 0; j + \(nr) <= n; j += \(nr)) {
                for (i = 0; i + 4 <= m; i += 4) {
                    \(real) c0[\(nr)] = {0}, c1[\(nr)] = {0}, c2[\(nr)] = {0}, c3[\(nr)] = {0};
                    const \(real) *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
                    for (p = 0; p < k; ++p) {
                        const \(real) *bp = b + p * ldb + j;
                        const \(real) x0 = a0[p * csa], x1 = a1[p * csa], x2 = a2[p * csa], x3 = a3[p * csa];
                        for (jj = 0; jj < \(nr); ++jj) {
                            c0[jj] += x0 * bp[jj];
                            c1[jj] += x1 * bp[jj];
                            c2[jj] += x2 * bp[jj];
                            c3[jj] += x3 * bp[jj];
                        }
                    }
                    for (jj = 0; jj < \(nr); ++jj) {
                        c[i * ldc + (j + jj) * csc] += c0[jj];
                        c[(i + 1) * ldc + (j + jj) * csc] += c1[jj];
                        c[(i + 2) * ldc + (j + jj) * csc] += c2[jj];
                        c[(i + 3) * ldc + (j + jj) * csc] += c3[jj];
                    }
                }
                for (; i < m; ++i) {
                    \(real) c0[\(nr)] = {0};
                    const \(real) *a0 = a + i * lda;
                    for (p = 0; p < k; ++p) {
                        const \(real) *bp = b + p * ldb + j;
                        for (jj = 0; jj < \(nr); ++jj) c0[jj] += a0[p * csa] * bp[jj];
                    }
                    for (jj = 0; jj < \(nr); ++jj) c[i * ldc + (j + jj) * csc] += c0[jj];
                }
            }
            /* The last n mod NR columns, row by row. */
            for (i = 0; j < n && i < m; ++i) {
                const \(real) *a0 = a + i * lda;
                \(real) *ci = c + i * ldc + j * csc;
                const size_t rest = n - j;
                for (p = 0; p < k; ++p) {
                    const \(real) *bp = b + p * ldb + j;
                    const \(real) x0 = a0[p * csa];
                    for (jj = 0; jj < rest; ++jj) ci[jj * csc] += x0 * bp[jj];
                }
            }
        }

        #if defined(__GNUC__) && defined(__AVX__)
        /* The packed form: a panel of B (KC x NR, zero-padded) serves every 6-row strip of A. */
        static void \(p)_gemm(size_t m, size_t n, size_t k, const \(real) *restrict a, size_t lda, size_t csa,
                               const \(real) *restrict b, size_t ldb, \(real) *restrict c, size_t ldc, size_t csc) {
            \(real) panel[\(P)_KC * \(P)_NR], tile[6 * \(P)_NR];
            size_t j0, p0, i, p, r, j;
            if (m < 6) {
                \(p)_gemm_direct(m, n, k, a, lda, csa, b, ldb, c, ldc, csc);
                return;
            }
            for (j0 = 0; j0 < n; j0 += \(P)_NR) {
                const size_t nr = n - j0 < \(P)_NR ? n - j0 : \(P)_NR;
                for (p0 = 0; p0 < k; p0 += \(P)_KC) {
                    const size_t kb = k - p0 < \(P)_KC ? k - p0 : \(P)_KC;
                    for (p = 0; p < kb; ++p) {
                        const \(real) *bp = b + (p0 + p) * ldb + j0;
                        \(real) *to = panel + p * \(P)_NR;
                        /* Full panels in one straight copy (it vectorizes); the last one padded with zeros. */
                        if (nr == \(P)_NR)
                            for (j = 0; j < \(P)_NR; ++j) to[j] = bp[j];
                        else
                            for (j = 0; j < \(P)_NR; ++j) to[j] = j < nr ? bp[j] : 0;
                    }
                    for (i = 0; i < m; i += 6) {
                        const size_t mr = m - i < 6 ? m - i : 6;
                        const \(real) *a0 = a + i * lda + p0 * csa;
                        /* Rows past m repeat row i; their results are not stored. */
                        \(p)_kernel(kb, a0, mr > 1 ? a0 + lda : a0, mr > 2 ? a0 + 2 * lda : a0, mr > 3 ? a0 + 3 * lda : a0,
                                     mr > 4 ? a0 + 4 * lda : a0, mr > 5 ? a0 + 5 * lda : a0, csa, panel, tile);
                        for (r = 0; r < mr; ++r)
                            for (j = 0; j < nr; ++j) c[(i + r) * ldc + (j0 + j) * csc] += tile[r * \(P)_NR + j];
                    }
                }
            }
        }
        #else
        #define \(p)_gemm \(p)_gemm_direct
        #endif


        """
    }
}
