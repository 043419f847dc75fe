import EqnnIR

extension Op {
    /// For the tables, fields, init and baked weights, a convolution is its linear map.
    var tables: Op {
        if case .convolution(let c) = self { return .linear(c.linear) }
        return self
    }
}

/// Grid networks in C: `forward` takes the extents at run time and a
/// caller-provided workspace (no heap, no fixed image size); each sample runs
/// through the ops with one row per position, a convolution tile by tile
/// (neighbourhoods gathered, then the linear map's product), a pool as means.
extension Emitter {
    var convolutions: [(Int, Convolution)] {
        graph.ops.enumerated().compactMap { k, op in
            if case .convolution(let c) = op { return (k, c) }
            return nil
        }
    }

    /// The C row of input index `row` (a C expression) in the dense weights of op k: for a
    /// dense convolution `Convolution.offsetMajorColumn` (the order its neighbourhood tile is
    /// gathered in: each neighbour's channels in one copy), otherwise the index itself.
    func denseRow(_ k: Int, _ row: String) -> String {
        guard case .convolution(let c) = graph.ops[k], structured(k) == nil else { return "(\(row))" }
        return "((\(row)) % \(c.offsets) * \(c.channels) + (\(row)) / \(c.offsets))"
    }

    /// W^T of op k as the C stores it (see `denseRow`).
    func denseRows(_ k: Int, _ wt: [Double]) -> [Double] {
        guard case .convolution(let c) = graph.ops[k], structured(k) == nil else { return wt }
        return c.offsetMajorRows(wt)
    }

    /// Values of the neighbourhood tile: enough for the widest convolution.
    var columnsCapacity: Int { convolutions.reduce(1) { max($0, $1.1.rowsPerTile * $1.1.linear.inputDimension) } }

    func gridHeader() -> String {
        """
        #define \(P)_GRID_AXES \(gridAxes)

        /* The workspace \(p)_forward needs for grids of these extents, in \(p)_real values: two
           buffers of one sample's widest layer and a tile of neighbourhoods. 0 when an extent is 0
           or a pool does not divide it. */
        size_t \(p)_workspace_size(const size_t extents[\(P)_GRID_AXES]);

        /* output = f(input) for batch samples, each a grid of extents[0] x ... x extents[\(gridAxes - 1)] positions:
           input is (batch, extents..., \(P)_INPUT_DIM) row-major, output (batch, pooled extents...,
           \(P)_OUTPUT_DIM)\(graph.outputAxes == 0 ? ", one row per sample after 'pool global'" : ""). workspace holds
           \(p)_workspace_size(extents) values; input, output and workspace must not overlap.
           Returns 0, or -1 (writing nothing) when an extent is 0 or a pool does not divide it.
           Thread-safe when every thread has its own workspace. */
        int \(p)_forward(const \(p)_model *\(P)_RESTRICT model, const \(real) *\(P)_RESTRICT input, \(real) *\(P)_RESTRICT output,
                         size_t batch, const size_t extents[\(P)_GRID_AXES], \(real) *\(P)_RESTRICT workspace);

        """
    }

