import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnLinearAlgebra
import EqnnSema
import XCTest
@testable import EqnnInterpreter

/// Compiles the only network of a source text.
func compile(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> (CheckedNetwork, Graph) {
    let solver = EquivariantSolver()
    let (program, bag) = Checker.check(SourceFile(name: "t.eqnn", text: text), solver: solver)
    XCTAssertFalse(bag.hasErrors, bag.diagnostics.map(\.message).joined(separator: "\n"), file: file, line: line)
    let network = try XCTUnwrap(program.networks.first, file: file, line: line)
    return (network, try Lowering.lower(network, solver: solver))
}

/// Every op's hand-written backward against central finite differences, in double precision.
final class GradientTests: XCTestCase {
    func checkGradient(_ source: String, extents: [Int] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let (_, graph) = try compile(source, file: file, line: line)
        var rng = SplitMix64(seed: 3)
        var theta = Initialization.parameters(for: graph, seed: 5)
        for i in theta.indices { theta[i] += 0.1 * rng.nextNormal() }  // biases and all: nonzero
        var normalizer = Normalizer.identity(input: graph.input.dimension, output: graph.output.dimension)
        normalizer.inputShift = normalizer.inputShift.map { _ in 0.3 * rng.nextNormal() }
        normalizer.inputScale = normalizer.inputScale.map { _ in 0.5 + rng.nextUniform() }
        normalizer.outputScale = normalizer.outputScale.map { _ in 0.5 + rng.nextUniform() }
        let batch = 3
        let positions = extents.reduce(1, *), outPositions = try XCTUnwrap(graph.outputExtents(extents)).reduce(1, *)
        let x = (0..<(batch * positions * graph.input.dimension)).map { _ in rng.nextNormal() }
        let w = (0..<(batch * outPositions * graph.output.dimension)).map { _ in rng.nextNormal() }
        func loss(_ t: [Double]) -> Double {
            let y = Model(graph: graph, parameters: t, normalizer: normalizer).forward(x, batch: batch, extents: extents)
            XCTAssertEqual(y.count, w.count)
            return zip(y, w).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let model = Model(graph: graph, parameters: theta, normalizer: normalizer)
        let (_, analytic) = Executable<Double>(model).gradient(x, batch: batch, extents: extents) { _ in w }
        XCTAssertEqual(analytic.count, graph.parameterCount)
        let indices = graph.parameterCount <= 80 ? Array(0..<graph.parameterCount)
            : Array(Array(0..<graph.parameterCount).shuffled(using: &rng).prefix(80))  // 80 distinct parameters
        var worst = 0.0
        for i in indices {
            let h = 1e-6
            var plus = theta, minus = theta
            plus[i] += h
            minus[i] -= h
            let numeric = (loss(plus) - loss(minus)) / (2 * h)
            let error = abs(numeric - analytic[i]) / max(1, abs(numeric))
            worst = max(worst, error)
        }
        XCTAssertLessThan(worst, 1e-6, "worst relative gradient error \(worst)", file: file, line: line)
    }

    func testPointwiseActivations() throws {
        for f in ["relu", "leaky_relu", "tanh", "sigmoid", "silu", "gelu", "softplus", "identity"] {
            try checkGradient("network N over S(4) { input 2*V layer 3*V + Scalar : \(f) layer 2*V : \(f) output Scalar }")
        }
    }

    /// Convolutions (zero and circular padding, 1-D to 3-D), pools, and
    /// per-position gates and bilinear terms on a grid.
    func testGridNetworks() throws {
        let p4m = "matrices(2) { discrete: [[0, -1], [1, 0]], [[1, 0], [0, -1]] }"
        try checkGradient("network N over \(p4m) on grid(2) { input 2*Scalar layer 2*Regular : relu kernel 3 pool 2 output V kernel 3 }",
                          extents: [4, 6])
        try checkGradient("network N over \(p4m) on torus(2) { input V layer Scalar + 2*V + V^2 : gated + bilinear kernel 3 output Scalar kernel 1 pool global }",
                          extents: [5, 5])
        try checkGradient("network N over matrices(1) { discrete: [[-1]] } on torus(1) { input Scalar layer 2*Regular : tanh kernel 5 output Det kernel 3 }",
                          extents: [7])
        try checkGradient("network N over matrices(3) { discrete: [[0, -1, 0], [1, 0, 0], [0, 0, 1]] } on grid(3) { input Scalar layer Regular : relu kernel 3 output Scalar kernel 3 }",
                          extents: [3, 4, 3])
    }

    /// The float32 backward (every kernel generic over the precision) against the
    /// float64 one: the same gradient to float32 rounding.
    func testSinglePrecisionGradientMatchesDouble() throws {
        let p4m = "matrices(2) { discrete: [[0, -1], [1, 0]], [[1, 0], [0, -1]] }"
        let cases: [(String, [Int])] = [
            ("network N over O(3) { input Scalar + 2*V layer 2*Scalar + 2*V + V^2 : gated + bilinear layer 3*Scalar + 2*V : norm output V^2 }", []),
            ("network N over S(6) { input 2*V layer 8*V + 4*Scalar : relu layer 4*V^2 : tanh output Scalar }", []),
            ("network N over \(p4m) on torus(2) { input V layer 2*Regular + Scalar : relu kernel 3 pool 2 output Scalar kernel 1 pool global }", [4, 4]),
        ]
        var rng = SplitMix64(seed: 8)
        for (source, extents) in cases {
            let (_, graph) = try compile(source)
            let model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 2))
            let batch = 5, positions = extents.reduce(1, *)
            let outPositions = try XCTUnwrap(graph.outputExtents(extents)).reduce(1, *)
            let x = (0..<(batch * positions * graph.input.dimension)).map { _ in rng.nextNormal() }
            let w = (0..<(batch * outPositions * graph.output.dimension)).map { _ in rng.nextNormal() }
            let (_, g64) = Executable<Double>(model).gradient(x, batch: batch, extents: extents) { _ in w }
            let (_, g32) = Executable<Float>(model).gradient(x.map(Float.init), batch: batch, extents: extents) { _ in w }
            let scale = g64.reduce(0) { max($0, abs($1)) }
            let worst = zip(g32, g64).reduce(0.0) { max($0, abs($1.0 - $1.1)) } / scale
            XCTAssertGreaterThan(scale, 0)
            XCTAssertLessThan(worst, 1e-4, source)
        }
    }

    func testGatedLayers() throws {
        try checkGradient("network N over O(3) { input 2*Scalar + 2*V layer 3*Scalar + 2*V + V^2 : gated output V }")
    }

    func testNormLayers() throws {
        try checkGradient("network N over SO(3) { input Scalar + 2*V layer 2*Scalar + 3*V : norm output V }")
    }

    func testBilinearLayers() throws {
        try checkGradient("""
        network N over O(3) {
          input  Scalar + 2*V
          layer  2*Scalar + 2*V + V^2 : gated + bilinear
          layer  2*Scalar + 2*V + V^2 : gated + bilinear
          output V^2
        }
        """)
        try checkGradient("network L over O(1,3) { input 2*V layer 2*Scalar + V + dual(V) : gated + bilinear output Scalar }")
    }

    func testProductGroupNetwork() throws {
        try checkGradient("""
        group P = S(3)
        group E = SO(3)
        network N over P x E { input V(P)*V(E) layer 2*V(P)*V(E) + V(E) : gated output V(E) }
        """)
    }
}
