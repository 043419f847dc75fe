import EqnnIR
import EqnnONNXBackend
import Foundation

/// `eqnnc FILE --emit onnx [--weights W] [--seed S] [--network NAME] -o DIR`: DIR/<network in snake case>.onnx.
enum EmitONNX {
    static func run(_ args: Arguments) throws -> CommandResult {
        let path = try ModelCommands.single(args, usage: Help.check)
        for option in ["--precision", "--kernels"] where args.options[option] != nil {
            throw Driver.usageError("\(option) applies to --emit c; an ONNX model is float32 with every linear map dense", Help.check)
        }
        let seed = UInt64(try args.integer("--seed", default: 0, minimum: 0, maximum: Int.max, usage: Help.check))
        let compiled = try Compiled.load(path, network: args.options["--network"])
        try compiled.refusePoints("--emit onnx")
        let model = try compiled.model(weights: args.options["--weights"], seed: seed)
        // Each dense W is expanded in float64, converted, and serialized.
        let entries = compiled.graph.ops.reduce(0.0) { total, op in total + Double(op.linearMap.map { min($0.denseEntries, ONNXBackend.denseLimit) } ?? 0) }
        try MemoryBudget.check(24 * entries, "the ONNX model of network '\(compiled.graph.network)'", hint: "use smaller layers")
        try EmitC.requireSinglePrecision(model, compiled, remedy: "ONNX models are float32")
        let output: ONNXBackend.Output
        do {
            output = try ONNXBackend.generate(model, version: Driver.version)
        } catch let error as ONNXBackend.TooLarge {
            throw CommandResult(stderr: compiled.diagnostics + "eqnnc: error: \(error.description)\n", status: 1)
        }
        let directory = args.options["-o"] ?? "."
        try Driver.writeFiles([(name: "\(output.name).onnx", data: Data(output.bytes))], to: directory, diagnostics: compiled.diagnostics)
        let (note, baked) = EmitC.bakedWeights(args, seed: seed)
        return CommandResult(stdout: "wrote \(directory)/\(output.name).onnx (\(model.foldingBatchNorm().graph.parameterCount) parameters, \(baked); input x, output y)\n",
                             stderr: compiled.diagnostics + note)
    }
}
