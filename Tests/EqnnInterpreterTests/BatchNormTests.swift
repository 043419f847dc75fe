import EqnnGroups
import EqnnIR
import EqnnLinearAlgebra
@testable import EqnnVerify
import XCTest
@testable import EqnnInterpreter

/// `+ batchnorm`: its backward against finite differences (through the batch's
/// statistics), equivariance in training and in inference mode, what it does
/// to each kind of field, the running statistics, and folding it into the
/// weights (what the C runs) against the interpreter's inference.
final class BatchNormTests: XCTestCase {
    static let p4m = "group P4M = matrices(2) { discrete: [[0, -1], [1, 0]], [[1, 0], [0, -1]] }\n"
    static let grid = p4m + """
        network G over P4M on torus(2) {
          input Scalar
          layer 2*Regular : relu + batchnorm kernel 3
          layer 2*Scalar + V : gated + batchnorm kernel 3
          output Scalar + V kernel 1
        }
        """
    static let vectors = """
        network O over O(3) { input 2*Scalar + 2*V layer 4*Scalar + 3*V : gated + batchnorm + bilinear layer 3*Scalar + V^2 : norm + batchnorm output Scalar + V }
        """

    /// Theta with every coefficient moved off its initial value (running statistics positive).
    func perturbed(_ graph: Graph, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        var theta = Initialization.parameters(for: graph, seed: seed)
        for i in theta.indices { theta[i] += 0.2 * rng.nextNormal() }
        for case .batchNorm(let n) in graph.ops {
            for index in n.indices() { theta[index.variance] = 0.5 + rng.nextUniform() }
        }
        return theta
    }

