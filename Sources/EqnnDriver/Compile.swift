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
    private static func check(_ path: String) -> Result<(CheckedProgram, EquivariantSolver, String), CommandResult> {
        Driver.readSource(path).flatMap { file in
            let solver = EquivariantSolver()
            let (program, bag) = Checker.check(file, solver: solver)
            let rendered = DiagnosticRenderer(file: file).render(bag)
            return bag.hasErrors ? .failure(CommandResult(stderr: rendered, status: 1)) : .success((program, solver, rendered))
        }
    }

    private static func lower(_ network: CheckedNetwork, _ solver: EquivariantSolver, _ rendered: String) -> Result<Compiled, CommandResult> {
        do {
            return .success(Compiled(network: network, graph: try Lowering.lower(network, solver: solver), diagnostics: rendered))
        } catch {
            return .failure(CommandResult(stderr: rendered + "eqnnc: error: cannot compile network '\(network.name)': \(error)\n", status: 1))
        }
    }

    /// Every network of the file (for commands that accept all of them).
    static func loadAll(_ path: String) -> Result<[Compiled], CommandResult> {
        check(path).flatMap { program, solver, rendered in
            var all: [Compiled] = []
            for network in program.networks {
                switch lower(network, solver, rendered) {
                case .success(let c): all.append(c)
                case .failure(let r): return .failure(r)
                }
            }
            return .success(all)
        }
    }

    /// The network called `name`, or the only one of the file.
    static func load(_ path: String, network name: String?) -> Result<Compiled, CommandResult> {
        check(path).flatMap { program, solver, rendered in
            let names = program.networks.map(\.name).joined(separator: ", ")
            if let name {
                guard let n = program.networks.first(where: { $0.name == name }) else {
                    return .failure(CommandResult(stderr: rendered + "eqnnc: error: \(path) has no network '\(name)' (it has \(program.networks.map { "'\($0.name)'" }.joined(separator: ", ")))\n", status: 1))
                }
                return lower(n, solver, rendered)
            }
            guard program.networks.count == 1, let only = program.networks.first else {
                return .failure(CommandResult(stderr: rendered + "eqnnc: error: \(path) has \(program.networks.count) networks (\(names)); choose one with --network NAME\n", status: 1))
            }
            return lower(only, solver, rendered)
        }
    }

    /// Loads weights for this graph, or initializes them from a seed.
    func model(weights path: String?, seed: UInt64) -> Result<Model, CommandResult> {
        guard let path else {
            return .success(Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: seed)))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(CommandResult(stderr: "eqnnc: error: cannot read weights '\(path)'\n", status: 1))
        }
        do {
            return .success(try WeightsFile.decode(data, name: path, for: graph))
        } catch {
            return .failure(CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1))
        }
    }

    /// Loads a data table and checks its width.
    static func table(_ path: String, columns: Int, what: String) -> Result<Table, CommandResult> {
        do {
            let t = try Table.load(path: path)
            guard t.columns == columns else {
                return .failure(CommandResult(stderr: "eqnnc: error: \(path) has \(t.columns) columns per row, but the network's \(what) has dimension \(columns)\n", status: 1))
            }
            guard t.values.allSatisfy(\.isFinite) else {
                return .failure(CommandResult(stderr: "eqnnc: error: \(path) contains NaN or infinite values\n", status: 1))
            }
            return .success(t)
        } catch {
            return .failure(CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1))
        }
    }
}

extension Arguments {
    /// An integer option, or a usage error that names it.
    func integer(_ name: String, default value: Int, minimum: Int = 1, usage: String) -> Result<Int, CommandResult> {
        guard let text = options[name] else { return .success(value) }
        guard let n = Int(text), n >= minimum else {
            return .failure(Driver.usageError("\(name) needs an integer >= \(minimum), found '\(text)'", usage))
        }
        return .success(n)
    }

    func number(_ name: String, default value: Double, range: ClosedRange<Double>, usage: String) -> Result<Double, CommandResult> {
        guard let text = options[name] else { return .success(value) }
        guard let x = Double(text), range.contains(x) else {
            return .failure(Driver.usageError("\(name) needs a number in \(range.lowerBound)...\(range.upperBound), found '\(text)'", usage))
        }
        return .success(x)
    }
}