    func gridHelpers() -> String {
        var out = ""
        // Each kernel size's offsets, one per row, in the IR's order (Convolution.offsetVectors).
        for kernel in Set(convolutions.map { $0.1.kernel }).sorted() {
            let vectors = Convolution.offsetVectors(kernel: kernel, dimension: gridAxes)
            out += "static const int \(p)_kernel\(kernel)_offsets[\(vectors.count)][\(gridAxes)] = {\n"
            out += vectors.map { "    {" + $0.map(String.init).joined(separator: ", ") + "}" }.joined(separator: ",\n")
            out += "\n};\n\n"
        }
        if !convolutions.isEmpty {
            out += """
            /* The neighbourhoods of positions first ..< first + n of one sample, as the convolution op
               reads them: columns[t * channels * offsets + c * offsets + o] = x[q * channels + c], q the
               position at offset o (vectors[o * axes + a] on axis a, the IR's order) of position
               first + t; 0 outside the grid, or the wrapped position when circular. With offset_major,
               columns[t * channels * offsets + o * channels + c] instead: each offset's channels in one
               copy, for the dense products, whose weight rows are stored in that order. */
            static void \(p)_neighbourhoods(const \(real) *restrict x, \(real) *restrict columns, size_t first, size_t n,
                                            const size_t *extents, int axes, const int *vectors, size_t offsets, size_t channels,
                                            int circular, int offset_major) {
                const \(real) *source[\(convolutions.map { $0.1.offsets }.max() ?? 1)]; /* per offset: its position's values, or NULL outside */
                size_t t, c, o;
                int a;
                for (t = 0; t < n; ++t) {
                    size_t rest = first + t;
                    long coordinate[3] = {0, 0, 0};
                    \(real) *row = columns + t * channels * offsets;
                    for (a = axes - 1; a >= 0; --a) {
                        coordinate[a] = (long)(rest % extents[a]);
                        rest /= extents[a];
                    }
                    for (o = 0; o < offsets; ++o) {
                        size_t q = 0, stride = 1;
                        int inside = 1;
                        for (a = axes - 1; a >= 0; --a) {
                            const long e = (long)extents[a];
                            long v = coordinate[a] + vectors[o * (size_t)axes + (size_t)a];
                            if (v < 0 || v >= e) {
                                if (!circular) {
                                    inside = 0;
                                    break;
                                }
                                v = ((v % e) + e) % e;
                            }
                            q += (size_t)v * stride;
                            stride *= extents[a];
                        }
                        source[o] = inside ? x + q * channels : NULL;
                    }
                    if (offset_major) {
                        for (o = 0; o < offsets; ++o) {
                            \(real) *to = row + o * channels;
                            if (source[o])
                                memcpy(to, source[o], channels * sizeof *to);
                            else
                                memset(to, 0, channels * sizeof *to);
                        }
                        continue;
                    }
                    /* Channel by channel, so that the writes of a row are contiguous. */
                    for (c = 0; c < channels; ++c)
                        for (o = 0; o < offsets; ++o) row[c * offsets + o] = source[o] ? source[o][c] : 0;
                }
            }


            """
        }
        if gridAxes > 0, graph.ops.contains(where: { if case .pool = $0 { return true } else { return false } }) {
            out += """
            /* Mean pooling of one sample: blocks of size^axes positions (size 0: all of them) of x into
               y; extents become the pooled extents (all 1 after a global pool). Returns the pooled positions. */
            static size_t \(p)_pool(const \(real) *restrict x, \(real) *restrict y, size_t *extents, int axes, size_t channels,
                                    size_t size) {
                size_t positions = 1, pooled = 1, q, c, out[3] = {1, 1, 1};
                int a;
                \(real) share;
                for (a = 0; a < axes; ++a) {
                    positions *= extents[a];
                    out[a] = size ? extents[a] / size : 1;
                    pooled *= out[a];
                }
                share = (\(real))pooled / (\(real))positions;
                for (q = 0; q < pooled * channels; ++q) y[q] = 0;
                for (q = 0; q < positions; ++q) {
                    size_t rest = q, target = 0, stride = 1;
                    for (a = axes - 1; a >= 0; --a) {
                        const size_t i = rest % extents[a];
                        rest /= extents[a];
                        if (size) target += i / size * stride;
                        stride *= out[a];
                    }
                    for (c = 0; c < channels; ++c) y[target * channels + c] += x[q * channels + c] * share;
                }
                for (a = 0; a < axes; ++a) extents[a] = out[a];
                return pooled;
            }


            """
        }
        for (k, c) in convolutions {
            let rows = c.rowsPerTile
            let circular = graph.domain?.padding == .circular ? 1 : 0
            out += """
            /* \(c.linear.parameters.name): a \(c.kernel)-wide convolution, \(c.rowsPerTile) positions per tile. */
            static void \(p)_convolution\(k)(const \(p)_model *restrict model, const \(real) *restrict input, \(real) *restrict output,
                                             const size_t *extents, \(real) *restrict columns, \(real) *restrict gathered, \(real) *restrict products) {
                size_t positions = 1, first, t;
                int a, b;
                (void)t;
                (void)b;
                (void)gathered;
                (void)products;
                for (a = 0; a < \(gridAxes); ++a) positions *= extents[a];
                for (first = 0; first < positions; first += \(rows)) {
                    const size_t n = positions - first < \(rows) ? positions - first : \(rows);
                    const \(real) *x = columns;
                    \(real) *y = output + first * \(c.linear.outputDimension);
                    \(p)_neighbourhoods(input, columns, first, n, extents, \(gridAxes), \(p)_kernel\(c.kernel)_offsets[0], \(c.offsets), \(c.channels), \(circular), \(structured(k) == nil ? 1 : 0));

            """
            out += linearCode(k, c.linear).split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.isEmpty ? "" : "        " + $0 }.joined(separator: "\n")
            out += "    }\n}\n\n"
        }
        return out
    }

    /// How many values a stage holds, op by op, and where pools shrink the grid: the plan
    /// that sizes the workspace and checks the extents.
    func gridPlan() -> String {
        var out = """
        /* The values of one activation buffer (one sample's widest layer) for these extents, and the
           output positions; 0 when an extent is 0, too large, or not divided by a pool. */
        static size_t \(p)_plan(const size_t *extents, size_t *output_positions) {
            size_t e[3] = {1, 1, 1}, positions = 1, most = \(graph.input.dimension);
            int a;
            for (a = 0; a < \(gridAxes); ++a) {
                if (extents[a] == 0 || extents[a] > SIZE_MAX / \(max(1, columnsCapacity + maxDimension)) / positions) return 0;
                e[a] = extents[a];
                positions *= e[a];
            }
            most *= positions;

        """
        for op in graph.ops {
            switch op {
            case .pool(let pool):
                switch pool.pooling {
                case .mean(let s):
                    out += "    for (a = 0; a < \(gridAxes); ++a) {\n        if (e[a] % \(s) != 0) return 0;\n        e[a] /= \(s);\n        positions /= \(s);\n    }\n"
                case .global, .sum:  // a sum pools points only (pointsForwardFunction), never a grid
                    out += "    positions = 1;\n"
                }
            default:
                out += "    if (positions * \(max(op.inputDimension, op.outputDimension)) > most) most = positions * \(max(op.inputDimension, op.outputDimension));\n"
            }
        }
        out += """
            (void)e;
            *output_positions = positions;
            return most;
        }

        size_t \(p)_workspace_size(const size_t extents[\(P)_GRID_AXES]) {
            size_t output_positions, most = \(p)_plan(extents, &output_positions);
            return most ? 2 * most + \(columnsCapacity) : 0;
        }


        """
        return out
    }

    func gridForwardFunction() -> String {
        let e = graph.output.dimension
        let scratch = structuredOps.isEmpty && bilinearOps.isEmpty ? "" : "\n    \(real) gathered[\(P)_GATHER_CAP], products[\(P)_PRODUCT_CAP];"
        var out = gridPlan() + """
        int \(p)_forward(const \(p)_model *restrict model, const \(real) *restrict input, \(real) *restrict output,
                         size_t batch, const size_t extents[\(P)_GRID_AXES], \(real) *restrict workspace) {
            size_t output_positions, input_positions = 1, sample;
            const size_t most = \(p)_plan(extents, &output_positions);\(scratch)
            int a;
            if (most == 0 || workspace == NULL) return -1;
            for (a = 0; a < \(gridAxes); ++a) input_positions *= extents[a];
            for (sample = 0; sample < batch; ++sample) {
                \(real) *x = workspace, *y = workspace + most, *swap, *columns = workspace + 2 * most;
                size_t e[3] = {1, 1, 1}, n = input_positions, t, i;
                int b, s, c;
                (void)swap;
                (void)columns;
                (void)b;
                (void)s;
                (void)c;
                for (a = 0; a < \(gridAxes); ++a) e[a] = extents[a];
        \(normalizedInput(row: "sample * input_positions + t"))
        """
        for (k, op) in graph.ops.enumerated() {
            out += "        /* \(opName(op)): \(op.inputDimension) -> \(op.outputDimension) per position, \(op.representation) */\n"
            let code: String
            switch op {
            case .convolution:
                code = "\(p)_convolution\(k)(model, x, y, e, columns, \(scratch.isEmpty ? "NULL, NULL" : "gathered, products"));\nswap = x;\nx = y;\ny = swap;\n"
            case .pool(let pool):
                let size: Int
                if case .mean(let s) = pool.pooling { size = s } else { size = 0 }
                code = "n = \(p)_pool(x, y, e, \(gridAxes), \(pool.channels), \(size));\nswap = x;\nx = y;\ny = swap;\n"
            default:
                code = body(op, k)
            }
            out += code.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "        " + $0 }.joined(separator: "\n")
        }
        out += """
                for (t = 0; t < n; ++t)
                    for (i = 0; i < \(e); ++i)
                        output[(sample * output_positions + t) * \(e) + i] = x[t * \(e) + i] * model->output_scale[i] + model->output_shift[i];
            }
            return 0;
        }

        """
        return out
    }
}
