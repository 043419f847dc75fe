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

    var representations: [String] { network.layers.map(\.rep.description) }

    /// Every network of the file (for commands that accept all of them).
    static func loadAll(_ path: String) -> Result<[Compiled], CommandResult> {
        switch Driver.readSource(path) {
        case .failure(let r): return .failure(r)
        case .success(let file):
            let solver = EquivariantSolver()
            let (program, bag) = Checker.check(file, solver: solver)
            let rendered = DiagnosticRenderer(file: file).render(bag)
            if bag.hasErrors { return .failure(CommandResult(stderr: rendered, status: 1)) }
            var all: [Compiled] = []
            for network in program.networks {
                do {
                    all.append(Compiled(network: network, graph: try Lowering.lower(network, solver: solver), diagnostics: rendered))
                } catch {
                    return .failure(CommandResult(stderr: rendered + "eqnnc: error: cannot compile network '\(network.name)': \(error)\n", status: 1))
                }
            }
            return .success(all)
        }
    }

    static func load(_ path: String, network name: String?) -> Result<Compiled, CommandResult> {
        let file: SourceFile
        switch Driver.readSource(path) {
        case .success(let f): file = f
        case .failure(let r): return .failure(r)
        }
        let solver = EquivariantSolver()
        let (program, bag) = Checker.check(file, solver: solver)
        let rendered = DiagnosticRenderer(file: file).render(bag)
        if bag.hasErrors { return .failure(CommandResult(stderr: rendered, status: 1)) }
        let chosen: CheckedNetwork
        if let name {
            guard let n = program.networks.first(where: { $0.name == name }) else {
                let names = program.networks.map { "'\($0.name)'" }.joined(separator: ", ")
                return .failure(CommandResult(stderr: rendered + "eqnnc: error: \(path) has no network '\(name)' (it has \(names))\n", status: 1))
            }
            chosen = n
        } else {
            guard program.networks.count == 1, let only = program.networks.first else {
                let names = program.networks.map(\.name).joined(separator: ", ")
                return .failure(CommandResult(stderr: rendered + "eqnnc: error: \(path) has \(program.networks.count) networks (\(names)); choose one with --network NAME\n", status: 1))
            }
            chosen = only
        }
        do {
            return .success(Compiled(network: chosen, graph: try Lowering.lower(chosen, solver: solver), diagnostics: rendered))
        } catch {
            return .failure(CommandResult(stderr: rendered + "eqnnc: error: cannot compile network '\(chosen.name)': \(error)\n", status: 1))
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
