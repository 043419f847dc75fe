import EqnnIR

/// Writes the C text. Every array and helper it emits is used, so the code
/// compiles cleanly with -Wall -Wextra -Wpedantic -Werror.
struct Emitter {
    let graph: Graph
    let model: Model
    let precision: CBackend.Precision
    let origin: CBackend.Origin
    let p: String
    let P: String
    /// How every linear op (by index) runs: its structured plan, or dense where the cost model (or --kernels dense) says.
    let plans: [Int: LinearPlan]

    init(model: Model, precision: CBackend.Precision, origin: CBackend.Origin, structured useStructured: Bool) {
        graph = model.graph
        self.model = model
        self.precision = precision
        self.origin = origin
        p = Naming.stem(graph.network)
        P = p.uppercased()
        var plans: [Int: LinearPlan] = [:]
        for (k, op) in graph.ops.enumerated() {
            if let l = op.linearMap { plans[k] = LinearPlan(l, allowStructured: useStructured) }
        }
        self.plans = plans
        var pool = EntryPool()
        for k in plans.keys.sorted() {
            guard let plan = plans[k].structured else { continue }
            for stack in plan.stacks {
                pool.add(stack.scatter)
                for input in stack.inputs { pool.add(input.gather) }
            }
        }
        entries = pool
    }

    /// The gather and scatter entries of every structured op, each distinct list
    /// stored once for the whole network (layers of equal atoms share them).
    struct EntryPool {
        var entries: [BasisEntry] = []
        var offsets: [[BasisEntry]: Int] = [:]

        mutating func add(_ list: [BasisEntry]) {
            guard offsets[list] == nil else { return }
            offsets[list] = entries.count
            entries += list
        }

        func offset(_ list: [BasisEntry]) -> Int { offsets[list] ?? 0 }
    }

    let entries: EntryPool

    /// Grid networks: the number of grid axes (0 otherwise).
    var gridAxes: Int { graph.domain?.dimension ?? 0 }

    /// The structured plan of op k, or nil when it runs dense.
    func structured(_ k: Int) -> LinearPlan? { plans[k].structured }

    var structuredOps: [(Int, Linear, LinearPlan)] {
        graph.ops.enumerated().compactMap { k, op in
            guard let l = op.linearMap, let plan = structured(k) else { return nil }
            return (k, l, plan)
        }
    }

    var bilinearOps: [(Int, Bilinear)] {
        graph.ops.enumerated().compactMap { k, op in
            guard case .bilinear(let b) = op, !b.blocks.isEmpty else { return nil }
            return (k, b)
        }
    }

    /// Values of the gather buffer G and of the product buffer Z (see LinearPlan):
    /// enough for one sample of the widest stack or bilinear block, and for a
    /// tile of the typical one; kernels cut larger work into pieces that fit.
    var gatherCapacity: Int {
        var cap = 16384
        for (_, _, plan) in structuredOps { for s in plan.stacks { cap = max(cap, s.width) } }
        for (_, b) in bilinearOps {
            for block in b.blocks {
                cap = max(cap, block.input.dimension * block.input.copies, block.output.dimension * block.sources.count * block.input.copies)
            }
        }
        return cap
    }

    var productCapacity: Int {
        var cap = 16384
        for (_, _, plan) in structuredOps { for s in plan.stacks { cap = max(cap, s.width * s.output.copies) } }
        for (_, b) in bilinearOps {
            for block in b.blocks {
                cap = max(cap, block.input.dimension * block.sources.count * block.output.copies, block.output.dimension * block.output.copies)
            }
        }
        return cap
    }

    var real: String { "\(p)_real" }
    var f: String { precision == .f32 ? "f" : "" }  // libm suffix
    var maxDimension: Int { max(graph.input.dimension, graph.ops.reduce(0) { max($0, $1.inputDimension, $1.outputDimension) }) }
    /// Samples per tile: weights are reused across a tile; its two buffers hold about 32,768 values each.
    var tile: Int { max(1, min(64, 32768 / max(1, maxDimension))) }
    /// Bytes of stack the grid forward function uses: G and Z (activations live in the workspace).
    var gridStackBytes: Int {
        (structuredOps.isEmpty && bilinearOps.isEmpty ? 0 : gatherCapacity + productCapacity) * (precision == .f32 ? 4 : 8)
    }

