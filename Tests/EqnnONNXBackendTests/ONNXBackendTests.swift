import EqnnData
import EqnnIR
import EqnnLinearAlgebra
import EqnnSupport
import EqnnTestSupport
import Foundation
import XCTest
@testable import EqnnDriver
@testable import EqnnInterpreter
@testable import EqnnONNXBackend

/// `--emit onnx`: the protobuf encoding against the format's documented bytes,
/// and every network of the examples (and two wide S(1000) ones) run in
/// onnxruntime against the interpreter in float32 (1e-5 relative), at two
/// batches and, on grids, at two sets of extents (the smallest torus included,
/// narrower than the kernel's radius). onnxruntime comes from PyPI, in a venv
/// `.ci/run` makes and names in EQNNC_ONNX_PYTHON; without it that test is skipped.
final class ONNXBackendTests: ScratchDirectoryTestCase {
    /// protobuf.dev/programming-guides/encoding: 150 in field 1 is 08 96 01; -2 as
    /// int64 takes ten bytes; a string is its length then its bytes; a float its 4 bytes.
    func testWireFormat() {
        var w = ProtobufWriter()
        w.int(1, 150)
        XCTAssertEqual(w.bytes, [0x08, 0x96, 0x01])
        w = ProtobufWriter()
        w.int(2, -2)
        XCTAssertEqual(w.bytes, [0x10, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        w = ProtobufWriter()
        w.string(2, "testing")
        XCTAssertEqual(w.bytes, [0x12, 0x07] + Array("testing".utf8))
        w = ProtobufWriter()
        w.float(2, 1)
        XCTAssertEqual(w.bytes, [0x15, 0x00, 0x00, 0x80, 0x3F])
        w = ProtobufWriter()
        w.message(3) { $0.int(1, 150) }
        XCTAssertEqual(w.bytes, [0x1A, 0x03, 0x08, 0x96, 0x01])
    }

    func testEveryNetworkMatchesTheInterpreter() throws {
        guard let ort = ProcessInfo.processInfo.environment["EQNNC_ONNX_PYTHON"], FileManager.default.isExecutableFile(atPath: ort) else {
            throw XCTSkip("EQNNC_ONNX_PYTHON names no Python with onnxruntime (.ci/run makes one)")
        }
        let wide = try write("wide.eqnn", TestModels.wideNetworks)
        var rng = SplitMix64(seed: 21)
        var runs: [(name: String, expected: [Double])] = []
        for path in ["examples", "examples/fww21", "examples/grid"].flatMap({ Repository.inputs(in: $0).map(\.path) }) + [wide] {
            for compiled in try Compiled.loadAll(path) {
                let graph = compiled.graph
                let model = TestModels.model(graph, seed: UInt64(runs.count))
                let output = try ONNXBackend.generate(model, version: "test")
                let file = "\(runs.count)-\(output.name)"  // examples/ and examples/fww21/ share stems
                try Data(output.bytes).write(to: URL(fileURLWithPath: self.path("\(file).onnx")))
                let unit = graph.poolSizes.reduce(1, *)
                let shapes: [(batch: Int, extents: [Int])] = graph.domain.map { d in
                    [(3, (0..<d.dimension).map { [2, 3, 1][$0] * 4 * unit }), (1, Array(repeating: unit, count: d.dimension))]
                } ?? [(3, []), (1, [])]
                for (k, shape) in shapes.enumerated() {
                    let x = (0..<(shape.batch * shape.extents.reduce(1, *) * graph.input.dimension)).map { _ in rng.nextNormal() }
                    let run = "\(file)-\(k)"
                    try Npy.write(Table(rows: shape.batch, columns: graph.input.dimension, values: x, extents: shape.extents))
                        .write(to: URL(fileURLWithPath: self.path("\(run).x.npy")))
                    let expected = model.forwardSingle(x.map(Float.init), batch: shape.batch, extents: shape.extents).map(Double.init)
                    runs.append((run, expected))
                }
            }
        }
        let names = runs.map { JSON.quote($0.name) }.joined(separator: ", ")
        try runPython(ort, """
            import numpy as np, onnxruntime as ort, os
            os.chdir(\(JSON.quote(directory.path)))
            for run in [\(names)]:
                s = ort.InferenceSession(run.rsplit("-", 1)[0] + ".onnx", providers=["CPUExecutionProvider"])
                np.save(run + ".y.npy", s.run(None, {"x": np.load(run + ".x.npy").astype(np.float32)})[0].astype(np.float64))
            """, "onnxruntime")
        for run in runs {
            let output = try Npy.read(Data(contentsOf: URL(fileURLWithPath: path("\(run.name).y.npy"))), name: run.name).values
            // Relative to the largest output, at least 1: float32's rounding follows the network's
            // values, of order 1 here, not one sample's output, which may be about zero (a vector
            // field of O(2) from a 1 x 1 torus, whose one value no rotation changes, is zero).
            XCTAssertLessThan(TestModels.relativeError(output, run.expected, floor: 1), 1e-5, run.name)
        }
        XCTAssertEqual(runs.count, 2 * 27, "every network of the examples and the two wide ones, at two shapes")
    }

    func testCommandWritesTheModelAndRefusesCOptions() throws {
        let source = Repository.root.appendingPathComponent("examples/grid/segment.eqnn").path
        let emitted = Driver.run([source, "--emit", "onnx", "-o", directory.path])
        XCTAssertEqual(emitted.status, 0, emitted.stderr)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path("segment.onnx")))
        XCTAssertGreaterThan(bytes.count, 4 * 4885, "the weights are baked in")
        let refused = Driver.run([source, "--emit", "onnx", "--precision", "f64", "-o", directory.path])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("--precision applies to --emit c"), refused.stderr)
    }

    func testDenseMapsAboveTheLimitAreRefusedWithTheWayOut() throws {
        let source = try write("huge.eqnn", """
            group G = S(1024)
            network Huge over G {
              input  V
              layer  17*V : relu
              output Scalar
            }
            """)
        let result = Driver.run([source, "--emit", "onnx", "-o", directory.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("over the limit of 16777216 weights for --emit onnx"), result.stderr)
        XCTAssertTrue(result.stderr.contains("torch.onnx.export"), result.stderr)
    }
}
