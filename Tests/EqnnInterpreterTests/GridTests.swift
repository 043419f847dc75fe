import EqnnData
import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnLinearAlgebra
import EqnnSema
@testable import EqnnVerify
import Foundation
import XCTest
@testable import EqnnInterpreter

/// Grid networks: exact equivariance to the point group (about the centre)
/// and, on a torus, to translations, with random and trained weights; and a
/// plain CNN as the control that the check can fail.
final class GridTests: XCTestCase {
    func gridExamples() throws -> [(CheckedNetwork, Graph)] {
        let folder = EquivarianceTests.examples.appendingPathComponent("grid")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".eqnn") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 5)
        return try files.flatMap { name -> [(CheckedNetwork, Graph)] in
            let solver = EquivariantSolver()
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            let (program, bag) = Checker.check(SourceFile(name: name, text: text), solver: solver)
            XCTAssertFalse(bag.hasErrors, name)
            return try program.networks.map { ($0, try Lowering.lower($0, solver: solver)) }
        }
    }

    func report(_ network: CheckedNetwork, _ model: Model, extent: Int, seed: UInt64 = 1) -> EquivarianceReport {
        EquivarianceCheck.measureGrid(model, input: network.layers[0].rep, output: network.layers[network.layers.count - 1].rep,
                                      samples: 3, seed: seed, extent: extent, draw: network.planar.map(EquivarianceCheck.latticeDraw))
    }

    /// A side that every pool divides.
    func extent(_ graph: Graph) -> Int {
        let product = graph.poolSizes.reduce(1, *)
        return product == 1 ? max(7, 4 * (EquivarianceCheck.receptiveRadius(graph) ?? 0) + 5) : 2 * product
    }

    func testEveryGridExampleWithRandomWeights() throws {
        for (network, graph) in try gridExamples() {
            XCTAssertNotNil(graph.domain)
            let model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 11))
            let r = report(network, model, extent: extent(graph))
            XCTAssertLessThan(r.maxError64, 1e-10, "\(network.name): \(r)")
            XCTAssertTrue(r.passes, "\(network.name): \(r)")
        }
    }

    /// `verify`'s per-layer measurements: the network through hidden layer l computes
    /// what the whole network feeds layer l + 1 (its tape), and is itself exactly
    /// equivariant to the lattice elements, with the layer's representation on its output.
    func testLayerPrefixesAreTheFeaturesBetweenLayers() throws {
        var rng = SplitMix64(seed: 5)
        for (network, graph) in try gridExamples() {
            let model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 3))
            let side = extent(graph), grid = [Int](repeating: side, count: graph.domain?.dimension ?? 0)
            let x = (0..<(grid.reduce(1, *) * graph.input.dimension)).map { _ in rng.nextNormal() }
            // The full network's features, op by op in inference mode (batchnorm by its running statistics).
            let executable = Executable<Double>(model)
            var tape = [x], extents = grid, points: PointBatch? = nil
            for (k, op) in graph.ops.enumerated() {
                var y = tape[k]
                executable.apply(op, index: k, &y, samples: 1, extents: &extents, points: &points)
                tape.append(y)
            }
            let starts = graph.ops.indices.filter { graph.ops[$0].linearMap != nil }
            XCTAssertNil(model.prefix(throughLayer: 0), network.name)
            XCTAssertNil(model.prefix(throughLayer: network.layers.count - 1), network.name)
            for layer in 1..<(network.layers.count - 1) {
                let prefix = try XCTUnwrap(model.prefix(throughLayer: layer), network.name)
                let features = Executable<Double>(prefix).forward(x, batch: 1, extents: grid)
                XCTAssertEqual(features, tape[starts[layer]], "\(network.name) layer \(layer)")
                let r = EquivarianceCheck.measureGrid(prefix, input: network.layers[0].rep, output: network.layers[layer].rep, samples: 2,
                                                      seed: 9, extent: side, draw: network.planar.map(EquivarianceCheck.latticeDraw))
                XCTAssertLessThan(r.maxError64, 1e-10, "\(network.name) layer \(layer): \(r)")
            }
        }
    }

    func testEveryGridExampleWithTrainedWeights() throws {
        var rng = SplitMix64(seed: 4)
        for (index, (network, graph)) in try gridExamples().enumerated() {
            let side = extent(graph), samples = 6
            let positions = Int(pow(Double(side), Double(graph.domain?.dimension ?? 1)))
            let outPositions = try XCTUnwrap(graph.outputExtents(Array(repeating: side, count: graph.domain?.dimension ?? 1))).reduce(1, *)
            let x = (0..<(samples * positions * graph.input.dimension)).map { _ in rng.nextNormal() }
            let y = (0..<(samples * outPositions * graph.output.dimension)).map { _ in rng.nextNormal() }
            var options = TrainingOptions()
            options.epochs = 4
            options.batch = 3
            options.validationFraction = 0
            options.precision = index % 2 == 0 ? .f32 : .f64  // both precisions train
            let extents = Array(repeating: side, count: graph.domain?.dimension ?? 1)
            var losses: [Double] = []
            let (model, _) = Trainer(options: options).train(graph: graph, x: x, y: y, rows: samples, extents: extents) { losses.append($0.trainLoss) }
            XCTAssertLessThan(losses.last ?? .infinity, losses.first ?? 0, "\(network.name) \(options.precision)")
            XCTAssertNotEqual(model.parameters, Initialization.parameters(for: graph, seed: 0), "\(network.name) did not train")
            let r = report(network, model, extent: side, seed: 2)
            XCTAssertLessThan(r.maxError64, 1e-10, "\(network.name): \(r)")
        }
    }

    /// A trained grid model survives its weights file: every parameter slice
    /// (convolutions included) and the normalizer come back, and so do the outputs.
    func testWeightsFileRoundTrip() throws {
        var rng = SplitMix64(seed: 12)
        for (_, graph) in try gridExamples() {
            var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 4))
            model.normalizer.inputShift = model.normalizer.inputShift.map { _ in rng.nextNormal() }
            model.normalizer.inputScale = model.normalizer.inputScale.map { _ in 0.5 + rng.nextUniform() }
            let decoded = try WeightsFile.decode(WeightsFile.encode(model, version: "test"), name: "w", for: graph)
            XCTAssertEqual(decoded.parameters, model.parameters, graph.network)
            XCTAssertEqual(decoded.normalizer, model.normalizer, graph.network)
        }
    }

    /// A plain CNN (trivial point group) on a torus: exactly equivariant to
    /// translations, but a quarter turn of the image is not a symmetry of it.
    func testPlainCNNIsNotRotationEquivariant() throws {
        let (network, graph) = try compile("network Plain over matrices(2) {} on torus(2) { input Scalar layer 4*Scalar : relu kernel 3 output Scalar kernel 3 }")
        let model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 3))
        XCTAssertLessThan(report(network, model, extent: 6).maxError64, 1e-12)  // translations only

        let p4 = Group(GroupFactor(kind: .matrices(dimension: 2, discrete: [RationalMatrix(integers: [[0, -1], [1, 0]])], algebra: [])))
        var rng = SplitMix64(seed: 9)
        var worst = 0.0
        let scalar = Rep.scalar(p4)
        for _ in 0..<4 {
            let g = p4.randomElement(using: &rng)
            let x = (0..<36).map { _ in rng.nextNormal() }
            let gx = EquivarianceCheck.transform(x, rep: scalar, element: g, plane: g[0].matrix, extents: [6, 6], shift: [0, 0])
            if gx == x { continue }
            let expected = EquivarianceCheck.transform(model.forward(x, batch: 1, extents: [6, 6]), rep: scalar, element: g, plane: g[0].matrix,
                                                       extents: [6, 6], shift: [0, 0])
            worst = max(worst, EquivarianceCheck.relativeError(model.forward(gx, batch: 1, extents: [6, 6]), expected))
        }
        XCTAssertGreaterThan(worst, 1e-2)
    }

    /// Regular off the grid: any finite group, products of them, tensors with V.
    func testRegularRepresentationsOffTheGrid() throws {
        for source in ["network A over D(4) { input Regular + V layer 4*Regular + 2*Sign : tanh output Scalar + Regular }",
                       "network B over S(3) x O(3) { input Regular(S(3)) * V(O(3)) + Scalar layer 4*Regular(S(3)) * V(O(3)) + 8*Scalar : gated output V(O(3)) }",
                       "network C over S(3) x C(2) { input Regular layer 2*Regular : relu output Sign(S(3)) }"] {
            let (network, graph) = try compile(source)
            let model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 5))
            let r = EquivarianceCheck.measure(model, input: network.layers[0].rep, output: network.layers[network.layers.count - 1].rep,
                                              samples: 4, seed: 3)
            XCTAssertLessThan(r.maxError64, 1e-12, source)
        }
        // Hom_D(4)(Regular, Regular) has |D(4)| = 8 dimensions (one per group element).
        let (network, _) = try compile("network D over D(4) { input Regular output Regular }")
        XCTAssertEqual(network.layers[1].weights, 8)
    }

    /// The transform itself: h = [[0, -1], [1, 0]] acting on centred (row,
    /// column) coordinates moves the pixel at (row 0, column 2) of a 3x3 image to (row 0, column 0).
    func testQuarterTurnMovesPixels() throws {
        let p4 = Group(GroupFactor(kind: .matrices(dimension: 2, discrete: [RationalMatrix(integers: [[0, -1], [1, 0]])], algebra: [])))
        var rng = SplitMix64(seed: 1)
        var g = p4.randomElement(using: &rng)
        while g[0].matrix[0, 1] != -1 { g = p4.randomElement(using: &rng) }
        var image = [Double](repeating: 0, count: 9)
        image[0 * 3 + 2] = 1  // centred (row, column) = (-1, 1); h (-1, 1) = (-1, -1) -> (row 0, column 0)
        let turned = EquivarianceCheck.transform(image, rep: .scalar(p4), element: g, plane: g[0].matrix, extents: [3, 3], shift: [0, 0])
        XCTAssertEqual(turned[0], 1)
        XCTAssertEqual(turned.reduce(0, +), 1)
    }
}
