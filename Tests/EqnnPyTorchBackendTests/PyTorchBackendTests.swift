import EqnnData
import EqnnIR
import EqnnLinearAlgebra
import EqnnPyTorchBackend
import EqnnTestSupport
import Foundation
import XCTest
@testable import EqnnDriver
@testable import EqnnInterpreter

/// The emitted PyTorch modules of every example and bench model against the
/// interpreter (the two largest bench models: equivariance only): outputs within 1e-10
/// (float64) and 1e-5 (float32) relative, torch.autograd's gradients against
/// the hand-written backward within 1e-8, equivariance under random group
/// elements, the weights files both ways, and a two-process DDP run of
/// examples/pytorch/train_ddp.py whose weights eqnnc and its C take back.
/// Needs torch for Python (Debian's python3-torch; `.ci/run` installs it and
/// sets EQNNC_REQUIRE_TORCH=1, so that a missing torch fails instead of skipping).
final class PyTorchBackendTests: ScratchDirectoryTestCase {
    func runner() throws -> PyTorchRunner {
        do {
            return try PyTorchRunner()
        } catch {
            if ProcessInfo.processInfo.environment["EQNNC_REQUIRE_TORCH"] == "1" { throw error }
            throw XCTSkip("no PyTorch for \(PyTorchRunner.python): \(error)")
        }
    }

    /// Every example and bench model.
    func sources() -> [String] {
        let folders = ["examples", "examples/fww21", "examples/grid", "bench"]
        let paths = folders.flatMap { Repository.inputs(in: $0).map(\.path) }
        XCTAssertGreaterThanOrEqual(paths.count, 25)
        return paths
    }

    func relativeError(_ a: [Double], _ b: [Double]) -> Double { TestModels.relativeError(a, b) }
    func model(_ graph: Graph, seed: UInt64) -> Model { TestModels.model(graph, seed: seed) }