    /// Bytes of stack the forward function uses: two tile buffers, G and Z.
    var stackBytes: Int { (2 * tile * maxDimension + gatherCapacity + productCapacity) * (precision == .f32 ? 4 : 8) }

    mutating func emit() -> CBackend.Source {
        CBackend.Source(name: p, header: header(), implementation: implementation(), gridAxes: gridAxes, pointAxes: pointAxes)
    }

    // MARK: Header

    func header() -> String {
        var out = banner()
        out += "#ifndef \(P)_H\n#define \(P)_H\n\n#include <stddef.h>\n\n"
        // C++ has no `restrict` and mangles names: the prototypes are C, and say so.
        out += "#ifdef __cplusplus\nextern \"C\" {\n#define \(P)_RESTRICT\n#else\n#define \(P)_RESTRICT restrict\n#endif\n\n"
        out += "#define \(P)_INPUT_DIM \(graph.input.dimension)\n"
        out += "#define \(P)_OUTPUT_DIM \(graph.output.dimension)\n"
        out += "#define \(P)_PARAMETER_COUNT \(graph.parameterCount)\n"
        out += "/* Length of the normalizer argument of \(p)_init: input shift, input scale, output shift, output scale. */\n"
        out += "#define \(P)_NORMALIZER_COUNT \(2 * graph.input.dimension + 2 * graph.output.dimension)\n\n"
        out += "typedef \(precision == .f32 ? "float" : "double") \(real);\n\n"
        out += "/* The expanded weights. Owned by the caller (static, automatic or heap storage);\n   fill it with \(p)_init, or use the weights baked in, \(p)_baked(). */\n"
        out += "typedef struct \(p)_model {\n"
        for field in fields() { out += "    \(real) \(field.name)[\(max(1, field.count))];\(field.comment.map { " /* \($0) */" } ?? "")\n" }
        out += "} \(p)_model;\n\n"
        out += """
        /* Expands theta (\(P)_PARAMETER_COUNT coefficients over the equivariant bases and
           biases, in the order of the safetensors weights file\(graph.layers.contains(where: \.batchNorm)
               ? ",\n   with every batchnorm folded into the layer before it: eqnnc's Model.foldingBatchNorm"
               : "")) into model. normalizer holds
           \(P)_NORMALIZER_COUNT values (input shift, input scale, output shift, output scale)
           or is NULL for none. */
        void \(p)_init(\(p)_model *model, const \(real) *theta, const \(real) *normalizer);

        /* The model with the weights baked in when this file was generated. */
        const \(p)_model *\(p)_baked(void);


        """
        if gridAxes > 0 {
            out += gridHeader()
        } else if pointAxes > 0 {
            out += pointsHeader()
        } else {
            out += """
            /* output[b] = f(input[b]) for b < batch; rows of \(P)_INPUT_DIM and \(P)_OUTPUT_DIM
               values, contiguous and row-major; input and output must not overlap.
               Thread-safe: no globals are written. */
            void \(p)_forward(const \(p)_model *\(P)_RESTRICT model, const \(real) *\(P)_RESTRICT input,
                              \(real) *\(P)_RESTRICT output, size_t batch);

            """
        }
        out += "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n"
        return out
    }

