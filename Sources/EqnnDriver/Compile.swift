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

    /// Networks on point clouds run in the interpreter (run, train, evaluate, verify), in C and in PyTorch: ONNX and `time` refuse them.
    static func pointCloudRefusal(_ what: String) -> CommandResult {
        CommandResult(stderr: "eqnnc: error: networks on point clouds run in eqnnc's interpreter ('run', 'train', 'evaluate', 'verify'), in C and in PyTorch ('--emit c', '--emit pytorch'); \(what) does not take them yet\n",
                      status: 1)
    }

    /// Fails with `pointCloudRefusal` for a network on point clouds.
    func refusePoints(_ what: String) throws {
        if graph.points != nil { throw Compiled.pointCloudRefusal(what) }
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

    /// Loads a data table and checks its shape: rows of `columns` values, or
    /// for a grid network (samples, extents..., columns). Class labels
    /// (`labels`) on a grid may also come as (samples, extents...).
    func table(_ path: String, columns: Int, what: String, output: Bool = false, labels: Bool = false) throws -> Table {
        var t: Table
        do {
            t = try Table.load(path: path)
        } catch {
            throw CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1)
        }
        let axes = output ? graph.outputAxes : (graph.domain?.dimension ?? 0)
        if labels && axes > 0 && t.extents.count == axes - 1 && t.columns != columns {
            t.extents.append(t.columns)
            t.columns = 1
        }
        guard t.extents.count == axes else {
            let names = ["depth", "height", "width"].suffix(axes)
            let expected = axes == 0 ? "2-D arrays (samples, \(columns) columns)" : "arrays (samples, \(names.joined(separator: ", ")), \(columns) channels)"
            throw CommandResult(stderr: "eqnnc: error: \(path) has shape \(t.shapeText), but the \(what) of network '\(graph.network)' is read from \(expected)\n", status: 1)
        }
        guard t.extents.allSatisfy({ $0 >= 1 }) else {
            throw CommandResult(stderr: "eqnnc: error: \(path) has shape \(t.shapeText): a grid needs at least one position along every axis\n", status: 1)
        }
        guard t.columns == columns else {
            throw CommandResult(stderr: "eqnnc: error: \(path) has \(t.columns) columns per \(graph.domain == nil ? "row" : "position"), but the network's \(what) has dimension \(columns)\n", status: 1)
        }
        guard t.values.allSatisfy(\.isFinite) else {
            throw CommandResult(stderr: "eqnnc: error: \(path) contains NaN or infinite values\n", status: 1)
        }
        return t
    }

    /// The output extents for an input's, or the error of a pool that does not divide them.
    func outputExtents(_ input: Table, path: String) throws -> [Int] {
        guard let extents = graph.outputExtents(input.extents) else {
            let pools = graph.poolSizes
            let product = pools.reduce(1, *)
            throw CommandResult(stderr: "eqnnc: error: \(path) has extents \(input.extents.map(String.init).joined(separator: "x")), but the pools of '\(graph.network)' (\(pools.map { "pool \($0)" }.joined(separator: ", "))) need every extent to be a multiple of \(product)\n", status: 1)
        }
        return extents
    }
}

extension Arguments {
    /// An integer option, or a usage error that names it.
    /// An integer option in minimum...maximum, or a usage error that names it. The default
    /// bound (2^30) keeps products of counts (steps x epochs, samples x widths) far from overflow.
    func integer(_ name: String, default value: Int, minimum: Int = 1, maximum: Int = 1 << 30, usage: String) throws -> Int {
        guard let text = options[name] else { return value }
        guard let n = Int(text), n >= minimum, n <= maximum else {
            throw Driver.usageError("\(name) needs an integer from \(minimum) to \(maximum), found '\(text)'", usage)
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