    func testEveryNetworkMatchesTheInterpreter() throws {
        let torch = try runner()
        defer { torch.cleanUp() }
        var rng = SplitMix64(seed: 5)
        var checked = 0
        for path in sources() {
            for compiled in try Compiled.loadAll(path) {
                let graph = compiled.graph
                // The two bench networks of over 8,192 coordinates a layer (Image32, DeepSets1000) take the
                // debug-build interpreter minutes: testModulesAreEquivariant measures their modules instead.
                guard graph.ops.allSatisfy({ $0.outputDimension <= 8192 }) else { continue }
                let model = model(graph, seed: UInt64(checked))
                checked += 1
                try torch.load(PyTorchBackend.generate(graph, origin: .init(sourceFile: path, version: "test")), model)
                let extents = graph.domain.map { [[12], [8, 12], [4, 8, 4]][$0.dimension - 1] } ?? []
                let batch = graph.domain == nil ? 7 : 2
                let positions = extents.reduce(1, *)
                let x = (0..<(batch * positions * graph.input.dimension)).map { c in
                    model.normalizer.inputShift[c % graph.input.dimension] + rng.nextNormal()
                }
                let name = "\(path) \(graph.network)"
                let f64 = try torch.forward(x, graph: graph, batch: batch, extents: extents, single: false)
                XCTAssertLessThan(relativeError(f64, model.forward(x, batch: batch, extents: extents)), 1e-10, name)
                let f32 = try torch.forward(x, graph: graph, batch: batch, extents: extents, single: true)
                let reference32 = model.forwardSingle(x.map(Float.init), batch: batch, extents: extents).map(Double.init)
                XCTAssertLessThan(relativeError(f32, reference32), 1e-5, name)
                // d/dtheta of sum(f(x) * w) for a random w, both ways.
                let outputs = batch * graph.outputPositions(extents) * graph.output.dimension
                let w = (0..<outputs).map { _ in rng.nextNormal() }
                let expected = Executable<Double>(model).gradient(x, batch: batch, extents: extents) { _ in w }.gradient
                let autograd = try torch.gradient(x, cotangent: w, graph: graph, batch: batch, extents: extents)
                XCTAssertLessThan(relativeError(autograd, expected), 1e-8, name)
                XCTAssertGreaterThan(expected.reduce(0.0) { max($0, abs($1)) }, 0, name)
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 23)
    }

    /// Networks on point clouds: the module's outputs, and torch.autograd's gradients with respect
    /// to theta and to the positions (minus the forces), against the interpreter's, on samples of 0 to 40 points.
    func testPointNetworksMatchTheInterpreter() throws {
        let torch = try runner()
        defer { torch.cleanUp() }
        var rng = SplitMix64(seed: 17)
        let extra = try write("fields.eqnn", """
            # Per-point outputs and SO(3)'s cross products.
            network Fields over SO(3) on points(3) {
              input  Scalar + V
              layer  4*Scalar + 2*V + V^2 : gated  message 1.3 degree 3 radial 6
              output V + Scalar  message 1.1
            }
            """)
        for path in Repository.inputs(in: "examples/points").map(\.path) + [extra] {
            for compiled in try Compiled.loadAll(path) {
                let graph = compiled.graph
                let model = model(graph, seed: 4)
                try torch.load(PyTorchBackend.generate(graph, origin: .init(sourceFile: path, version: "test")), model)
                let counts = [6, 0, 1, 40, 13], total = counts.reduce(0, +), d = try XCTUnwrap(graph.points).dimension
                let positions = (0..<(total * d)).map { _ in 2.5 * rng.nextUniform() }
                let x = (0..<(total * graph.input.dimension)).map { c in model.normalizer.inputShift[c % graph.input.dimension] + rng.nextNormal() }
                let points = PointBatch(counts: counts, positions: positions, dimension: d)
                let w = (0..<(graph.outputRows(points) * graph.output.dimension)).map { _ in rng.nextNormal() }
                let name = "\(path) \(graph.network)"
                let f64 = try torch.cloud(x, positions: positions, counts: counts, graph: graph, cotangent: w, single: false)
                XCTAssertLessThan(relativeError(f64.output, model.forward(x, batch: counts.count, points: points)), 1e-10, name)
                let f32 = try torch.cloud(x, positions: positions, counts: counts, graph: graph, cotangent: w, single: true)
                let reference32 = model.forwardSingle(x.map(Float.init), batch: counts.count, points: points).map(Double.init)
                XCTAssertLessThan(relativeError(f32.output, reference32), 1e-5, name)
                let theta = Executable<Double>(model).gradient(x, batch: counts.count, points: points) { _ in w }.gradient
                XCTAssertLessThan(relativeError(f64.theta, theta), 1e-8, name)
                let forces = model.positionGradient(x, batch: counts.count, points: points, outputWeights: w).positions
                XCTAssertLessThan(relativeError(f64.positions, forces), 1e-8, name)
                XCTAssertGreaterThan(forces.map(abs).max() ?? 0, 0, name)
            }
        }
    }

    /// Training an energy on forces runs through the module: torch's double backward gives
    /// d/dtheta of sum(c * dE/dpositions), checked against central differences of the
    /// interpreter's position gradient.
    func testForceTrainingGradientsThroughTheModule() throws {
        let torch = try runner()
        defer { torch.cleanUp() }
        let path = Repository.root.appendingPathComponent("examples/points/energy.eqnn").path
        let graph = try XCTUnwrap(try Compiled.loadAll(path).first).graph
        let model = model(graph, seed: 9)
        try torch.load(PyTorchBackend.generate(graph, origin: .init(sourceFile: path, version: "test")), model)
        var rng = SplitMix64(seed: 3)
        let counts = [5, 9], total = 14
        let positions = (0..<(total * 3)).map { _ in 2 * rng.nextUniform() }
        let x = (0..<(total * 2)).map { _ in rng.nextNormal() }
        let c = (0..<(total * 3)).map { _ in rng.nextNormal() }
        let points = PointBatch(counts: counts, positions: positions, dimension: 3)
        let autograd = try torch.forceGradient(x, positions: positions, counts: counts, graph: graph, cotangent: c)
        XCTAssertEqual(autograd.count, graph.parameterCount)
        func forces(_ theta: [Double]) -> Double {
            var m = model
            m.parameters = theta
            let g = m.positionGradient(x, batch: 2, points: points, outputWeights: [1, 1]).positions
            return zip(g, c).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var worst = 0.0
        for i in Array(0..<graph.parameterCount).shuffled(using: &rng).prefix(40) {
            var plus = model.parameters, minus = model.parameters
            plus[i] += 1e-6
            minus[i] -= 1e-6
            let numeric = (forces(plus) - forces(minus)) / 2e-6
            worst = max(worst, abs(numeric - autograd[i]) / max(1, abs(numeric)))
        }
        XCTAssertLessThan(worst, 1e-5, "worst relative error of the force loss's gradient \(worst)")
    }

    /// A torus smaller than the kernel wraps more than once: the module agrees with
    /// the interpreter (torch's circular padding refuses such grids).
    func testTinyTorusMatchesTheInterpreter() throws {
        let torch = try runner()
        defer { torch.cleanUp() }
        var rng = SplitMix64(seed: 8)
        let path = Repository.root.appendingPathComponent("examples/grid/smooth.eqnn").path
        let graph = try XCTUnwrap(Compiled.loadAll(path).first).graph
        let model = model(graph, seed: 3)
        try torch.load(PyTorchBackend.generate(graph, origin: .init(sourceFile: path, version: "test")), model)
        for extents in [[1, 1], [1, 3], [2, 5]] {
            let x = (0..<(2 * extents.reduce(1, *) * graph.input.dimension)).map { _ in rng.nextNormal() }
            let f64 = try torch.forward(x, graph: graph, batch: 2, extents: extents, single: false)
            XCTAssertLessThan(relativeError(f64, model.forward(x, batch: 2, extents: extents)), 1e-10, "\(extents)")
        }
    }

    /// verify --backend pytorch measures the module under random group
    /// elements (and translations on a torus), on and off the grid.
    func testModulesAreEquivariant() throws {
        _ = try runner()
        for example in ["examples/fww21/lorentz.eqnn", "examples/cube.eqnn", "examples/grid/smooth.eqnn",
                        "examples/grid/segment.eqnn", "examples/grid/vectors.eqnn", "examples/antisymmetric.eqnn", "bench/image32.eqnn",
                        "bench/deepsets1000.eqnn"] {
            let result = Driver.run(["verify", Repository.root.appendingPathComponent(example).path,
                                     "--backend", "pytorch", "--samples", "3"])
            XCTAssertEqual(result.status, 0, example + result.stdout + result.stderr)
            XCTAssertTrue(result.stdout.contains("the PyTorch module") && result.stdout.hasSuffix("  equivariant\n"), result.stdout)
        }
    }

    /// save_safetensors writes what WeightsFile reads, value for value; a file
    /// made for another structure is refused with the reason.
    func testWeightsFilesBothWays() throws {
        let torch = try runner()
        defer { torch.cleanUp() }
        let lorentz = try XCTUnwrap(try Compiled.loadAll(Repository.root.appendingPathComponent("examples/fww21/lorentz.eqnn").path).first)
        let model = model(lorentz.graph, seed: 9)
        let source = PyTorchBackend.generate(lorentz.graph, origin: .init(sourceFile: "lorentz.eqnn", version: "test"))
        try torch.load(source, model)
        let saved = URL(fileURLWithPath: path("saved.safetensors"))
        try torch.save(to: saved)
        let back = try WeightsFile.decode(Data(contentsOf: saved), name: "saved", for: lorentz.graph)
        XCTAssertEqual(back.parameters, model.parameters)
        XCTAssertEqual(back.normalizer, model.normalizer)
        let other = try XCTUnwrap(try Compiled.loadAll(Repository.root.appendingPathComponent("examples/fww21/o5.eqnn").path).first)
        let foreign = URL(fileURLWithPath: path("o5.safetensors"))
        try WeightsFile.encode(self.model(other.graph, seed: 1), version: "test").write(to: foreign)
        XCTAssertThrowsError(try torch.load(weights: foreign, source)) { error in
            XCTAssertTrue("\(error)".contains("made for network 'O5Invariant'"), "\(error)")
        }
    }

    /// Two processes (gloo, localhost) train FWW21 O(5) for 300 steps with
    /// examples/pytorch/train_ddp.py: the loss falls, eqnnc evaluate reads the
    /// test MSE torch reported, and the C built from the weights gives torch's outputs.
    func testDistributedTrainingComesBack() throws {
        _ = try runner()
        let source = Repository.root.appendingPathComponent("examples/fww21/o5.eqnn").path
        let emitted = Driver.run([source, "--emit", "pytorch", "-o", path("module")])
        XCTAssertEqual(emitted.status, 0, emitted.stderr)
        for (name, samples, seed) in [("train", "600", "1"), ("test", "100", "2")] {
            let data = Driver.run(["data", "o5", "--samples", samples, "--seed", seed, "--x", path("\(name)x.npy"), "--y", path("\(name)y.npy")])
            XCTAssertEqual(data.status, 0, data.stderr)
        }
        let script = Repository.root.appendingPathComponent("examples/pytorch/train_ddp.py").path
        let log = try CCompiler.execute([PyTorchRunner.python, script, "--local-processes", "2", "--module", path("module/o5_invariant.py"),
                                         "--x", path("trainx.npy"), "--y", path("trainy.npy"), "--test-x", path("testx.npy"),
                                         "--test-y", path("testy.npy"), "--epochs", "30", "--batch", "60", "--predict", path("predicted.npy"),
                                         "-o", path("trained.safetensors")])
        let losses = log.split(separator: "\n").filter { $0.hasPrefix("epoch") }.compactMap { line in
            line.split(separator: " ").firstIndex(of: "train").flatMap { Double(line.split(separator: " ")[$0 + 1]) }
        }
        XCTAssertEqual(losses.count, 30, log)
        XCTAssertLessThan(try XCTUnwrap(losses.last), 0.5 * (try XCTUnwrap(losses.first)), log)
        let reported = try XCTUnwrap(log.split(separator: "\n").first { $0.hasPrefix("test mse") }.flatMap { Double($0.split(separator: " ")[2]) })
        let evaluated = Driver.run(["evaluate", source, "--weights", path("trained.safetensors"), "--x", path("testx.npy"), "--y", path("testy.npy")])
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        let mse = try XCTUnwrap(Double(evaluated.stdout.split(separator: " ")[1]))
        XCTAssertEqual(mse, reported, accuracy: 1e-3 * reported)  // eqnnc prints 4 significant digits
        // The C from the weights torch wrote, on the test inputs, against torch's predictions.
        let compiled = try XCTUnwrap(try Compiled.loadAll(source).first)
        let trained = try compiled.model(weights: path("trained.safetensors"), seed: 0)
        let compiler = try CCompiler()
        defer { compiler.cleanUp() }
        let binary = try compiler.build(EmitC.generate(compiled, trained, precision: .f64, sourceFile: source, origin: "torch"),
                                        flags: ["-std=c99", "-O2"], tag: "torch")
        let x = try Npy.read(Data(contentsOf: URL(fileURLWithPath: path("testx.npy"))), name: "testx").values
        let predicted = try Npy.read(Data(contentsOf: URL(fileURLWithPath: path("predicted.npy"))), name: "predicted").values
        XCTAssertLessThan(relativeError(try compiler.run(binary, input: x), predicted), 1e-10)
    }

    /// StepScaledAdam's first step from given weights moves theta by Adam's first step,
    /// -lr g / (|g| + eps), times graph.stepScales (the scales eqnnc train steps with),
    /// g the interpreter's gradient of the same loss.
    func testStepScaledAdamStepsAsEqnncTrains() throws {
        _ = try runner()
        let source = Repository.root.appendingPathComponent("examples/grid/segment.eqnn").path
        let compiled = try XCTUnwrap(try Compiled.loadAll(source).first)
        let graph = compiled.graph, model = model(graph, seed: 3)
        let scales = graph.stepScales
        XCTAssertGreaterThan(scales.max() ?? 1, 2, "a p4m network has coefficients spread over several weights")
        try WeightsFile.encode(model, version: "test").write(to: URL(fileURLWithPath: path("before.safetensors")))
        let batch = 2, extents = [6, 6], lr = 1e-3
        var rng = SplitMix64(seed: 4)
        let x = (0..<(batch * 36 * graph.input.dimension)).map { _ in rng.nextNormal() }
        let cotangent = (0..<(batch * 36 * graph.output.dimension)).map { _ in rng.nextNormal() }
        try Npy.write(Table(rows: batch, columns: graph.input.dimension, values: x, extents: extents)).write(to: URL(fileURLWithPath: path("x.npy")))
        try Npy.write(Table(rows: batch, columns: graph.output.dimension, values: cotangent, extents: extents))
            .write(to: URL(fileURLWithPath: path("c.npy")))
        let emitted = Driver.run([source, "--emit", "pytorch", "-o", path("module")])
        XCTAssertEqual(emitted.status, 0, emitted.stderr)
        let script = """
            import importlib.util, sys
            import numpy as np, torch
            spec = importlib.util.spec_from_file_location("segment", sys.argv[1])
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            model = module.Model().double()
            model.load_safetensors(sys.argv[2])
            optimizer = module.StepScaledAdam(model, lr=\(lr))
            x, c = torch.from_numpy(np.load(sys.argv[3])), torch.from_numpy(np.load(sys.argv[4]))
            (model(x) * c).sum().backward()
            optimizer.step()
            model.save_safetensors(sys.argv[5])
            """
        try script.write(toFile: path("step.py"), atomically: true, encoding: .utf8)
        _ = try CCompiler.execute([PyTorchRunner.python, path("step.py"), path("module/segment.py"), path("before.safetensors"),
                                   path("x.npy"), path("c.npy"), path("after.safetensors")])
        let after = try WeightsFile.decode(Data(contentsOf: URL(fileURLWithPath: path("after.safetensors"))), name: "after", for: graph)
        let gradient = Executable<Double>(model).gradient(x, batch: batch, extents: extents) { _ in cotangent }.gradient
        let frozen = Set(graph.statisticsRanges.flatMap { Array($0) })
        for i in 0..<graph.parameterCount where !frozen.contains(i) {
            let expected = -lr * scales[i] * gradient[i] / (abs(gradient[i]) + 1e-8)
            XCTAssertEqual(after.parameters[i] - model.parameters[i], expected, accuracy: 1e-9 + 1e-6 * abs(expected), "theta[\(i)]")
        }
    }
}
