import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnLinearAlgebra
import EqnnSema
import XCTest
@testable import EqnnInterpreter

/// The training options that shape what a run learns: a separate validation
/// set, decoupled weight decay and the initial scale of each layer.
final class TrainingOptionsTests: XCTestCase {
    func graph(_ text: String) throws -> Graph {
        let solver = EquivariantSolver()
        let (program, bag) = Checker.check(SourceFile(name: "t.eqnn", text: text), solver: solver)
        XCTAssertFalse(bag.hasErrors)
        return try Lowering.lower(try XCTUnwrap(program.networks.first), solver: solver)
    }

    func data(rows: Int, seed: UInt64) -> (x: [Double], y: [Double]) {
        var rng = SplitMix64(seed: seed)
        let x = (0..<(rows * 4)).map { _ in rng.nextNormal() }
        let y = (0..<rows).map { r in (0..<4).reduce(0.0) { $0 + x[r * 4 + $1] * x[r * 4 + $1] } }
        return (x, y)
    }

    /// The best epoch's validation loss is the loss of the returned model on
    /// the validation set given, measured independently with evaluate.
    func testSeparateValidationSetChoosesTheModel() throws {
        let g = try graph("network N over S(4) { input V layer 6*V + 2*Scalar : silu output Scalar }")
        let train = data(rows: 48, seed: 1), held = data(rows: 20, seed: 2)
        var options = TrainingOptions()
        options.epochs = 12
        options.batch = 16
        let trainer = Trainer(options: options)
        var reports: [EpochReport] = []
        let (model, best) = trainer.train(graph: g, x: train.x, y: train.y, rows: 48,
                                          validation: ValidationSet(x: held.x, y: held.y, rows: 20)) { reports.append($0) }
        let chosen = try XCTUnwrap(best?.validationLoss)
        XCTAssertEqual(chosen, trainer.evaluate(model, held.x, held.y, rows: 20), accuracy: 1e-12 * max(1, chosen))
        XCTAssertEqual(chosen, reports.compactMap(\.validationLoss).min())
        XCTAssertEqual(reports.count, 12)
        // All 48 rows train: the first epoch's mean loss is over 48 rows, 3 batches of 16.
        XCTAssertTrue(reports.allSatisfy { $0.validationLoss != nil })
    }

    /// Runs of many epochs validate at most 500 times, always at the last epoch.
    func testLongRunsValidateEveryFewEpochs() throws {
        let g = try graph("network N over S(4) { input V output Scalar }")
        let train = data(rows: 8, seed: 3)
        var options = TrainingOptions()
        options.epochs = 1003
        options.batch = 8
        var validated: [Int] = []
        _ = Trainer(options: options).train(graph: g, x: train.x, y: train.y, rows: 8,
                                            validation: ValidationSet(x: train.x, y: train.y, rows: 8)) { r in
            if r.validationLoss != nil { validated.append(r.epoch) }
        }
        XCTAssertEqual(validated.first, 2)
        XCTAssertEqual(validated.last, 1003)
        XCTAssertLessThanOrEqual(validated.count, 502)
    }

    /// Adam with weight decay d: a zero gradient shrinks theta by exactly (1 - lr d).
    func testWeightDecayShrinksByTheRate() {
        var adam = Adam(count: 3)
        var theta = [1.0, -2.0, 0.5]
        adam.update(&theta, gradient: [0, 0, 0], learningRate: 0.01, weightDecay: 0.5)
        for (value, expected) in zip(theta, [0.995, -1.99, 0.4975]) { XCTAssertEqual(value, expected, accuracy: 1e-15) }
        var plain = Adam(count: 1)
        var one = [1.0]
        plain.update(&one, gradient: [0], learningRate: 0.01)
        XCTAssertEqual(one, [1.0])
    }

    /// A gated or bilinear layer that reads the input starts at 0.3 of the
    /// variance-preserving scale, the others at it: E |W|_F^2 = gain * rows, estimated over many seeds.
    func testFirstLayerStartsSmaller() throws {
        let g = try graph("""
        network N over O(3) {
          input  3*Scalar + 4*V
          layer  8*Scalar + 6*V : gated
          layer  8*Scalar + 6*V : gated
          output V
        }
        """)
        let linears = g.ops.compactMap(\.linearMap)
        XCTAssertEqual(linears.map(\.gain), [0.09, 1, 1])
        let relu = try graph("network N over S(4) { input V layer 4*V : relu layer 4*V : relu output Scalar }")
        XCTAssertEqual(relu.ops.compactMap(\.linearMap).map(\.gain), [2, 2, 1])  // pointwise layers keep the full scale
        let bilinear = try graph("network N over S(4) { input V layer 2*V + Scalar : relu + bilinear output Scalar }")
        XCTAssertEqual(bilinear.ops.compactMap(\.linearMap).map(\.gain), [0.18, 1])
        for l in linears {
            var energy = 0.0
            let seeds = 400
            for seed in 0..<seeds {
                // The dense W the layer applies, whatever its basis looks like.
                let w = l.expanded(Initialization.parameters(for: g, seed: UInt64(seed)), transposed: false)
                energy += w.reduce(0) { $0 + $1 * $1 }
            }
            // The average entry of W has variance gain / columns.
            let entryVariance = energy / Double(seeds) / Double(l.outputDimension * l.inputDimension)
            XCTAssertEqual(entryVariance * Double(l.inputDimension), l.gain, accuracy: 0.1 * l.gain, l.parameters.name)
        }
    }

    /// Adam's first step moves every coefficient by lr (times its step scale): with the
    /// step scales, the entries of a p4m convolution's dense kernel that one coefficient
    /// spans move by lr in root mean square, as a plain CNN's weights do; without them by
    /// lr / sqrt(entries) (its basis matrix has unit norm over 8 or more entries).
    func testEntryScaledStepsMoveEveryWeightByTheRate() throws {
        let g = try graph("""
            group P4M = matrices(2) { discrete: [[0, -1], [1, 0]], [[1, 0], [0, -1]] }
            network N over P4M on grid(2) { input Scalar layer 2*Regular : relu kernel 3 layer 2*Regular : relu kernel 3 output Scalar kernel 1 }
            """)
        let theta = Initialization.parameters(for: g, seed: 1)
        guard case .convolution(let c) = g.ops[3] else { return XCTFail("layer 2 is not a convolution") }
        let slice = c.linear.parameters
        for k in stride(from: slice.offset, to: slice.offset + slice.count, by: max(1, slice.count / 7)) {
            var gradient = [Double](repeating: 0, count: g.parameterCount)
            gradient[k] = 0.37
            for scaled in [true, false] {
                var adam = Adam(count: g.parameterCount)
                if scaled { adam.stepScales = g.stepScales }
                var stepped = theta
                adam.update(&stepped, gradient: gradient, learningRate: 1e-3)
                let before = c.linear.expanded(theta, transposed: false), after = c.linear.expanded(stepped, transposed: false)
                let moves = zip(before, after).map { abs($0.1 - $0.0) }.filter { $0 > 1e-15 }
                XCTAssertGreaterThanOrEqual(moves.count, 8)
                let rms = (moves.reduce(0) { $0 + $1 * $1 } / Double(moves.count)).squareRoot()
                if scaled {
                    XCTAssertEqual(rms, 1e-3, accuracy: 1e-8)  // Adam: lr |g| / (|g| + 1e-8)
                } else {
                    XCTAssertEqual(rms, 1e-3 / Double(moves.count).squareRoot(), accuracy: 1e-9)
                }
            }
        }
    }
}
