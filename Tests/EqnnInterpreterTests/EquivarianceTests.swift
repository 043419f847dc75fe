import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnLinearAlgebra
import EqnnSema
@testable import EqnnVerify
import Foundation
import XCTest
@testable import EqnnInterpreter

/// The compiled networks of every example are equivariant under random group
/// elements, with random and with trained weights.
final class EquivarianceTests: XCTestCase {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples")

    func networks(in url: URL) throws -> [(CheckedNetwork, Graph)] {
        let solver = EquivariantSolver()
        let (program, bag) = Checker.check(SourceFile(name: url.lastPathComponent, text: try String(contentsOf: url, encoding: .utf8)), solver: solver)
        XCTAssertFalse(bag.hasErrors, url.lastPathComponent)
        return try program.networks.map { ($0, try Lowering.lower($0, solver: solver)) }
    }

    func exampleFiles() -> [URL] {
        let fm = FileManager.default
        let top = (try? fm.contentsOfDirectory(atPath: EquivarianceTests.examples.path)) ?? []
        let fww = (try? fm.contentsOfDirectory(atPath: EquivarianceTests.examples.appendingPathComponent("fww21").path)) ?? []
        return top.filter { $0.hasSuffix(".eqnn") }.sorted().map { EquivarianceTests.examples.appendingPathComponent($0) }
            + fww.filter { $0.hasSuffix(".eqnn") }.sorted().map { EquivarianceTests.examples.appendingPathComponent("fww21/" + $0) }
    }

