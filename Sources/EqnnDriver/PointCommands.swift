import EqnnData
import EqnnIR
import EqnnInterpreter
import Foundation

/// `run`, `train` and `evaluate` of networks on point clouds. The data are
/// laid out as `eqnnc data clusters` writes them (PyTorch Geometric's
/// batches): --positions (points, d), --counts (samples, 1), --x (points,
/// input dim), --y one row per sample (a pooled output) or per point.
enum PointCommands {
    /// The options only networks on points take.
    static let options: Set<String> = ["--positions", "--counts", "--forces", "--val-positions", "--val-counts"]

    /// Refuses the point-cloud options for a network that is not on points.
    static func refuseOptions(_ args: Arguments, _ compiled: Compiled, usage: String) throws {
        guard compiled.graph.points == nil, let option = options.sorted().first(where: { args.options[$0] != nil }) else { return }
        throw Driver.usageError("\(option) is for networks on points; '\(compiled.graph.network)' is not", usage)
    }

    /// The clouds of --positions and --counts with their features, checked against each other and the network.
    static func clouds(_ compiled: Compiled, positions path: String, counts countsPath: String, x xPath: String) throws -> PointSamples {
        guard let domain = compiled.graph.points else { return PointSamples(points: PointBatch(counts: [], positions: [], dimension: 0), x: [], y: []) }
        let positions = try compiled.table(path, columns: domain.dimension, what: "positions")
        let counts = try compiled.table(countsPath, columns: 1, what: "point counts")
        let x = try compiled.table(xPath, columns: compiled.graph.input.dimension, what: "input")
        var total = 0
        for (s, value) in counts.values.enumerated() {
            guard value >= 0, value == value.rounded(), value <= Double(Int32.max) else {
                throw CommandResult(stderr: "eqnnc: error: \(countsPath): sample \(s) has \(value) points, which is not a count\n", status: 1)
            }
            total += Int(value)
        }
        guard positions.rows == total, x.rows == total else {
            throw CommandResult(stderr: "eqnnc: error: \(countsPath) counts \(total) points in \(counts.rows) samples, but \(path) has \(positions.rows) rows and \(xPath) has \(x.rows)\n", status: 1)
        }
        let batch = PointBatch(counts: counts.values.map { Int($0) }, positions: positions.values, dimension: domain.dimension)
        return PointSamples(points: batch, x: x.values, y: [])
    }

    /// The targets of `samples` from Y: one row per sample (pooled) or per point; class indices for cross-entropy.
    static func targets(_ compiled: Compiled, _ yPath: String, for samples: PointSamples, loss: Loss) throws -> [Double] {
        let graph = compiled.graph, labels = loss == .crossEntropy
        let y = try compiled.table(yPath, columns: labels ? 1 : graph.output.dimension, what: labels ? "class index column" : "output", output: true)
        let rows = graph.outputRows(samples.points)
        guard y.rows == rows else {
            let what = graph.poolsPoints ? "one row per sample (\(rows))" : "one row per point (\(rows))"
            throw CommandResult(stderr: "eqnnc: error: \(yPath) has \(y.rows) rows, but the network's output has \(what)\n", status: 1)
        }
        if labels, let bad = y.values.first(where: { $0 != $0.rounded() || $0 < 0 || $0 >= Double(graph.output.dimension) }) {
            throw CommandResult(stderr: "eqnnc: error: \(yPath): class index \(bad) is not an integer in 0..<\(graph.output.dimension)\n", status: 1)
        }
        return y.values
    }

    static func required(_ args: Arguments, _ names: [String], command: String, usage: String) throws -> [String] {
        let missing = names.filter { args.options[$0] == nil }
        guard missing.isEmpty else {
            throw Driver.usageError("'\(command)' of a network on points needs " + names.map { "\($0) \($0.dropFirst(2).uppercased())" }.joined(separator: ", ")
                                    + "; missing \(missing.joined(separator: ", "))", usage)
        }
        return names.compactMap { args.options[$0] }
    }

