import EqnnData
import EqnnDiagnostics
import EqnnIR
import EqnnLinearAlgebra
import EqnnPyTorchBackend
import EqnnSupport
import EqnnTestSupport
import Foundation
import XCTest
@testable import EqnnDriver
@testable import EqnnInterpreter

/// The emitted modules leave Python: `torch.jit.script` and `torch.jit.trace` (saved and loaded) and
/// `torch.onnx.export` with a dynamic batch (and dynamic extents on grids), run in
/// onnxruntime on another batch and other extents, against the interpreter in
/// float32 (1e-5 relative). onnxruntime comes from PyPI, in a venv `.ci/run`
/// makes and names in EQNNC_ONNX_PYTHON; without it the test is skipped.
final class DeploymentTests: ScratchDirectoryTestCase {
    func testTracedAndOnnxModulesMatchTheInterpreter() throws {
        guard let ort = ProcessInfo.processInfo.environment["EQNNC_ONNX_PYTHON"], FileManager.default.isExecutableFile(atPath: ort) else {
            throw XCTSkip("EQNNC_ONNX_PYTHON names no Python with onnxruntime (.ci/run makes one)")
        }
        var rng = SplitMix64(seed: 12)
        var checked = 0
        let structured = try write("structured.eqnn", TestModels.wideNetworks)
        for path in ["examples", "examples/fww21", "examples/grid"].flatMap({ Repository.inputs(in: $0).map(\.path) }) + [structured] {
            for compiled in try Compiled.loadAll(path) {
                let graph = compiled.graph, name = compiled.graph.network
                let model = TestModels.model(graph, seed: UInt64(checked))
                let source = PyTorchBackend.generate(graph, origin: .init(sourceFile: path, version: "test"))
                try source.text.write(toFile: self.path("\(source.name).py"), atomically: true, encoding: .utf8)
                try WeightsFile.encode(model, version: "test").write(to: URL(fileURLWithPath: self.path("\(source.name).safetensors")))
                // Exported at batch 2 and extents 8 (times the pools), run at batch 3 and other extents.
                let unit = graph.poolSizes.reduce(1, *)
                let extents = graph.domain.map { d in (0..<d.dimension).map { [2, 3, 1][$0] * 8 * unit } } ?? []
                let x = (0..<(3 * extents.reduce(1, *) * graph.input.dimension)).map { _ in rng.nextNormal() }
                try Npy.write(Table(rows: 3, columns: graph.input.dimension, values: x, extents: extents)).write(to: URL(fileURLWithPath: self.path("x.npy")))
                let script = """
                    import sys, warnings, numpy as np, torch
                    warnings.filterwarnings("ignore")
                    sys.path.insert(0, \(JSONQuote(directory.path)))
                    import \(source.name) as module
                    m = module.Model()
                    m.load_safetensors(\(JSONQuote(self.path("\(source.name).safetensors"))))
                    m = m.float().eval()
                    d, out_axes = \(graph.domain?.dimension ?? 0), \(graph.outputAxes)
                    sample = torch.randn(2, *([8 * \(unit)] * d), m.INPUT_DIM)
                    torch.onnx.export(m, sample, \(JSONQuote(self.path("m.onnx"))), input_names=["x"], output_names=["y"], opset_version=16,
                                      dynamic_axes={"x": {0: "batch", **{1 + a: f"e{a}" for a in range(d)}},
                                                    "y": {0: "batch", **{1 + a: f"o{a}" for a in range(out_axes)}}})
                    traced = torch.jit.trace(m, sample, check_trace=True)
                    torch.jit.save(traced, \(JSONQuote(self.path("m.pt"))))
                    torch.jit.save(torch.jit.script(m), \(JSONQuote(self.path("scripted.pt"))))
                    x = torch.tensor(np.load(\(JSONQuote(self.path("x.npy"))))).float()
                    with torch.no_grad():
                        np.save(\(JSONQuote(self.path("traced.npy"))), torch.jit.load(\(JSONQuote(self.path("m.pt"))))(x).double().numpy())
                        np.save(\(JSONQuote(self.path("scripted.npy"))), torch.jit.load(\(JSONQuote(self.path("scripted.pt"))))(x).double().numpy())
                    """
                try runPython(PyTorchRunner.python, script, name)
                try runPython(ort, """
                    import numpy as np, onnxruntime as ort
                    s = ort.InferenceSession(\(JSONQuote(self.path("m.onnx"))), providers=["CPUExecutionProvider"])
                    x = np.load(\(JSONQuote(self.path("x.npy")))).astype(np.float32)
                    np.save(\(JSONQuote(self.path("onnx.npy"))), s.run(None, {"x": x})[0].astype(np.float64))
                    """, name)
                let expected = model.forwardSingle(x.map(Float.init), batch: 3, extents: extents).map(Double.init)
                for file in ["traced.npy", "scripted.npy", "onnx.npy"] {
                    let output = try Npy.read(Data(contentsOf: URL(fileURLWithPath: self.path(file))), name: file).values
                    XCTAssertLessThan(TestModels.relativeError(output, expected), 1e-5, "\(name) \(file)")
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, 27, "every network of the examples and the two structured ones")
    }

    func JSONQuote(_ s: String) -> String { JSON.quote(s) }
}
