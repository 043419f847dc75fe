import EqnnData
import EqnnInterpreter
import EqnnSupport
import EqnnTestSupport
import Foundation
import XCTest
@testable import EqnnDriver

/// data -> train -> evaluate -> run -> verify from the command line, and the
/// errors a user meets on the way.
final class ModelCommandTests: ScratchDirectoryTestCase {

    /// `data clusters|tetris`: five files whose rows agree (points vs samples), and the options that do not apply refused.
    func testPointCloudDataFollowsTheLayout() throws {
        let outputs = ["--positions", path("p.npy"), "--counts", path("n.npy"), "--x", path("x.npy"), "--y", path("y.npy")]
        let clusters = Driver.run(["data", "clusters", "--samples", "12", "--forces", path("f.npy")] + outputs)
        XCTAssertEqual(clusters.status, 0, clusters.stderr)
        func table(_ name: String) throws -> Table { try Npy.read(Data(contentsOf: URL(fileURLWithPath: path(name))), name: name) }
        let points = Int(try table("n.npy").values.reduce(0, +))
        XCTAssertEqual(try table("p.npy").rows, points)
        XCTAssertEqual(try table("x.npy").rows, points)
        XCTAssertEqual(try table("f.npy").rows, points)
        XCTAssertEqual(try table("y.npy").rows, 12)
        let tetris = Driver.run(["data", "tetris", "--samples", "5", "--orientation", "upright"] + outputs)
        XCTAssertEqual(tetris.status, 0, tetris.stderr)
        XCTAssertEqual(try table("p.npy").rows, 20)
        XCTAssertEqual(Driver.run(["data", "tetris", "--forces", path("f.npy")] + outputs).status, 2)
        XCTAssertEqual(Driver.run(["data", "clusters", "--extent", "8"] + outputs).status, 2)
        XCTAssertEqual(Driver.run(["data", "clusters", "--x", path("x.npy"), "--y", path("y.npy")]).status, 2, "needs positions and counts")
        XCTAssertEqual(Driver.run(["data", "o5", "--counts", path("n.npy"), "--x", path("x.npy"), "--y", path("y.npy")]).status, 2)
        XCTAssertEqual(Driver.run(["data", "clusters", "--positions", path("p.npy"), "--counts", path("p.npy"), "--x", path("x.npy"),
                                   "--y", path("y.npy")]).status, 1, "one file for two outputs")
    }

