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
