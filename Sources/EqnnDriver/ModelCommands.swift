import EqnnData
import EqnnGroups
import EqnnIR
import EqnnInterpreter
import EqnnPyTorchBackend
import EqnnVerify
import Foundation

/// `eqnnc run`, `eqnnc train`, `eqnnc evaluate`, `eqnnc verify`, `eqnnc data`.
enum ModelCommands {
    static func run(_ arguments: [String]) throws -> CommandResult {
        let args = try parse(arguments, flags: [], options: ["--weights", "--input", "--output", "--network", "--positions", "--counts", "--forces"],
                             usage: Help.run)
        if let help = helpRequested(args, Help.run) { return help }
        let path = try single(args, usage: Help.run)
        guard let input = args.options["--input"], let output = args.options["--output"] else {
            throw Driver.usageError("'run' needs --input X and --output Y", Help.run)
        }
        try args.requireDistinct(outputs: ["--output", "--forces"], inputs: ["--weights", "--input", "--positions", "--counts"])
        let compiled = try Compiled.load(path, network: args.options["--network"])
        try PointCommands.refuseOptions(args, compiled, usage: Help.run)
        guard let weights = args.options["--weights"] else { throw Driver.usageError("'run' needs --weights W", Help.run) }
        let model = try compiled.model(weights: weights, seed: 0)
        if compiled.graph.points != nil { return try PointCommands.run(args, compiled, model) }
        let x = try compiled.table(input, columns: compiled.graph.input.dimension, what: "input")
        let outExtents = try compiled.outputExtents(x, path: input)
        try MemoryBudget.checkOutputs(compiled, model, x, what: "the outputs of \(x.rows) samples")
        let y = model.outputs(x.values, rows: x.rows, extents: x.extents)
        try requireFinite(y, model, x, what: "output")
        let table = Table(rows: x.rows, columns: compiled.graph.output.dimension, values: y, extents: outExtents)
        if output == "-" {  // CSV on standard output, one row per sample (positions flattened)
            let rows = Table(rows: table.rows, columns: table.values.count / max(1, table.rows), values: table.values)
            return CommandResult(stdout: Csv.write(rows), stderr: compiled.diagnostics)
        }
        do {
            try table.save(path: output)
        } catch {
            throw CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1)
        }
        let what = outExtents.isEmpty ? "\(x.rows) rows of \(table.columns)" : "shape \(table.shapeText)"
        return CommandResult(stderr: compiled.diagnostics + "wrote \(output): \(what)\n")
    }

    static func train(_ arguments: [String]) throws -> CommandResult {
        let args = try parse(arguments, flags: ["--quiet"], options: ["--x", "--y", "--val-x", "--val-y", "--val-fraction", "--epochs",
                                                             "--batch", "--lr", "--weight-decay", "--seed", "--loss", "-o", "--network",
                                                             "--precision", "--init", "--steps", "--step-scale",
                                                             "--positions", "--counts", "--val-positions", "--val-counts"],
                         usage: Help.train)
        if let help = helpRequested(args, Help.train) { return help }
        let path = try single(args, usage: Help.train)
        guard let xPath = args.options["--x"], let yPath = args.options["--y"], let outPath = args.options["-o"] else {
            throw Driver.usageError("'train' needs --x X, --y Y and -o WEIGHTS", Help.train)
        }
        try args.requireDistinct(outputs: ["-o"], inputs: ["--x", "--y", "--val-x", "--val-y", "--positions", "--counts", "--val-positions", "--val-counts"])
        var options = TrainingOptions()
        if args.options["--epochs"] != nil, args.options["--steps"] != nil {
            throw Driver.usageError("give --epochs or --steps, not both", Help.train)
        }
        // --epochs 0: the normalizer and the (calibrated) initialization, untrained: a start for another trainer.
        if args.options["--epochs"] != nil { options.epochs = try args.integer("--epochs", default: 1, minimum: 0, usage: Help.train) }
        if args.options["--batch"] != nil { options.batch = try args.integer("--batch", default: 1, usage: Help.train) }
        options.steps = try args.integer("--steps", default: options.steps, usage: Help.train)
        options.seed = UInt64(try args.integer("--seed", default: 0, minimum: 0, maximum: Int.max, usage: Help.train))
        options.learningRate = try args.number("--lr", default: options.learningRate, range: 1e-12...10, usage: Help.train)
        options.validationFraction = try args.number("--val-fraction", default: 0.1, range: 0...0.9, usage: Help.train)
        options.weightDecay = try args.number("--weight-decay", default: options.weightDecay, range: 0...100, usage: Help.train)
        options.precision = try precisionOption(args, default: .f32, usage: Help.train)
        if let mode = args.options["--init"] {
            guard let parsed = InitializationMode(rawValue: mode) else {
                throw Driver.usageError("--init must be 'data' or 'random', found '\(mode)'", Help.train)
            }
            options.initialization = parsed
        }
        if let scale = args.options["--step-scale"] {
            guard ["entry", "coefficient"].contains(scale) else {
                throw Driver.usageError("--step-scale must be 'entry' or 'coefficient', found '\(scale)'", Help.train)
            }
            options.entryScaledSteps = scale == "entry"
        }
        let compiled = try Compiled.load(path, network: args.options["--network"])
        try PointCommands.refuseOptions(args, compiled, usage: Help.train)
        options.loss = try lossOption(args, compiled, y: yPath)
        let quiet = args.flags.contains("--quiet")
        if compiled.graph.points != nil {
            let (samples, validation) = try PointCommands.trainingSets(args, compiled, loss: options.loss)
            guard samples.count > 0 else { throw CommandResult(stderr: "eqnnc: error: \(xPath) has no samples\n", status: 1) }
            let trainingRows = samples.count - Trainer(options: options).heldOut(rows: samples.count, separateValidation: validation != nil)
            let (batchRows, epochs) = options.schedule(rows: trainingRows, positions: 1)
            try PointCommands.checkTrainingMemory(compiled, samples, batch: batchRows)
            let header = "training \(compiled.graph.network): \(compiled.graph.parameterCount) parameters, \(samples.count) samples of \(samples.points.total) points, \(options.loss.rawValue) loss, "
                + (options.epochs == nil ? "about \(options.steps) steps: " : "") + "\(epochs) epochs, batch \(batchRows)\n"
            return try trainAndWrite(compiled, options, header: header, outPath: outPath, quiet: quiet) { report in
                Trainer(options: options).train(graph: compiled.graph, samples: samples, validation: validation, report: report)
            }
        }
        let (x, y) = try trainingData(compiled, xPath, yPath, options.loss)
        guard x.rows > 0 else {
            throw CommandResult(stderr: "eqnnc: error: \(xPath) has no samples\n", status: 1)
        }
        let validation = try validationSet(args, compiled, like: x, loss: options.loss)
        let positions = x.extents.reduce(1, *)
        let trainingRows = x.rows - Trainer(options: options).heldOut(rows: x.rows, separateValidation: validation != nil)
        let (batchRows, epochs) = options.schedule(rows: trainingRows, positions: positions)
        let tapeBytes = 8 * MemoryBudget.valuesPerSample(compiled.graph, positions: positions, tape: true) * Double(batchRows)
        try MemoryBudget.check(tapeBytes + 3 * 8 * Double(x.values.count + y.values.count),
                               "training with batches of \(batchRows) samples", hint: "use a smaller --batch or fewer samples")
        let header = "training \(compiled.graph.network): \(compiled.graph.parameterCount) parameters, \(x.rows) samples, \(options.loss.rawValue) loss, "
            + (options.epochs == nil ? "about \(options.steps) steps: " : "") + "\(epochs) epochs, batch \(batchRows)\n"
        return try trainAndWrite(compiled, options, header: header, outPath: outPath, quiet: quiet) { report in
            Trainer(options: options).train(graph: compiled.graph, x: x.values, y: y.values, rows: x.rows, extents: x.extents,
                                            validation: validation, report: report)
        }
    }

    /// Runs `train` with a progress line per epoch (unless quiet), then writes the weights of the best epoch.
    static func trainAndWrite(_ compiled: Compiled, _ options: TrainingOptions, header: String, outPath: String, quiet: Bool,
                              train: ((EpochReport) -> Void) -> (model: Model, best: EpochReport?)) throws -> CommandResult {
        let log = FileHandle.standardError
        if !quiet { log.write(Data((compiled.diagnostics + header).utf8)) }
        var diverged: EpochReport? = nil
        let (model, best) = train { r in
            if !r.trainLoss.isFinite || !(r.validationLoss?.isFinite ?? true) { diverged = r }
            var line = "epoch \(pad(r.epoch, r.epochs))/\(r.epochs)  train \(sci(r.trainLoss))"
            if let v = r.validationLoss { line += "  val \(sci(v))" }
            line += "  lr \(sci(r.learningRate))  \(String(format: "%.2f", r.seconds)) s\n"
            if !quiet { log.write(Data(line.utf8)) }
        }
        if let diverged, best == nil {
            throw CommandResult(stderr: "eqnnc: error: training diverged at epoch \(diverged.epoch) (the loss is no longer finite) before any epoch finished with a finite loss; no weights written. Lower --lr, or standardize the data\n", status: 1)
        }
        let data = WeightsFile.encode(model, version: Driver.version)
        do {
            try OutputFile.write(data, to: outPath)
        } catch {
            throw CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1)
        }
        if let diverged, let best {
            throw CommandResult(stderr: "eqnnc: error: training diverged at epoch \(diverged.epoch) (the loss is no longer finite) and stopped; wrote \(outPath) with the weights of epoch \(best.epoch), the best before it. Lower --lr to train further\n", status: 1)
        }
        var summary = "wrote \(outPath)" + (options.epochs == 0 ? " (the normalizer and the \(options.initialization == .data ? "calibrated " : "")initialization, untrained)" : "")
        if let best { summary += " (epoch \(best.epoch): " + (best.validationLoss.map { "val \(sci($0))" } ?? "train \(sci(best.trainLoss))") + ")" }
        return CommandResult(stdout: summary + "\n")
    }

    static func evaluate(_ arguments: [String]) throws -> CommandResult {
        let args = try parse(arguments, flags: [], options: ["--weights", "--x", "--y", "--loss", "--network", "--positions", "--counts"],
                             usage: Help.evaluate)
        if let help = helpRequested(args, Help.evaluate) { return help }
        let path = try single(args, usage: Help.evaluate)
        guard let xPath = args.options["--x"], let yPath = args.options["--y"], let weights = args.options["--weights"] else {
            throw Driver.usageError("'evaluate' needs --weights W, --x X and --y Y", Help.evaluate)
        }
        let compiled = try Compiled.load(path, network: args.options["--network"])
        try PointCommands.refuseOptions(args, compiled, usage: Help.evaluate)
        var options = TrainingOptions()
        options.loss = try lossOption(args, compiled, y: yPath)
        let model = try compiled.model(weights: weights, seed: 0)
        if compiled.graph.points != nil {
            let paths = try PointCommands.required(args, ["--x", "--y", "--positions", "--counts"], command: "evaluate", usage: Help.evaluate)
            var samples = try PointCommands.clouds(compiled, positions: paths[2], counts: paths[3], x: paths[0])
            samples.y = try PointCommands.targets(compiled, paths[1], for: samples, loss: options.loss)
            guard samples.count > 0 else { throw CommandResult(stderr: "eqnnc: error: \(xPath) has no samples to evaluate on\n", status: 1) }
            let (loss, accuracy) = Trainer(options: options).evaluation(model, samples)
            guard loss.isFinite else {
                throw CommandResult(stderr: "eqnnc: error: the loss is \(loss): the weights, the inputs or the targets are too large\n", status: 1)
            }
            let count = "\(samples.count) samples (\(samples.points.total) points)"
            guard let accuracy else { return CommandResult(stdout: "mse \(sci(loss)) on \(count)\n") }
            return CommandResult(stdout: "cross-entropy \(sci(loss)), accuracy \(String(format: "%.2f", 100 * accuracy))% on \(count)\n")
        }
        let (x, y) = try trainingData(compiled, xPath, yPath, options.loss)
        guard x.rows > 0 else { throw CommandResult(stderr: "eqnnc: error: \(xPath) has no samples to evaluate on\n", status: 1) }
        try MemoryBudget.checkOutputs(compiled, model, x, what: "evaluating \(x.rows) samples")
        let (loss, accuracy) = Trainer(options: options).evaluation(model, x.values, y.values, rows: x.rows, extents: x.extents)
        if !loss.isFinite { try requireFinite(model.outputs(x.values, rows: x.rows, extents: x.extents), model, x, what: "output") }
        guard loss.isFinite else {
            throw CommandResult(stderr: "eqnnc: error: the loss is \(loss) although every output is finite: the targets in \(yPath) are not finite, or too large for the loss\n", status: 1)
        }
        guard let accuracy else { return CommandResult(stdout: "mse \(sci(loss)) on \(x.rows) samples\n") }
        return CommandResult(stdout: "cross-entropy \(sci(loss)), accuracy \(String(format: "%.2f", 100 * accuracy))% on \(x.rows) samples\n")
    }

    static func verify(_ arguments: [String]) throws -> CommandResult {
        let args = try parse(arguments, flags: [], options: ["--weights", "--samples", "--seed", "--network", "--backend"], usage: Help.verify)
        let backend = args.options["--backend"] ?? "interpreter"
        guard ["interpreter", "c", "pytorch"].contains(backend) else {
            throw Driver.usageError("unknown backend '\(backend)' (use interpreter, c or pytorch)", Help.verify)
        }
        if let help = helpRequested(args, Help.verify) { return help }
        let path = try single(args, usage: Help.verify)
        let samples = try args.integer("--samples", default: 16, usage: Help.verify)
        guard samples <= 1_000_000 else { throw Driver.usageError("--samples \(samples) is more than 1,000,000", Help.verify) }
        let seed = UInt64(try args.integer("--seed", default: 0, minimum: 0, maximum: Int.max, usage: Help.verify))
        // Without --network and --weights, every network of the file.
        let all = args.options["--network"] == nil && args.options["--weights"] == nil
        let networks = all ? try Compiled.loadAll(path) : [try Compiled.load(path, network: args.options["--network"])]
        guard !networks.isEmpty else { throw CommandResult(stderr: "eqnnc: error: \(path) declares no network to verify\n", status: 1) }
        var result = CommandResult(stderr: networks.first?.diagnostics ?? "")
        for compiled in networks {
            let model = try compiled.model(weights: args.options["--weights"], seed: seed)
            let report: EquivarianceReport
            let extent = compiled.graph.domain == nil ? nil : verifyExtent(compiled.graph)
            if let extent, let d = compiled.graph.domain?.dimension {
                // One sample at a time, on the largest grid the checks draw.
                let side = compiled.network.planar == nil ? extent
                    : max(extent, rotationExtent(compiled.graph), layerRotationExtent(compiled.graph))
                let positions = Int(min(pow(Double(side), Double(d)), 1e15))
                try MemoryBudget.check(4 * 8 * MemoryBudget.valuesPerSample(compiled.graph, positions: positions, tape: false),
                                       "verifying network '\(compiled.graph.network)' on grids of \(side) positions a side",
                                       hint: "the side is a multiple of the pools' product; use smaller pools")
            }
            switch backend {
            case "c": report = try cReport(compiled, model, path: path, samples: samples, seed: seed, extent: extent)
            case "pytorch": report = try pyTorchReport(compiled, model, path: path, samples: samples, seed: seed, extent: extent)
            default: report = try measure(compiled, model, samples: samples, seed: seed, extent: extent, evaluate: nil, cloud: nil)
            }
            let weights = (args.options["--weights"].map { "weights \($0)" } ?? "random weights (seed \(seed))")
                + (backend == "c" ? ", generated C (\(CCompiler.compiler) -O2)" : "")
                + (backend == "pytorch" ? ", the PyTorch module (\(PyTorchRunner.python))" : "")
            result.stdout += "\(compiled.graph.network) over \(compiled.network.group.writtenAndCanonical), \(weights), \(samples) random group elements and inputs:\n"
            result.stdout += "  max relative equivariance error: float64 \(sci(report.maxError64)) (tolerance \(sci(EquivarianceReport.tolerance64))), float32 \(sci(report.maxError32)) (tolerance \(sci(EquivarianceReport.tolerance32)))\n"
            if let exact = report.exactFor {
                result.stdout += "  (the errors above: random elements of \(exact), which map pixels to pixels, and translations)\n"
                result.stdout += rotationTable(report)
            }
            if !report.maxError64.isFinite || !report.maxError32.isFinite {
                let precision = report.maxError64.isFinite ? "float32" : "float64"
                result.stdout += "  the \(precision) outputs are not finite (NaN or infinity) on random inputs: the weights or the normalizer overflow \(precision)\n"
            }
            result.stdout += report.passes ? "  equivariant\n" : "  NOT equivariant within tolerance\n"
            if !report.passes { result.status = 1 }
        }
        return result
    }

    /// The side of the grid on which `verify` rotates smooth inputs to measure a
    /// hidden layer: about 33 positions of the layer's own (pooled) grid, so that
    /// bilinear interpolation resolves its features as well as the first layer's;
    /// at most about 264 input positions a side.
    static func layerRotationExtent(_ graph: Graph) -> Int {
        let product = graph.poolSizes.reduce(1, *)
        return product * max(1, min(33, 264 / product))
    }

    /// Every element's error on the output and, where measured, after each hidden layer.
    static func rotationTable(_ report: EquivarianceReport) -> String {
        let layers = report.layerRotations
        let out = "  every element, rotating a smooth input (bilinear interpolation; error inside the central disc)"
        guard !layers.isEmpty else {
            return out + ":\n" + report.rotations.map { "    \($0.element): \(sci($0.error))\n" }.joined()
        }
        let rows = [["element"] + layers.indices.map { "layer \($0 + 1)" } + ["output"]] + report.rotations.enumerated().map { k, r in
            [r.element] + (layers.map { $0.indices.contains(k) ? $0[k].error : .nan } + [r.error]).map(sci)
        }
        return out + ", after each layer:\n" + Summary.table(rows, rightAligned: Set(1...(layers.count + 1)), indent: "    ")
    }

    /// The side of the square grids `verify` draws: at least 8 positions, a
    /// multiple of every pool's size, and odd where no pool asks for even
    /// (so that rotations about the centre hit its middle pixel as well),
    /// wide enough for translations that keep receptive fields off the border.
    static func verifyExtent(_ graph: Graph) -> Int {
        let product = graph.poolSizes.reduce(1, *)
        guard product == 1 else { return product * max(2, (8 + product - 1) / product) }
        // Room for translations away from the border on a zero-padded grid.
        return max(9, 4 * (EquivarianceCheck.receptiveRadius(graph) ?? 0) + 5)
    }

    /// The side of the grid on which `verify` rotates smooth inputs: about 33
    /// positions, a multiple of the pools' product.
    static func rotationExtent(_ graph: Graph) -> Int {
        let product = graph.poolSizes.reduce(1, *)
        return product * max(1, (33 + product - 1) / product)
    }

    /// The equivariance report of a backend: `evaluate(single precision?, x, batch, extents)`
    /// runs the model (on the grid or off it); nil: the interpreter.
    static func measure(_ compiled: Compiled, _ model: Model, samples: Int, seed: UInt64, extent: Int?,
                        evaluate: ((Bool, [Double], Int, [Int]) throws -> [Double])?,
                        cloud: ((Bool, [Double], PointBatch) throws -> [Double])? = nil) throws -> EquivarianceReport {
        guard let first = compiled.network.layers.first, let last = compiled.network.layers.last else {
            throw CommandResult(stderr: "eqnnc: error: empty network\n", status: 1)
        }
        let interpreter = evaluate == nil
        if compiled.graph.points != nil {
            guard let cloud else { return PointEquivariance.measure(model, input: first.rep, output: last.rep, samples: samples, seed: seed &+ 1) }
            return try PointEquivariance.measure(model, input: first.rep, output: last.rep, samples: samples, seed: seed &+ 1, evaluate: cloud)
        }
        let evaluate = evaluate ?? EquivarianceCheck.interpreter(model)
        guard let extent else {
            return try EquivarianceCheck.measure(model, input: first.rep, output: last.rep, samples: samples, seed: seed &+ 1) { single, x, batch in
                try evaluate(single, x, batch, [])
            }
        }
        let planar = compiled.network.planar
        var report = try EquivarianceCheck.measureGrid(model, input: first.rep, output: last.rep, samples: samples, seed: seed &+ 1,
                                                       extent: extent, draw: planar.map(EquivarianceCheck.latticeDraw), evaluate: evaluate)
        if let action = planar {
            report.exactFor = action.latticeSubgroup
            let elements = EquivarianceCheck.rotationElements(action, samples: min(samples, 8), seed: seed &+ 2)
            report.rotations = try EquivarianceCheck.measureRotations(model, input: first.rep, output: last.rep, elements: elements,
                                                                     seed: seed &+ 3, extent: rotationExtent(compiled.graph)) { x, extents in
                try evaluate(false, x, 1, extents)
            }
            guard interpreter else { return report }
            for (layer, checked) in compiled.network.layers.enumerated() {
                guard let prefix = model.prefix(throughLayer: layer) else { continue }
                let run = EquivarianceCheck.interpreter(prefix)
                report.layerRotations.append(EquivarianceCheck.measureRotations(prefix, input: first.rep, output: checked.rep, elements: elements,
                                                                                seed: seed &+ 3, extent: layerRotationExtent(prefix.graph)) { x, extents in
                    run(false, x, 1, extents)
                })
            }
        }
        return report
    }

    /// The equivariance report of the PyTorch module, float64 and float32.
    static func pyTorchReport(_ compiled: Compiled, _ model: Model, path: String, samples: Int, seed: UInt64,
                              extent: Int?) throws -> EquivarianceReport {
        do {
            let runner = try PyTorchRunner()
            defer { runner.cleanUp() }
            try runner.load(PyTorchBackend.generate(compiled.graph, origin: .init(sourceFile: path, version: Driver.version)), model)
            return try measure(compiled, model, samples: samples, seed: seed, extent: extent, evaluate: { single, x, batch, extents in
                try runner.forward(x, graph: compiled.graph, batch: batch, extents: extents, single: single)
            }, cloud: { single, x, points in
                let rows = compiled.graph.outputRows(points) * compiled.graph.output.dimension
                return try runner.cloud(x, positions: points.positions, counts: points.counts, graph: compiled.graph,
                                        cotangent: [Double](repeating: 0, count: rows), single: single).output
            })
        } catch let failure as CommandResult {
            throw failure
        } catch {
            throw CommandResult(stderr: "eqnnc: error: could not run the PyTorch module: \(error)\n", status: 1)
        }
    }

    /// The equivariance report of the generated C, float64 and float32 builds.
    static func cReport(_ compiled: Compiled, _ model: Model, path: String, samples: Int, seed: UInt64,
                        extent: Int? = nil) throws -> EquivarianceReport {
        do {
            try EmitC.requireSinglePrecision(model, compiled, remedy: "emit float64 C (--precision f64)")
            let compiler = try CCompiler()
            defer { compiler.cleanUp() }
            let flags = ["-std=c99", "-O2"]
            let f64 = try compiler.build(EmitC.generate(compiled, model, precision: .f64, sourceFile: path, origin: "verify"), flags: flags, tag: "f64")
            let f32 = try compiler.build(EmitC.generate(compiled, model, precision: .f32, sourceFile: path, origin: "verify"), flags: flags, tag: "f32")
            return try measure(compiled, model, samples: samples, seed: seed, extent: extent, evaluate: { single, x, _, extents in
                try compiler.run(single ? f32 : f64, input: x, extents: extents, outputPositions: compiled.graph.outputPositions(extents))
            }, cloud: { single, x, points in
                try compiler.run(single ? f32 : f64, input: x, points: (points.positions, points.counts, compiled.graph.poolsPoints))
            })
        } catch let failure as CommandResult {
            throw failure
        } catch {
            throw CommandResult(stderr: "eqnnc: error: could not build or run the generated C: \(error)\n", status: 1)
        }
    }

    static func data(_ arguments: [String]) throws -> CommandResult {
        let args = try parse(arguments, flags: [], options: ["--samples", "--seed", "--x", "--y", "--extent", "--orientation",
                                                             "--positions", "--counts", "--forces"],
                             usage: Help.data)
        if let help = helpRequested(args, Help.data) { return help }
        let name = try single(args, usage: Help.data)
        if name == "clusters" || name == "tetris" { return try pointData(name, args) }
        for option in ["--positions", "--counts", "--forces"] where args.options[option] != nil {
            throw Driver.usageError("\(option) applies to the point-cloud tasks (clusters, tetris) only", Help.data)
        }
        let names = Dataset.allCases.map(\.rawValue) + ["shapes", "turned", "clusters", "tetris"]
        guard names.contains(name) else {
            throw Driver.usageError("unknown data set '\(name)' (use \(names.joined(separator: ", ")))", Help.data)
        }
        guard let xPath = args.options["--x"], let yPath = args.options["--y"] else {
            throw Driver.usageError("'data' needs --x X and --y Y", Help.data)
        }
        try args.requireDistinct(outputs: ["--x", "--y"], inputs: [], source: false)
        let samples = try args.integer("--samples", default: 1000, usage: Help.data)
        let seed = UInt64(try args.integer("--seed", default: 0, minimum: 0, maximum: Int.max, usage: Help.data))
        let x: Table, y: Table
        if let task = Dataset(rawValue: name) {
            try MemoryBudget.check(3 * 8 * Double(samples) * Double(task.inputDimension + task.outputDimension),
                                   "\(samples) samples of \(name)", hint: "use fewer --samples and several files")
            for option in ["--extent", "--orientation"] where args.options[option] != nil {
                throw Driver.usageError("\(option) applies to the image tasks only", Help.data)
            }
            (x, y) = task.generate(samples: samples, seed: seed)
        } else {
            let extent = try args.integer("--extent", default: 32, minimum: 8, usage: Help.data)
            guard extent <= 1024, samples <= (1 << 28) / (extent * extent * 4) else {
                throw Driver.usageError("--samples \(samples) of \(extent)x\(extent) images is more than 2^28 values; use fewer or smaller", Help.data)
            }
            if name == "turned" {
                guard args.options["--orientation"] == nil else {
                    throw Driver.usageError("--orientation applies to the shapes task only: turned shapes take any angle", Help.data)
                }
                (x, y) = TurnedShapes.generate(samples: samples, extent: extent, seed: seed)
            } else {
                let text = args.options["--orientation"] ?? "upright"
                guard let orientation = Shapes.Orientation(rawValue: text) else {
                    throw Driver.usageError("unknown --orientation '\(text)' (use upright or any)", Help.data)
                }
                (x, y) = Shapes.generate(samples: samples, extent: extent, seed: seed, orientation: orientation)
            }
        }
        do {
            try x.save(path: xPath)
            try y.save(path: yPath)
        } catch {
            throw CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1)
        }
        return CommandResult(stdout: "wrote \(xPath) (shape \(x.shapeText)) and \(yPath) (shape \(y.shapeText))\n")
    }

    /// `data clusters|tetris`: point clouds in PointCloudSet's layout.
    static func pointData(_ name: String, _ args: Arguments) throws -> CommandResult {
        guard let positions = args.options["--positions"], let counts = args.options["--counts"],
              let xPath = args.options["--x"], let yPath = args.options["--y"] else {
            throw Driver.usageError("'data \(name)' needs --positions P --counts N --x X --y Y", Help.data)
        }
        if name == "tetris", args.options["--forces"] != nil {
            throw Driver.usageError("--forces applies to clusters only: tetris shapes have no forces", Help.data)
        }
        if let option = ["--extent"].first(where: { args.options[$0] != nil }) ?? (name == "clusters" ? ["--orientation"].first(where: { args.options[$0] != nil }) : nil) {
            throw Driver.usageError("\(option) does not apply to \(name)", Help.data)
        }
        try args.requireDistinct(outputs: ["--positions", "--counts", "--x", "--y", "--forces"], inputs: [], source: false)
        let samples = try args.integer("--samples", default: 1000, minimum: 1, maximum: 1 << 20, usage: Help.data)
        let seed = UInt64(try args.integer("--seed", default: 0, minimum: 0, maximum: Int.max, usage: Help.data))
        try MemoryBudget.check(3 * 8 * Double(samples) * 30 * 9, "\(samples) samples of \(name)", hint: "use fewer --samples and several files")
        let set: PointCloudSet
        if name == "clusters" {
            set = PointClouds.clusters(samples: samples, seed: seed)
        } else {
            let text = args.options["--orientation"] ?? "any"
            guard text == "any" || text == "upright" else {
                throw Driver.usageError("unknown --orientation '\(text)' (use any or upright)", Help.data)
            }
            set = PointClouds.tetris(samples: samples, seed: seed, turned: text == "any")
        }
        var files: [(String, Table)] = [(positions, set.positions), (counts, set.counts), (xPath, set.features), (yPath, set.targets)]
        if let forces = args.options["--forces"], let table = set.pointTargets { files.append((forces, table)) }
        do {
            for (path, table) in files { try table.save(path: path) }
        } catch {
            throw CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1)
        }
        return CommandResult(stdout: "wrote " + files.map { "\($0.0) (shape \($0.1.shapeText))" }.joined(separator: ", ") + "\n")
    }

    // MARK: Helpers

    /// Inputs and targets (outputs, or class indices for cross-entropy) of
    /// matching samples and, on a grid, matching positions.
    static func trainingData(_ compiled: Compiled, _ xPath: String, _ yPath: String, _ loss: Loss) throws -> (Table, Table) {
        let x = try compiled.table(xPath, columns: compiled.graph.input.dimension, what: "input")
        let labels = loss == .crossEntropy
        let y = try compiled.table(yPath, columns: labels ? 1 : compiled.graph.output.dimension,
                                   what: labels ? "class index column" : "output", output: true, labels: labels)
        guard x.rows == y.rows else {
            throw CommandResult(stderr: "eqnnc: error: \(xPath) has \(x.rows) samples but \(yPath) has \(y.rows)\n", status: 1)
        }
        let expected = try compiled.outputExtents(x, path: xPath)
        guard y.extents == expected else {
            throw CommandResult(stderr: "eqnnc: error: \(yPath) has extents \(extentsText(y.extents)), but the network's output for \(xPath) (extents \(extentsText(x.extents))) has extents \(extentsText(expected))\n", status: 1)
        }
        if labels {
            let k = compiled.graph.output.dimension
            if let bad = y.values.first(where: { $0 != $0.rounded() || $0 < 0 || $0 >= Double(k) }) {
                throw CommandResult(stderr: "eqnnc: error: \(yPath): class index \(bad) is not an integer in 0..<\(k)\n", status: 1)
            }
        }
        return (x, y)
    }

    /// --val-x V --val-y V: a validation set of its own (then every row of
    /// --x trains), refused with --val-fraction or on other grid extents.
    static func validationSet(_ args: Arguments, _ compiled: Compiled, like x: Table, loss: Loss) throws -> ValidationSet? {
        let xPath = args.options["--val-x"], yPath = args.options["--val-y"]
        guard xPath != nil || yPath != nil else { return nil }
        guard let xPath, let yPath else { throw Driver.usageError("--val-x and --val-y go together", Help.train) }
        guard args.options["--val-fraction"] == nil else {
            throw Driver.usageError("--val-fraction splits --x; it cannot be used with --val-x and --val-y", Help.train)
        }
        let (vx, vy) = try trainingData(compiled, xPath, yPath, loss)
        guard vx.rows > 0 else { throw CommandResult(stderr: "eqnnc: error: \(xPath) has no samples\n", status: 1) }
        guard vx.extents == x.extents else {
            throw CommandResult(stderr: "eqnnc: error: \(xPath) has extents \(extentsText(vx.extents)), but the training data have \(extentsText(x.extents))\n", status: 1)
        }
        return ValidationSet(x: vx.values, y: vy.values, rows: vx.rows)
    }

    /// "64x64" for a grid's extents.
    static func extentsText(_ extents: [Int]) -> String { extents.map(String.init).joined(separator: "x") }

    /// Runs a command body in which any failure is a CommandResult thrown.
    static func parse(_ arguments: [String], flags: Set<String>, options: Set<String>, usage: String) throws -> Arguments {
        try Driver.parse(arguments, flags: flags, options: options, usage: usage)
    }

    static func helpRequested(_ args: Arguments, _ usage: String) -> CommandResult? {
        args.flags.contains("--help") || args.flags.contains("-h") ? CommandResult(stdout: usage) : nil
    }

    static func single(_ args: Arguments, usage: String) throws -> String {
        guard args.positional.count == 1 else {
            throw Driver.usageError(args.positional.isEmpty ? "missing argument" : "expected one argument, found \(args.positional.count)", usage)
        }
        return args.positional[0]
    }

    /// --loss; without it, cross-entropy where Y can only hold class indices (one
    /// column for an output of k >= 2 scalars, which mse would need k columns for), else mse.
    static func lossOption(_ args: Arguments, _ compiled: Compiled, y yPath: String) throws -> Loss {
        let graph = compiled.graph
        if args.options["--loss"] == nil, graph.output.blocks.allSatisfy(\.isScalar), graph.output.dimension >= 2,
           (try? compiled.table(yPath, columns: 1, what: "class index column", output: true, labels: true)) != nil {
            return .crossEntropy
        }
        let text = args.options["--loss"] ?? "mse"
        guard let loss = Loss(rawValue: text) else {
            throw Driver.usageError("unknown loss '\(text)' (use mse or cross-entropy)", Help.train)
        }
        if loss == .crossEntropy && !(graph.output.blocks.allSatisfy(\.isScalar) && graph.output.dimension >= 2) {
            throw CommandResult(stderr: "eqnnc: error: cross-entropy needs an output of k*Scalar logits (k >= 2); this output is \(graph.output.representation)\n", status: 1)
        }
        return loss
    }

    /// --precision f32|f64.
    static func precisionOption(_ args: Arguments, default value: Precision, usage: String) throws -> Precision {
        guard let text = args.options["--precision"] else { return value }
        guard let precision = Precision(rawValue: text) else {
            throw Driver.usageError("unknown precision '\(text)' (use f32 or f64)", usage)
        }
        return precision
    }

    /// Refuses results that are not finite (NaN or infinity) from a model and
    /// data: an error naming the first such value and where it first appears.
    static func requireFinite(_ values: [Double], _ model: Model, _ x: Table, what: String) throws {
        guard let bad = values.firstIndex(where: { !$0.isFinite }) else { return }
        let perSample = values.count / max(1, x.rows), d = x.values.count / max(1, x.rows)
        let sample = bad / max(1, perSample)
        let source = model.firstNonFinite(Array(x.values[(sample * d)..<((sample + 1) * d)]), extents: x.extents)
        throw CommandResult(stderr: "eqnnc: error: \(what) \(bad % max(1, perSample)) of sample \(sample) is \(values[bad]); "
                                + "the first value that is not finite comes from \(source ?? "single precision or the loss") (nothing written)\n",
                            status: 1)
    }

    static func sci(_ x: Double) -> String { String(format: "%.3e", x) }
    static func pad(_ n: Int, _ total: Int) -> String {
        let s = "\(n)"
        return String(repeating: " ", count: max(0, "\(total)".count - s.count)) + s
    }
}
