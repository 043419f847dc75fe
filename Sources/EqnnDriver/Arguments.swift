import EqnnData

/// A small command-line parser: positional arguments, boolean flags and
/// options with a value (`--format json` or `--format=json`).
struct Arguments {
    var positional: [String] = []
    var flags: Set<String> = []
    var options: [String: String] = [:]

    enum ParseError: Error, Equatable {
        case unknownOption(String)
        case missingValue(String)
    }

    /// `flagNames` take no value, `optionNames` take one; anything else
    /// starting with "-" is an error (a lone "-" is positional).
    init(_ arguments: [String], flagNames: Set<String>, optionNames: Set<String>) throws {
        var k = 0
        var onlyPositional = false
        while k < arguments.count {
            let arg = arguments[k]
            k += 1
            if onlyPositional || !arg.hasPrefix("-") || arg == "-" {
                positional.append(arg)
                continue
            }
            if arg == "--" {
                onlyPositional = true
                continue
            }
            var name = arg
            var inlineValue: String? = nil
            if let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inlineValue = String(arg[arg.index(after: eq)...])
            }
            if flagNames.contains(name) && inlineValue == nil {
                flags.insert(name)
            } else if optionNames.contains(name) {
                if let v = inlineValue {
                    options[name] = v
                } else if k < arguments.count {
                    options[name] = arguments[k]
                    k += 1
                } else {
                    throw ParseError.missingValue(name)
                }
            } else {
                throw ParseError.unknownOption(arg)
            }
        }
    }
}

extension Arguments {
    /// Refuses an output that names the same file as an input or as another
    /// output (`train model.eqnn ... -o model.eqnn` would overwrite the source,
    /// `data --x d.npy --y ./d.npy` lose x), compared as files: links, `./` and
    /// hard links included. `inputs` are option names; the positional FILE is
    /// one unless `source` is false.
    func requireDistinct(outputs: [String], inputs: [String], source: Bool = true) throws {
        let named = { (flag: String) in self.options[flag].map { (what: flag, path: $0) } }
        let sources = (source ? positional.prefix(1).map { (what: "the source", path: $0) } : []) + inputs.compactMap(named)
        let written = outputs.compactMap(named)
        for (k, output) in written.enumerated() {
            for other in sources + written[..<k] where OutputFile.same(output.path, other.path) {
                throw CommandResult(stderr: "eqnnc: error: \(output.what) '\(output.path)' is the same file as \(other.what) '\(other.path)'; "
                                        + "writing it would destroy that \(sources.contains { $0.what == other.what } ? "input" : "output")\n",
                                    status: 1)
            }
        }
    }
}
