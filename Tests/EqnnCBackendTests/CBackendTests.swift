import EqnnCBackend
import EqnnData
import EqnnIR
import EqnnInterpreter
import EqnnLinearAlgebra
import EqnnTestSupport
import Foundation
import XCTest
@testable import EqnnDriver

/// Every example's generated C compiles warning-free (-Wall -Wextra -Wpedantic
/// -Werror) and under AddressSanitizer and UndefinedBehaviorSanitizer, and its
/// outputs equal the interpreter's: within 1e-5 relative in float32 and 1e-12
/// in float64, with the baked weights and with weights given to init at run time.
final class CBackendTests: XCTestCase {
    static let strict = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2"]
    static let sanitized = ["-std=c99", "-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                            "-fno-sanitize-recover=all"]

    /// The examples whose C every test builds. The FWW21 models (5 to 20 MB of C each, and
    /// their MLP twins) repeat this coverage at ten times the build time: bench/execution.py
    /// builds them, and the native-path test below builds one.
    func examples() -> [String] {
        let paths = Repository.inputs(in: "examples").map(\.path)
        XCTAssertGreaterThanOrEqual(paths.count, 8)
        return paths
    }

    func compiled(_ path: String) throws -> [Compiled] {
        do {
            return try Compiled.loadAll(path)
        } catch let result as CommandResult {
            throw CCompiler.Failure(description: result.stderr)
        }
    }

    /// The largest difference relative to the largest output of the batch (a
    /// per-sample ratio would blow up on outputs that happen to be near zero).
    func relativeError(_ a: [Double], _ b: [Double], width: Int) -> Double {
        XCTAssertEqual(a.count, b.count)
        let difference = zip(a, b).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
        return difference / max(b.reduce(0.0) { max($0, abs($1)) }, 1e-30)
    }

    func testGeneratedCMatchesTheInterpreter() throws {
        let compiler = try CCompiler()
        defer { compiler.cleanUp() }
        var rng = SplitMix64(seed: 17)
        for path in examples() {
            for c in try compiled(path) {
                let graph = c.graph
                var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 3))
                model.normalizer.inputShift = model.normalizer.inputShift.map { _ in 0.1 * rng.nextNormal() }
                model.normalizer.inputScale = model.normalizer.inputScale.map { _ in 0.5 + rng.nextUniform() }
                model.normalizer.outputShift = model.normalizer.outputShift.map { _ in rng.nextNormal() }
                let batch = 11  // not a multiple of the tile
                let x = (0..<(batch * graph.input.dimension)).map { _ in rng.nextNormal() }
                let expected64 = model.forward(x, batch: batch)
                let expected32 = model.forwardSingle(x.map(Float.init), batch: batch).map(Double.init)
                let n = model.normalizer
                let normalizer = n.inputShift + n.inputScale + n.outputShift + n.outputScale
                for precision in [CBackend.Precision.f64, .f32] {
                    let source = EmitC.generate(c, model, precision: precision, sourceFile: path, origin: "test")
                    let binary = try compiler.build(source, flags: CBackendTests.strict, tag: "\(source.name)-\(precision)")
                    let expected = precision == .f64 ? expected64 : expected32
                    let tolerance = precision == .f64 ? 1e-12 : 1e-5
                    let baked = try compiler.run(binary, input: x)
                    XCTAssertLessThan(relativeError(baked, expected, width: graph.output.dimension), tolerance,
                                      "\(graph.network) \(precision) baked")
                    let initialized = try compiler.run(binary, input: x, theta: model.foldingBatchNorm().parameters, normalizer: normalizer)
                    XCTAssertLessThan(relativeError(initialized, expected, width: graph.output.dimension), tolerance,
                                      "\(graph.network) \(precision) init")
                }
            }
        }
    }

    func testGeneratedCIsCleanUnderSanitizers() throws {
        let compiler = try CCompiler()
        defer { compiler.cleanUp() }
        var rng = SplitMix64(seed: 5)
        for path in examples() {
            for c in try compiled(path) {
                let model = Model(graph: c.graph, parameters: Initialization.parameters(for: c.graph, seed: 1))
                let source = EmitC.generate(c, model, precision: .f64, sourceFile: path, origin: "test")
                let binary = try compiler.build(source, flags: CBackendTests.sanitized, tag: "\(source.name)-asan")
                let x = (0..<(9 * c.graph.input.dimension)).map { _ in rng.nextNormal() }
                let output = try compiler.run(binary, input: x, theta: model.foldingBatchNorm().parameters,
                                              normalizer: Array(repeating: 0, count: c.graph.input.dimension) + Array(repeating: 1, count: c.graph.input.dimension)
                                                + Array(repeating: 0, count: c.graph.output.dimension) + Array(repeating: 1, count: c.graph.output.dimension))
                XCTAssertLessThan(relativeError(output, model.forward(x, batch: 9), width: c.graph.output.dimension), 1e-12)
            }
        }
    }

    /// The vector path (AVX, and FMA where the machine has it) of the matrix product, on
    /// models whose products are wide and deep enough to take it, in both precisions.
    func testNativeVectorPathMatchesTheInterpreter() throws {
        let compiler = try CCompiler()
        defer { compiler.cleanUp() }
        var rng = SplitMix64(seed: 23)
        let root = Repository.root
        for path in ["examples/inertia.eqnn", "examples/fww21/lorentz.eqnn", "examples/deepsets.eqnn", "examples/circulant.eqnn"] {
            for c in try compiled(root.appendingPathComponent(path).path) {
                let model = Model(graph: c.graph, parameters: Initialization.parameters(for: c.graph, seed: 4))
                let batch = 70
                let x = (0..<(batch * c.graph.input.dimension)).map { _ in rng.nextNormal() }
                for precision in [CBackend.Precision.f32, .f64] {
                    let source = EmitC.generate(c, model, precision: precision, sourceFile: path, origin: "test")
                    let binary = try compiler.build(source, flags: ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O3", "-march=native"],
                                                    tag: "\(source.name)-native-\(precision)")
                    let expected = precision == .f64 ? model.forward(x, batch: batch)
                        : model.forwardSingle(x.map(Float.init), batch: batch).map(Double.init)
                    XCTAssertLessThan(relativeError(try compiler.run(binary, input: x), expected, width: c.graph.output.dimension),
                                      precision == .f64 ? 1e-12 : 1e-5, "\(path) \(precision)")
                }
            }
        }
    }

    /// Grid networks: the C (extents at run time, the caller's workspace) equals the
    /// interpreter on grids that are not square, strict at -O2, vectorized at -O3
    /// -march=native, and clean under the sanitizers; with baked and with init weights.
    func testGridNetworksMatchTheInterpreter() throws {
        let compiler = try CCompiler()
        defer { compiler.cleanUp() }
        var rng = SplitMix64(seed: 29)
        let builds: [(String, [String], CBackend.Precision)] = [
            ("strict64", CBackendTests.strict, .f64), ("strict32", CBackendTests.strict, .f32),
            ("native32", ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O3", "-march=native"], .f32),
            ("asan64", CBackendTests.sanitized, .f64),
        ]
        let paths = Repository.inputs(in: "examples/grid").map(\.path)
        XCTAssertGreaterThanOrEqual(paths.count, 5)
        for path in paths {
            for c in try compiled(path) {
                let graph = c.graph
                var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 3))
                model.normalizer.inputShift = model.normalizer.inputShift.map { _ in 0.1 * rng.nextNormal() }
                model.normalizer.outputShift = model.normalizer.outputShift.map { _ in rng.nextNormal() }
                let extents = [[13], [8, 12], [4, 8, 4]][(graph.domain?.dimension ?? 1) - 1]
                let batch = 3
                let positions = extents.reduce(1, *), outPositions = try XCTUnwrap(graph.outputExtents(extents)).reduce(1, *)
                let x = (0..<(batch * positions * graph.input.dimension)).map { _ in rng.nextNormal() }
                let n = model.normalizer
                let normalizer = n.inputShift + n.inputScale + n.outputShift + n.outputScale
                for (tag, flags, precision) in builds {
                    let source = EmitC.generate(c, model, precision: precision, sourceFile: path, origin: "test")
                    let binary = try compiler.build(source, flags: flags, tag: "\(source.name)-\(tag)")
                    let expected = precision == .f64 ? model.forward(x, batch: batch, extents: extents)
                        : model.forwardSingle(x.map(Float.init), batch: batch, extents: extents).map(Double.init)
                    let tolerance = precision == .f64 ? 1e-12 : 1e-5
                    let baked = try compiler.run(binary, input: x, extents: extents, outputPositions: outPositions)
                    XCTAssertLessThan(relativeError(baked, expected, width: graph.output.dimension), tolerance, "\(graph.network) \(tag)")
                    // The C's theta has batchnorm folded in (the baked weights are folded by the emitter).
                    let initialized = try compiler.run(binary, input: x, theta: model.foldingBatchNorm().parameters, normalizer: normalizer,
                                                       extents: extents, outputPositions: outPositions)
                    XCTAssertLessThan(relativeError(initialized, expected, width: graph.output.dimension), tolerance,
                                      "\(graph.network) \(tag) init")
                }
            }
        }
    }

    /// Networks on point clouds: the C (counts and positions at run time, the caller's
    /// workspace, neighbours by cells) equals the interpreter on samples of 0 to 90
    /// points, strict at -O2, at -O3 -march=native, and under the sanitizers; with baked
    /// and with init weights.
    func testPointNetworksMatchTheInterpreter() throws {
        let compiler = try CCompiler()
        defer { compiler.cleanUp() }
        var rng = SplitMix64(seed: 31)
        let builds: [(String, [String], CBackend.Precision)] = [
            ("strict64", CBackendTests.strict, .f64), ("strict32", CBackendTests.strict, .f32),
            ("native32", ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O3", "-march=native"], .f32),
            ("asan64", CBackendTests.sanitized, .f64),
        ]
        let extra = compiler.directory.appendingPathComponent("fields.eqnn").path
        try """
            # Per-point outputs, SO(3)'s cross products, a third degree and V^2 fields.
            network Fields over SO(3) on points(3) {
              input  Scalar + V
              layer  4*Scalar + 2*V + V^2 : gated  message 1.3 degree 3 radial 6
              output V + Scalar  message 1.1
            }
            network Plane over O(2) on points(2) {
              input  Scalar
              layer  3*Scalar + 2*V : norm  message 0.9
              output Scalar  pool mean
            }
            """.write(toFile: extra, atomically: true, encoding: .utf8)
        let paths = Repository.inputs(in: "examples/points").map(\.path) + [extra]
        for path in paths {
            for c in try compiled(path) {
                let graph = c.graph
                let d = try XCTUnwrap(graph.points).dimension
                var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 3).map { $0 + 0.1 * rng.nextNormal() })
                model.normalizer.inputShift = model.normalizer.inputShift.map { _ in 0.1 * rng.nextNormal() }
                for block in graph.output.blocks where block.isScalar {
                    for i in block.offset..<(block.offset + block.length) { model.normalizer.outputShift[i] = rng.nextNormal() }
                }
                // 90 points in a box of side 3: the cells of the larger radii hold many points.
                let counts = [5, 0, 1, 90, 17]
                let total = counts.reduce(0, +)
                let positions = (0..<(total * d)).map { _ in 3 * rng.nextUniform() }
                let x = (0..<(total * graph.input.dimension)).map { _ in rng.nextNormal() }
                let points = PointBatch(counts: counts, positions: positions, dimension: d)
                let n = model.normalizer
                let normalizer = n.inputShift + n.inputScale + n.outputShift + n.outputScale
                for (tag, flags, precision) in builds {
                    let source = EmitC.generate(c, model, precision: precision, sourceFile: path, origin: "test")
                    let binary = try compiler.build(source, flags: flags, tag: "\(source.name)-\(tag)")
                    let expected = precision == .f64 ? model.forward(x, batch: counts.count, points: points)
                        : model.forwardSingle(x.map(Float.init), batch: counts.count, points: points).map(Double.init)
                    let tolerance = precision == .f64 ? 1e-12 : 1e-5
                    let cloud = (positions: positions, counts: counts, pooled: graph.poolsPoints)
                    let baked = try compiler.run(binary, input: x, points: cloud)
                    XCTAssertLessThan(relativeError(baked, expected, width: graph.output.dimension), tolerance, "\(graph.network) \(tag)")
                    let initialized = try compiler.run(binary, input: x, theta: model.parameters, normalizer: normalizer, points: cloud)
                    XCTAssertLessThan(relativeError(initialized, expected, width: graph.output.dimension), tolerance, "\(graph.network) \(tag) init")
                }
            }
        }
    }

    /// Every activation through `--emit c --weights`, as a user runs it: a small
    /// network per activation, realistic weights (nonzero biases, a fitted-looking
    /// normalizer with output shifts and scales) written to a weights file, the
    /// C built from it equal to the interpreter on the same file.
    func testEveryActivationThroughEmitCWithWeights() throws {
        let compiler = try CCompiler()
        defer { compiler.cleanUp() }
        var rng = SplitMix64(seed: 41)
        let sources = ["relu", "leaky_relu", "tanh", "sigmoid", "silu", "gelu", "softplus", "identity"].map {
            "network N over S(4) { input V + Scalar layer 3*V + 2*Scalar : \($0) output V + Scalar }"
        } + ["network N over O(3) { input Scalar + V layer 2*Scalar + 2*V : norm output Scalar + V }",
             "network N over O(3) { input Scalar + V layer 2*Scalar + 2*V + V^2 : gated + bilinear output V^2 + Scalar }"]
        for (k, text) in sources.enumerated() {
            let source = compiler.directory.appendingPathComponent("n\(k).eqnn").path
            try text.write(toFile: source, atomically: true, encoding: .utf8)
            let c = try XCTUnwrap(try compiled(source).first)
            var theta = Initialization.parameters(for: c.graph, seed: UInt64(k))
            for i in theta.indices { theta[i] += 0.2 * rng.nextNormal() }
            var model = Model(graph: c.graph, parameters: theta)
            for block in c.graph.input.blocks {
                let scale = 0.5 + rng.nextUniform()
                for i in block.offset..<(block.offset + block.length) {
                    model.normalizer.inputScale[i] = scale
                    if block.isScalar { model.normalizer.inputShift[i] = rng.nextNormal() }
                }
            }
            for block in c.graph.output.blocks {
                let scale = 0.5 + 2 * rng.nextUniform()
                for i in block.offset..<(block.offset + block.length) {
                    model.normalizer.outputScale[i] = scale
                    if block.isScalar { model.normalizer.outputShift[i] = 3 * rng.nextNormal() }
                }
            }
            let weights = compiler.directory.appendingPathComponent("n\(k).safetensors").path
            try WeightsFile.encode(model, version: "test").write(to: URL(fileURLWithPath: weights))
            let directory = compiler.directory.appendingPathComponent("out\(k)").path
            let emitted = Driver.run([source, "--emit", "c", "--weights", weights, "--precision", "f64", "-o", directory])
            XCTAssertEqual(emitted.status, 0, emitted.stderr)
            let header = try String(contentsOfFile: directory + "/n.h", encoding: .utf8)
            let implementation = try String(contentsOfFile: directory + "/n.c", encoding: .utf8)
            let binary = try compiler.build(CBackend.Source(name: "n", header: header, implementation: implementation, gridAxes: 0),
                                            flags: CBackendTests.strict, tag: "activation\(k)")
            let x = (0..<(7 * c.graph.input.dimension)).map { _ in 2 * rng.nextNormal() }
            let loaded = try c.model(weights: weights, seed: 0)
            let expected = loaded.forward(x, batch: 7)
            XCTAssertLessThan(relativeError(try compiler.run(binary, input: x), expected, width: c.graph.output.dimension), 1e-12, text)
        }
    }

    /// The headers are C++ too (extern "C", no `restrict` there): a C++ program
    /// includes a plain and a grid network's header, links their C, and gets
    /// the interpreter's outputs; with every C++ compiler installed.
    func testHeadersWorkFromCPlusPlus() throws {
        let compiler = try CCompiler()
        defer { compiler.cleanUp() }
        let root = Repository.root
        let folder = compiler.directory
        var models: [String: Model] = [:]
        for path in ["examples/inertia.eqnn", "examples/grid/classify.eqnn"] {
            let c = try XCTUnwrap(try compiled(root.appendingPathComponent(path).path).first)
            let model = Model(graph: c.graph, parameters: Initialization.parameters(for: c.graph, seed: 6))
            let source = EmitC.generate(c, model, precision: .f64, sourceFile: path, origin: "test")
            try source.header.write(to: folder.appendingPathComponent("\(source.name).h"), atomically: true, encoding: .utf8)
            try source.implementation.write(to: folder.appendingPathComponent("\(source.name).c"), atomically: true, encoding: .utf8)
            try CCompiler.execute([CCompiler.compiler] + CBackendTests.strict + ["-c", folder.appendingPathComponent("\(source.name).c").path,
                                                                                 "-o", folder.appendingPathComponent("\(source.name).o").path])
            models[source.name] = model
        }
        let program = """
        #include "inertia.h"
        #include "classify.h"
        #include <cstdio>
        #include <vector>
        int main() {
            std::vector<inertia_real> x(INERTIA_INPUT_DIM, 0.5), y(INERTIA_OUTPUT_DIM);
            inertia_forward(inertia_baked(), x.data(), y.data(), 1);
            size_t extents[2] = {8, 8};
            std::vector<classify_real> work(classify_workspace_size(extents)), image(64, 1.0), out(CLASSIFY_OUTPUT_DIM);
            if (classify_forward(classify_baked(), image.data(), out.data(), 1, extents, work.data()) != 0) return 1;
            std::printf("%.17g %.17g\\n", y[0], out[0]);
            return 0;
        }
        """
        try program.write(to: folder.appendingPathComponent("use.cpp"), atomically: true, encoding: .utf8)
        let inertia = try XCTUnwrap(models["inertia"]), classify = try XCTUnwrap(models["classify"])
        let expected = [inertia.forward([Double](repeating: 0.5, count: inertia.graph.input.dimension), batch: 1)[0],
                        classify.forward([Double](repeating: 1, count: 64), batch: 1, extents: [8, 8])[0]]
        var tried = 0
        for cxx in ["g++", "clang++"] {
            guard (try? CCompiler.execute(["which", cxx])) != nil else { continue }
            tried += 1
            let binary = folder.appendingPathComponent("use-\(cxx)").path
            try CCompiler.execute([cxx, "-std=c++11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I", folder.path,
                                   folder.appendingPathComponent("use.cpp").path, folder.appendingPathComponent("inertia.o").path,
                                   folder.appendingPathComponent("classify.o").path, "-o", binary, "-lm"])
            let printed = try CCompiler.execute([binary]).split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            XCTAssertEqual(printed.count, 2, cxx)
            for (a, b) in zip(printed, expected) { XCTAssertEqual(a, b, accuracy: 1e-12 * max(1, abs(b)), cxx) }
        }
        XCTAssertGreaterThan(tried, 0, "no C++ compiler found")
    }

    /// The float sigmoid (its own exponential, so that loops vectorize) against the interpreter
    /// from small to saturating arguments, beyond where e^-|v| would underflow.
    func testSigmoidAndSiluAtExtremeInputs() throws {
        let compiler = try CCompiler()
        defer { compiler.cleanUp() }
        let file = compiler.directory.appendingPathComponent("extreme.eqnn")
        try "network Extreme over S(4) { input V layer 3*V + 2*Scalar : sigmoid layer V + Scalar : gated output V }"
            .write(to: file, atomically: true, encoding: .utf8)
        for c in try compiled(file.path) {
            let model = Model(graph: c.graph, parameters: Initialization.parameters(for: c.graph, seed: 6))
            let values: [Double] = [-1000, -120, -88, -87, -40, -9, -1, -1e-3, 0, 1e-3, 1, 9, 40, 87, 88, 120, 1000]
            let x = values.flatMap { [$0, -$0 / 3, $0 / 7, 0.5] }
            let batch = values.count
            let expected = model.forwardSingle(x.map(Float.init), batch: batch).map(Double.init)
            for (k, flags) in [CBackendTests.strict, ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O3", "-march=native"]].enumerated() {
                let source = EmitC.generate(c, model, precision: .f32, sourceFile: file.path, origin: "test")
                let binary = try compiler.build(source, flags: flags, tag: "extreme-\(k)")
                let output = try compiler.run(binary, input: x)
                XCTAssertTrue(output.allSatisfy(\.isFinite))
                XCTAssertLessThan(relativeError(output, expected, width: c.graph.output.dimension), 1e-5, "\(flags)")
            }
        }
    }

    func testOutputIsByteIdentical() throws {
        let path = Repository.root.appendingPathComponent("examples/center_of_mass.eqnn").path
        let first = try XCTUnwrap(compiled(path).first), second = try XCTUnwrap(compiled(path).first)
        let model = Model(graph: first.graph, parameters: Initialization.parameters(for: first.graph, seed: 0))
        let a = EmitC.generate(first, model, precision: .f32, sourceFile: path, origin: "x")
        let b = EmitC.generate(second, model, precision: .f32, sourceFile: path, origin: "x")
        XCTAssertEqual(a.header, b.header)
        XCTAssertEqual(a.implementation, b.implementation)
        XCTAssertEqual(a.name, "center_of_mass")
        XCTAssertTrue(a.header.contains("#define CENTER_OF_MASS_INPUT_DIM 15"))
    }

    func testVerifyWithTheCBackend() throws {
        let path = Repository.root.appendingPathComponent("examples/deepsets.eqnn").path
        let result = Driver.run(["verify", path, "--backend", "c", "--samples", "5"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("generated C"), result.stdout)
    }

    func testSnakeCase() {
        XCTAssertEqual(Naming.snakeCase("CenterOfMass"), "center_of_mass")
        XCTAssertEqual(Naming.snakeCase("O5MLP"), "o5_mlp")
        XCTAssertEqual(Naming.snakeCase("Inertia384"), "inertia384")
        XCTAssertEqual(Naming.snakeCase("Conv1D"), "conv1_d")
    }
}

/// The program in examples/c links the generated center-of-mass network and
/// prints the average of the rows with the run-time weights.
final class CExampleTests: XCTestCase {
    func testExampleProgramBuildsAndAverages() throws {
        let compiler = try CCompiler()
        defer { compiler.cleanUp() }
        let root = Repository.root
        let build = compiler.directory.appendingPathComponent("build")
        let emitted = Driver.run([root.appendingPathComponent("examples/center_of_mass.eqnn").path, "--emit", "c", "-o", build.path])
        XCTAssertEqual(emitted.status, 0, emitted.stderr)
        let binary = compiler.directory.appendingPathComponent("main")
        try CCompiler.execute([CCompiler.compiler] + CBackendTests.strict + ["-I", build.path, "-o", binary.path,
                               root.appendingPathComponent("examples/c/main.c").path, build.appendingPathComponent("center_of_mass.c").path, "-lm"])
        let output = try CCompiler.execute([binary.path])
        XCTAssertTrue(output.contains("average of rows: (0, 0, 0.2)"), output)
        XCTAssertTrue(output.contains("average of rows: (1, 2, 3)"), output)
    }
}
