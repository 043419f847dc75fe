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

/// The PyTorch module's `fit_normalizer` is eqnnc's normalizer fit (Normalizer.fit) written
/// again in Python: both on the same data, inputs and outputs, on layouts with scalar and
/// non-scalar blocks, on vectors and on a grid (where statistics pool the positions).
final class NormalizerAgreementTests: ScratchDirectoryTestCase {
    func testTheModuleFitsTheNormalizerAsEqnncDoes() throws {
        guard FileManager.default.isExecutableFile(atPath: PyTorchRunner.python) else {
            throw XCTSkip("no Python with torch at \(PyTorchRunner.python)")
        }
        var rng = SplitMix64(seed: 21)
        for example in ["examples/inertia.eqnn", "examples/grid/vectors.eqnn"] {
            let path = Repository.root.appendingPathComponent(example).path
            let graph = try XCTUnwrap(Compiled.loadAll(path).first).graph
            let source = PyTorchBackend.generate(graph, origin: .init(sourceFile: path, version: "test"))
            try source.text.write(toFile: self.path("\(source.name).py"), atomically: true, encoding: .utf8)
            let samples = 5, extents = graph.domain.map { _ in [4, 6] } ?? [], positions = extents.reduce(1, *)
            let outputExtents = graph.outputAxes == 0 ? [] : extents
            // Each coordinate with its own offset and spread, so that a shift or a scale in the wrong place shows.
            func data(_ width: Int, rows: Int) -> [Double] {
                let offsets = (0..<width).map { _ in 3 * rng.nextNormal() }, spreads = (0..<width).map { _ in exp(rng.nextNormal()) }
                return (0..<(rows * width)).map { offsets[$0 % width] + spreads[$0 % width] * rng.nextNormal() }
            }
            let x = data(graph.input.dimension, rows: samples * positions)
            let outputRows = samples * (outputExtents.isEmpty ? 1 : positions)
            let y = data(graph.output.dimension, rows: outputRows)
            try Npy.write(Table(rows: samples, columns: graph.input.dimension, values: x, extents: extents)).write(to: URL(fileURLWithPath: self.path("x.npy")))
            try Npy.write(Table(rows: samples, columns: graph.output.dimension, values: y, extents: outputExtents)).write(to: URL(fileURLWithPath: self.path("y.npy")))
            let script = """
                import sys, numpy as np, torch
                sys.path.insert(0, \(JSON.quote(directory.path)))
                import \(source.name) as module
                m = module.Model().double()
                m.fit_normalizer(torch.tensor(np.load(\(JSON.quote(self.path("x.npy"))))), torch.tensor(np.load(\(JSON.quote(self.path("y.npy"))))))
                n = m.normalizer
                np.save(\(JSON.quote(self.path("fit.npy"))), torch.cat([n.input_shift, n.input_scale, n.output_shift, n.output_scale]).numpy())
                """
            try runPython(PyTorchRunner.python, script, example)
            let fitted = try Npy.read(Data(contentsOf: URL(fileURLWithPath: self.path("fit.npy"))), name: "fit.npy").values
            let input = Normalizer.fit(x, rows: samples * positions, layout: graph.input)
            let output = Normalizer.fit(y, rows: outputRows, layout: graph.output)
            let expected = input.shift + input.scale + output.shift + output.scale
            XCTAssertEqual(fitted.count, expected.count, example)
            for (a, b) in zip(fitted, expected) { XCTAssertEqual(a, b, accuracy: 1e-12 * max(1, abs(b)), example) }
            // Not the identity: the data asked for shifts and scales.
            XCTAssertTrue(expected.contains { $0 != 0 && $0 != 1 }, example)
        }
    }
}
