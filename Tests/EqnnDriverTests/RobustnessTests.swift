import EqnnData
import EqnnIR
import EqnnInterpreter
import EqnnTestSupport
import Foundation
import XCTest
@testable import EqnnDriver

/// Hostile input that used to crash or to give a wrong answer with exit status 0.
final class RobustnessTests: ScratchDirectoryTestCase {

    /// 100,000 nested parentheses in a representation and in a group: one located error, no stack overflow.
    func testDeepNestingIsALocatedError() throws {
        let depth = 100_000
        let rep = String(repeating: "(", count: depth) + "V" + String(repeating: ")", count: depth)
        let group = String(repeating: "(", count: depth) + "S(3)" + String(repeating: ")", count: depth)
        for text in ["network N over S(3) { input \(rep) output Scalar }", "group G = \(group)\n"] {
            let result = Driver.run(["check", try write("deep.eqnn", text)])
            XCTAssertEqual(result.status, 1)
            XCTAssertTrue(result.stderr.contains("nest deeper than 256 levels"), result.stderr)
            XCTAssertTrue(result.stderr.contains("deep.eqnn:1:"), result.stderr)
        }
    }

    /// Weights with NaN or infinity are refused like data with them.
    func testNonFiniteWeightsAreRefused() throws {
        let source = try write("n.eqnn", "network N over S(4) { input V layer 2*V : relu output Scalar }")
        let x = Table(rows: 6, columns: 4, values: (0..<24).map { Double($0 % 5) })
        let y = Table(rows: 6, columns: 1, values: (0..<6).map { Double($0) })
        try x.save(path: path("x.npy"))
        try y.save(path: path("y.npy"))
        let train = Driver.run(["train", source, "--x", path("x.npy"), "--y", path("y.npy"), "--epochs", "1", "--quiet", "-o", path("w.safetensors")])
        XCTAssertEqual(train.status, 0, train.stderr)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path("w.safetensors"))))
        // The last 8 bytes are the last float64 of the file (the output scale): make it NaN.
        let nan = Double.nan.bitPattern
        for k in 0..<8 { bytes[bytes.count - 8 + k] = UInt8(truncatingIfNeeded: nan >> (8 * UInt64(k))) }
        try Data(bytes).write(to: URL(fileURLWithPath: path("bad.safetensors")))
        let run = Driver.run(["run", source, "--weights", path("bad.safetensors"), "--input", path("x.npy"), "--output", path("o.npy")])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("NaN or infinite"), run.stderr)
    }

    /// A weights file whose normalizer shifts a vector block, or scales its
    /// coordinates differently, is refused on loading (run, evaluate, emit c).
    func testSymmetryBreakingNormalizerIsRefused() throws {
        let source = try write("v.eqnn", "network N over O(3) { input Scalar + V output V }")
        try Table(rows: 1, columns: 4, values: [1, 2, 3, 4]).save(path: path("x.npy"))
        let graph = try XCTUnwrap(Compiled.loadAll(source).first).graph
        for (shift, scale) in [([0.0, 0, 0.5, 0], [1.0, 1, 1, 1]), ([0.0, 0, 0, 0], [1.0, 1, 2, 1])] {
            var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 1))
            model.normalizer.inputShift = shift
            model.normalizer.inputScale = scale
            try WeightsFile.encode(model, version: "test").write(to: URL(fileURLWithPath: path("w.safetensors")))
            for command in [["run", source, "--weights", path("w.safetensors"), "--input", path("x.npy"), "--output", path("o.npy")],
                            [source, "--emit", "c", "--weights", path("w.safetensors"), "-o", path("c")]] {
                let result = Driver.run(command)
                XCTAssertEqual(result.status, 1, result.stderr)
                XCTAssertTrue(result.stderr.contains("breaks the symmetry"), result.stderr)
            }
        }
        var fine = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 1))
        fine.normalizer.inputShift = [0.5, 0, 0, 0]  // the scalar may be shifted
        fine.normalizer.inputScale = [3, 2, 2, 2]
        try WeightsFile.encode(fine, version: "test").write(to: URL(fileURLWithPath: path("w.safetensors")))
        XCTAssertEqual(Driver.run(["run", source, "--weights", path("w.safetensors"), "--input", path("x.npy"), "--output", path("o.npy")]).status, 0)
    }

    /// `evaluate` on no samples is an error, not an MSE of 0; `data` does not write x and y into one file.
    func testEmptyEvaluationAndOneFileForXAndY() throws {
        let source = try write("n.eqnn", "network N over S(4) { input V output Scalar }")
        try Table(rows: 0, columns: 4, values: []).save(path: path("x0.npy"))
        try Table(rows: 0, columns: 1, values: []).save(path: path("y0.npy"))
        try Table(rows: 1, columns: 4, values: [1, 2, 3, 4]).save(path: path("x1.npy"))
        let train = Driver.run(["train", source, "--x", path("x1.npy"), "--y", path("x1.npy"), "--quiet", "-o", path("w.safetensors")])
        XCTAssertEqual(train.status, 1)  // 4 columns where the output has 1
        let evaluate = Driver.run(["evaluate", source, "--weights", path("w.safetensors"), "--x", path("x0.npy"), "--y", path("y0.npy")])
        XCTAssertEqual(evaluate.status, 1)
        let data = Driver.run(["data", "o5", "--x", path("same.npy"), "--y", path("same.npy")])
        XCTAssertEqual(data.status, 1, data.stderr)
        XCTAssertTrue(data.stderr.contains("same file"), data.stderr)
    }

    /// Commands estimate their memory before allocating and refuse what cannot fit.
    func testMemoryEstimatesRefuseTooLargeRuns() throws {
        let data = Driver.run(["data", "o5", "--samples", "1000000000", "--x", path("x.npy"), "--y", path("y.npy")])
        XCTAssertEqual(data.status, 1)
        XCTAssertTrue(data.stderr.contains("would need about"), data.stderr)
        let big = Repository.root.appendingPathComponent("bench/deepsets1000.eqnn").path
        let time = Driver.run(["time", big, "--batch", "1,1000000"])
        XCTAssertEqual(time.status, 1)
        XCTAssertTrue(time.stderr.contains("use a smaller --batch"), time.stderr)
        // Training: the tape of a batch, against a limit set low for the test.
        let source = try write("t.eqnn", "network N over S(8) { input V layer 64*V : relu layer 64*V : relu output Scalar }")
        try Table(rows: 64, columns: 8, values: (0..<512).map { Double($0 % 7) }).save(path: path("x.npy"))
        try Table(rows: 64, columns: 1, values: (0..<64).map { Double($0 % 3) }).save(path: path("y.npy"))
        setenv("EQNNC_MEMORY_LIMIT", "100000", 1)
        defer { unsetenv("EQNNC_MEMORY_LIMIT") }
        let train = Driver.run(["train", source, "--x", path("x.npy"), "--y", path("y.npy"), "--quiet", "-o", path("w.safetensors")])
        XCTAssertEqual(train.status, 1)
        XCTAssertTrue(train.stderr.contains("use a smaller --batch"), train.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("w.safetensors")))
        // run: the outputs and one chunk's activations; --emit c: the text of the tables.
        let graph = try XCTUnwrap(Compiled.loadAll(source).first).graph
        try WeightsFile.encode(Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 1)), version: "test")
            .write(to: URL(fileURLWithPath: path("w.safetensors")))
        let run = Driver.run(["run", source, "--weights", path("w.safetensors"), "--input", path("x.npy"), "--output", path("o.npy")])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("would need about"), run.stderr)
        let emit = Driver.run([source, "--emit", "c", "-o", path("c")])
        XCTAssertEqual(emit.status, 1)
        XCTAssertTrue(emit.stderr.contains("would need about"), emit.stderr)
    }

    /// Options that would pass silently are usage errors.
    func testSilentOptionsAreUsageErrors() throws {
        let help = Driver.run(["help", "frobnicate"])
        XCTAssertEqual(help.status, 2)
        XCTAssertTrue(help.stderr.contains("no help on 'frobnicate'"), help.stderr)
        let source = try write("n.eqnn", "network N over S(4) { input V output Scalar }")
        let check = Driver.run([source, "-o", path("out")])
        XCTAssertEqual(check.status, 2)
        XCTAssertTrue(check.stderr.contains("-o applies to --emit"), check.stderr)
    }

    /// Networks whose names are not valid C prefixes emit C that compiles.
    func testNetworkNamesAreMangledForC() throws {
        for name in ["_", "__Int_", "_9"] {
            let source = try write("m.eqnn", "network \(name) over S(3) { input V output Scalar }")
            let result = Driver.run(["verify", source, "--backend", "c", "--samples", "2"])
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
        }
    }
}
