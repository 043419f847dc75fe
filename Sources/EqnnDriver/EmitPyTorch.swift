import EqnnIR
import EqnnPyTorchBackend
import Foundation

/// `eqnnc FILE --emit pytorch [--network NAME] -o DIR`: DIR/<network in snake case>.py.
enum EmitPyTorch {
    static func run(_ args: Arguments) throws -> CommandResult {
        let path = try ModelCommands.single(args, usage: Help.check)
        for option in ["--weights", "--precision", "--seed", "--kernels"] where args.options[option] != nil {
            throw Driver.usageError("\(option) applies to --emit c; a PyTorch module loads weights at run time (model.load_safetensors)", Help.check)
        }
        let compiled = try Compiled.load(path, network: args.options["--network"])
        // The module's text holds every basis entry as a literal of about 20 characters, a few times over while built.
        let entries = compiled.graph.ops.reduce(0.0) { total, op in
            guard let l = op.linearMap else { return total }
            return total + Double(l.bases.reduce(0) { $0 + $1.matrices.entryCount }) * 4 + Double(l.parameters.count) * 3
        }
        try MemoryBudget.check(4 * 20 * entries, "the PyTorch module of network '\(compiled.graph.network)'", hint: "use smaller layers")
        let source = PyTorchBackend.generate(compiled.graph, origin: PyTorchBackend.Origin(sourceFile: path, version: Driver.version))
        let directory = args.options["-o"] ?? "."
        let file = "\(directory)/\(source.name).py"
        try Driver.writeFiles([("\(source.name).py", source.text)], to: directory, diagnostics: compiled.diagnostics)
        return CommandResult(stdout: "wrote \(file): class \(source.className) (\(compiled.graph.parameterCount) parameters)\n",
                             stderr: compiled.diagnostics)
    }
}
