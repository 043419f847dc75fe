import EqnnIR
import EqnnLinearAlgebra
import Foundation
@testable import EqnnVerify
import XCTest
@testable import EqnnInterpreter

/// The data-dependent initialization: what it promises, measured on the
/// network of bench/gcnn.py's regression (Regular fields of p4m on a torus)
/// and on a vector network with gates.
final class CalibrationTests: XCTestCase {
    static let p4m = "group P4M = matrices(2) { discrete: [[0, -1], [1, 0]], [[1, 0], [0, -1]] }\n"
    static let regression = p4m + """
        network R over P4M on torus(2) {
          input Scalar
          layer 6*Regular : relu kernel 3
          layer 6*Regular : relu kernel 3
          output Scalar kernel 1
        }
        """

    /// Mean and mean square of every coordinate of `values` (rows of `d`).
    func moments(_ values: [Double], _ d: Int) -> (mean: Double, meanSquare: Double) {
        let n = Double(values.count)
        return (values.reduce(0, +) / n, values.reduce(0) { $0 + $1 * $1 } / n)
    }

    /// The mean of each Regular field (8 coordinates) of rows of `dimension` over
    /// samples and positions: its invariant part, which a bias can cancel.
    func regularFieldMeans(_ z: [Double], dimension d: Int) -> [Double] {
        let rows = z.count / d
        return (0..<(d / 8)).map { field in
            var sum = 0.0
            for r in 0..<rows { for c in 0..<8 { sum += z[r * d + field * 8 + c] } }
            return sum / Double(rows * 8)
        }
    }

