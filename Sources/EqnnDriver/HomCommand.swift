import EqnnDiagnostics
import EqnnGroups
import EqnnSema
import EqnnSupport

/// `eqnnc hom GROUP FROM TO [--basis] [--format text|json]`: the dimension of
/// Hom_G(FROM, TO) and, on request, its basis.
enum HomCommand {
    /// The most basis matrices `--basis` prints.
    static let basisLimit = 10_000

    static func run(_ arguments: [String]) throws -> CommandResult {
        let args = try Driver.parse(arguments, flags: ["--basis"], options: ["--format"], usage: Help.hom)
        if args.flags.contains("--help") || args.flags.contains("-h") { return CommandResult(stdout: Help.hom) }
        guard args.positional.count == 3 else {
            return Driver.usageError("'hom' takes a group and two representations, found \(args.positional.count) argument\(args.positional.count == 1 ? "" : "s")", Help.hom)
        }
        let format = try Driver.format(args, usage: Help.hom)
        let sources = [SourceFile(name: "<group>", text: args.positional[0]),
                       SourceFile(name: "<from>", text: args.positional[1]),
                       SourceFile(name: "<to>", text: args.positional[2])]
        let resolved = Standalone.resolve(group: sources[0], reps: [sources[1], sources[2]])
        var result = CommandResult()
        for (file, diagnostics) in resolved.diagnostics where !diagnostics.isEmpty {
            var bag = DiagnosticBag()
            bag.add(contentsOf: diagnostics)
            result.stderr += DiagnosticRenderer(file: file).render(bag)
        }
        guard let group = resolved.group, let from = resolved.reps[0], let to = resolved.reps[1] else {
            result.status = 1
            return result
        }
        do {
            return try solve(group, from, to, basis: args.flags.contains("--basis"), format: format)
        } catch SolverError.tooLarge(let what, let size, let limit) {
            return CommandResult(stderr: "eqnnc: error: too large: \(what) is \(size); the limit is \(limit)\n", status: 1)
        } catch RepError.tooLarge(let what, let size, let limit) {
            return CommandResult(stderr: "eqnnc: error: too large: \(what) is \(size); the limit is \(limit)\n", status: 1)
        } catch {
            return CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1)
        }
    }

    static func solve(_ group: Group, _ from: Rep, _ to: Rep, basis wantBasis: Bool, format: Driver.Format) throws -> CommandResult {
        if (from.summands + to.summands).contains(where: { $0.atom.hasPlanarIrrep }) {
            return try solveNumerically(group, from, to, basis: wantBasis, format: format)
        }
        let solver = EquivariantSolver()
        let dim = try solver.homDimension(group, from: from, to: to)
        let m = try from.dimension(), n = try to.dimension()
        let basis = wantBasis ? try solver.homBasis(group, from: from, to: to, limit: basisLimit) : []
        let title = "Hom_\(group.canonicalName)(\(from.description), \(to.description))"
        switch format {
        case .text:
            var out = "\(title): dimension \(dim) (of \(n) x \(m) = \(n * m) matrix entries)\n"
            for (k, b) in basis.enumerated() {
                let entries = b.values.indices.map { (b.rows[$0], b.columns[$0], String(b.values[$0])) }
                out += "basis \(k + 1) of \(basis.count):\n" + render(entries, rows: n, columns: m, wide: 27)
            }
            return CommandResult(stdout: out)
        case .json:
            var fields: [(String, JSON)] = [
                ("group", .string(group.canonicalName)), ("from", .string(from.description)), ("to", .string(to.description)),
                ("from_dim", .int(m)), ("to_dim", .int(n)), ("dim", .int(dim)),
            ]
            if wantBasis {
                fields.append(("basis", .array(basis.map { b in
                    .array(zip(zip(b.rows, b.columns), b.values).map { .array([.int($0.0.0), .int($0.0.1), .int($0.1)]) })
                })))
            }
            return CommandResult(stdout: JSON.object(fields).rendered() + "\n")
        }
    }

    /// Irrep(k) and Mirror have irrational matrices: their maps come from the
    /// group average (LayerMaps), in floating point, each basis matrix of unit norm.
    static func solveNumerically(_ group: Group, _ from: Rep, _ to: Rep, basis wantBasis: Bool, format: Driver.Format) throws -> CommandResult {
        let maps = LayerMaps(group: group, solver: EquivariantSolver(), planar: nil)
        let dim = try maps.incomingDimensions(from: from, to: to).reduce(0) { $0 + $1.multiplicity * $1.incoming }
        let m = try from.dimension(), n = try to.dimension()
        var basis: [[(row: Int, column: Int, value: Double)]] = []
        if wantBasis {
            for output in try to.blocks() {
                for input in try from.blocks() {
                    let pair = try maps.homBasis(from: input.atom, to: output.atom, rows: output.dimension, columns: input.dimension).matrices
                    for k in 0..<pair.count {
                        if basis.count >= basisLimit {
                            throw SolverError.tooLarge(what: "the number of basis matrices", size: basis.count + 1, limit: basisLimit)
                        }
                        basis.append((pair.starts[k]..<pair.starts[k + 1]).map { e in
                            (output.offset + pair.entryRows[e], input.offset + pair.entryColumns[e], pair.values[e])
                        })
                    }
                }
            }
        }
        let title = "Hom_\(group.canonicalName)(\(from.description), \(to.description))"
        let number = { (x: Double) in String(format: "%.6g", abs(x) < 5e-13 ? 0 : x) }
        switch format {
        case .text:
            var out = "\(title): dimension \(dim) (of \(n) x \(m) = \(n * m) matrix entries; computed numerically)\n"
            for (k, b) in basis.enumerated() {
                out += "basis \(k + 1) of \(basis.count):\n" + render(b.map { ($0.row, $0.column, number($0.value)) }, rows: n, columns: m, wide: 12)
            }
            return CommandResult(stdout: out)
        case .json:
            var fields: [(String, JSON)] = [
                ("group", .string(group.canonicalName)), ("from", .string(from.description)), ("to", .string(to.description)),
                ("from_dim", .int(m)), ("to_dim", .int(n)), ("dim", .int(dim)), ("exact", .bool(false)),
            ]
            if wantBasis {
                fields.append(("basis", .array(basis.map { b in .array(b.map { .array([.int($0.row), .int($0.column), .double($0.value)]) }) })))
            }
            return CommandResult(stdout: JSON.object(fields).rendered() + "\n")
        }
    }

    /// Small matrices print whole (at most `wide` columns); larger ones as (row, column) = value lines.
    static func render(_ entries: [(row: Int, column: Int, text: String)], rows: Int, columns: Int, wide: Int) -> String {
        if rows * columns <= 400 && columns <= wide {
            var dense = [[String]](repeating: [String](repeating: "0", count: columns), count: rows)
            for e in entries { dense[e.row][e.column] = e.text }
            let width = dense.joined().map(\.count).max() ?? 1
            return dense.map { row in
                "  [" + row.map { String(repeating: " ", count: width - $0.count) + $0 }.joined(separator: " ") + "]"
            }.joined(separator: "\n") + "\n"
        }
        return entries.map { "  (\($0.row), \($0.column)) = \($0.text)" }.joined(separator: "\n") + "\n"
    }
}
