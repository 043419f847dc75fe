import EqnnGroups
import EqnnIR
import EqnnLinearAlgebra
import XCTest
@testable import EqnnInterpreter

/// Networks on point clouds: the message op's gradients against finite
/// differences (the radial network's parameters and the positions), and the
/// whole network's equivariance under rotations and reflections, translations
/// and permutations of the points at rounding error.
final class MessageTests: XCTestCase {
    static let energy = """
        network Energy over O(3) on points(3) {
          input  2*Scalar + V
          layer  4*Scalar + 2*V + V^2 : gated  message 1.6
          layer  3*Scalar + 2*V : gated  message 1.6 degree 3 radial 5
          output Scalar + V  pool sum
        }
        """
    static let perPoint = """
        network Field over SO(3) on points(3) {
          input  Scalar
          layer  3*Scalar + 2*V : gated  message 1.4 degree 1
          output V + Scalar  message 1.4
        }
        """

    /// `samples` clouds of 2 to 9 points in a box of side 2 (some beyond each other's radius).
    func clouds(_ samples: Int, inputs: Int, _ rng: inout SplitMix64) -> (x: [Double], points: PointBatch) {
        let counts = (0..<samples).map { _ in 2 + Int(rng.next() % 8) }
        let total = counts.reduce(0, +)
        let positions = (0..<(total * 3)).map { _ in 2 * rng.nextUniform() }
        let x = (0..<(total * inputs)).map { _ in rng.nextNormal() }
        return (x, PointBatch(counts: counts, positions: positions, dimension: 3))
    }

    func model(_ source: String, seed: UInt64) throws -> Model {
        let (_, graph) = try compile(source)
        var rng = SplitMix64(seed: seed)
        var theta = Initialization.parameters(for: graph, seed: seed)
        for i in theta.indices { theta[i] += 0.1 * rng.nextNormal() }
        var normalizer = Normalizer.identity(input: graph.input.dimension, output: graph.output.dimension)
        normalizer.outputScale = normalizer.outputScale.map { _ in 0.5 + rng.nextUniform() }
        return Model(graph: graph, parameters: theta, normalizer: normalizer)
    }

    func testParameterGradientsMatchFiniteDifferences() throws {
        for source in [MessageTests.energy, MessageTests.perPoint] {
            let model = try model(source, seed: 4)
            let graph = model.graph
            var rng = SplitMix64(seed: 9)
            let (x, points) = clouds(3, inputs: graph.input.dimension, &rng)
            let rows = graph.ops.contains { if case .pool = $0 { return true } else { return false } } ? points.samples : points.total
            let w = (0..<(rows * graph.output.dimension)).map { _ in rng.nextNormal() }
            func loss(_ t: [Double]) -> Double {
                let y = Model(graph: graph, parameters: t, normalizer: model.normalizer).forward(x, batch: points.samples, points: points)
                XCTAssertEqual(y.count, w.count)
                return zip(y, w).reduce(0) { $0 + $1.0 * $1.1 }
            }
            let (_, analytic) = Executable<Double>(model).gradient(x, batch: points.samples, points: points) { _ in w }
            let message = graph.parameterSlices.filter { $0.name.hasSuffix(".message") }
            XCTAssertFalse(message.isEmpty)
            // Every radial parameter of the first message layer, and others at random.
            var indices = Array(message[0].offset..<(message[0].offset + min(message[0].count, 120)))
            indices += Array(Array(0..<graph.parameterCount).shuffled(using: &rng).prefix(60))
            var worst = 0.0
            for i in indices {
                let h = 1e-6
                var plus = model.parameters, minus = model.parameters
                plus[i] += h
                minus[i] -= h
                let numeric = (loss(plus) - loss(minus)) / (2 * h)
                worst = max(worst, abs(numeric - analytic[i]) / max(1, abs(numeric)))
            }
            XCTAssertLessThan(worst, 1e-6, "worst relative gradient error \(worst)")
        }
    }

