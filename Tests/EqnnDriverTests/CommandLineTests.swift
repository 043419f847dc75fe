import EqnnDriver
import EqnnSupport
import EqnnTestSupport
import Foundation
import XCTest

/// The command line: exit codes, JSON shapes, and `hom` answers checked
/// against dimensions known from the literature.
final class CommandLineTests: XCTestCase {
    func json(_ result: CommandResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try XCTUnwrap(object as? [String: Any], file: file, line: line)
    }

    func testHomDimensions() throws {
        XCTAssertEqual(try json(Driver.run(["hom", "O(3)", "V^2", "V", "--format", "json"]))["dim"] as? Int, 0)
        XCTAssertEqual(try json(Driver.run(["hom", "SO(3)", "V^2", "V", "--format=json"]))["dim"] as? Int, 1)
        XCTAssertEqual(try json(Driver.run(["hom", "S(8)", "V^2", "V^2", "--format", "json"]))["dim"] as? Int, 15)
        let com = try json(Driver.run(["hom", "S(5) x O(3)", "V(S(5))*V(O(3))", "V(O(3))", "--format", "json"]))
        XCTAssertEqual(com["dim"] as? Int, 1)
        XCTAssertEqual(com["from_dim"] as? Int, 15)
        XCTAssertEqual(com["to_dim"] as? Int, 3)
        // Block structure: Hom(2*V + Scalar, V) under S(4) = 2 * 2 + 1 = 5.
        XCTAssertEqual(try json(Driver.run(["hom", "S(4)", "2*V + Scalar", "V", "--format", "json"]))["dim"] as? Int, 5)
    }

    /// Irrep(k) of C(n): solved numerically; each basis matrix commutes with the
    /// rotation by 2 pi / n, checked here with its matrices written out.
    func testHomOfIrreducibleFields() throws {
        let result = try json(Driver.run(["hom", "C(8)", "Irrep(3)", "Irrep(3) + Irrep(1)", "--basis", "--format", "json"]))
        XCTAssertEqual(result["dim"] as? Int, 2)  // complex type: End = C
        XCTAssertEqual(result["exact"] as? Bool, false)
        let basis = try XCTUnwrap(result["basis"] as? [[[Double]]])
        XCTAssertEqual(basis.count, 2)
        func rotation(_ angle: Double) -> [[Double]] { [[cos(angle), -sin(angle)], [sin(angle), cos(angle)]] }
        let input = rotation(3 * .pi / 4)
        let output = [rotation(3 * .pi / 4), rotation(.pi / 4)]  // block diagonal
        for entries in basis {
            var w = [[Double]](repeating: [0, 0], count: 4)
            for e in entries { w[Int(e[0])][Int(e[1])] = e[2] }
            XCTAssertEqual(w[2][0] * w[2][0] + w[3][1] * w[3][1], 0, accuracy: 1e-12)  // nothing reaches Irrep(1)
            for i in 0..<4 {
                for j in 0..<2 {
                    let block = i / 2, r = i % 2
                    let left = (0..<2).reduce(0.0) { $0 + output[block][r][$1] * w[2 * block + $1][j] }
                    let right = (0..<2).reduce(0.0) { $0 + w[i][$1] * input[$1][j] }
                    XCTAssertEqual(left, right, accuracy: 1e-12)
                }
            }
        }
        XCTAssertEqual(try json(Driver.run(["hom", "D(8)", "V", "Irrep(3)", "--format", "json"]))["dim"] as? Int, 1)
        XCTAssertEqual(try json(Driver.run(["hom", "O(2)", "Irrep(2)*Irrep(2)", "Mirror", "--format", "json"]))["dim"] as? Int, 1)
        XCTAssertEqual(Driver.run(["hom", "C(8)", "Irrep(4)", "Scalar"]).status, 1)
        // Text after a complete expression is an error, not ignored.
        let trailing = Driver.run(["hom", "C(8)", "Irrep(1)(C(8))", "V"])
        XCTAssertEqual(trailing.status, 1)
        XCTAssertTrue(trailing.stderr.contains("after the expression"), trailing.stderr)
        XCTAssertEqual(Driver.run(["hom", "C(8)", "V(C(8))(C(8))", "V"]).status, 1)
    }

    func testHomBasisOfDeepSets() throws {
        // S(3) on V: the orbit indicators of index pairs, the diagonal and the off-diagonal.
        let result = try json(Driver.run(["hom", "S(3)", "V", "V", "--basis", "--format", "json"]))
        let basis = try XCTUnwrap(result["basis"] as? [[[Int]]])
        var dense = basis.map { entries -> [Int] in
            var m = [Int](repeating: 0, count: 9)
            for e in entries { m[e[0] * 3 + e[1]] = e[2] }
            return m
        }
        dense.sort { $0.reduce(0, +) < $1.reduce(0, +) }
        XCTAssertEqual(dense, [[1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 1, 1, 1, 0, 1, 1, 1, 0]])
    }