    func banner() -> String {
        var out = "/* Generated by eqnnc \(origin.version) from \(origin.sourceFile): network \(graph.network) over \(graph.groupAsWritten).\n"
        out += " * Do not edit; regenerate with `eqnnc \(origin.sourceFile) --emit c`.\n *\n"
        out += " * Layers:\n"
        for layer in graph.layers {
            out += " *   \(layer.role == .hidden ? "hidden" : layer.role == .input ? "input " : "output") \(layer.description)\n"
        }
        out += " * Parameters: \(graph.parameterCount) (structure \(graph.structureHash)); precision \(precision == .f32 ? "float" : "double").\n"
        out += " * Baked weights: \(origin.weights).\n"
        out += " * Kernels (multiply-adds per \(gridAxes > 0 ? "position" : "sample")):\n"
        for (k, op) in graph.ops.enumerated() {
            switch op.tables {
            case .linear(let l):
                guard let plan = plans[k] else { continue }
                var kinds: [BasisKind: Int] = [:]
                for pair in l.bases { for kind in pair.kinds { kinds[kind, default: 0] += 1 } }
                let bases = BasisKind.allCases.compactMap { kind in kinds[kind].map { "\($0) \(kind.rawValue)" } }.joined(separator: ", ")
                if plan.dense {
                    out += " *   \(l.parameters.name): dense, \(plan.denseWork) (structured would be \(plan.structuredWork); bases: \(bases))\n"
                } else {
                    out += " *   \(l.parameters.name): structured, \(plan.stacks.count) products, \(plan.structuredWork) instead of \(plan.denseWork) dense (bases: \(bases))\n"
                }
            case .bilinear(let b):
                out += " *   \(b.parameters.name): \(b.blocks.count) blocks, \(b.work)\n"
            default:
                continue
            }
        }
        let unit = gridAxes > 0 ? "position" : "sample"
        if let points = graph.points {
            out += " * Points: \(points.description); each sample's number of points and positions given to \(p)_forward at run time.\n"
            out += " * Stack: about \((gridStackBytes + 1023) / 1024) KiB per call of \(p)_forward, and the caller's workspace.\n"
        } else if let domain = graph.domain {
            out += " * Grid: \(domain.description), \(domain.padding == .zero ? "zero" : "circular") padding; extents given to \(p)_forward at run time.\n"
            out += " * Stack: about \((gridStackBytes + 1023) / 1024) KiB per call of \(p)_forward, and the caller's workspace.\n"
        } else {
            out += " * Stack: about \((stackBytes + 1023) / 1024) KiB per call of \(p)_forward.\n"
        }
        out += " *\n"
        out += " * Input layout (\(graph.input.dimension) values per \(unit)):\n" + layoutLines(graph.input, "input")
        out += " * Output layout (\(graph.output.dimension) values per \(unit)):\n" + layoutLines(graph.output, "output")
        out += " * A V block holds its coordinates in order; a tensor block (V^2, V(P)*V(E)) is row-major.\n */\n\n"
        return out
    }

    /// Runs of equal blocks: " *   input[0..4]: 5 x Scalar (1 value each)".
    func layoutLines(_ layout: Layout, _ name: String) -> String {
        var out = ""
        var k = 0
        while k < layout.blocks.count {
            var run = 1
            while k + run < layout.blocks.count && layout.blocks[k + run].name == layout.blocks[k].name { run += 1 }
            let first = layout.blocks[k].offset, last = layout.blocks[k + run - 1].offset + layout.blocks[k + run - 1].length - 1
            let each = layout.blocks[k].length
            let range = first == last ? "[\(first)]" : "[\(first)..\(last)]"
            out += " *   \(name)\(range): \(run == 1 ? "" : "\(run) x ")\(layout.blocks[k].name) (\(each) value\(each == 1 ? "" : "s")\(run == 1 ? "" : " each"))\n"
            k += run
        }
        return out
    }

    struct Field {
        var name: String
        var count: Int
        var comment: String?
    }

    /// The model struct's arrays, in a fixed order (the baked initializer follows it).
    func fields() -> [Field] {
        var out: [Field] = []
        for (k, op) in graph.ops.enumerated() {
            switch op.tables {
            case .linear(let l):
                if let plan = structured(k) {
                    let count = plan.stacks.reduce(0) { $0 + $1.depth * $1.output.copies }
                    out.append(Field(name: "m\(k)", count: count,
                                     comment: "\(l.parameters.name): the channel-mixing matrices of \(plan.stacks.count) products"))
                } else {
                    out.append(Field(name: "w\(k)", count: l.inputDimension * l.outputDimension,
                                     comment: "\(l.parameters.name) expanded, \(l.inputDimension) x \(l.outputDimension) (input-major)"))
                }
            case .bias(let b):
                out.append(Field(name: "b\(k)", count: b.basis.rows, comment: b.parameters.name))
            case .bilinear(let b):
                out.append(Field(name: "t\(k)", count: b.parameters.count, comment: "\(b.parameters.name): the blocks' mixing matrices"))
            case .message(let m):
                out.append(Field(name: "r\(k)", count: m.parameters.count,
                                 comment: "\(m.parameters.name): the radial network, W1^T (\(m.basisCount) x \(m.hidden)), b1, W2^T (\(m.hidden) x \(m.weights)), b2"))
            default:
                continue
            }
        }
        out += [Field(name: "input_shift", count: graph.input.dimension, comment: nil),
                Field(name: "input_scale", count: graph.input.dimension, comment: nil),
                Field(name: "output_shift", count: graph.output.dimension, comment: nil),
                Field(name: "output_scale", count: graph.output.dimension, comment: nil)]
        return out
    }