    func testEveryExampleWithRandomWeights() throws {
        let files = exampleFiles()
        XCTAssertGreaterThanOrEqual(files.count, 14)
        var checked = 0
        defer { XCTAssertGreaterThanOrEqual(checked, 11) }
        for url in files {
            // The MLP twins over C(1) are equivariant by construction: nothing to learn from them here.
            for (network, graph) in try networks(in: url) where !network.group.factors.allSatisfy({ $0.dimension <= 1 }) {
                checked += 1
                let model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 11))
                let report = EquivarianceCheck.measure(model, input: network.layers[0].rep, output: network.layers[network.layers.count - 1].rep,
                                                       samples: 4, seed: 1)
                XCTAssertTrue(report.passes, "\(url.lastPathComponent) \(network.name): \(report)")
                XCTAssertLessThan(report.maxError64, 1e-10, "\(network.name)")
            }
        }
    }

    /// The check can fail: one basis entry perturbed, or relu applied to O(3)
    /// vectors behind the checker's back, and the measured error is far above
    /// the tolerance; and Rep.act equals Rep.matrix on every example's layers.
    func testEquivarianceCheckCatchesBrokenNetworks() throws {
        let (network, graph) = try compile("network N over O(3) { input Scalar + 2*V layer 4*Scalar + 2*V + V^2 : gated output V }")
        let input = network.layers[0].rep, output = network.layers[2].rep
        var broken = graph
        guard case .linear(var linear) = broken.ops[0] else { return XCTFail("no linear op first") }
        let pair = try XCTUnwrap(linear.bases.firstIndex { $0.matrices.rows > 1 && $0.matrices.columns > 1 })  // V -> V, say
        var matrices = linear.bases[pair].matrices
        matrices.values[0] += 0.3
        linear.bases[pair] = PairBasis(matrices: matrices)
        broken.ops[0] = .linear(linear)
        let model = Model(graph: broken, parameters: Initialization.parameters(for: broken, seed: 1).map { $0 + 0.1 })
        XCTAssertFalse(EquivarianceCheck.measure(model, input: input, output: output, samples: 4, seed: 1).passes)

        var relu = graph
        if let k = relu.ops.firstIndex(where: { if case .gate = $0 { return true } else { return false } }), case .gate(let g) = relu.ops[k] {
            relu.ops.insert(.pointwise(Pointwise(function: .relu, dimension: g.inputDimension, representation: g.representation)), at: k)
        }
        let reluModel = Model(graph: relu, parameters: Initialization.parameters(for: relu, seed: 1).map { $0 + 0.1 })
        let report = EquivarianceCheck.measure(reluModel, input: input, output: output, samples: 4, seed: 1)
        XCTAssertGreaterThan(report.maxError64, 1e-3)

        var rng = SplitMix64(seed: 2)
        for layer in network.layers {
            let g = layer.rep.group.randomElement(using: &rng)
            let x = (0..<layer.dimension).map { _ in rng.nextNormal() }
            let m = layer.rep.matrix(at: g)
            let expected = (0..<layer.dimension).map { i in (0..<layer.dimension).reduce(0.0) { $0 + m[i, $1] * x[$1] } }
            for (a, b) in zip(layer.rep.act(g, on: x, rows: 1), expected) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        }
    }

    /// Every input summand of every example matters: perturbing its
    /// coordinates (and nothing else) changes the output of a random model,
    /// as the checker's dataflow says (it warns for the ones that cannot).
    func testEveryInputSummandInfluencesTheOutput() throws {
        var rng = SplitMix64(seed: 31)
        let grid = (try? FileManager.default.contentsOfDirectory(atPath: EquivarianceTests.examples.appendingPathComponent("grid").path)) ?? []
        let files = exampleFiles() + grid.filter { $0.hasSuffix(".eqnn") }.sorted().map { EquivarianceTests.examples.appendingPathComponent("grid/" + $0) }
        XCTAssertGreaterThanOrEqual(files.count, 19)
        for url in files {
            for (network, graph) in try networks(in: url) {
                var theta = Initialization.parameters(for: graph, seed: 9)
                for i in theta.indices { theta[i] += 0.05 * rng.nextNormal() }  // biases too, so no unit sits at zero
                let model = Model(graph: graph, parameters: theta)
                let pools = graph.poolSizes.reduce(1, *)
                let side = pools * max(1, 6 / pools)  // a multiple of every pool
                let extents = graph.domain.map { Array(repeating: side, count: $0.dimension) } ?? []
                let positions = extents.reduce(1, *), d = graph.input.dimension
                let x = (0..<(positions * d)).map { _ in rng.nextNormal() }
                let y = model.forward(x, batch: 1, extents: extents)
                for block in graph.input.blocks {
                    var moved = x
                    for p in 0..<positions { for c in block.offset..<(block.offset + block.length) { moved[p * d + c] += rng.nextNormal() } }
                    let change = zip(model.forward(moved, batch: 1, extents: extents), y).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
                    let scale = y.reduce(0.0) { max($0, abs($1)) }
                    XCTAssertGreaterThan(change, 1e-9 * max(scale, 1), "\(url.lastPathComponent) \(network.name): input block \(block.name) at \(block.offset) changes nothing")
                }
            }
        }
    }

    /// Every example after a short training run on random data: training moves
    /// only the coefficients, so the model stays equivariant.
    func testEveryExampleWithTrainedWeights() throws {
        var rng = SplitMix64(seed: 21)
        for url in exampleFiles() {
            for (network, graph) in try networks(in: url) where !network.group.factors.allSatisfy({ $0.dimension <= 1 }) {
                let rows = 24
                let x = (0..<(rows * graph.input.dimension)).map { _ in rng.nextNormal() }
                let y = (0..<(rows * graph.output.dimension)).map { _ in rng.nextNormal() }
                var options = TrainingOptions()
                options.epochs = 2
                options.batch = 12
                let (model, _) = Trainer(options: options).train(graph: graph, x: x, y: y, rows: rows) { _ in }
                XCTAssertNotEqual(model.parameters, Initialization.parameters(for: graph, seed: 0), "\(network.name) did not train")
                let report = EquivarianceCheck.measure(model, input: network.layers[0].rep, output: network.layers[network.layers.count - 1].rep,
                                                       samples: 3, seed: 2)
                XCTAssertTrue(report.passes, "\(url.lastPathComponent) \(network.name) trained: \(report)")
            }
        }
    }

    func testTrainedWeightsStayEquivariant() throws {
        let (network, graph) = try compile("""
        network N over O(3) {
          input  Scalar + 2*V
          layer  4*Scalar + 2*V + V^2 : gated + bilinear
          output V^2
        }
        """)
        // Fit an equivariant target: y = m x1 x2^T.
        var rng = SplitMix64(seed: 2)
        var x: [Double] = [], y: [Double] = []
        for _ in 0..<64 {
            let m = rng.nextNormal(), a = (0..<3).map { _ in rng.nextNormal() }, b = (0..<3).map { _ in rng.nextNormal() }
            x += [m] + a + b
            for i in 0..<3 { for j in 0..<3 { y.append(m * a[i] * b[j]) } }
        }
        var options = TrainingOptions()
        options.epochs = 30
        options.batch = 16
        options.validationFraction = 0.25
        var losses: [Double] = []
        let (model, _) = Trainer(options: options).train(graph: graph, x: x, y: y, rows: 64) { losses.append($0.trainLoss) }
        XCTAssertLessThan(try XCTUnwrap(losses.last), try XCTUnwrap(losses.first))
        let report = EquivarianceCheck.measure(model, input: network.layers[0].rep, output: network.layers[2].rep, samples: 8, seed: 4)
        XCTAssertTrue(report.passes, "\(report)")
    }

    func testTrainingIsDeterministicForASeed() throws {
        let (_, graph) = try compile("network N over S(4) { input V layer 4*V + Scalar : relu output Scalar }")
        var rng = SplitMix64(seed: 8)
        let x = (0..<(40 * 4)).map { _ in rng.nextNormal() }
        let y = (0..<40).map { r in (0..<4).reduce(0.0) { $0 + max(0, x[r * 4 + $1]) } }
        var options = TrainingOptions()
        options.epochs = 5
        options.batch = 8
        options.seed = 3
        let first = Trainer(options: options).train(graph: graph, x: x, y: y, rows: 40) { _ in }.model.parameters
        let second = Trainer(options: options).train(graph: graph, x: x, y: y, rows: 40) { _ in }.model.parameters
        XCTAssertEqual(first, second)
        options.seed = 4
        XCTAssertNotEqual(first, Trainer(options: options).train(graph: graph, x: x, y: y, rows: 40) { _ in }.model.parameters)
    }

    func testCrossEntropyLearnsClasses() throws {
        // Which of 4 set elements is largest is S(4)-equivariant: V -> V logits... here: is the sum positive (2 classes).
        let (_, graph) = try compile("network N over S(4) { input V layer 8*V + 4*Scalar : relu output 2*Scalar }")
        var rng = SplitMix64(seed: 1)
        let x = (0..<(200 * 4)).map { _ in rng.nextNormal() }
        let y = (0..<200).map { r in (0..<4).reduce(0.0) { $0 + x[r * 4 + $1] } > 0 ? 1.0 : 0.0 }
        var options = TrainingOptions()
        options.loss = .crossEntropy
        options.epochs = 40
        options.batch = 50
        options.learningRate = 1e-2
        let trainer = Trainer(options: options)
        let (model, _) = trainer.train(graph: graph, x: x, y: y, rows: 200) { _ in }
        XCTAssertLessThan(trainer.evaluate(model, x, y, rows: 200), 0.3)  // chance is log 2 = 0.69
    }
}
