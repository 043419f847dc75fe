import EqnnData
import EqnnDiagnostics
import EqnnGroups
import EqnnInterpreter
import EqnnSema
import EqnnSupport
import Foundation

/// What a command printed and its exit status (0 ok, 1 user errors, 2 bad usage).
public struct CommandResult: Error, Sendable {
    public var stdout = ""
    public var stderr = ""
    public var status: Int32 = 0
}

/// The `eqnnc` command line. `main.swift` only forwards to `Driver.run`.
public enum Driver {
    public static let version = "0.1.0"

    /// The subcommands, each given the arguments after its name.
    static let commands: [String: @Sendable ([String]) throws -> CommandResult] = [
        "check": CheckCommand.run, "hom": HomCommand.run, "run": ModelCommands.run, "train": ModelCommands.train,
        "evaluate": ModelCommands.evaluate, "verify": ModelCommands.verify, "time": TimeCommand.run,
        "data": ModelCommands.data,
    ]

    /// Runs a command. The one error path: every stage below throws a CommandResult (or
    /// another error, reported with status 1), caught here.
    public static func run(_ arguments: [String]) -> CommandResult {
        ProcessMemory.keepFreedBlocks()
        do {
            return try dispatch(arguments)
        } catch let result as CommandResult {
            return result
        } catch {
            return CommandResult(stderr: "eqnnc: error: \(error)\n", status: 1)
        }
    }

    static func dispatch(_ arguments: [String]) throws -> CommandResult {
        guard let first = arguments.first else { return usageError("no input file", Help.main) }
        switch first {
        case "--help", "-h", "help":
            guard arguments.count > 1 else { return CommandResult(stdout: Help.main) }
            guard let topic = Help.topics[arguments[1]] else {
                return usageError("no help on '\(arguments[1])'; the topics are \(Help.topics.keys.sorted().joined(separator: ", "))", Help.main)
            }
            return CommandResult(stdout: topic)
        case "--version":
            return CommandResult(stdout: "eqnnc \(version)\n")
        case let name where commands[name] != nil:
            return try commands[name].map { try $0(Array(arguments.dropFirst())) } ?? CommandResult()
        default:
            if first.hasPrefix("-") && first != "-" && !first.hasSuffix(".eqnn") {
                return usageError("unknown option '\(first)'", Help.main)
            }
            return try CheckCommand.run(arguments)
        }
    }

    static func usageError(_ message: String, _ usage: String) -> CommandResult {
        CommandResult(stderr: "eqnnc: error: \(message)\n\n" + usage, status: 2)
    }

    static func parse(_ arguments: [String], flags: Set<String>, options: Set<String>, usage: String) throws -> Arguments {
        do {
            return try Arguments(arguments, flagNames: flags.union(["--help", "-h"]), optionNames: options)
        } catch Arguments.ParseError.unknownOption(let name) {
            throw usageError("unknown option '\(name)'", usage)
        } catch Arguments.ParseError.missingValue(let name) {
            throw usageError("option '\(name)' needs a value", usage)
        } catch {
            throw usageError("\(error)", usage)
        }
    }

    /// Reads a source file; a clear message instead of a crash when it cannot.
    static func readSource(_ path: String) throws -> SourceFile {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let text = String(data: data, encoding: .utf8) else {
                throw CommandResult(stderr: "eqnnc: error: standard input is not UTF-8 text\n", status: 1)
            }
            return SourceFile(name: "<stdin>", text: text)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "it is not a readable file" : "no such file"
            throw CommandResult(stderr: "eqnnc: error: cannot read '\(path)': \(reason)\n", status: 1)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CommandResult(stderr: "eqnnc: error: '\(path)' is not UTF-8 text\n", status: 1)
        }
        return SourceFile(name: path, text: text)
    }

    /// Writes generated files (name, text) into `directory`, creating it; a clear
    /// message (after `diagnostics`) instead of a crash when it cannot.
    static func writeFiles(_ files: [(name: String, text: String)], to directory: String, diagnostics: String = "") throws {
        try writeFiles(files.map { ($0.name, Data($0.text.utf8)) }, to: directory, diagnostics: diagnostics)
    }

    static func writeFiles(_ files: [(name: String, data: Data)], to directory: String, diagnostics: String = "") throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for file in files { try OutputFile.write(file.data, to: "\(directory)/\(file.name)") }
        } catch {
            throw CommandResult(stderr: diagnostics + "eqnnc: error: cannot write to '\(directory)': \(error)\n", status: 1)
        }
    }

    enum Format: String { case text, json }

    static func format(_ args: Arguments, usage: String) throws -> Format {
        let raw = args.options["--format"] ?? "text"
        guard let format = Format(rawValue: raw) else {
            throw usageError("unknown format '\(raw)' (use 'text' or 'json')", usage)
        }
        return format
    }

    static func diagnosticJSON(_ d: Diagnostic, in file: SourceFile) -> JSON {
        let (line, column) = file.location(of: d.span.start)
        let (endLine, endColumn) = file.location(of: d.span.end)
        return .object([
            ("severity", .string(d.severity.rawValue)),
            ("file", .string(file.name)),
            ("line", .int(line)),
            ("column", .int(column)),
            ("end_line", .int(endLine)),
            ("end_column", .int(endColumn)),
            ("message", .string(d.message)),
            ("notes", .array(d.notes.map(JSON.string))),
            ("fixits", .array(d.fixIts.map { fix in
                let (l, c) = file.location(of: fix.span.start)
                let (el, ec) = file.location(of: fix.span.end)
                return .object([("line", .int(l)), ("column", .int(c)), ("end_line", .int(el)),
                                ("end_column", .int(ec)), ("replacement", .string(fix.replacement))])
            })),
        ])
    }
}