    /// A network on point clouds end to end: an energy trained on clusters, its
    /// forces (which sum to zero in every cluster: the energy ignores
    /// translations), a per-point network trained on the forces themselves, and
    /// the back ends that refuse them.
    func testPointCloudNetworksTrainRunAndVerify() throws {
        let energy = Repository.root.appendingPathComponent("examples/points/energy.eqnn").path
        let field = try write("forces.eqnn", """
        network Forces over O(3) on points(3) {
          input  2*Scalar
          layer  8*Scalar + 4*V : gated  message 2.5 radial 8
          output V  message 2.5 degree 1
        }
        """)
        let cloud = ["--positions", path("p.npy"), "--counts", path("n.npy")]
        let data = Driver.run(["data", "clusters", "--samples", "24", "--seed", "2", "--x", path("x.npy"), "--y", path("y.npy"),
                               "--forces", path("f.npy")] + cloud)
        XCTAssertEqual(data.status, 0, data.stderr)
        let train = Driver.run(["train", energy, "--x", path("x.npy"), "--y", path("y.npy"), "--epochs", "2", "--batch", "8", "--quiet",
                                "-o", path("w.safetensors")] + cloud)
        XCTAssertEqual(train.status, 0, train.stderr)
        let run = Driver.run(["run", energy, "--weights", path("w.safetensors"), "--input", path("x.npy"), "--output", path("e.npy"),
                              "--forces", path("fp.npy")] + cloud)
        XCTAssertEqual(run.status, 0, run.stderr)
        func table(_ name: String) throws -> Table { try Npy.read(Data(contentsOf: URL(fileURLWithPath: path(name))), name: name) }
        let counts = try table("n.npy").values.map { Int($0) }, forces = try table("fp.npy")
        XCTAssertEqual(try table("e.npy").rows, 24)
        XCTAssertEqual(forces.rows, counts.reduce(0, +))
        var first = 0, largest = 0.0
        for n in counts {
            for a in 0..<3 {
                let total = (first..<(first + n)).reduce(0.0) { $0 + forces.values[$1 * 3 + a] }
                XCTAssertEqual(total, 0, accuracy: 1e-9 * max(1, forces.values.map(abs).max() ?? 0))
            }
            largest = max(largest, forces.values[(first * 3)..<((first + n) * 3)].map(abs).max() ?? 0)
            first += n
        }
        XCTAssertGreaterThan(largest, 1e-6, "the forces are not all zero")
        let evaluate = Driver.run(["evaluate", energy, "--weights", path("w.safetensors"), "--x", path("x.npy"), "--y", path("y.npy")] + cloud)
        XCTAssertTrue(evaluate.stdout.hasPrefix("mse ") && evaluate.stdout.contains("24 samples"), evaluate.stdout + evaluate.stderr)
        let verify = Driver.run(["verify", energy, "--weights", path("w.safetensors")])
        XCTAssertEqual(verify.status, 0, verify.stdout)
        let verifyC = Driver.run(["verify", energy, "--weights", path("w.safetensors"), "--backend", "c", "--samples", "4"])
        XCTAssertEqual(verifyC.status, 0, verifyC.stdout + verifyC.stderr)
        XCTAssertTrue(verifyC.stdout.contains("generated C"), verifyC.stdout)
        // Per-point outputs train on per-point targets: the forces themselves.
        let direct = Driver.run(["train", field, "--x", path("x.npy"), "--y", path("f.npy"), "--epochs", "1", "--quiet",
                                 "-o", path("wf.safetensors")] + cloud)
        XCTAssertEqual(direct.status, 0, direct.stderr)
        XCTAssertEqual(Driver.run(["verify", field, "--weights", path("wf.safetensors")]).status, 0)
        let wrongRows = Driver.run(["train", field, "--x", path("x.npy"), "--y", path("y.npy"), "--epochs", "1", "-o", path("bad.safetensors")] + cloud)
        XCTAssertEqual(wrongRows.status, 1)
        XCTAssertTrue(wrongRows.stderr.contains("y.npy"), wrongRows.stderr)
        // Missing layout, mismatched counts, options for other networks, back ends that do not take points.
        XCTAssertEqual(Driver.run(["run", energy, "--weights", path("w.safetensors"), "--input", path("x.npy"), "--output", path("e.npy")]).status, 2)
        let mismatched = Driver.run(["run", energy, "--weights", path("w.safetensors"), "--input", path("x.npy"), "--output", path("e.npy"),
                                     "--positions", path("p.npy"), "--counts", path("e.npy")])
        XCTAssertEqual(mismatched.status, 1, mismatched.stderr)
        XCTAssertEqual(Driver.run(["run", field, "--weights", path("wf.safetensors"), "--input", path("x.npy"), "--output", path("o.npy"),
                                   "--forces", path("g.npy")] + cloud).status, 1, "forces need a scalar output")
        let flat = try write("flat.eqnn", "network Flat over S(3) { input V output Scalar }")
        XCTAssertEqual(Driver.run(["run", flat, "--input", path("x.npy"), "--output", path("o.npy"), "--weights", path("w.safetensors")] + cloud).status, 2)
        XCTAssertEqual(Driver.run([energy, "--emit", "c", "-o", path("c")]).status, 0)
        XCTAssertEqual(Driver.run([energy, "--emit", "pytorch", "-o", path("py")]).status, 0)
        for emit in ["onnx"] {
            let refused = Driver.run([energy, "--emit", emit, "-o", path("out")])
            XCTAssertEqual(refused.status, 1)
            XCTAssertTrue(refused.stderr.contains("interpreter"), refused.stderr)
        }
    }

