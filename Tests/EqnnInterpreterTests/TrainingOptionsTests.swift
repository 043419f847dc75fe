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

    /// Adam's first step moves every coefficient by about lr (its gradient's sign) times its
    /// step scale: with the scales, the weights of every linear op (the dense kernels of a
    /// p4m network's convolutions, frequency-aligned matrices each over its whole block, of
    /// a C(8) steerable network's, and their disjoint output ops) move by the same amount
    /// in root mean square, weightStep lr, between lr and 3 lr; without them by less than
    /// lr, the overlapping kernels' by far less. In a network of disjoint matrices (S(4)'s
    /// orbit indicators) the step is lr, as in a plain network.
    func testEntryScaledStepsMoveEveryWeightAlike() throws {
        let p4m = try graph("""
            group P4M = matrices(2) { discrete: [[0, -1], [1, 0]], [[1, 0], [0, -1]] }
            network N over P4M on grid(2) { input Scalar layer 2*Regular : relu kernel 3 layer 2*Regular : relu kernel 3 output Scalar kernel 1 }
            """)
        let c8 = try graph("network N over C(8) on grid(2) { input Scalar layer 2*Regular : relu kernel 5 layer 2*Regular : relu kernel 3 output Scalar kernel 1 }")
        let sets = try graph("network N over S(4) { input V layer 3*V : relu output Scalar }")
        for (g, overlapping) in [(p4m, true), (c8, true), (sets, false)] {
            let theta = Initialization.parameters(for: g, seed: 1)
            var steps: [Double] = []
            for op in g.ops {
                guard let l = op.linearMap else { continue }
                let slice = l.parameters
                var rng = SplitMix64(seed: 7)
                var gradient = [Double](repeating: 0, count: g.parameterCount)
                for k in slice.offset..<(slice.offset + slice.count) { gradient[k] = rng.nextNormal() }
                var rms: [Bool: Double] = [:]
                for scaled in [true, false] {
                    var adam = Adam(count: g.parameterCount)
                    if scaled { adam.stepScales = g.stepScales }
                    var stepped = theta
                    adam.update(&stepped, gradient: gradient, learningRate: 1e-3)
                    let before = l.expanded(theta, transposed: false), after = l.expanded(stepped, transposed: false)
                    // Every weight the op's space reaches (a weight no basis matrix touches stays 0).
                    let moves = zip(before, after).map { abs($0.1 - $0.0) }.filter { $0 > 1e-15 }
                    rms[scaled] = (moves.reduce(0) { $0 + $1 * $1 } / Double(max(1, moves.count))).squareRoot()
                }
                steps.append((rms[true] ?? 0) / 1e-3)
                XCTAssertLessThan(rms[false] ?? 1, 1.01e-3, l.parameters.name)
            }
            let (low, high) = (steps.min() ?? 0, steps.max() ?? 0)
            XCTAssertGreaterThan(low, 0.7 * high, "every op's weights move alike: \(steps)")
            if overlapping {
                XCTAssertGreaterThan(low, 1.5, "\(steps)")
                XCTAssertLessThan(high, 3.6, "\(steps)")
            } else {
                for step in steps { XCTAssertEqual(step, 1, accuracy: 0.3, "\(steps)") }
            }
        }
    }

    /// The step scales' two limits: disjoint matrices (orbit indicators) sqrt(nnz) each,
    /// overlap 1; K orthonormal matrices spread evenly over the same N entries sqrt(N / K)
    /// each, overlap K; and the weight step, sqrt(overlap) from 1 to 3.
    func testStepScalesOfDisjointAndOverlappingBases() {
        // Disjoint: 1 entry, 4 entries (of 0.5), 2 entries (of 1/sqrt 2) in a 3 x 3 matrix.
        let h = 0.5.squareRoot()
        let disjoint = SparseBasis(rows: 3, columns: 3, starts: [0, 1, 5, 7], entryRows: [0, 1, 1, 1, 2, 2, 2],
                                   entryColumns: [0, 0, 1, 2, 0, 1, 2], values: [1, 0.5, 0.5, 0.5, 0.5, h, h])
        let (sd, od) = Graph.stepScales(of: disjoint)
        XCTAssertEqual(sd.count, 3)
        for (s, nnz) in zip(sd, [1.0, 4, 2]) { XCTAssertEqual(s, nnz.squareRoot(), accuracy: 1e-12) }
        XCTAssertEqual(od, 1, accuracy: 1e-12)
        // Overlapping: 3 of the 4 x 4 Walsh-Hadamard rows, scaled to unit norm, over the same 4 entries.
        let signs: [[Double]] = [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1]]
        let overlapping = SparseBasis(rows: 1, columns: 4, starts: [0, 4, 8, 12], entryRows: Array(repeating: 0, count: 12),
                                      entryColumns: signs.flatMap { _ in [0, 1, 2, 3] }, values: signs.flatMap { $0.map { $0 / 2 } })
        let (so, oo) = Graph.stepScales(of: overlapping)
        for s in so { XCTAssertEqual(s, (4.0 / 3).squareRoot(), accuracy: 1e-12) }
        XCTAssertEqual(oo, 3, accuracy: 1e-12)
        XCTAssertEqual(Graph.weightStep(overlap: 1), 1)
        XCTAssertEqual(Graph.weightStep(overlap: 1 + 4e-16), 1)  // rounding of disjoint matrices: exactly 1
        XCTAssertEqual(Graph.weightStep(overlap: 4), 2, accuracy: 1e-12)
        XCTAssertEqual(Graph.weightStep(overlap: 40), 3)
    }
}
