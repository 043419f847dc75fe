import EqnnIR

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
        let d = graph.input.dimension, e = graph.output.dimension
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
        case .convolution(let c): return "convolution \(c.linear.parameters.name)"
        case .pool(let pool): return pool.pooling.description
        case .batchNorm: return "batchnorm"
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