    /// `run`: the outputs, and with --forces the negative gradient of a scalar output with respect to the positions.
    static func run(_ args: Arguments, _ compiled: Compiled, _ model: Model) throws -> CommandResult {
        let paths = try required(args, ["--input", "--positions", "--counts", "--output"], command: "run", usage: Help.run)
        let samples = try clouds(compiled, positions: paths[1], counts: paths[2], x: paths[0])
        let graph = compiled.graph
        let y: [Double]
        var written: [(String, Table)] = []
        if let forcesPath = args.options["--forces"] {
            guard graph.output.dimension == 1, graph.output.blocks.allSatisfy(\.isScalar) else {
                throw CommandResult(stderr: "eqnnc: error: --forces are minus the gradient of an energy: the output must be one Scalar, not \(graph.output.representation)\n", status: 1)
            }
            // Chunks of samples of at most 4,096 points (at least one sample): the backward pass keeps every pair.
            var outputs: [Double] = [], forces: [Double] = [], first = 0
            let (points, d) = (samples.points, samples.points.dimension)
            while first < samples.count {
                var last = first + 1
                while last < samples.count, points.starts[last + 1] - points.starts[first] <= 4096 { last += 1 }
                let chunk = points.slice(first..<last)
                let x = Array(samples.x[(points.starts[first] * graph.input.dimension)..<(points.starts[last] * graph.input.dimension)])
                let result = model.positionGradient(x, batch: last - first, points: chunk,
                                                    outputWeights: [Double](repeating: 1, count: graph.outputRows(chunk)))
                outputs += result.output
                forces += result.positions.map { -$0 }
                first = last
            }
            y = outputs
            written.append((forcesPath, Table(rows: points.total, columns: d, values: forces)))
        } else {
            y = model.outputs(samples.x, rows: samples.count, points: samples.points)
        }
        if let bad = (y + written.flatMap(\.1.values)).first(where: { !$0.isFinite }) {
            throw CommandResult(stderr: "eqnnc: error: a result is \(bad): the weights or the inputs are too large for the network (nothing written)\n", status: 1)
        }
        written.insert((paths[3], Table(rows: graph.outputRows(samples.points), columns: graph.output.dimension, values: y)), at: 0)
        do {
            for (path, table) in written { try table.save(path: path) }
        } catch {
            throw CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1)
        }
        return CommandResult(stderr: compiled.diagnostics + "wrote " + written.map { "\($0.0): \($0.1.rows) rows of \($0.1.columns)" }.joined(separator: ", ") + "\n")
    }

    /// Refuses training whose batches would not fit in memory: a batch keeps every pair of its
    /// samples (per message op) for backward, and the densest samples may meet in one batch.
    static func checkTrainingMemory(_ compiled: Compiled, _ samples: PointSamples, batch: Int) throws {
        let messages = compiled.graph.ops.compactMap { op -> Message? in if case .message(let m) = op { return m } else { return nil } }
        guard let radius = messages.map(\.radius).max() else { return }
        let pairs = samples.points.pairCounts(radius: radius).sorted(by: >).prefix(batch).reduce(0, +)
        let points = samples.points.counts.sorted(by: >).prefix(batch).reduce(0, +)
        let bytes = 8 * (Double(pairs) * Double(messages.reduce(0) { $0 + $1.valuesPerPair })
                         + Double(points) * MemoryBudget.valuesPerSample(compiled.graph, positions: 1, tape: true))
        try MemoryBudget.check(bytes, "training batches of \(batch) samples (up to \(pairs) pairs within \(radius) of each other)",
                               hint: "use a smaller --batch, or a smaller radius")
    }

    /// The training samples and, with --val-x, --val-y, --val-positions and --val-counts, a validation set of its own.
    static func trainingSets(_ args: Arguments, _ compiled: Compiled, loss: Loss) throws -> (PointSamples, PointSamples?) {
        let paths = try required(args, ["--x", "--y", "--positions", "--counts"], command: "train", usage: Help.train)
        var train = try clouds(compiled, positions: paths[2], counts: paths[3], x: paths[0])
        train.y = try targets(compiled, paths[1], for: train, loss: loss)
        let names = ["--val-x", "--val-y", "--val-positions", "--val-counts"]
        guard names.contains(where: { args.options[$0] != nil }) else { return (train, nil) }
        guard args.options["--val-fraction"] == nil else {
            throw Driver.usageError("--val-fraction splits --x; it cannot be used with a validation set of its own", Help.train)
        }
        let v = try required(args, names, command: "train", usage: Help.train)
        var validation = try clouds(compiled, positions: v[2], counts: v[3], x: v[0])
        validation.y = try targets(compiled, v[1], for: validation, loss: loss)
        return (train, validation.count > 0 ? validation : nil)
    }
}