    /// A cloud whose 4,000 points sit on one spot has 16 million pairs: training, which keeps
    /// every pair of a batch for backward, is refused before it allocates them.
    func testDensePointCloudsAreRefusedBeforeTraining() throws {
        let energy = Repository.root.appendingPathComponent("examples/points/energy.eqnn").path
        let n = 4000
        try Npy.write(Table(rows: n, columns: 3, values: [Double](repeating: 0.5, count: n * 3))).write(to: URL(fileURLWithPath: path("p.npy")))
        try Npy.write(Table(rows: n, columns: 2, values: (0..<(2 * n)).map { Double($0 % 2) })).write(to: URL(fileURLWithPath: path("x.npy")))
        try Npy.write(Table(rows: 1, columns: 1, values: [Double(n)])).write(to: URL(fileURLWithPath: path("n.npy")))
        try Npy.write(Table(rows: 1, columns: 1, values: [1])).write(to: URL(fileURLWithPath: path("y.npy")))
        let train = Driver.run(["train", energy, "--x", path("x.npy"), "--y", path("y.npy"), "--positions", path("p.npy"),
                                "--counts", path("n.npy"), "--epochs", "1", "-o", path("w.safetensors")])
        XCTAssertEqual(train.status, 1, train.stderr)
        XCTAssertTrue(train.stderr.contains("pairs") && train.stderr.contains("memory"), train.stderr)
    }