    // MARK: Implementation

    func implementation() -> String {
        var out = banner()
        out += "#include \"\(p).h\"\n\n#include <math.h>\n#include <stdint.h>\n" + (pointAxes > 0 ? "#include <stdlib.h>\n" : "") + "#include <string.h>\n\n"
        out += "#define \(P)_TILE \(tile)\n#define \(P)_MAX_DIM \(maxDimension)\n"
        out += "#define \(P)_GATHER_CAP \(gatherCapacity)\n#define \(P)_PRODUCT_CAP \(productCapacity)\n\n"
        out += tableTypes()
        out += bases()
        out += helpers()
        out += gridHelpers()
        if pointAxes > 0 { out += pointsHelpers() }
        out += initFunction()
        out += bakedModel()
        out += forwardFunction()
        return out
    }

    func literal(_ v: Double) -> String {
        if v == 0 { return "0" }
        if precision == .f32 {
            let text = "\(Float(v))"
            return (text.contains(".") || text.contains("e") ? text : text + ".0") + "f"
        }
        let text = "\(v)"
        return text.contains(".") || text.contains("e") ? text : text + ".0"
    }

    /// A C initializer list, wrapped at about 100 columns.
    func list(_ items: [String]) -> String {
        var lines: [String] = []
        var line = ""
        for item in items {
            if line.count + item.count > 96 {
                lines.append(line)
                line = ""
            }
            line += item + ", "
        }
        if !line.isEmpty { lines.append(line) }
        return "{\n    " + lines.joined(separator: "\n    ") + "\n}"
    }

    func bases() -> String {
        var out = entryTables()
        for (k, op) in graph.ops.enumerated() {
            switch op.tables {
            case .linear(let l):
                if let plan = structured(k) {
                    out += structuredTables(k, l, plan)
                } else {
                    out += denseTables(k, l)
                }
            case .bias(let b) where b.basis.entryCount > 0:
                out += basisArrays("basis\(k)", b.basis, b.parameters.name)
            case .bilinear(let b) where !b.blocks.isEmpty:
                var rows: [[Int]] = [], sources: [Int] = [], initRows: [[Int]] = []
                var mixing = 0
                for block in b.blocks {
                    let width = block.sources.count * block.output.copies
                    let order = block.contractsFirst ? 1 : 0
                    rows.append([block.output.offset, block.output.copies, block.output.dimension, block.input.offset, block.input.copies,
                                 block.input.dimension, block.sources.count, sources.count, mixing, order])
                    initRows.append([b.parameters.offset + block.firstParameter, block.outputStride, block.input.copies, block.output.copies,
                                     block.sources.count, mixing, order])
                    sources += block.sources
                    mixing += block.input.copies * width
                }
                out += "/* \(b.parameters.name) */\n"
                out += table(.bilinearBlock, "bilinear\(k)", rows)
                out += "static const int \(p)_bilinear\(k)_sources[\(sources.count)] = \(list(sources.map(String.init)));\n"
                out += table(.bilinearInit, "bilinear\(k)_init", initRows) + "\n"
            case .gate(let g):
                if !g.blocks.isEmpty {
                    out += table(.gatedBlock, "gated\(k)", g.blocks.map { [$0.offset, $0.length, $0.gate] })
                }
                out += "\n"
            case .norm(let n):
                if !n.blocks.isEmpty {
                    out += table(.normedBlock, "normed\(k)", n.blocks.map { [$0.offset, $0.length] })
                }
                out += "\n"
            default:
                continue
            }
        }
        return out
    }

    /// The rows of the generated C's index tables, one struct type each (fields named, so
    /// that code reads `block->in_copies`, not `block[4]`).
    struct TableType {
        var name: String
        var comment: String
        var fields: [String]

