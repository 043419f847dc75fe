import EqnnDiagnostics
import EqnnDriver
import EqnnTestSupport
import Foundation
import XCTest

/// Golden files: every `.eqnn` input beside its `.expected` output (the
/// diagnostics, then the summaries, then the exit status). Run with
/// EQNNC_RECORD=1 to rewrite the expectations; a recording run fails on
/// purpose so that it never passes silently.
final class GoldenTests: XCTestCase {
    /// Runs the checker as `eqnnc check NAME` would, NAME relative to the repository.
    static func transcript(of url: URL) throws -> (text: String, status: Int32) {
        let text = try String(contentsOf: url, encoding: .utf8)
        let name = String(url.path.dropFirst(Repository.root.path.count + 1))
        let result = Driver.check(SourceFile(name: name, text: text))
        return (result.stderr + result.stdout + "exit status \(result.status)\n", result.status)
    }

    func checkGolden(folder: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let inputs = Repository.inputs(in: folder)
        XCTAssertFalse(inputs.isEmpty, "no golden inputs in \(folder)", file: file, line: line)
        let record = ProcessInfo.processInfo.environment["EQNNC_RECORD"] == "1"
        for input in inputs {
            let expectedURL = input.deletingPathExtension().appendingPathExtension("expected")
            let (actual, _) = try GoldenTests.transcript(of: input)
            if record {
                try actual.write(to: expectedURL, atomically: true, encoding: .utf8)
                XCTFail("recorded \(expectedURL.lastPathComponent); run again without EQNNC_RECORD", file: file, line: line)
                continue
            }
            guard let expected = try? String(contentsOf: expectedURL, encoding: .utf8) else {
                XCTFail("missing \(expectedURL.path); run with EQNNC_RECORD=1 to create it", file: file, line: line)
                continue
            }
            if actual != expected {
                XCTFail("\(input.lastPathComponent) differs from its .expected file:\n" + Repository.lineDiff(expected, actual),
                        file: file, line: line)
            }
        }
    }

    func testDiagnosticGoldenFiles() throws {
        try checkGolden(folder: "Tests/EqnnDriverTests/Diagnostics")
    }

    func testErrorExamplesGoldenFiles() throws {
        try checkGolden(folder: "examples/errors")
    }

    func testEveryErrorExampleFails() throws {
        for input in Repository.inputs(in: "examples/errors") {
            XCTAssertEqual(try GoldenTests.transcript(of: input).status, 1, input.lastPathComponent)
        }
    }

    func testEveryExampleChecksCleanly() throws {
        let inputs = Repository.inputs(in: "examples") + Repository.inputs(in: "examples/fww21") + Repository.inputs(in: "examples/grid")
            + Repository.inputs(in: "examples/points")
        XCTAssertGreaterThanOrEqual(inputs.count, 20)
        for input in inputs {
            let (text, status) = try GoldenTests.transcript(of: input)
            XCTAssertEqual(status, 0, "\(input.lastPathComponent):\n\(text)")
            XCTAssertFalse(text.contains("warning:"), "\(input.lastPathComponent) has warnings:\n\(text)")
        }
    }

    func testEveryExampleSaysWhatItModels() throws {
        for input in Repository.inputs(in: "examples") + Repository.inputs(in: "examples/errors") + Repository.inputs(in: "examples/fww21")
            + Repository.inputs(in: "examples/grid") + Repository.inputs(in: "examples/points") {
            let text = try String(contentsOf: input, encoding: .utf8)
            XCTAssertTrue(text.hasPrefix("#"), "\(input.lastPathComponent) should open with a comment saying what it models")
        }
    }
}
