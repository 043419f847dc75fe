import EqnnIR

/// Networks on point clouds in C: `forward` takes each sample's number of
/// points and their positions at run time, and a caller-provided workspace (no
/// heap). A sample runs through the ops with one row per point; a message op
/// finds each point's neighbours by cells of the radius's size (the points
/// sorted by cell; all pairs above 3 dimensions) and evaluates the radial
/// network and the paths pair by pair, so that nothing grows with the pairs.
extension Emitter {
    /// Networks on points: the dimension of the points' space (0 otherwise).
    var pointAxes: Int { graph.points?.dimension ?? 0 }

    var messages: [(Int, Message)] {
        graph.ops.enumerated().compactMap { k, op in
            if case .message(let m) = op { return (k, m) }
            return nil
        }
    }

    /// Values of the per-pair scratch: the radial basis, hidden layer and weights, the powers of
    /// the direction, one path's matrix.
    var pairScratch: Int {
        messages.reduce(1) { most, entry in
            let m = entry.1
            let powers = m.powerOffsets.last ?? 1
            let matrix = m.paths.reduce(0) { max($0, $1.output.dimension * $1.input.dimension) }
            return max(most, m.basisCount + m.hidden + m.weights + powers + matrix)
        }
    }

    func pointsHeader() -> String {
        """
        #define \(P)_POINT_AXES \(pointAxes)

        /* The bytes of workspace \(p)_forward needs for clouds of up to `points` points (0 when that overflows). */
        size_t \(p)_workspace_bytes(size_t points);

        /* output = f(clouds) for `samples` point clouds, sample s of counts[s] points, the samples'
           points one after another: positions (points, \(P)_POINT_AXES) and input (points,
           \(P)_INPUT_DIM), row-major. output has \(graph.poolsPoints ? "one row of \(P)_OUTPUT_DIM per sample (the network pools its points)" : "one row of \(P)_OUTPUT_DIM per point"). workspace holds
           \(p)_workspace_bytes(the largest count) bytes; none of the arrays may overlap. Returns 0, or -1
           (writing nothing) when workspace is NULL. Thread-safe when every thread has its own workspace. */
        int \(p)_forward(const \(p)_model *\(P)_RESTRICT model, const \(real) *\(P)_RESTRICT positions, const \(real) *\(P)_RESTRICT input,
                         const size_t *\(P)_RESTRICT counts, size_t samples, \(real) *\(P)_RESTRICT output, void *\(P)_RESTRICT workspace);

        """
    }

    /// The message ops' tables: each path's summands, degree, radial weights and matrix B.
    func messageTables() -> String {
        guard !messages.isEmpty else { return "" }
        var out = """
        /* a path of a message op: copy u of its input summand sends B (x_u (x) e^(x)degree) to copy u of its output block,
           weighted by radial output first_weight + u; B (out_dim x in_dim * d^degree) at matrix_offset */
        typedef struct {
            int in_offset, copies, in_dim, out_offset, out_dim, degree, first_weight, matrix_offset;
        } \(p)_message_path;


        """
        for (k, m) in messages {
            var rows: [String] = [], matrix: [Double] = []
            for path in m.paths {
                rows.append("    {\(path.input.offset), \(path.input.copies), \(path.input.dimension), \(path.output.offset), \(path.output.dimension), \(path.degree), \(path.firstWeight), \(matrix.count)}")
                matrix += path.matrix
            }
            out += "/* \(m.parameters.name): \(m.paths.count) paths, radius \(m.radius) */\n"
            out += "static const \(p)_message_path \(p)_paths\(k)[\(max(1, rows.count))] = {\n" + (rows.isEmpty ? "    {0, 0, 0, 0, 0, 0, 0, 0}" : rows.joined(separator: ",\n")) + "\n};\n"
            out += "static const \(real) \(p)_path_matrices\(k)[\(max(1, matrix.count))] = \(list((matrix.isEmpty ? [0] : matrix).map(literal)));\n\n"
        }
        return out
    }

