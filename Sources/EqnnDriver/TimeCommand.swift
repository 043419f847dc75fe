import EqnnIR
import EqnnInterpreter
import EqnnLinearAlgebra
import Foundation

/// `eqnnc time FILE`: forward throughput of the interpreter at several batch
/// sizes and training throughput (forward, backward and an Adam step), on
/// random inputs, best of several repetitions. Grid networks run on square
/// grids of `--extent` positions per axis (default 64).
enum TimeCommand {
    static func run(_ arguments: [String]) throws -> CommandResult {
        let args = try ModelCommands.parse(arguments, flags: [], options: ["--batch", "--train-batch", "--seconds", "--network", "--extent", "--precision"], usage: Help.time)
        if let help = ModelCommands.helpRequested(args, Help.time) { return help }
        let path = try ModelCommands.single(args, usage: Help.time)
        let seconds = try args.number("--seconds", default: 1, range: 0.01...600, usage: Help.time)
        let compiled = try Compiled.load(path, network: args.options["--network"])
        try compiled.refusePoints("'time'")
        let graph = compiled.graph
        let onGrid = graph.domain != nil
        let batches = (args.options["--batch"] ?? (onGrid ? "1,16" : "1,512")).split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        guard !batches.isEmpty else { throw Driver.usageError("--batch takes sizes like 1,512", Help.time) }
        let trainBatch = try args.integer("--train-batch", default: onGrid ? 16 : 500, usage: Help.time)
        let side = try args.integer("--extent", default: 64, maximum: 65536, usage: Help.time)
        let extents = Array(repeating: side, count: graph.domain?.dimension ?? 0)
        guard let outExtents = graph.outputExtents(extents) else {
            throw Driver.usageError("--extent \(side) is not divided by the network's pools", Help.time)
        }
        let positions = extents.reduce(1, *), outPositions = outExtents.reduce(1, *)
        for batch in batches {
            try MemoryBudget.check(8 * MemoryBudget.valuesPerSample(graph, positions: positions, tape: false) * Double(batch),
                                   "a forward pass of \(batch) samples", hint: "use a smaller --batch")
        }
        try MemoryBudget.check(8 * MemoryBudget.valuesPerSample(graph, positions: positions, tape: true) * Double(trainBatch),
                               "a training step of \(trainBatch) samples", hint: "use a smaller --train-batch")
        let model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 0))
        var rng = SplitMix64(seed: 1)
        var out = "\(graph.network): \(graph.parameterCount) parameters, input \(graph.input.dimension), output \(graph.output.dimension)"
        out += onGrid ? " per position, grids of \(extents.map(String.init).joined(separator: "x"))\n" : "\n"
        for batch in batches {
            let x = (0..<(batch * positions * graph.input.dimension)).map { _ in rng.nextNormal() }
            let rate = throughput(samples: batch, seconds: seconds) {
                // Expanding the weights is part of every forward pass.
                _ = model.forward(x, batch: batch, extents: extents)
            }
            out += "  forward, batch \(batch): \(Int(rate)) samples/s\n"
        }
        let x = (0..<(trainBatch * positions * graph.input.dimension)).map { _ in rng.nextNormal() }
        let y = (0..<(trainBatch * outPositions * graph.output.dimension)).map { _ in rng.nextNormal() }
        var options = TrainingOptions()
        options.epochs = 1
        options.batch = trainBatch
        options.validationFraction = 0
        options.initialization = .random  // calibration runs once per training, not per step
        options.precision = try ModelCommands.precisionOption(args, default: .f64, usage: Help.time)
        let trainer = Trainer(options: options)
        let rate = throughput(samples: trainBatch, seconds: seconds) {
            _ = trainer.train(graph: graph, x: x, y: y, rows: trainBatch, extents: extents) { _ in }
        }
        out += "  training, batch \(trainBatch): \(Int(rate)) samples/s (forward, backward, Adam; \(Trainer.threads) threads, \(options.precision.rawValue))\n"
        out += "  matrix kernels: \(MatrixProduct.kernelName) (EQNNC_KERNEL=generic|avx2 selects a lower one)\n"
        return CommandResult(stdout: out)
    }

    /// Samples per second of the fastest repetition within the time budget.
    static func throughput(samples: Int, seconds: Double, _ body: () -> Void) -> Double {
        body()  // warm up
        var best = Double.infinity
        let deadline = Date().addingTimeInterval(seconds)
        var runs = 0
        repeat {
            let start = Date()
            body()
            best = min(best, Date().timeIntervalSince(start))
            runs += 1
        } while Date() < deadline || runs < 3
        return Double(samples) / max(best, 1e-9)
    }
}
