import EqnnDiagnostics
import EqnnData
import EqnnGroups
import EqnnIR
import EqnnInterpreter
import EqnnSema
import Foundation

/// Checks a file and lowers one of its networks: the front half of every
/// command that runs a model.
struct Compiled {
    var network: CheckedNetwork
    var graph: Graph
    /// Warnings to show (errors end the command instead).
    var diagnostics: String

    /// Checks a file; the checked networks (with the rendered warnings), or the errors.
    private static func check(_ path: String) throws -> (CheckedProgram, EquivariantSolver, String) {
        let file = try Driver.readSource(path)
        let solver = EquivariantSolver()
        let (program, bag) = Checker.check(file, solver: solver)
        let rendered = DiagnosticRenderer(file: file).render(bag)
        if bag.hasErrors { throw CommandResult(stderr: rendered, status: 1) }
        return (program, solver, rendered)
    }

    private static func lower(_ network: CheckedNetwork, _ solver: EquivariantSolver, _ rendered: String) throws -> Compiled {
        do {
            return Compiled(network: network, graph: try Lowering.lower(network, solver: solver), diagnostics: rendered)
        } catch {
            throw CommandResult(stderr: rendered + "eqnnc: error: cannot compile network '\(network.name)': \(error)\n", status: 1)
        }
    }

    /// Every network of the file (for commands that accept all of them).
    static func loadAll(_ path: String) throws -> [Compiled] {
        let (program, solver, rendered) = try check(path)
        return try program.networks.map { try lower($0, solver, rendered) }
    }

    /// The network called `name`, or the only one of the file.
    static func load(_ path: String, network name: String?) throws -> Compiled {
        let (program, solver, rendered) = try check(path)
        let names = program.networks.map(\.name).joined(separator: ", ")
        if let name {
            guard let n = program.networks.first(where: { $0.name == name }) else {
                throw CommandResult(stderr: rendered + "eqnnc: error: \(path) has no network '\(name)' (it has \(program.networks.map { "'\($0.name)'" }.joined(separator: ", ")))\n", status: 1)
            }
            return try lower(n, solver, rendered)
        }
        guard program.networks.count == 1, let only = program.networks.first else {
            throw CommandResult(stderr: rendered + "eqnnc: error: \(path) has \(program.networks.count) networks (\(names)); choose one with --network NAME\n", status: 1)
        }
        return try lower(only, solver, rendered)
    }

    /// Loads weights for this graph, or initializes them from a seed.
    func model(weights path: String?, seed: UInt64) throws -> Model {
        guard let path else {
            return Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: seed))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandResult(stderr: "eqnnc: error: cannot read weights '\(path)'\n", status: 1)
        }
        do {
            return try WeightsFile.decode(data, name: path, for: graph)
        } catch {
            throw CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1)
        }
    }

    /// Loads a data table and checks its width.
    static func table(_ path: String, columns: Int, what: String) throws -> Table {
        let t: Table
        do {
            t = try Table.load(path: path)
        } catch {
            throw CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1)
        }
        guard t.columns == columns else {
            throw CommandResult(stderr: "eqnnc: error: \(path) has \(t.columns) columns per row, but the network's \(what) has dimension \(columns)\n", status: 1)
        }
        guard t.values.allSatisfy(\.isFinite) else {
            throw CommandResult(stderr: "eqnnc: error: \(path) contains NaN or infinite values\n", status: 1)
        }
        return t
    }
}

extension Arguments {
    /// An integer option, or a usage error that names it.
    func integer(_ name: String, default value: Int, minimum: Int = 1, usage: String) throws -> Int {
        guard let text = options[name] else { return value }
        guard let n = Int(text), n >= minimum else {
            throw Driver.usageError("\(name) needs an integer >= \(minimum), found '\(text)'", usage)
        }
        return n
    }

    func number(_ name: String, default value: Double, range: ClosedRange<Double>, usage: String) throws -> Double {
        guard let text = options[name] else { return value }
        guard let x = Double(text), range.contains(x) else {
            throw Driver.usageError("\(name) needs a number in \(range.lowerBound)...\(range.upperBound), found '\(text)'", usage)
        }
        return x
    }
}
