import EqnnDiagnostics
import EqnnGroups
import EqnnSema
import XCTest
@testable import EqnnIR

/// Graph.verify: lowered graphs pass, and each kind of broken graph is refused with
/// what is wrong (each graph below breaks one invariant of a graph that passed).
final class GraphVerifierTests: XCTestCase {
    func lowered(_ text: String) throws -> Graph { try LoweringTests.lower(text).1 }

    let vectors = """
        network N over O(3) {
          input  2*Scalar + 2*V
          layer  4*Scalar + 3*V + V^2 : gated + bilinear
          layer  2*Scalar + V         : norm
          output V
        }
        """
    let grid = """
        group C4 = matrices(2) { discrete: [[0, -1], [1, 0]] }
        network G over C4 on grid(2) {
          input  Scalar
          layer  2*Regular : relu + batchnorm  kernel 3  pool 2
          output Scalar                        kernel 1  pool global
        }
        """

    func assertRefused(_ graph: Graph, _ fragment: String, line: UInt = #line) {
        XCTAssertThrowsError(try graph.verify(), line: line) { error in
            XCTAssertTrue("\(error)".contains(fragment), "\(error)", line: line)
        }
    }

    func index(_ graph: Graph, _ name: String) throws -> Int {
        try XCTUnwrap(graph.ops.firstIndex { $0.name == name }, "no \(name) op")
    }

    func testLoweredGraphsPass() throws {
        XCTAssertNoThrow(try lowered(vectors).verify())
        XCTAssertNoThrow(try lowered(grid).verify())
    }

    func testOpsThatDoNotChainAreRefused() throws {
        var graph = try lowered(vectors)
        graph.ops.remove(at: try index(graph, "gate"))
        assertRefused(graph, "where the op before it writes")
    }

    func testIndicesOutsideTheirArraysAreRefused() throws {
        var graph = try lowered(vectors)
        let b = try index(graph, "bias")
        guard case .bias(var bias) = graph.ops[b] else { return XCTFail() }
        bias.basis.entryRows[0] = bias.basis.rows
        graph.ops[b] = .bias(bias)
        assertRefused(graph, "has an entry outside its")

        graph = try lowered(vectors)
        guard case .linear(var linear) = graph.ops[0] else { return XCTFail() }
        linear.blocks[0].input.offset = linear.inputDimension
        graph.ops[0] = .linear(linear)
        assertRefused(graph, "a block's input")

        graph = try lowered(vectors)
        let g = try index(graph, "gate")
        guard case .gate(var gate) = graph.ops[g] else { return XCTFail() }
        gate.blocks[0].gate = gate.inputDimension
        graph.ops[g] = .gate(gate)
        assertRefused(graph, "a gate [")

        graph = try lowered(vectors)
        let k = try index(graph, "bilinear")
        guard case .bilinear(var bilinear) = graph.ops[k] else { return XCTFail() }
        bilinear.blocks[0].firstParameter = bilinear.parameters.count
        graph.ops[k] = .bilinear(bilinear)
        assertRefused(graph, "a block's parameters")
    }

    func testSlicesThatDoNotTileThetaAreRefused() throws {
        var graph = try lowered(vectors)
        graph.parameterCount += 1
        assertRefused(graph, "the parameter slices hold")

        graph = try lowered(vectors)
        let b = try index(graph, "bias")
        guard case .bias(var bias) = graph.ops[b] else { return XCTFail() }
        bias.parameters.offset -= 1
        graph.ops[b] = .bias(bias)
        assertRefused(graph, "starts at")
    }

    func testGridOpsNeedTheirGridAndTheirShapes() throws {
        var graph = try lowered(grid)
        graph.domain = nil
        assertRefused(graph, "a convolution in a network without a grid")

        graph = try lowered(grid)
        guard case .convolution(var convolution) = graph.ops[0] else { return XCTFail() }
        convolution.kernel = 5
        graph.ops[0] = .convolution(convolution)
        assertRefused(graph, "the neighbourhood of 25 offsets")

        graph = try lowered(grid)
        let n = try index(graph, "batchnorm")
        guard case .batchNorm(var batchNorm) = graph.ops[n] else { return XCTFail() }
        batchNorm.statistics.count -= 1
        graph.ops[n] = .batchNorm(batchNorm)
        assertRefused(graph, "statistics for")
    }
}

/// The kernel's offset order has one home in the IR (Convolution.offsetVectors), which
/// the back ends read; the kernel bases are solved in EqnnGroups' order, which must be it.
final class OffsetOrderTests: XCTestCase {
    func testTheBasesAndTheBackEndsShareTheOffsetOrder() {
        for dimension in 1...3 {
            for kernel in [1, 3, 5] {
                XCTAssertEqual(Convolution.offsetVectors(kernel: kernel, dimension: dimension),
                               PointSet.offsetVectors(kernel: kernel, dimension: dimension), "kernel \(kernel), \(dimension)-d")
            }
        }
        // Offset 0 is (-r, ..., -r) and the last axis moves fastest.
        XCTAssertEqual(Convolution.offsetVectors(kernel: 3, dimension: 2).prefix(4), [[-1, -1], [-1, 0], [-1, 1], [0, -1]])
    }
}