    /// The training-mode loss sum(w * f(x)) by finite differences in theta, against the backward.
    func checkGradient(_ source: String, extents: [Int], batch: Int) throws {
        let (_, graph) = try compile(source)
        let theta = perturbed(graph, seed: 3)
        var rng = SplitMix64(seed: 4)
        let positions = extents.reduce(1, *)
        let x = (0..<(batch * positions * graph.input.dimension)).map { _ in rng.nextNormal() + 0.5 }
        let w = (0..<(batch * positions * graph.output.dimension)).map { _ in rng.nextNormal() }
        func loss(_ t: [Double]) -> Double {
            let y = Executable<Double>(Model(graph: graph, parameters: t)).run(x, batch: batch, extents: extents, tape: .all).output
            return zip(y, w).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let analytic = Executable<Double>(Model(graph: graph, parameters: theta)).gradient(x, batch: batch, extents: extents) { _ in w }.gradient
        var worst = 0.0, checked = 0
        for i in 0..<graph.parameterCount where i % max(1, graph.parameterCount / 120) == 0 || isBatchNorm(graph, i) {
            var plus = theta, minus = theta
            plus[i] += 1e-6
            minus[i] -= 1e-6
            let numeric = (loss(plus) - loss(minus)) / 2e-6
            worst = max(worst, abs(numeric - analytic[i]) / max(1, abs(numeric)))
            checked += 1
        }
        XCTAssertGreaterThan(checked, 20)
        XCTAssertLessThan(worst, 1e-6, source)
    }

    func isBatchNorm(_ graph: Graph, _ i: Int) -> Bool {
        graph.ops.contains { op in
            guard case .batchNorm(let n) = op else { return false }
            return (n.parameters.offset..<(n.parameters.offset + n.parameters.count)).contains(i)
        }
    }

    func testGradientsByFiniteDifferences() throws {
        try checkGradient(Self.grid, extents: [5, 5], batch: 3)
        try checkGradient(Self.vectors, extents: [], batch: 7)
    }

    /// Equivariance in both modes: inference by `Model.forward` (the running
    /// statistics), training by the tape's forward (the batch's), for the same
    /// transformation of every sample of the batch.
    func testEquivariantInBothModes() throws {
        for (source, extent) in [(Self.grid, 7), (Self.vectors, 0)] {
            let (network, graph) = try compile(source)
            let model = Model(graph: graph, parameters: perturbed(graph, seed: 1))
            let input = network.layers[0].rep, output = network.layers[network.layers.count - 1].rep
            let inference = extent > 0
                ? EquivarianceCheck.measureGrid(model, input: input, output: output, samples: 3, seed: 2, extent: extent)
                : EquivarianceCheck.measure(model, input: input, output: output, samples: 3, seed: 2)
            XCTAssertLessThan(inference.maxError64, 1e-10, "\(network.name) inference: \(inference)")

            // Training mode: a batch of 4 and the batch transformed sample by sample by one element.
            let group = network.group
            var rng = SplitMix64(seed: 6)
            let extents = extent > 0 ? [extent, extent] : []
            let positions = extents.reduce(1, *), batch = 4
            let x = (0..<(batch * positions * graph.input.dimension)).map { _ in rng.nextNormal() + 0.3 }
            let executable = Executable<Double>(model)
            let y = executable.run(x, batch: batch, extents: extents, tape: .all).output
            for _ in 0..<3 {
                let g = group.randomElement(using: &rng)
                func act(_ v: [Double], _ rep: Rep, _ d: Int) -> [Double] {
                    (0..<batch).flatMap { s in
                        EquivarianceCheck.transform(Array(v[(s * positions * d)..<((s + 1) * positions * d)]), rep: rep, element: g, plane: g[0].matrix,
                                                    extents: extents, shift: extents.map { _ in 0 })
                    }
                }
                let gy = executable.run(act(x, input, graph.input.dimension), batch: batch, extents: extents, tape: .all).output
                XCTAssertLessThan(EquivarianceCheck.relativeError(gy, act(y, output, graph.output.dimension)), 1e-10, "\(network.name) training")
            }
        }
    }

    /// In training mode a Regular field comes out with mean beta and variance
    /// gamma^2 over the batch, positions and its 8 coordinates; a V field
    /// (not centred) with mean square gamma^2 and its mean not removed.
    func testWhatEachFieldGets() throws {
        let (_, graph) = try compile(Self.grid)
        var model = Model(graph: graph, parameters: perturbed(graph, seed: 2))
        var rng = SplitMix64(seed: 3)
        let x = (0..<(5 * 36)).map { _ in 3 + 2 * rng.nextNormal() }
        let tape = Executable<Double>(model).run(x, batch: 5, extents: [6, 6], tape: .all).tape
        var checkedCentred = 0, checkedScaled = 0
        for (k, op) in graph.ops.enumerated() {
            guard case .batchNorm(let n) = op else { continue }
            let y = tape[k + 1], rows = y.count / n.dimension
            for (field, index) in zip(n.fields, n.indices()) {
                var sum = 0.0, squares = 0.0
                for r in 0..<rows { for c in field.offset..<(field.offset + field.length) { sum += y[r * n.dimension + c] } }
                let count = Double(rows * field.length), gamma = model.parameters[index.gamma]
                let mean = sum / count
                for r in 0..<rows { for c in field.offset..<(field.offset + field.length) {
                    let v = y[r * n.dimension + c] - (field.centred ? mean : 0)
                    squares += v * v
                } }
                // The small shortfall is epsilon's: sigma2 / (sigma2 + 1e-5).
                XCTAssertEqual(squares / count, gamma * gamma, accuracy: 1e-3 * gamma * gamma)
                if let beta = index.beta {
                    XCTAssertEqual(mean, model.parameters[beta], accuracy: 1e-9)
                    checkedCentred += 1
                } else {
                    checkedScaled += 1
                }
            }
        }
        XCTAssertEqual(checkedCentred, 2 + 2 + 1)  // 2 Regular, 2 Scalar, 1 gate
        XCTAssertEqual(checkedScaled, 1)           // V
        model.parameters = Initialization.parameters(for: graph, seed: 0)
        for case .batchNorm(let n) in graph.ops {
            for index in n.indices() {
                XCTAssertEqual(model.parameters[index.gamma], 1)
                XCTAssertEqual(model.parameters[index.variance], 1)
            }
        }
    }

    /// One training step moves the running statistics a tenth of the way to the batch's.
    func testRunningStatisticsFollowTheBatch() throws {
        let (_, graph) = try compile(Self.vectors)
        var rng = SplitMix64(seed: 9)
        let rows = 15  // under 32: one part, the whole batch's statistics
        let x = (0..<(rows * graph.input.dimension)).map { _ in 2 + rng.nextNormal() }
        let y = (0..<(rows * graph.output.dimension)).map { _ in rng.nextNormal() }
        var options = TrainingOptions()
        options.epochs = 1
        options.batch = rows
        options.validationFraction = 0
        options.initialization = .random
        options.precision = .f64
        let trained = Trainer(options: options).train(graph: graph, x: x, y: y, rows: rows) { _ in }.model
        let start = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 0), normalizer: trained.normalizer)
        guard let k = graph.ops.firstIndex(where: { if case .batchNorm = $0 { return true } else { return false } }),
              case .batchNorm(let n) = graph.ops[k] else {
            return XCTFail("no batchnorm op")
        }
        // The batch's statistics at the first batchnorm from the initial weights (rows in any order: the same).
        let tape = Executable<Double>(start).run(x, batch: rows, tape: .all).tape
        let (mean, variance) = BatchNormKernels.statistics(n, tape[k], rows: rows)
        let expected = mean + variance
        for (f, index) in n.indices().enumerated() {
            if let m = index.mean { XCTAssertEqual(trained.parameters[m], 0.1 * expected[f], accuracy: 1e-9) }
            XCTAssertEqual(trained.parameters[index.variance], 0.9 + 0.1 * expected[n.fields.count + f], accuracy: 1e-9)
        }
    }

    /// Folded into the weights before it, batchnorm leaves the inference function
    /// as it was, in a graph without batchnorm ops and with the shorter theta.
    func testFoldingKeepsInference() throws {
        for (source, extents) in [(Self.grid, [6, 6]), (Self.vectors, [])] {
            let (_, graph) = try compile(source)
            let model = Model(graph: graph, parameters: perturbed(graph, seed: 5))
            let folded = model.foldingBatchNorm()
            XCTAssertFalse(folded.graph.ops.contains { if case .batchNorm = $0 { return true } else { return false } })
            XCTAssertLessThan(folded.parameters.count, model.parameters.count)
            XCTAssertNotEqual(folded.graph.structureHash, graph.structureHash)
            var rng = SplitMix64(seed: 7)
            let x = (0..<(3 * extents.reduce(1, *) * graph.input.dimension)).map { _ in rng.nextNormal() }
            let expected = model.forward(x, batch: 3, extents: extents)
            XCTAssertLessThan(EquivarianceCheck.relativeError(folded.forward(x, batch: 3, extents: extents), expected), 1e-12)
        }
    }
}
