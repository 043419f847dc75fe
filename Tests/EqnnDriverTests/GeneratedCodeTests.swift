import EqnnDriver
import EqnnTestSupport
import Foundation
import XCTest

/// Golden samples of what eqnnc generates: for each `.eqnn` in Generated/, the graph IR
/// (`.graph.json`), the C (`.h`, `.c`, with the seeded initialization baked in) and the
/// PyTorch module (`.py`), each stored as `<file>.expected` (a `.c` in the folder would make
/// SwiftPM compile it), so that a change to any generator shows in review as a diff of
/// these files. The eqnnc version and the repository's path are written as placeholders.
/// EQNNC_RECORD=1 rewrites them (and fails the run, as the diagnostics' goldens do).
final class GeneratedCodeTests: ScratchDirectoryTestCase {
    func testGeneratedCodeMatchesTheGoldenSamples() throws {
        let inputs = Repository.inputs(in: "Tests/EqnnDriverTests/Generated")
        XCTAssertEqual(inputs.count, 2, "a network on vectors and one on a grid")
        let record = ProcessInfo.processInfo.environment["EQNNC_RECORD"] == "1"
        for input in inputs {
            let stem = input.deletingPathExtension().lastPathComponent
            let graph = path("\(stem).graph.json"), out = path(stem)
            for arguments in [["--emit", "graph", "-o", graph], ["--emit", "c", "-o", out], ["--emit", "pytorch", "-o", out]] {
                let result = Driver.run([input.path] + arguments)
                XCTAssertEqual(result.status, 0, result.stderr)
            }
            var files = [(graph, "\(stem).graph.json")]
            for name in try FileManager.default.contentsOfDirectory(atPath: out).sorted() {
                files.append((out + "/" + name, name))
            }
            XCTAssertEqual(files.count, 4, "\(stem): the graph, a header, a C source and a Python module")
            for (file, name) in files {
                let actual = try String(contentsOfFile: file, encoding: .utf8)
                    .replacingOccurrences(of: Repository.root.path + "/", with: "")
                    .replacingOccurrences(of: "eqnnc \(Driver.version)", with: "eqnnc VERSION")
                    .replacingOccurrences(of: "\"\(Driver.version)\"", with: "\"VERSION\"")
                let golden = Repository.root.appendingPathComponent("Tests/EqnnDriverTests/Generated/\(name).expected")
                if record {
                    try actual.write(to: golden, atomically: true, encoding: .utf8)
                    XCTFail("recorded \(name); run again without EQNNC_RECORD")
                    continue
                }
                guard let expected = try? String(contentsOf: golden, encoding: .utf8) else {
                    XCTFail("missing \(golden.path); run with EQNNC_RECORD=1 to create it")
                    continue
                }
                if actual != expected {
                    XCTFail("\(name) differs from its golden sample:\n" + Repository.lineDiff(expected, actual))
                }
            }
        }
    }
}
