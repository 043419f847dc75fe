import EqnnDiagnostics
import EqnnGroups
import EqnnSema
import XCTest
@testable import EqnnIR

final class LoweringTests: XCTestCase {
    func lower(_ text: String) throws -> (CheckedNetwork, Graph) {
        let solver = EquivariantSolver()
        let (program, bag) = Checker.check(SourceFile(name: "t", text: text), solver: solver)
        XCTAssertFalse(bag.hasErrors)
        let network = try XCTUnwrap(program.networks.first)
        return (network, try Lowering.lower(network, solver: solver))
    }

    func testParameterSlicesMatchTheCheckedCounts() throws {
        let (network, graph) = try lower("""
        network N over O(3) {
          input  2*Scalar + 2*V
          layer  4*Scalar + 3*V + V^2 : gated + bilinear
          output V
        }
        """)
        XCTAssertEqual(graph.parameterCount, network.totalParameters)
        guard case .linear(let first) = graph.ops[0] else { return XCTFail("first op is not linear") }
        XCTAssertEqual(first.parameters.count, network.layers[1].weights)
        XCTAssertEqual(first.basis.rows, network.layers[1].outDimension)
        XCTAssertEqual(first.basis.columns, 8)
        // Every basis matrix has unit Frobenius norm.
        for k in 0..<first.basis.count {
            let norm = first.basis.values[first.basis.starts[k]..<first.basis.starts[k + 1]].reduce(0) { $0 + $1 * $1 }
            XCTAssertEqual(norm, 1, accuracy: 1e-12)
        }
        XCTAssertEqual(graph.ops.map(\.inputDimension).dropFirst(), graph.ops.map(\.outputDimension).dropLast())
        XCTAssertEqual(graph.ops.last?.outputDimension, 3)
    }

    func testStructureHashIsStableAndSeesStructure() throws {
        let a = try lower("network N over S(5) { input V layer 3*V : relu output Scalar }").1
        let b = try lower("network N over S(5) { input V layer 3*V : relu output Scalar }").1
        let c = try lower("network N over S(5) { input V layer 4*V : relu output Scalar }").1
        let d = try lower("network N over C(5) { input V layer 3*V : relu output Scalar }").1
        XCTAssertEqual(a.structureHash, b.structureHash)
        XCTAssertNotEqual(a.structureHash, c.structureHash)
        XCTAssertNotEqual(a.structureHash, d.structureHash)
    }

    func testGraphJSONIsVersionedAndParses() throws {
        let graph = try lower("network N over SO(3) { input V layer Scalar + V : norm output V }").1
        let data = Data(graph.json.rendered().utf8)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["format"] as? String, "eqnnc-graph")
        XCTAssertEqual(object["version"] as? Int, Graph.formatVersion)
        let ops = try XCTUnwrap(object["ops"] as? [[String: Any]])
        XCTAssertEqual(ops.map { $0["op"] as? String }, ["linear", "bias", "norm", "linear", "bias"])
    }
}