    func testPositionGradientMatchesFiniteDifferences() throws {
        let model = try model(MessageTests.energy, seed: 6)
        var rng = SplitMix64(seed: 10)
        let (x, points) = clouds(2, inputs: model.graph.input.dimension, &rng)
        let w = (0..<(points.samples * model.graph.output.dimension)).map { _ in rng.nextNormal() }
        let (_, analytic) = model.positionGradient(x, batch: points.samples, points: points, outputWeights: w)
        XCTAssertEqual(analytic.count, points.positions.count)
        var worst = 0.0
        for i in points.positions.indices {
            let h = 1e-6
            var plus = points, minus = points
            plus.positions[i] += h
            minus.positions[i] -= h
            let f = { (p: PointBatch) in zip(model.forward(x, batch: p.samples, points: p), w).reduce(0) { $0 + $1.0 * $1.1 } }
            let numeric = (f(plus) - f(minus)) / (2 * h)
            worst = max(worst, abs(numeric - analytic[i]) / max(1, abs(numeric)))
        }
        XCTAssertLessThan(worst, 1e-6, "worst relative error of d/d(positions) \(worst)")
    }

    /// f(g p + t, rho_in(g) x) permuted = rho_out(g) f(p, x) (permuted alike for per-point outputs).
    func testEquivariantToRotationsTranslationsAndPermutations() throws {
        for source in [MessageTests.energy, MessageTests.perPoint] {
            let (network, graph) = try compile(source)
            let group = network.group
            let model = Model(graph: graph, parameters: try self.model(source, seed: 2).parameters)
            var rng = SplitMix64(seed: 12)
            let (x, points) = clouds(4, inputs: graph.input.dimension, &rng)
            let pooled = graph.ops.contains { if case .pool = $0 { return true } else { return false } }
            let y = model.forward(x, batch: points.samples, points: points)
            for _ in 0..<3 {
                let g = group.randomElement(using: &rng)
                let rin = network.layers[0].rep.matrix(at: g), rout = try XCTUnwrap(network.layers.last).rep.matrix(at: g)
                let t = (0..<3).map { _ in 3 * rng.nextNormal() }
                // A permutation of each sample's points.
                var order: [Int] = []
                for s in 0..<points.samples {
                    var local = Array(points.starts[s]..<points.starts[s + 1])
                    local.shuffle(using: &rng)
                    order += local
                }
                let (din, dout) = (graph.input.dimension, graph.output.dimension)
                var moved = points, turnedX = [Double](repeating: 0, count: x.count)
                for (k, i) in order.enumerated() {
                    for a in 0..<3 {
                        moved.positions[k * 3 + a] = t[a] + (0..<3).reduce(0.0) { $0 + g[0].matrix[a, $1] * points.positions[i * 3 + $1] }
                    }
                    for r in 0..<din { turnedX[k * din + r] = (0..<din).reduce(0.0) { $0 + rin[r, $1] * x[i * din + $1] } }
                }
                let z = model.forward(turnedX, batch: points.samples, points: moved)
                var worst = 0.0, scale = 0.0
                let rows = pooled ? points.samples : points.total
                for k in 0..<rows {
                    let i = pooled ? k : order[k]
                    for r in 0..<dout {
                        let expected = (0..<dout).reduce(0.0) { $0 + rout[r, $1] * y[i * dout + $1] }
                        worst = max(worst, abs(z[k * dout + r] - expected))
                        scale = max(scale, abs(expected))
                    }
                }
                XCTAssertGreaterThan(scale, 1e-3)
                XCTAssertLessThan(worst / scale, 1e-12, "\(graph.network): relative error \(worst / scale)")
            }
        }
    }