    func testHomTextOutput() {
        let result = Driver.run(["hom", "SO(3)", "V^2", "V", "--basis"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.hasPrefix("Hom_SO(3)(V^2, V): dimension 1"), result.stdout)
        XCTAssertTrue(result.stdout.contains("basis 1 of 1"))
    }

    func testHomReportsErrorsInItsArguments() {
        let result = Driver.run(["hom", "O(3)", "V^2 +", "Vec"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("<from>:1:6: error:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("<to>:1:1: error: unknown representation 'Vec'"), result.stderr)
    }

    func testCheckJSONCarriesLayerCounts() throws {
        // The previous inertia example (no bilinear layer), whose counts are easy to derive by hand.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("inertia-\(getpid()).eqnn").path
        try """
        network Inertia over O(3) {
          input  5*Scalar + 5*V
          layer  64*Scalar + 32*V + 16*V^2 : gated
          layer  64*Scalar + 32*V + 16*V^2 : gated
          output V^2
        }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = Driver.run(["check", path, "--format", "json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let root = try json(result)
        let networks = try XCTUnwrap(root["networks"] as? [[String: Any]])
        let layers = try XCTUnwrap(networks.first?["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 4)
        // Layer 1: 5*Scalar + 5*V -> 64*Scalar + 32*V + 16*V^2 + 48 gates under O(3).
        // Hom dims: Scalar->Scalar 1, V->V 1, Scalar->V^2 1 (the identity), others 0:
        // 112*5 + 32*5 + 16*5 = 800 weights; biases 112 + 16 (the identity in V^2) = 128.
        XCTAssertEqual(layers[1]["in_dim"] as? Int, 20)
        XCTAssertEqual(layers[1]["out_dim"] as? Int, 64 + 96 + 144 + 48)
        XCTAssertEqual(layers[1]["weights"] as? Int, 800)
        XCTAssertEqual(layers[1]["dense_weights"] as? Int, 20 * 352)
        XCTAssertEqual(layers[1]["bias"] as? Int, 128)
        // Layer 2: scalars receive 64 + 16 (trace of V^2), V receives 32, V^2 receives 64 + 16*3.
        XCTAssertEqual(layers[2]["weights"] as? Int, 112 * 80 + 32 * 32 + 16 * (64 + 48))
        // The dataflow's warnings: the positions cannot reach the output, the V channels are dead weight.
        let diagnostics = try XCTUnwrap(root["diagnostics"] as? [[String: Any]])
        XCTAssertEqual(diagnostics.count, 3)
        XCTAssertEqual(diagnostics.compactMap { $0["severity"] as? String }, ["warning", "warning", "warning"])
    }

    func testCheckJSONCarriesDiagnostics() throws {
        let path = Repository.root.appendingPathComponent("examples/errors/relu_on_vectors.eqnn").path
        let result = Driver.run([path, "--format", "json"])
        XCTAssertEqual(result.status, 1)
        let diagnostics = try XCTUnwrap(try json(result)["diagnostics"] as? [[String: Any]])
        XCTAssertEqual(diagnostics.count, 1)
        XCTAssertEqual(diagnostics[0]["severity"] as? String, "error")
        XCTAssertEqual(diagnostics[0]["line"] as? Int, 6)
        XCTAssertEqual(diagnostics[0]["column"] as? Int, 29)
        XCTAssertEqual(diagnostics[0]["message"] as? String, "'relu' is not equivariant on 32*V of O(3)")
    }

    func testUsageErrorsExitWithTwo() {
        XCTAssertEqual(Driver.run([]).status, 2)
        let unknown = Driver.run(["check", "x.eqnn", "--fast"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("unknown option '--fast'"), unknown.stderr)
        XCTAssertEqual(Driver.run(["check", "x.eqnn", "--format", "xml"]).status, 2)
        XCTAssertEqual(Driver.run(["check", "x.eqnn", "--format"]).status, 2)
        XCTAssertEqual(Driver.run(["hom", "O(3)", "V"]).status, 2)
        XCTAssertEqual(Driver.run(["--bogus"]).status, 2)
    }

    func testHelpForEveryCommand() {
        for args in [["--help"], ["help"], ["check", "--help"], ["hom", "--help"], ["help", "hom"]] {
            let result = Driver.run(args)
            XCTAssertEqual(result.status, 0, "\(args)")
            XCTAssertTrue(result.stdout.contains("usage: eqnnc"), "\(args)")
        }
    }

    func testMissingFileIsAUserError() {
        let result = Driver.run(["/nonexistent/model.eqnn"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("cannot read '/nonexistent/model.eqnn': no such file"), result.stderr)
    }

    func testBinaryInputIsAUserError() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("eqnnc-binary-\(getpid()).eqnn")
        try Data([0xFF, 0xFE, 0x00, 0x80]).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertEqual(Driver.run([url.path]).status, 1)
    }
}