        static let denseBlock = TableType(name: "dense_block", comment: "a block of a dense linear op: where its pair basis lands in W, where its coefficients sit in theta",
                                          fields: ["out_offset", "out_copies", "out_dim", "in_offset", "in_copies", "in_dim", "theta_offset", "out_stride", "basis_size", "first_matrix"])
        static let stack = TableType(name: "stack_table", comment: "a stack of a structured linear op (LinearPlan): its output summand, gathers, inputs, scatters and mixing matrix",
                                     fields: ["out_offset", "out_copies", "out_dim", "width", "depth", "first_input", "inputs", "first_scatter", "scatters", "mixing_offset", "in_place"])
        static let stackInput = TableType(name: "stack_input", comment: "an input of a stack: its summand, rows in the mixing matrix, gather entries; in_place 1: copied whole, 2: read from x",
                                          fields: ["in_offset", "in_copies", "in_dim", "row", "first_gather", "gathers", "in_place"])
        static let mixingRow = TableType(name: "mixing_row", comment: "how init fills a stack input's rows of the mixing matrix from theta",
                                         fields: ["mixing_offset", "out_copies", "in_copies", "theta_offset", "out_stride", "basis_size", "first_term", "terms"])
        static let bilinearBlock = TableType(name: "bilinear_block", comment: "a block of a bilinear op: its summands, its source copies and mixing matrix, and the order it runs in",
                                             fields: ["out_offset", "out_copies", "out_dim", "in_offset", "in_copies", "in_dim", "sources", "first_source", "mixing_offset", "contracts_first"])
        static let bilinearInit = TableType(name: "bilinear_init_row", comment: "how init fills a bilinear block's mixing matrix from theta",
                                            fields: ["theta_offset", "out_stride", "in_copies", "out_copies", "sources", "mixing_offset", "contracts_first"])
        static let gatedBlock = TableType(name: "gated_block", comment: "a gated block: its coordinates and its gate's", fields: ["offset", "length", "gate"])
        static let normedBlock = TableType(name: "normed_block", comment: "a block scaled by sigmoid of its norm", fields: ["offset", "length"])

        static let all = [denseBlock, stack, stackInput, mixingRow, bilinearBlock, bilinearInit, gatedBlock, normedBlock]
    }

    /// The table types, for the top of the C source.
    func tableTypes() -> String {
        TableType.all.map { t in
            "/* \(t.comment) */\ntypedef struct {\n    int \(t.fields.joined(separator: ", "));\n} \(p)_\(t.name);\n\n"
        }.joined()
    }

    /// A table of rows of `type`, one row a line.
    func table(_ type: TableType, _ name: String, _ rows: [[Int]]) -> String {
        assert(rows.allSatisfy { $0.count == type.fields.count }, "a \(type.name) row has \(type.fields.count) fields")
        let lines = rows.map { "    {" + $0.map(String.init).joined(separator: ", ") + "}" }
        return "static const \(p)_\(type.name) \(p)_\(name)[\(rows.count)] = {\n" + lines.joined(separator: ",\n") + "\n};\n"
    }

    /// A structured linear op's tables: its stacks, their inputs, gathers and scatters, and how init fills the mixing matrices.
    func structuredTables(_ k: Int, _ l: Linear, _ plan: LinearPlan) -> String {
        var stacks: [[Int]] = [], inputs: [[Int]] = [], initRows: [[Int]] = []
        var terms: [Int] = [], weights: [Double] = []
        var mixing = 0
        for stack in plan.stacks {
            let b = stack.output.copies
            stacks.append([stack.output.offset, b, stack.output.dimension, stack.width, stack.depth, inputs.count, stack.inputs.count,
                           entries.offset(stack.scatter), stack.scatter.count, mixing, inPlace(stack) && stack.scattersInPlace ? 1 : 0])
            for input in stack.inputs {
                let block = l.blocks[input.block]
                inputs.append([block.input.offset, block.input.copies, block.input.dimension, input.row, entries.offset(input.gather),
                               input.gather.count, !plan.gathersInPlace(input, l) ? 0 : inPlace(stack) ? 2 : 1])
                initRows.append([mixing + input.row * b, b, block.input.copies, l.parameters.offset + block.firstParameter, block.outputStride,
                                 l.bases[block.basis].count, terms.count, input.bases.count])
                terms += input.bases
                weights += input.weights
            }
            mixing += stack.depth * b
        }
        var out = "/* \(l.parameters.name): products y += scatter(Z), Z = G M, G gathered from the input (see LinearPlan). */\n"
        out += table(.stack, "stacks\(k)", stacks)
        out += table(.stackInput, "inputs\(k)", inputs)
        out += table(.mixingRow, "mixing\(k)", initRows)
        out += "static const int \(p)_terms\(k)[\(terms.count)] = \(list(terms.map(String.init)));\n"
        out += "static const \(real) \(p)_term_weights\(k)[\(weights.count)] = \(list(weights.map(literal)));\n\n"
        return out
    }

