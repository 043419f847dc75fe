import EqnnDriver
import Foundation

let result = Driver.run(Array(CommandLine.arguments.dropFirst()))
FileHandle.standardOutput.write(result.stdout.data(using: .utf8) ?? Data())
FileHandle.standardError.write(result.stderr.data(using: .utf8) ?? Data())
exit(result.status)
