import EqnnCBackend
import EqnnIR
import EqnnInterpreter
import Foundation

/// `eqnnc FILE --emit c [--weights W] [--precision f32|f64] [--seed S] -o DIR`.
enum EmitC {
    static func run(_ args: Arguments) throws -> CommandResult {
        let path = try ModelCommands.single(args, usage: Help.check)
        let precision = try precisionOption(args)
        let seed = UInt64(try args.integer("--seed", default: 0, minimum: 0, maximum: Int.max, usage: Help.check))
        let compiled = try Compiled.load(path, network: args.options["--network"])
        let model = try compiled.model(weights: args.options["--weights"], seed: seed)
        let kernels = args.options["--kernels"] ?? "auto"
        guard kernels == "auto" || kernels == "dense" else {
            throw Driver.usageError("unknown --kernels '\(kernels)' (use auto or dense)", Help.check)
        }
        if kernels == "dense" {
            for l in compiled.graph.ops.compactMap(\.linearMap) {
                guard l.denseEntries <= LinearPlan.denseBudget else {
                    throw CommandResult(stderr: compiled.diagnostics + "eqnnc: error: --kernels dense would expand \(l.parameters.name) to \(l.outputDimension) x \(l.inputDimension) weights, over the limit of \(LinearPlan.denseBudget); use --kernels auto\n", status: 1)
                }
            }
        }
        // The C text holds every table and weight as a literal of about 12 characters, several times over while built.
        let literals = compiled.graph.ops.reduce(Double(model.parameters.count)) { total, op in
            if case .message(let m) = op { return total + Double(m.paths.reduce(0) { $0 + $1.matrix.count }) }  // the paths' matrices
            guard let l = op.linearMap else { return total }
            return total + Double(min(l.denseEntries, LinearPlan.denseBudget)) + Double(l.bases.reduce(0) { $0 + $1.matrices.entryCount }) * 3
        }
        try MemoryBudget.check(4 * 12 * literals, "the C of network '\(compiled.graph.network)'", hint: "use --kernels auto and smaller layers")
        if precision == .f32 { try requireSinglePrecision(model, compiled, remedy: "emit float64 C (--precision f64)") }
        let source = generate(compiled, model, precision: precision, sourceFile: path,
                              origin: args.options["--weights"] ?? "none given; a seeded initialization (seed \(seed))",
                              structured: kernels == "auto")
        let directory = args.options["-o"] ?? "."
        try Driver.writeFiles([("\(source.name).h", source.header), ("\(source.name).c", source.implementation)], to: directory)
        let (note, baked) = bakedWeights(args, seed: seed, orElse: ", or fill the model at run time with \(source.name)_init")
        return CommandResult(stdout: "wrote \(directory)/\(source.name).h, \(directory)/\(source.name).c (\(model.foldingBatchNorm().graph.parameterCount) parameters, \(baked))\n",
                             stderr: compiled.diagnostics + note)
    }

    /// What a back end that bakes the weights in says about them: a note when they are a
    /// seeded initialization (`orElse`: another way to give them), and where they came from.
    static func bakedWeights(_ args: Arguments, seed: UInt64, orElse: String = "") -> (note: String, baked: String) {
        guard let weights = args.options["--weights"] else {
            return ("eqnnc: note: no --weights given; baked a seeded random initialization (seed \(seed)); pass --weights W.safetensors for trained weights\(orElse)\n",
                    "a seeded initialization baked in")
        }
        return ("", "parameters baked in from \(weights)")
    }

    /// Refuses to bake into float32 code a weight or a normalizer entry that float32
    /// cannot hold: beyond its range (the C would not compile: `inf.0f`), or a
    /// nonzero scale that rounds to zero (every output infinite).
    static func requireSinglePrecision(_ model: Model, _ compiled: Compiled, remedy: String) throws {
        let folded = model.foldingBatchNorm()
        let n = folded.normalizer
        let tables: [(String, [Double], scale: Bool)] = [("parameter", folded.parameters, false), ("input shift", n.inputShift, false),
                                                          ("input scale", n.inputScale, true), ("output shift", n.outputShift, false),
                                                          ("output scale", n.outputScale, true)]
        for (what, values, scale) in tables {
            let unfit = { (v: Double) in abs(v) > Double(Float.greatestFiniteMagnitude) || (scale && v != 0 && Float(v) == 0) }
            guard let k = values.firstIndex(where: unfit) else { continue }
            let why = abs(values[k]) > 1 ? "beyond float32's range (3.4e38)" : "nonzero but below float32's smallest (1.4e-45)"
            throw CommandResult(stderr: compiled.diagnostics + "eqnnc: error: \(what) \(k) of network '\(compiled.graph.network)' is \(values[k]), \(why); "
                                    + "\(remedy), or retrain with smaller weights\n", status: 1)
        }
    }

    static func precisionOption(_ args: Arguments) throws -> CBackend.Precision {
        try ModelCommands.precisionOption(args, default: .f32, usage: Help.check)
    }

    static func generate(_ compiled: Compiled, _ model: Model, precision: CBackend.Precision, sourceFile: String, origin: String,
                         structured: Bool = true) -> CBackend.Source {
        CBackend.generate(model, precision: precision,
                          origin: CBackend.Origin(sourceFile: sourceFile, version: Driver.version, weights: origin), structured: structured)
    }
}