    /// Whether a stack reads and writes in place where it can: it then runs one product per
    /// gathered value (rows: the samples), which pays for narrow stacks only.
    func inPlace(_ stack: LinearPlan.Stack) -> Bool { stack.width <= 4 }

    /// The pooled gather and scatter entries: a gather entry is (gathered value, input
    /// coordinate), a scatter entry (output coordinate, gathered value).
    func entryTables() -> String {
        guard !entries.entries.isEmpty else { return "" }
        let e = entries.entries
        var out = "/* gather and scatter entries of the structured products, each distinct list once */\n"
        out += "static const int \(p)_entries[\(e.count)][2] = \(list(e.map { "{\($0.row), \($0.column)}" }));\n"
        out += "static const \(real) \(p)_entry_values[\(e.count)] = \(list(e.map { literal($0.value) }));\n\n"
        return out
    }

    /// A dense linear op's tables: its pair bases (each stored once) and the blocks that place them.
    func denseTables(_ k: Int, _ l: Linear) -> String {
        var starts = [0], rows: [Int] = [], columns: [Int] = [], values: [Double] = [], first: [Int] = []
        for pair in l.bases {
            first.append(starts.count - 1)
            let m = pair.matrices
            for j in 0..<m.count {
                rows += m.entryRows[m.starts[j]..<m.starts[j + 1]]
                columns += m.entryColumns[m.starts[j]..<m.starts[j + 1]]
                values += m.values[m.starts[j]..<m.starts[j + 1]]
                starts.append(values.count)
            }
        }
        let blocks = l.blocks.map { b in
            [b.output.offset, b.output.copies, b.output.dimension, b.input.offset, b.input.copies, b.input.dimension,
             l.parameters.offset + b.firstParameter, b.outputStride, l.bases[b.basis].count, first[b.basis]]
        }
        guard !blocks.isEmpty else { return "" }
        var out = "/* \(l.parameters.name): \(l.bases.count) pair bases (\(starts.count - 1) matrices, \(values.count) entries) */\n"
        out += "static const int \(p)_basis\(k)_starts[\(starts.count)] = \(list(starts.map(String.init)));\n"
        out += "static const int \(p)_basis\(k)_rows[\(rows.count)] = \(list(rows.map(String.init)));\n"
        out += "static const int \(p)_basis\(k)_columns[\(columns.count)] = \(list(columns.map(String.init)));\n"
        out += "static const \(real) \(p)_basis\(k)_values[\(values.count)] = \(list(values.map(literal)));\n"
        out += table(.denseBlock, "blocks\(k)", blocks) + "\n"
        return out
    }

    func basisArrays(_ name: String, _ basis: SparseBasis, _ what: String) -> String {
        var out = "/* \(what): \(basis.count) basis matrices of \(basis.rows) x \(basis.columns), \(basis.entryCount) entries */\n"
        out += "static const int \(p)_\(name)_starts[\(basis.starts.count)] = \(list(basis.starts.map(String.init)));\n"
        out += "static const int \(p)_\(name)_rows[\(basis.entryCount)] = \(list(basis.entryRows.map(String.init)));\n"
        if basis.columns > 1 {
            out += "static const int \(p)_\(name)_columns[\(basis.entryCount)] = \(list(basis.entryColumns.map(String.init)));\n"
        }
        out += "static const \(real) \(p)_\(name)_values[\(basis.entryCount)] = \(list(basis.values.map(literal)));\n\n"
        return out
    }
}