    func pointsHelpers() -> String {
        var out = messageTables()
        let axes = pointAxes
        out += """
        \(precision == .f32 ? """
        /* exp(x) in float to about 2 ulp for |x| <= 87 (clamped beyond), in plain arithmetic so that the radial
           network's silu loop vectorizes (libm's expf is a call per value): Cephes's expf polynomial. */
        static float \(p)_exp_poly(float x) {
            float n, r, q, scale;
            int32_t bits;
            x = x < -87.0f ? -87.0f : (x > 87.0f ? 87.0f : x);
            n = floorf(x * 1.44269504088896341f + 0.5f);
            r = x - n * 0.693359375f + n * 2.12194440e-4f;
            q = ((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r + 1.6666665459e-1f) * r
                + 5.0000001201e-1f;
            q = q * r * r + r + 1.0f;
            bits = ((int32_t)n + 127) << 23;
            memcpy(&scale, &bits, sizeof scale);
            return q * scale;
        }


        """ : "")/* A point's cell (side: the radius) packed into a key, 21 bits an axis, and the points sorted by it. */
        typedef struct {
            uint64_t key;
            size_t index;
        } \(p)_cell_entry;

        static int \(p)_cell_order(const void *a, const void *b) {
            const \(p)_cell_entry *x = (const \(p)_cell_entry *)a, *y = (const \(p)_cell_entry *)b;
            if (x->key != y->key) return x->key < y->key ? -1 : 1;
            return x->index < y->index ? -1 : (x->index > y->index ? 1 : 0);
        }

        /* The cell of a coordinate, clamped to 21 bits (far points share the edge cells, which only costs time). */
        static long \(p)_cell(\(real) v, double radius) {
            double q = floor((double)v / radius);
            if (!(q >= -1048576.0)) q = -1048576.0;
            if (q > 1048575.0) q = 1048575.0;
            return (long)q;
        }

        static uint64_t \(p)_cell_key(const long *cell) {
            uint64_t key = 0;
            int a;
            for (a = 0; a < \(max(1, min(axes, 3))); ++a) key = (key << 21) | (uint64_t)(cell[a] + 1048576L);
            return key;
        }

        /* The first entry of the sorted cells with this key (n when none). */
        static size_t \(p)_cell_find(const \(p)_cell_entry *cells, size_t n, uint64_t key) {
            size_t low = 0, high = n;
            while (low < high) {
                const size_t middle = low + (high - low) / 2;
                if (cells[middle].key < key) low = middle + 1; else high = middle;
            }
            return low;
        }


        """
        for (k, m) in messages { out += messageFunction(k, m) }
        return out
    }

    /// One message op on one sample: y = [x ; m] for its n points.
    func messageFunction(_ k: Int, _ m: Message) -> String {
        let d = m.dimension, width = m.outputDimension, channels = m.channels
        let powerOffsets = m.powerOffsets, powersSize = powerOffsets.last ?? 1
        let cells = d <= 3
        var around: [[Int]] = [[]]
        for _ in 0..<d { around = around.flatMap { prefix in [-1, 0, 1].map { prefix + [$0] } } }
        return """
        /* \(m.parameters.name): the messages from every other point within \(m.radius), summed into y after x. */
        static void \(p)_message\(k)(const \(p)_model *restrict model, const \(real) *restrict x, \(real) *restrict y,
                                     const \(real) *restrict positions, size_t n, \(p)_cell_entry *restrict cells, \(real) *restrict scratch,
                                     \(real) *restrict xs, \(real) *restrict ps, \(real) *restrict ys) {
            const double radius = \(m.radius);
            /* The radial network as the model stores it: W1^T (basis x hidden), b1, W2^T (hidden x weights), b2,
               so that the loops below run along contiguous rows (and vectorize without reassociating sums). */
            const \(real) *restrict w1 = model->r\(k), *restrict b1 = w1 + \(m.hidden * m.basisCount), *restrict w2 = b1 + \(m.hidden);
            const \(real) *restrict b2 = w2 + \(m.weights * m.hidden);
            /* Disjoint parts of the scratch (restrict: the compiler may keep them in registers). */
            \(real) *restrict basis = scratch, *restrict hidden = basis + \(m.basisCount), *restrict weights = hidden + \(m.hidden);
            \(real) *restrict powers = weights + \(m.weights), *restrict matrix = powers + \(powersSize);
            static const int powers_at[\(m.degree + 2)] = {\(powerOffsets.map(String.init).joined(separator: ", "))};
            size_t i, c;
            int a;
            (void)powers_at;
            for (i = 0; i < n; ++i) {
                cells[i].key = 0;
                cells[i].index = i;
            }
        \(cells ? """
            for (i = 0; i < n; ++i) {
                long cell[3] = {0, 0, 0};
                for (a = 0; a < \(d); ++a) cell[a] = \(p)_cell(positions[i * \(d) + a], radius);
                cells[i].key = \(p)_cell_key(cell);
            }
            qsort(cells, n, sizeof *cells, \(p)_cell_order);
        """ : "")
            /* The points in cell order (xs, ps, ys), so that a neighbourhood's rows sit close in memory. */
            for (i = 0; i < n; ++i) {
                const size_t from = cells[i].index;
                for (a = 0; a < \(d); ++a) ps[i * \(d) + a] = positions[from * \(d) + a];
                for (c = 0; c < \(channels); ++c) xs[i * \(channels) + c] = ys[i * \(width) + c] = x[from * \(channels) + c];
                for (c = \(channels); c < \(width); ++c) ys[i * \(width) + c] = 0;
            }
            for (i = 0; i < n; ++i) {
                \(real) *out = ys + i * \(width);
        \(cells ? """
                static const int around[\(around.count)][\(d)] = {\(around.map { "{" + $0.map(String.init).joined(separator: ", ") + "}" }.joined(separator: ", "))};
                uint64_t seen[\(around.count)];
                long home[3] = {0, 0, 0};
                int o, q;
                int edge = 0;  /* a neighbouring cell clamped onto another: visit each once */
                for (a = 0; a < \(d); ++a) {
                    home[a] = \(p)_cell(ps[i * \(d) + a], radius);
                    edge |= home[a] <= -1048576L || home[a] >= 1048575L;
                }
                for (o = 0; o < \(around.count); ++o) {
                    long cell[3] = {0, 0, 0};
                    size_t e;
                    int repeated = 0;
                    for (a = 0; a < \(d); ++a) {
                        cell[a] = home[a] + around[o][a];
                        if (cell[a] < -1048576L) cell[a] = -1048576L;
                        if (cell[a] > 1048575L) cell[a] = 1048575L;
                    }
                    seen[o] = \(p)_cell_key(cell);
                    if (edge)
                        for (q = 0; q < o; ++q) repeated |= seen[q] == seen[o];
                    if (repeated) continue;  /* clamped cells coincide at the edge */
                    for (e = \(p)_cell_find(cells, n, seen[o]); e < n && cells[e].key == seen[o]; ++e) {
                        const size_t j = e;
        """ : """
                size_t j;
                for (j = 0; j < n; ++j) {
                    {
        """)
                        double diff[\(d)], squares = 0, r, unit[\(d)], cutoff, t, t6;
                        int h, v, path;
                        if (j <= i) continue;  /* each pair once: both directions below */
                        for (a = 0; a < \(d); ++a) {
                            diff[a] = (double)ps[j * \(d) + a] - (double)ps[i * \(d) + a];
                            squares += diff[a] * diff[a];
                        }
                        r = sqrt(squares);
                        if (!(r < radius)) continue;
                        for (a = 0; a < \(d); ++a) unit[a] = r > 0 ? diff[a] / r : 0;
                        /* The radial basis (Bessel functions times the cut-off), the hidden layer, the weights. */
                        t = r / radius;
                        t6 = t * t * t * t * t * t;
                        cutoff = 1 - 28 * t6 + 48 * t6 * t - 21 * t6 * t * t;
                        {
                            /* sin(k theta) by the angle-addition recurrence: one sin and one cos a pair. */
                            const double theta = 3.14159265358979323846 * r / radius, s1 = sin(theta), c1 = cos(theta);
                            double sk = s1, ck = c1;
                            for (h = 0; h < \(m.basisCount); ++h) {
                                const double frequency = (h + 1) * 3.14159265358979323846 / radius, next = sk * c1 + ck * s1;
                                const double f = r < 1e-4 / frequency ? frequency - frequency * frequency * frequency * r * r / 6 : sk / r;
                                basis[h] = (\(real))(\(Double(2 / m.radius).squareRoot()) * f * cutoff);
                                ck = ck * c1 - sk * s1;
                                sk = next;
                            }
                        }
                        for (h = 0; h < \(m.hidden); ++h) hidden[h] = b1[h];
                        for (v = 0; v < \(m.basisCount); ++v)
                            for (h = 0; h < \(m.hidden); ++h) hidden[h] += w1[v * \(m.hidden) + h] * basis[v];
                        for (h = 0; h < \(m.hidden); ++h) hidden[h] = hidden[h] / (1 + \(precision == .f32 ? "\(p)_exp_poly" : "exp")(-hidden[h]));
                        for (v = 0; v < \(m.weights); ++v) weights[v] = b2[v];
                        for (h = 0; h < \(m.hidden); ++h)
                            for (v = 0; v < \(m.weights); ++v) weights[v] += w2[h * \(m.weights) + v] * hidden[h];
                        /* 1, e, e (x) e, ... row-major. */
                        powers[0] = 1;
                        for (v = 1; v <= \(m.degree); ++v) {
                            int index;
                            for (index = 0; index < powers_at[v] - powers_at[v - 1]; ++index)
                                for (a = 0; a < \(d); ++a) powers[powers_at[v] + index * \(d) + a] = powers[powers_at[v - 1] + index] * (\(real))unit[a];
                        }
                        for (path = 0; path < \(m.paths.count); ++path) {
                            const \(p)_message_path *route = &\(p)_paths\(k)[path];
                            const \(real) *b = \(p)_path_matrices\(k) + route->matrix_offset, *ye = powers + powers_at[route->degree];
                            const int terms = powers_at[route->degree + 1] - powers_at[route->degree];
                            int rc, u, row;
                            for (rc = 0; rc < route->out_dim * route->in_dim; ++rc) {
                                \(real) sum = 0;
                                for (v = 0; v < terms; ++v) sum += b[rc * terms + v] * ye[v];
                                matrix[rc] = sum;
                            }
                            /* i receives from j along e; j from i along -e, whose powers of degree l are (-1)^l those of e,
                               with the same radial weight (the distance is the same). */
                            for (u = 0; u < route->copies; ++u) {
                                const \(real) *from_j = xs + j * \(channels) + route->in_offset + u * route->in_dim;
                                const \(real) *from_i = xs + i * \(channels) + route->in_offset + u * route->in_dim;
                                const \(real) weight = weights[route->first_weight + u], back = route->degree % 2 ? -weight : weight;
                                \(real) *to_i = out + route->out_offset + u * route->out_dim;
                                \(real) *to_j = ys + j * \(width) + route->out_offset + u * route->out_dim;
                                for (row = 0; row < route->out_dim; ++row) {
                                    \(real) sum_j = 0, sum_i = 0;
                                    for (v = 0; v < route->in_dim; ++v) {
                                        sum_j += matrix[row * route->in_dim + v] * from_j[v];
                                        sum_i += matrix[row * route->in_dim + v] * from_i[v];
                                    }
                                    to_i[row] += weight * sum_j;
                                    to_j[row] += back * sum_i;
                                }
                            }
                        }
                    }
                }
            }
            for (i = 0; i < n; ++i)
                for (c = 0; c < \(width); ++c) y[cells[i].index * \(width) + c] = ys[i * \(width) + c];
        }


        """
    }

    func pointsForwardFunction() -> String {
        let e = graph.output.dimension, axes = pointAxes
        let scratch = structuredOps.isEmpty && bilinearOps.isEmpty ? "" : "\n    \(real) gathered[\(P)_GATHER_CAP], products[\(P)_PRODUCT_CAP];"
        let realSize = "sizeof(\(real))"
        var out = """
        /* The workspace: four buffers of a sample's widest layer (two in cell order), its positions in cell order, its
           points' cells, the pairs' scratch, each 64-byte aligned. */
        size_t \(p)_workspace_bytes(size_t points) {
            const size_t values = points * \(maxDimension);
            if (points > SIZE_MAX / \(maxDimension) / \(realSize) / 8 || points > SIZE_MAX / sizeof(\(p)_cell_entry) / 8) return 0;
            return 4 * (values * \(realSize) + 64) + points * \(axes) * \(realSize) + 64 + points * sizeof(\(p)_cell_entry) + 64
                + \(pairScratch) * \(realSize) + 64;
        }

        static void *\(p)_aligned(unsigned char *base, size_t offset) {
            unsigned char *at = base + offset;
            return at + (64 - (size_t)((uintptr_t)at % 64)) % 64;
        }

        int \(p)_forward(const \(p)_model *restrict model, const \(real) *restrict positions, const \(real) *restrict input,
                         const size_t *restrict counts, size_t samples, \(real) *restrict output, void *restrict workspace) {
            size_t sample, first = 0, written = 0;\(scratch)
            if (workspace == NULL) return -1;
            for (sample = 0; sample < samples; ++sample) {
                const size_t points = counts[sample];
                const size_t values = points * \(maxDimension);
                unsigned char *base = (unsigned char *)workspace;
                \(real) *x = (\(real) *)\(p)_aligned(base, 0), *y = (\(real) *)\(p)_aligned(base, values * \(realSize) + 64), *swap;
                \(real) *xs = (\(real) *)\(p)_aligned(base, 2 * (values * \(realSize) + 64));
                \(real) *ys = (\(real) *)\(p)_aligned(base, 3 * (values * \(realSize) + 64));
                \(real) *ps = (\(real) *)\(p)_aligned(base, 4 * (values * \(realSize) + 64));
                \(p)_cell_entry *cells = (\(p)_cell_entry *)\(p)_aligned(base, 4 * (values * \(realSize) + 64) + points * \(axes) * \(realSize) + 64);
                \(real) *pair = (\(real) *)\(p)_aligned(base, 4 * (values * \(realSize) + 64) + points * \(axes) * \(realSize) + 64
                                                             + points * sizeof(\(p)_cell_entry) + 64);
                const \(real) *where = positions + first * \(axes);
                size_t n = points, t, i;
                int b, s, c;
                (void)swap;
                (void)cells;
                (void)pair;
                (void)xs;
                (void)ys;
                (void)ps;
                (void)where;
                (void)b;
                (void)s;
                (void)c;
        \(normalizedInput(row: "first + t"))
        """
        for (k, op) in graph.ops.enumerated() {
            out += "        /* \(opName(op)): \(op.inputDimension) -> \(op.outputDimension) per point, \(op.representation) */\n"
            let code: String
            switch op {
            case .message:
                code = "\(p)_message\(k)(model, x, y, where, n, cells, pair, xs, ps, ys);\nswap = x;\nx = y;\ny = swap;\n"
            case .pool(let pool):
                let share = pool.pooling == .sum ? "1" : "(n ? (\(real))1 / (\(real))n : 0)"
                code = """
                    for (i = 0; i < \(pool.channels); ++i) y[i] = 0;
                    for (t = 0; t < n; ++t)
                        for (i = 0; i < \(pool.channels); ++i) y[i] += x[t * \(pool.channels) + i];
                    for (i = 0; i < \(pool.channels); ++i) y[i] *= \(share);
                    n = 1;
                    swap = x;
                    x = y;
                    y = swap;

                    """
            default:
                code = body(op, k)
            }
            out += code.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "        " + $0 }.joined(separator: "\n")
        }
        let shift = graph.sumsPoints ? "(\(real))points * model->output_shift[i]" : "model->output_shift[i]"
        out += """
                for (t = 0; t < n; ++t)
                    for (i = 0; i < \(e); ++i)
                        output[(written + t) * \(e) + i] = x[t * \(e) + i] * model->output_scale[i] + \(shift);
                written += n;
                first += points;
            }
            return 0;
        }

        """
        return out
    }
}