    /// A network that sums its points shifts each sample by its number of points
    /// times the shift (an energy per atom), and the trainer fits that shift as
    /// the targets' total over the points' total.
    func testSummedOutputsShiftPerPoint() throws {
        let (_, graph) = try compile(MessageTests.energy)
        XCTAssertTrue(graph.sumsPoints)
        var rng = SplitMix64(seed: 5)
        let (x, points) = clouds(3, inputs: graph.input.dimension, &rng)
        var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 1))
        let plain = model.forward(x, batch: 3, points: points)
        model.normalizer.outputShift = [0.5, 0, 0, 0]
        let shifted = model.forward(x, batch: 3, points: points)
        for s in 0..<3 {
            XCTAssertEqual(shifted[s * 4], plain[s * 4] + 0.5 * Double(points.counts[s]), accuracy: 1e-12)
            for c in 1..<4 { XCTAssertEqual(shifted[s * 4 + c], plain[s * 4 + c]) }
        }
        // Targets exactly 2 per point plus noise free: the shift is 2 and nothing remains to scale.
        let y: [Double] = points.counts.flatMap { n -> [Double] in [2 * Double(n), 0, 0, 0] }
        let (shift, scale) = Trainer.outputStatistics(graph, PointSamples(points: points, x: x, y: y))
        XCTAssertEqual(shift[0], 2, accuracy: 1e-12)
        XCTAssertEqual(scale[0], 1)
    }

    /// Inference finds the pairs piece by piece (its memory bounded whatever the cloud's
    /// size): the same messages as all pairs at once, on a cloud of several pieces.
    func testPiecewiseMessagesEqualAllPairs() throws {
        let (_, graph) = try compile(MessageTests.energy)
        guard case .message(let m)? = graph.ops.first else { return XCTFail("the first op is the message") }
        var rng = SplitMix64(seed: 8)
        let total = 2 * MessageKernels.receiversPerPiece + 100
        let side = pow(Double(total) / 0.4, 1.0 / 3)  // about 26 neighbours a point
        let points = PointBatch(counts: [7, total], positions: (0..<((total + 7) * 3)).map { _ in side * rng.nextUniform() }, dimension: 3)
        let x = (0..<((total + 7) * m.channels)).map { _ in rng.nextNormal() }
        let theta = Initialization.parameters(for: graph, seed: 2)
        let pieces = MessageKernels.forward(m, x, points, theta: theta)
        let whole = MessageKernels.forward(m, x, MessageKernels.pairs(m, points, theta: theta), total: points.total)
        XCTAssertEqual(pieces.count, whole.count)
        XCTAssertLessThan(zip(pieces, whole).map { abs($0 - $1) }.max() ?? 1, 1e-12)
        XCTAssertGreaterThan(whole.map(abs).max() ?? 0, 0.1)
    }

    /// A constant input channel on points (the 1 of points without species) stays at its
    /// value scaled to 1 (shifted to 0 it would give the first messages nothing to carry);
    /// a varying one is standardized as anywhere.
    func testConstantInputsOnPointsStayOne() throws {
        let (_, graph) = try compile("network N over O(3) on points(3) { input 2*Scalar layer 2*Scalar : silu message 1.0 output Scalar pool sum }")
        let points = PointBatch(counts: [3], positions: [0, 0, 0, 1, 0, 0, 0, 1, 0], dimension: 3)
        let samples = PointSamples(points: points, x: [2, 1, 2, 3, 2, 5], y: [1])
        let (shift, scale) = Trainer.inputStatistics(graph, samples)
        XCTAssertEqual(shift[0], 0)
        XCTAssertEqual(scale[0], 2)
        XCTAssertEqual(shift[1], 3, accuracy: 1e-12)
        XCTAssertEqual(scale[1], (8.0 / 3).squareRoot(), accuracy: 1e-12)
    }

    /// The cells find exactly the pairs that all pairs find, on a cloud large enough to use them.
    func testNeighbourCellsFindEveryPair() {
        var rng = SplitMix64(seed: 1)
        let positions = (0..<(300 * 3)).map { _ in 6 * rng.nextUniform() - 3 }
        let batch = PointBatch(counts: [300], positions: positions, dimension: 3)
        let found = Neighbours(batch, radius: 0.9)
        var expected: [(Int, Int)] = []
        for i in 0..<300 {
            for j in 0..<300 where j != i {
                let r = (0..<3).reduce(0.0) { $0 + pow(positions[j * 3 + $1] - positions[i * 3 + $1], 2) }.squareRoot()
                if r < 0.9 { expected.append((i, j)) }
            }
        }
        XCTAssertGreaterThan(expected.count, 300)
        XCTAssertEqual(found.receivers, expected.map(\.0))
        XCTAssertEqual(found.senders, expected.map(\.1))
    }
}
