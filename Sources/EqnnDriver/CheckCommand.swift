import EqnnData
import EqnnDiagnostics
import EqnnSema
import EqnnSupport
import Foundation

/// `eqnnc [check] FILE [--format text|json]`: diagnostics, then a summary per network.
enum CheckCommand {
    static func run(_ arguments: [String]) throws -> CommandResult {
        let args = try Driver.parse(arguments, flags: [], options: ["--format", "--emit", "-o", "--network", "--weights", "--precision", "--seed", "--kernels"], usage: Help.check)
        if args.flags.contains("--help") || args.flags.contains("-h") { return CommandResult(stdout: Help.check) }
        guard args.positional.count == 1 else {
            return Driver.usageError(args.positional.isEmpty ? "no input file" : "expected one input file, found \(args.positional.count)", Help.check)
        }
        let format = try Driver.format(args, usage: Help.check)
        if args.options["--emit"] == nil {
            for option in ["-o", "--weights", "--precision", "--seed", "--kernels"] where args.options[option] != nil {
                return Driver.usageError("\(option) applies to --emit graph, c, pytorch or onnx only", Help.check)
            }
        }
        if let emit = args.options["--emit"] {
            switch emit {
            case "graph":
                try args.requireDistinct(outputs: ["-o"], inputs: ["--weights"])
                return try emitGraph(args.positional[0], network: args.options["--network"], output: args.options["-o"])
            case "c": return try EmitC.run(args)
            case "pytorch": return try EmitPyTorch.run(args)
            case "onnx": return try EmitONNX.run(args)
            default: return Driver.usageError("unknown --emit target '\(emit)' (use graph, c, pytorch or onnx)", Help.check)
            }
        }
        return check(try Driver.readSource(args.positional[0]), format: format)
    }

    static func emitGraph(_ path: String, network: String?, output: String?) throws -> CommandResult {
        let compiled = try Compiled.load(path, network: network)
        let text = compiled.graph.json.rendered() + "\n"
        guard let output else { return CommandResult(stdout: text, stderr: compiled.diagnostics) }
        do {
            try OutputFile.write(Data(text.utf8), to: output)
        } catch {
            throw CommandResult(stderr: compiled.diagnostics + "eqnnc: error: \(error)\n", status: 1)
        }
        return CommandResult(stdout: "wrote \(output): graph of \(compiled.graph.network), \(compiled.graph.ops.count) ops, \(compiled.graph.parameterCount) parameters\n",
                             stderr: compiled.diagnostics)
    }

    /// Checks one source (tests call this with in-memory sources).
    static func check(_ file: SourceFile, format: Driver.Format) -> CommandResult {
        let (program, bag) = Checker.check(file)
        var result = CommandResult()
        result.status = bag.hasErrors ? 1 : 0
        let warnings = bag.diagnostics.filter { $0.severity == .warning }.count
        switch format {
        case .text:
            result.stderr = DiagnosticRenderer(file: file).render(bag)
            if bag.hasErrors || warnings > 0 {
                result.stderr += "\(bag.errorCount + bag.droppedErrors) error\(bag.errorCount + bag.droppedErrors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")\n"
            }
            result.stdout = program.networks.map(Summary.text).joined(separator: "\n")
        case .json:
            let json = JSON.object([
                ("file", .string(file.name)),
                ("errors", .int(bag.errorCount + bag.droppedErrors)),
                ("warnings", .int(warnings)),
                ("diagnostics", .array(bag.sorted.map { Driver.diagnosticJSON($0, in: file) })),
                ("networks", .array(program.networks.map(Summary.json))),
            ])
            result.stdout = json.rendered() + "\n"
        }
        return result
    }
}

extension Driver {
    /// Checks an in-memory source as `eqnnc check` would.
    public static func check(_ file: SourceFile, json: Bool = false) -> CommandResult {
        CheckCommand.check(file, format: json ? .json : .text)
    }
}