    func images(_ count: Int, side: Int, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<(count * side * side)).map { _ in rng.nextNormal() }
    }

    /// The random draw starts the p4m network with a constant output offset
    /// (relu's mean, summed coherently over the 8 channels of each Regular
    /// field); calibrated, the output's mean is 0 and its spread at most 1.
    func testOutputOffsetRemoved() throws {
        let (_, graph) = try compile(Self.regression)
        let x = images(8, side: 8, seed: 1)
        var offsets: [Double] = []
        for seed in 0..<4 {
            let model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: UInt64(seed)))
            let random = moments(model.forward(x, batch: 8, extents: [8, 8]), 1)
            offsets.append(abs(random.mean))
            var calibrated = model
            calibrated.parameters = Calibration.calibrated(model, x: x, rows: 8, extents: [8, 8])
            let after = moments(calibrated.forward(x, batch: 8, extents: [8, 8]), 1)
            XCTAssertLessThan(abs(after.mean), 1e-10, "seed \(seed)")
            XCTAssertLessThanOrEqual(after.meanSquare, 1 + 1e-9, "seed \(seed)")
        }
        // The problem the calibration solves is real: offsets of the order of the target's spread.
        XCTAssertGreaterThan(offsets.max() ?? 0, 0.5, "\(offsets)")
    }

    /// Off the pixel lattice (C(8): exact only for the quarter turns) the readout
    /// starts at zero: whatever the random draw gave, the calibrated network
    /// outputs 0 (the standardized target's mean) for every input, and its relu
    /// layer's biases are still centred. On p4m (exact) the readout stays drawn.
    func testReadoutStartsAtZeroOffTheLattice() throws {
        let (_, graph) = try compile("""
            network R over C(8) on grid(2) {
              input Scalar
              layer 2*Regular : relu kernel 3
              output Scalar kernel 1
            }
            """)
        XCTAssertEqual(graph.domain?.exactFor, "C(4)")
        XCTAssertNil(try compile(Self.regression).1.domain?.exactFor)
        let x = images(4, side: 7, seed: 1), other = images(2, side: 7, seed: 9)
        let output = try XCTUnwrap(graph.ops.last { $0.linearMap != nil }?.linearMap?.parameters)
        for seed in 0..<3 {
            let random = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: UInt64(seed)))
            XCTAssertGreaterThan(moments(random.forward(x, batch: 4, extents: [7, 7]), 1).meanSquare, 1e-3, "seed \(seed)")
            var model = random
            model.parameters = Calibration.calibrated(random, x: x, rows: 4, extents: [7, 7])
            XCTAssertTrue(model.parameters[output.offset..<(output.offset + output.count)].allSatisfy { $0 == 0 }, "seed \(seed)")
            XCTAssertEqual(model.forward(x, batch: 4, extents: [7, 7]), [Double](repeating: 0, count: 4 * 49), "seed \(seed)")
            XCTAssertEqual(model.forward(other, batch: 2, extents: [7, 7]), [Double](repeating: 0, count: 2 * 49), "seed \(seed)")
            // The relu layer's outputs: each Regular field's mean (its invariant part) cancelled.
            let tape = Executable<Double>(model).run(x, batch: 4, extents: [7, 7], tape: .all).tape
            for mean in regularFieldMeans(tape[2], dimension: 16) { XCTAssertLessThan(abs(mean), 1e-10, "seed \(seed)") }
        }
    }

    /// Off the pixel lattice the 3x3 kernels start without their frequency-2 harmonics.
    /// Independent of the basis: on the 8 neighbours of a 3x3 kernel (at angles
    /// k 45 degrees), ring(|x|) cos(j phi) with j <= 1 has no Fourier component at
    /// 2 (the rings' weights differ between axes and diagonals, which moves j by 4
    /// only), while frequency 2 puts its energy there.
    func testSteerableKernelsStartBandLimited() throws {
        let (_, graph) = try compile("""
            network B over C(8) on grid(2) {
              input Scalar
              layer 2*Regular : relu kernel 3
              layer 2*Regular : relu kernel 3
              output Scalar kernel 1
            }
            """)
        let offsets = Convolution.offsetVectors(kernel: 3, dimension: 2)
        /// The share of the kernels' energy on the 8 neighbours at angular frequency 2.
        func frequencyTwoShare(_ linear: Linear, _ theta: [Double]) -> Double {
            let w = linear.expanded(theta, transposed: false)
            var two = 0.0, all = 0.0
            for start in stride(from: 0, to: w.count, by: 9) {
                var (c, s) = (0.0, 0.0)
                for (o, v) in offsets.enumerated() where v != [0, 0] {
                    let phi = atan2(Double(v[1]), Double(v[0]))
                    c += w[start + o] * cos(2 * phi)
                    s += w[start + o] * sin(2 * phi)
                    all += w[start + o] * w[start + o]
                }
                two += (c * c + s * s) / 4  // the 8-point DFT's bins 2 and -2 together, by Parseval
            }
            return two / all
        }
        let x = images(3, side: 7, seed: 2)
        let kernels = graph.ops.compactMap { op -> Linear? in if case .convolution(let c) = op, c.kernel == 3 { c.linear } else { nil } }
        XCTAssertEqual(kernels.count, 2)
        for seed in 0..<3 {
            let random = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: UInt64(seed)))
            let calibrated = Calibration.calibrated(random, x: x, rows: 3, extents: [7, 7])
            for linear in kernels {
                XCTAssertGreaterThan(frequencyTwoShare(linear, random.parameters), 0.05, "seed \(seed)")
                XCTAssertLessThan(frequencyTwoShare(linear, calibrated), 1e-20, "seed \(seed)")
                XCTAssertGreaterThan(linear.expanded(calibrated, transposed: false).map { $0 * $0 }.reduce(0, +), 0.1, "seed \(seed)")
            }
        }
        // Scalar -> Irrep(2) has only frequency 2: its draw stays.
        let (_, irreps) = try compile("""
            network I over SO(2) on grid(2) {
              input Scalar
              layer 2*Scalar + Irrep(2) : gated kernel 3
              output Irrep(1) kernel 3
            }
            """)
        let model = Model(graph: irreps, parameters: Initialization.parameters(for: irreps, seed: 5))
        let calibrated = Calibration.calibrated(model, x: x, rows: 3, extents: [7, 7])
        let first = try XCTUnwrap(irreps.ops.first?.linearMap)
        let toIrrep2 = try XCTUnwrap(first.blocks.first { first.bases[$0.basis].frequencies?.min() == 2 })
        let frequencies = try XCTUnwrap(first.bases[toIrrep2.basis].frequencies)
        for j in frequencies.indices {
            let k = first.parameters.offset + first.parameter(toIrrep2, output: 0, input: 0, basis: j)
            XCTAssertEqual(calibrated[k], model.parameters[k])
            XCTAssertNotEqual(calibrated[k], 0)
        }
    }

    /// For classes the readout at zero starts at the training labels' frequencies,
    /// one added to every count: at every pixel the softmax of the outputs is
    /// (6 + 1, 2 + 1, 0 + 1) / 11 for 6, 2 and no labels of the three classes.
    func testClassesStartAtTheirFrequencies() throws {
        let (_, graph) = try compile("""
            network C over D(8) on torus(2) {
              input Scalar
              layer 2*Regular : relu kernel 3
              output 3*Scalar kernel 1
            }
            """)
        let x = images(2, side: 5, seed: 4)
        var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 1))
        model.parameters = Calibration.calibrated(model, x: x, rows: 2, extents: [5, 5], classLabels: [0, 1, 0, 0, 0, 1, 0, 0])
        let logits = model.forward(x, batch: 2, extents: [5, 5])
        XCTAssertEqual(logits.count, 2 * 25 * 3)
        for pixel in 0..<50 {
            let odds = logits[(pixel * 3)..<(pixel * 3 + 3)].map { exp($0) }
            let total = odds.reduce(0, +)
            for (c, expected) in [7.0, 3, 1].enumerated() { XCTAssertEqual(odds[c] / total, expected / 11, accuracy: 1e-12) }
        }
        // Labels outside the classes are not counted: counts 1, 1, 3.
        let odd = Calibration.logPrior(labels: [2, 2, -1, 7, .nan], classes: 3)
        XCTAssertEqual(exp(odd[1] - odd[0]), 1, accuracy: 1e-12)
        XCTAssertEqual(exp(odd[2] - odd[0]), 3, accuracy: 1e-12)
    }

    /// Every hidden convolution's outputs (after its bias), centred where a bias
    /// can centre them (invariant parts of mean 0), at the scale of the random draw.
    func testHiddenLayersCentred() throws {
        let (_, graph) = try compile(Self.regression)
        let x = images(6, side: 8, seed: 2)
        let random = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 3))
        var model = random
        model.parameters = Calibration.calibrated(model, x: x, rows: 6, extents: [8, 8])
        let tape = Executable<Double>(model).run(x, batch: 6, extents: [8, 8], tape: .all).tape
        var checked = 0
        for (k, op) in graph.ops.enumerated() {
            guard case .bias = op, k + 1 < graph.ops.count, case .pointwise = graph.ops[k + 1] else { continue }
            let z = tape[k + 1], d = op.outputDimension
            for mean in regularFieldMeans(z, dimension: d) { XCTAssertLessThan(abs(mean), 1e-10) }
            checked += 1
        }
        XCTAssertEqual(checked, 2)
        // Only biases changed, and only the output op's weights (scaled down).
        let changed = (0..<graph.parameterCount).filter { model.parameters[$0] != random.parameters[$0] }
        let movable = graph.ops.enumerated().flatMap { k, op -> [Int] in
            if case .bias(let b) = op { return Array(b.parameters.offset..<(b.parameters.offset + b.parameters.count)) }
            if let l = op.linearMap, k == graph.ops.lastIndex(where: { $0.linearMap != nil }) {
                return Array(l.parameters.offset..<(l.parameters.offset + l.parameters.count))
            }
            return []
        }
        XCTAssertTrue(Set(changed).isSubset(of: Set(movable)))
    }

    /// Calibrated weights stay in the equivariant space: the network is still
    /// exactly equivariant to p4m and to translations of the torus.
    func testCalibrationKeepsEquivariance() throws {
        let (network, graph) = try compile(Self.regression)
        let x = images(4, side: 9, seed: 5)
        var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 1))
        model.parameters = Calibration.calibrated(model, x: x, rows: 4, extents: [9, 9])
        let r = EquivarianceCheck.measureGrid(model, input: network.layers[0].rep, output: network.layers[network.layers.count - 1].rep,
                                              samples: 3, seed: 4, extent: 9)
        XCTAssertLessThan(r.maxError64, 1e-10, "\(r)")
    }

    /// Off the grid, with gates and vectors: scalar outputs centred, V outputs
    /// untouched by the bias (none is invariant), equivariance kept.
    func testVectorNetwork() throws {
        let (network, graph) = try compile("""
            network G over O(3) { input 2*Scalar + 2*V layer 8*Scalar + 4*V : gated output Scalar + V }
            """)
        var rng = SplitMix64(seed: 8)
        let x = (0..<(64 * 8)).map { _ in rng.nextNormal() + 1 }
        var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 2))
        model.parameters = Calibration.calibrated(model, x: x, rows: 64)
        let y = model.forward(x, batch: 64)
        let scalarMean = stride(from: 0, to: y.count, by: 4).reduce(0.0) { $0 + y[$1] } / 64
        XCTAssertLessThan(abs(scalarMean), 1e-10)
        let r = EquivarianceCheck.measure(model, input: network.layers[0].rep, output: network.layers[network.layers.count - 1].rep,
                                          samples: 4, seed: 3)
        XCTAssertLessThan(r.maxError64, 1e-12, "\(r)")
    }

    /// The least-squares bias solve on dependent and overlapping vectors.
    func testLeastSquares() {
        // b0 = e0 + e1, b1 = e1, b2 = e0 + 2 e1 (dependent): target (1, 3) = 1 b0 + 2 b1.
        let basis = SparseBasis(rows: 2, columns: 1, starts: [0, 2, 3, 5], entryRows: [0, 1, 1, 0, 1], entryColumns: [0, 0, 0, 0, 0],
                                values: [1, 1, 1, 1, 2])
        let c = basis.coefficients(nearest: [1, 3])
        let fitted = [c[0] + c[2], c[0] + c[1] + 2 * c[2]]
        XCTAssertEqual(fitted[0], 1, accuracy: 1e-12)
        XCTAssertEqual(fitted[1], 3, accuracy: 1e-12)
    }
}
