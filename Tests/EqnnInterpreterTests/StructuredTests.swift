import EqnnGroups
import EqnnIR
import EqnnLinearAlgebra
import XCTest
@testable import EqnnInterpreter

/// The structured kernels against independent references: the expanded dense
/// product, and the bilinear op written from the definition, copy pair by copy pair.
final class StructuredTests: XCTestCase {
    static let networks = [
        "network N over S(7) { input 2*V + Scalar layer 5*V + 3*Scalar : relu layer 4*V^2 + 2*V + Scalar : relu output Scalar + V }",
        "network N over C(9) { input 2*V layer 3*V : relu output V + Scalar }",
        "network N over O(3) { input 2*Scalar + 2*V layer 9*Scalar + 5*V + 3*V^2 : gated + bilinear output V^2 + Scalar }",
        "network N over O(1,3) { input 2*V layer 2*Scalar + 2*V + dual(V) : gated + bilinear output Scalar }",
        "group P = S(4)\ngroup E = O(3)\nnetwork N over P x E { input V(P)*V(E) + V(P) layer 3*V(P)*V(E) + 2*V(E) + Scalar : gated output V(E) }",
        "network N over D(5) { input V layer 4*V + Sign : tanh output Scalar + Sign }",
    ]

    func dense(_ model: Model) -> Model {
        var m = model
        m.plans = m.graph.ops.map { op in
            if case .linear(let l) = op { return LinearPlan(l, allowStructured: false) }
            return nil
        }
        return m
    }

    func structured(_ model: Model) -> Model {
        var m = model
        m.plans = m.graph.ops.map { op in
            guard case .linear(let l) = op else { return nil }
            var plan = LinearPlan(l)
            plan.dense = false
            return plan
        }
        return m
    }

    func testStructuredEqualsDenseForwardAndGradient() throws {
        var rng = SplitMix64(seed: 5)
        for source in StructuredTests.networks {
            let (_, graph) = try compile(source)
            var theta = Initialization.parameters(for: graph, seed: 2)
            for i in theta.indices { theta[i] += 0.1 * rng.nextNormal() }
            let model = Model(graph: graph, parameters: theta)
            let batch = 37
            let x = (0..<(batch * graph.input.dimension)).map { _ in rng.nextNormal() }
            let w = (0..<(batch * graph.output.dimension)).map { _ in rng.nextNormal() }
            let a = Executable<Double>(structured(model)), b = Executable<Double>(dense(model))
            let (ya, ga) = a.gradient(x, batch: batch) { _ in w }
            let (yb, gb) = b.gradient(x, batch: batch) { _ in w }
            let scale = yb.reduce(0.0) { max($0, abs($1)) }
            XCTAssertLessThan(zip(ya, yb).reduce(0.0) { max($0, abs($1.0 - $1.1)) }, 1e-12 * max(1, scale), source)
            let gscale = gb.reduce(0.0) { max($0, abs($1)) }
            XCTAssertLessThan(zip(ga, gb).reduce(0.0) { max($0, abs($1.0 - $1.1)) }, 1e-11 * max(1, gscale), source)
            // Single precision runs the same kernels.
            let single = Executable<Float>(structured(model)).forward(x.map(Float.init), batch: batch)
            XCTAssertLessThan(zip(single, yb).reduce(0.0) { max($0, abs(Double($1.0) - $1.1)) }, 1e-4 * max(1, scale), source)
        }
    }

    /// y = x + W(x) x from the definition: every (output copy, input copy) term of
    /// Group.bilinearTerms, its coefficients consecutive in theta in term order.
    func testBilinearMatchesTheDefinition() throws {
        var rng = SplitMix64(seed: 8)
        for source in StructuredTests.networks where source.contains("bilinear") {
            let (network, graph) = try compile(source)
            let theta = (0..<graph.parameterCount).map { _ in rng.nextNormal() }
            let model = Model(graph: graph, parameters: theta)
            let executable = Executable<Double>(model)
            for (k, op) in graph.ops.enumerated() {
                guard case .bilinear(let b) = op else { continue }
                guard let layer = network.layers.first(where: { $0.hasBilinear }) else { return XCTFail(source) }
                let rep = layer.rep.appendingScalars(layer.gates)
                let blocks = try rep.blocks()
                let batch = 3, d = b.dimension
                let x = (0..<(batch * d)).map { _ in rng.nextNormal() }
                var expected = x
                var parameter = b.parameters.offset
                for term in try network.group.bilinearTerms(rep) {
                    let o = blocks[term.output], i = blocks[term.input]
                    for t in 0..<batch {
                        for r in 0..<o.dimension {
                            for (s, source) in term.sources.enumerated() {
                                var sum = 0.0
                                for c in 0..<i.dimension {
                                    sum += x[t * d + blocks[source].offset + r * i.dimension + c] * x[t * d + i.offset + c]
                                }
                                expected[t * d + o.offset + r] += theta[parameter + s] * sum
                            }
                        }
                    }
                    parameter += term.sources.count
                }
                XCTAssertEqual(parameter, b.parameters.offset + b.parameters.count)
                var actual = x
                executable.apply(op, index: k, &actual, batch: batch)
                XCTAssertLessThan(zip(actual, expected).reduce(0.0) { max($0, abs($1.0 - $1.1)) }, 1e-12, source)
            }
        }
    }

    /// Samples and depth are cut into pieces when a stack outgrows the workspace.
    func testLargeStacksAreCutIntoPieces() throws {
        let (_, graph) = try compile("network N over C(64) { input 8*V layer 8*V : relu output Scalar }")
        let model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 1))
        var rng = SplitMix64(seed: 2)
        let batch = 70
        let x = (0..<(batch * graph.input.dimension)).map { _ in rng.nextNormal() }
        let a = Executable<Double>(structured(model)).forward(x, batch: batch)
        let b = Executable<Double>(dense(model)).forward(x, batch: batch)
        XCTAssertLessThan(zip(a, b).reduce(0.0) { max($0, abs($1.0 - $1.1)) }, 1e-11)
        guard case .linear(let l) = graph.ops[0] else { return XCTFail() }
        let stack = try XCTUnwrap(LinearPlan(l).stacks.first)
        let (samples, depth) = StructuredKernels.tiling(width: stack.width, depth: stack.depth, batch: batch)
        XCTAssertLessThan(samples * depth, batch * stack.depth, "the test must exercise the cutting")
    }
}