    func testTrainRunEvaluateVerify() throws {
        let source = try write("o3.eqnn", """
        network Small over O(3) {
          input  5*Scalar + 5*V
          layer  4*Scalar + 2*V + V^2 : gated + bilinear
          output V^2
        }
        """)
        let data = Driver.run(["data", "inertia", "--samples", "120", "--seed", "3", "--x", path("x.npy"), "--y", path("y.npy")])
        XCTAssertEqual(data.status, 0, data.stderr)
        let train = Driver.run(["train", source, "--x", path("x.npy"), "--y", path("y.npy"), "--epochs", "3", "--batch", "32",
                                "--quiet", "-o", path("w.safetensors")])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.hasPrefix("wrote "), train.stdout)
        let evaluate = Driver.run(["evaluate", source, "--weights", path("w.safetensors"), "--x", path("x.npy"), "--y", path("y.npy")])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        XCTAssertTrue(evaluate.stdout.hasPrefix("mse "), evaluate.stdout)
        let run = Driver.run(["run", source, "--weights", path("w.safetensors"), "--input", path("x.npy"), "--output", path("out.csv")])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = try String(contentsOfFile: path("out.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 120)
        XCTAssertEqual(lines[0].split(separator: ",").count, 9)
        let verify = Driver.run(["verify", source, "--weights", path("w.safetensors"), "--samples", "6"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.hasSuffix("  equivariant\n") && !verify.stdout.contains("NOT"), verify.stdout)
    }

    /// A grid example trained on its `eqnnc data` task without flags: classify.eqnn on
    /// turned shapes (cross-entropy chosen from Y's one column of class indices, the
    /// budget and batch by default), with a schedule line saying what was chosen.
    func testGridClassificationWithoutFlags() throws {
        let source = Repository.root.appendingPathComponent("examples/grid/classify.eqnn").path
        let data = Driver.run(["data", "turned", "--samples", "24", "--extent", "8", "--x", path("x.npy"), "--y", path("y.npy")])
        XCTAssertEqual(data.status, 0, data.stderr)
        XCTAssertTrue(data.stdout.contains("(24, 8, 8, 1)") && data.stdout.contains("(24, 1)"), data.stdout)
        let train = Driver.run(["train", source, "--x", path("x.npy"), "--y", path("y.npy"), "--steps", "6", "-o", path("w.safetensors")])
        XCTAssertEqual(train.status, 0, train.stderr)
        // 22 training samples (2 held out) in one batch of at most 256 8x8 images: 6 epochs of one step.
        XCTAssertTrue(train.stdout.hasPrefix("wrote ") && train.stdout.contains("(epoch "), train.stdout)
        let best = try XCTUnwrap(Int(train.stdout.split(separator: "(epoch ").last?.prefix { $0.isNumber } ?? ""))
        XCTAssertLessThanOrEqual(best, 6)
        let evaluate = Driver.run(["evaluate", source, "--weights", path("w.safetensors"), "--x", path("x.npy"), "--y", path("y.npy")])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        XCTAssertTrue(evaluate.stdout.hasPrefix("cross-entropy ") && evaluate.stdout.contains("% on 24 samples"), evaluate.stdout)
        let orientation = Driver.run(["data", "turned", "--orientation", "any", "--x", path("x.npy"), "--y", path("y.npy")])
        XCTAssertEqual(orientation.status, 2, orientation.stderr)
        let both = Driver.run(["train", source, "--x", path("x.npy"), "--y", path("y.npy"), "--steps", "6", "--epochs", "2",
                               "-o", path("w.safetensors")])
        XCTAssertEqual(both.status, 2, both.stderr)
    }

    /// --epochs 0 writes the fitted normalizer and the initialization untrained: with
    /// --init random exactly the seeded draw, by default the calibrated one, whose
    /// output no longer carries the random draw's offset (a lower loss before any step).
    func testZeroEpochsWritesTheInitialization() throws {
        let source = Repository.root.appendingPathComponent("examples/grid/segment.eqnn").path
        let data = Driver.run(["data", "shapes", "--samples", "12", "--extent", "8", "--x", path("x.npy"), "--y", path("y.npy")])
        XCTAssertEqual(data.status, 0, data.stderr)
        var losses: [Double] = []
        for mode in ["random", "data"] {
            let train = Driver.run(["train", source, "--x", path("x.npy"), "--y", path("y.npy"), "--epochs", "0", "--init", mode, "--quiet",
                                    "-o", path("\(mode).safetensors")])
            XCTAssertEqual(train.status, 0, train.stderr)
            XCTAssertTrue(train.stdout.contains("untrained"), train.stdout)
            let compiled = try XCTUnwrap(try Compiled.loadAll(source).first)
            let model = try compiled.model(weights: path("\(mode).safetensors"), seed: 0)
            if mode == "random" { XCTAssertEqual(model.parameters, Initialization.parameters(for: compiled.graph, seed: 0)) }
            XCTAssertNotEqual(model.normalizer.inputScale, [Double](repeating: 1, count: compiled.graph.input.dimension), "the normalizer is fitted")
            let evaluate = Driver.run(["evaluate", source, "--weights", path("\(mode).safetensors"), "--x", path("x.npy"), "--y", path("y.npy")])
            XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
            // "cross-entropy 1.234e+00, accuracy ..."
            losses.append(try XCTUnwrap(Double(evaluate.stdout.split(separator: " ")[1].trimmingCharacters(in: [","])), evaluate.stdout))
        }
        XCTAssertLessThan(losses[1], losses[0], "calibration lowers the untrained loss")
    }

    /// Off the pixel lattice the calibrated start predicts the training labels'
    /// frequencies (one added to every count) for every image: its untrained loss
    /// is their cross-entropy, counted here from y.npy (every row trains).
    func testTurnedNetworkStartsAtTheClassFrequencies() throws {
        let source = Repository.root.appendingPathComponent("examples/grid/turned.eqnn").path
        let data = Driver.run(["data", "turned", "--samples", "20", "--extent", "16", "--x", path("x.npy"), "--y", path("y.npy")])
        XCTAssertEqual(data.status, 0, data.stderr)
        let train = Driver.run(["train", source, "--x", path("x.npy"), "--y", path("y.npy"), "--epochs", "0", "--quiet",
                                "--val-fraction", "0", "-o", path("w.safetensors")])
        XCTAssertEqual(train.status, 0, train.stderr)
        let evaluate = Driver.run(["evaluate", source, "--weights", path("w.safetensors"), "--x", path("x.npy"), "--y", path("y.npy")])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let loss = try XCTUnwrap(Double(evaluate.stdout.split(separator: " ")[1].trimmingCharacters(in: [","])), evaluate.stdout)
        let labels = try Npy.read(Data(contentsOf: URL(fileURLWithPath: path("y.npy"))), name: "y.npy").values
        var counts = [Double](repeating: 1, count: 7)
        for label in labels { counts[Int(label)] += 1 }
        let total = counts.reduce(0, +)
        let crossEntropy = labels.reduce(0.0) { $0 - log(counts[Int($1)] / total) } / Double(labels.count)
        XCTAssertEqual(loss, crossEntropy, accuracy: 1e-3 * crossEntropy, "evaluate prints 4 digits")
        XCTAssertLessThan(crossEntropy, log(7.0), "uneven classes: below even odds")
    }

    func testSeparateValidationFiles() throws {
        let source = try write("s4.eqnn", "network N over S(4) { input V layer 4*V + Scalar : silu output Scalar }")
        for (name, seed) in [("t", "1"), ("v", "2")] {
            let x = (0..<(30 * 4)).map { i in Double((i * 7 + Int(seed)!) % 11) / 5 - 1 }
            let y = (0..<30).map { r in (0..<4).reduce(0.0) { $0 + x[r * 4 + $1] } }
            let rows = (0..<30).map { r in (0..<4).map { "\(x[r * 4 + $0])" }.joined(separator: ",") }
            try rows.joined(separator: "\n").write(toFile: path("\(name)x.csv"), atomically: true, encoding: .utf8)
            try y.map { "\($0)" }.joined(separator: "\n").write(toFile: path("\(name)y.csv"), atomically: true, encoding: .utf8)
        }
        let common = ["train", source, "--x", path("tx.csv"), "--y", path("ty.csv"), "--epochs", "4", "--quiet", "-o", path("w.safetensors")]
        let ok = Driver.run(common + ["--val-x", path("vx.csv"), "--val-y", path("vy.csv"), "--weight-decay", "0.1"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        // The reported validation loss is the loss on the validation files.
        let evaluate = Driver.run(["evaluate", source, "--weights", path("w.safetensors"), "--x", path("vx.csv"), "--y", path("vy.csv")])
        let reported = try XCTUnwrap(ok.stdout.split(separator: " ").last.map { String($0.dropLast(2)) })
        XCTAssertEqual(evaluate.stdout, "mse \(reported) on 30 samples\n", ok.stdout)
        for (extra, message) in [(["--val-x", path("vx.csv")], "--val-x and --val-y go together"),
                                 (["--val-x", path("vx.csv"), "--val-y", path("vy.csv"), "--val-fraction", "0.2"], "cannot be used with"),
                                 (["--weight-decay", "-1"], "--weight-decay")] {
            let bad = Driver.run(common + extra)
            XCTAssertEqual(bad.status, 2, bad.stderr)  // usage errors
            XCTAssertTrue(bad.stderr.contains(message), bad.stderr)
        }
        let wrongWidth = Driver.run(common + ["--val-x", path("vy.csv"), "--val-y", path("vy.csv")])
        XCTAssertEqual(wrongWidth.status, 1)
        XCTAssertTrue(wrongWidth.stderr.contains("vy.csv"), wrongWidth.stderr)
    }

    func testWeightsForAnotherNetworkAreRefused() throws {
        let a = try write("a.eqnn", "network A over S(4) { input V layer 2*V : relu output Scalar }")
        let b = try write("b.eqnn", "network B over S(4) { input V layer 3*V : relu output Scalar }")
        try Data(repeating: 0, count: 0).write(to: URL(fileURLWithPath: path("empty")))
        let x = (0..<40).map { r in (0..<4).map { "\(sin(Double(4 * r + $0)))" }.joined(separator: ",") }
        let xs = try write("x.csv", x.joined(separator: "\n"))
        let ys = try write("y.csv", (0..<40).map { "\($0 % 3)" }.joined(separator: "\n"))
        XCTAssertEqual(Driver.run(["train", a, "--x", xs, "--y", ys, "--epochs", "1", "--quiet", "-o", path("a.safetensors")]).status, 0)
        let wrong = Driver.run(["run", b, "--weights", path("a.safetensors"), "--input", xs, "--output", path("o.npy")])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("made for network 'A'"), wrong.stderr)
        // Same name, same sizes, other bases: C(4) and the Klein four-group both give V -> V four
        // parameters, but not the same four matrices; the structure hash tells them apart.
        let c4 = try write("c4.eqnn", "network A over C(4) { input V output V }")
        let klein = try write("k4.eqnn", "network A over permutations(4) { (1 2)(3 4), (1 3)(2 4) } { input V output V }")
        let vx = try write("vx.csv", (0..<20).map { r in (0..<4).map { "\(cos(Double(3 * r + $0)))" }.joined(separator: ",") }.joined(separator: "\n"))
        XCTAssertEqual(Driver.run(["train", c4, "--x", vx, "--y", vx, "--epochs", "1", "--quiet", "-o", path("c4.safetensors")]).status, 0)
        let swapped = Driver.run(["run", klein, "--weights", path("c4.safetensors"), "--input", vx, "--output", path("o.npy")])
        XCTAssertEqual(swapped.status, 1)
        XCTAssertTrue(swapped.stderr.contains("structure"), swapped.stderr)
        // A truncated weights file.
        let full = try Data(contentsOf: URL(fileURLWithPath: path("a.safetensors")))
        try full.prefix(full.count - 16).write(to: URL(fileURLWithPath: path("cut.safetensors")))
        let cut = Driver.run(["run", a, "--weights", path("cut.safetensors"), "--input", xs, "--output", path("o.npy")])
        XCTAssertEqual(cut.status, 1)
        XCTAssertTrue(cut.stderr.contains("truncated or corrupt"), cut.stderr)
    }

    func testShapeMismatchStatesBothDimensions() throws {
        let a = try write("a.eqnn", "network A over S(4) { input V output V }")
        let xs = try write("x.csv", "1,2,3\n4,5,6\n")
        let result = Driver.run(["train", a, "--x", xs, "--y", xs, "--quiet", "-o", path("w")])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("has 3 columns per row, but the network's input has dimension 4"), result.stderr)
    }

    func testEmitGraph() throws {
        let a = try write("a.eqnn", "network A over C(6) { input V layer 2*V : tanh output V }")
        let result = Driver.run([a, "--emit", "graph", "-o", path("g.json")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("g.json")))) as? [String: Any]
        XCTAssertEqual(object?["parameter_count"] as? Int, 6 * 2 + 2 + 2 * 6 + 1)  // circulants and invariant biases
        XCTAssertEqual(Driver.run([a, "--emit", "llvm"]).status, 2)
    }

    func testVerifyEveryNetworkOfAFile() throws {
        let path = Repository.root.appendingPathComponent("examples/boost.eqnn").path
        let result = Driver.run(["verify", path, "--samples", "4"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertEqual(result.stdout.components(separatedBy: "  equivariant\n").count, 3)
    }

    /// A C(8) network: the quarter turns exact (random lattice elements and
    /// translations, and turning a smooth image), the rotations by 45 degrees
    /// within the sampling error of 5x5 kernels (about 1%; a kernel that ignored
    /// the rotation would be off by order 1), after each layer and at the output.
    func testVerifyRotationsOffTheLattice() throws {
        let path = Repository.root.appendingPathComponent("examples/grid/turned.eqnn").path
        let result = Driver.run(["verify", path, "--samples", "4"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("central disc), after each layer:\n"), result.stdout)
        var errors: [String: [Double]] = [:]
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("    rotation by ") {
            let words = line.split(separator: " ")
            errors[words.prefix(4).joined(separator: " ")] = words.dropFirst(4).compactMap { Double($0) }
        }
        XCTAssertEqual(errors.count, 8, result.stdout)
        for degrees in [0, 90, 180, 270] {
            let row = try XCTUnwrap(errors["rotation by \(degrees) degrees"])
            XCTAssertEqual(row.count, 3, result.stdout)
            for error in row { XCTAssertLessThan(error, 1e-12) }
        }
        for degrees in [45, 135, 225, 315] {
            let row = try XCTUnwrap(errors["rotation by \(degrees) degrees"])
            XCTAssertEqual(row.count, 3, result.stdout)
            for error in row {
                XCTAssertLessThan(error, 0.05)
                XCTAssertGreaterThan(error, 1e-6)  // sampled, not exact: the report must not hide it
            }
        }
    }

    /// Irreducible fields away from a grid: C(16) has no element off the lattice to
    /// sample, so the network is equivariant to rounding error for every element.
    func testVerifyIrreducibleFieldsWithoutGrid() throws {
        let source = try write("dense.eqnn", """
            network Dense over C(16) {
              input  2*Irrep(3) + 4*Scalar
              layer  4*Irrep(3) + 2*Irrep(5) + 4*Scalar : gated
              layer  4*Irrep(3) + 4*Scalar : norm
              output Irrep(3) + Irrep(6)
            }
            """)
        for backend in ["interpreter", "c"] {
            let result = Driver.run(["verify", source, "--samples", "8", "--backend", backend])
            XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
            let line = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.contains("float64") })
            let error = try XCTUnwrap(Double(line.split(separator: " ").drop { $0 != "float64" }.dropFirst().first ?? ""))
            XCTAssertLessThan(error, 1e-12, backend)
        }
    }
}
