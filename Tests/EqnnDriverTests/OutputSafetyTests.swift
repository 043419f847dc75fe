import EqnnData
import EqnnIR
import EqnnTestSupport
import Foundation
import XCTest
@testable import EqnnDriver

/// What eqnnc writes, and refuses to write: outputs through links and into
/// pipes, outputs that are inputs, results that are not finite, weights that
/// float32 cannot hold, generated names that shadow or collide.
final class OutputSafetyTests: ScratchDirectoryTestCase {
    func trainedWeights(_ source: String) throws {
        try Table(rows: 8, columns: 3, values: (0..<24).map { Double($0 % 7) - 3 }).save(path: path("x.npy"))
        try Table(rows: 8, columns: 1, values: (0..<8).map { Double($0 % 3) }).save(path: path("y.npy"))
        let train = Driver.run(["train", source, "--x", path("x.npy"), "--y", path("y.npy"), "--epochs", "1", "--quiet", "-o", path("w.safetensors")])
        XCTAssertEqual(train.status, 0, train.stderr)
    }

    /// A symbolic link is written through (it stays a link, its target gets the data);
    /// a FIFO is written in place (its reader gets the data; it stays a FIFO).
    func testLinksAndPipesAreWrittenThrough() throws {
        try Data("old".utf8).write(to: URL(fileURLWithPath: path("target.npy")))
        try FileManager.default.createSymbolicLink(atPath: path("link.npy"), withDestinationPath: path("target.npy"))
        let data = Npy.write(Table(rows: 2, columns: 1, values: [1, 2]))
        try OutputFile.write(data, to: path("link.npy"))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: path("link.npy")), path("target.npy"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("target.npy"))), data)

        XCTAssertEqual(mkfifo(path("pipe"), 0o600), 0)
        let received = ResultBox()
        let pipe = path("pipe")
        let reader = Thread {
            let fd = open(pipe, O_RDONLY)
            var bytes = [UInt8](), buffer = [UInt8](repeating: 0, count: 4096)
            while fd >= 0 {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                bytes += buffer[0..<n]
            }
            close(fd)
            received.data = Data(bytes)
        }
        reader.start()
        try OutputFile.write(data, to: path("pipe"))
        for _ in 0..<200 where received.data == nil { usleep(10_000) }
        XCTAssertEqual(received.data, data)
        var info = stat()
        XCTAssertEqual(stat(path("pipe"), &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO)
        XCTAssertThrowsError(try OutputFile.write(data, to: directory.path))  // a directory: an error, not a crash
    }

    final class ResultBox: @unchecked Sendable { var data: Data? }

    /// An output naming an input (or the other output), however spelled, is refused before anything is written.
    func testOutputsThatAreInputsAreRefused() throws {
        let source = try write("n.eqnn", "network N over S(3) { input V layer 2*V : relu output Scalar }")
        let sourceText = try String(contentsOfFile: source, encoding: .utf8)
        let data = Driver.run(["data", "o5", "--x", path("d.npy"), "--y", directory.path + "/./d.npy"])
        XCTAssertEqual(data.status, 1)
        XCTAssertTrue(data.stderr.contains("is the same file as --x"), data.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("d.npy")))
        try trainedWeights(source)
        let train = Driver.run(["train", source, "--x", path("x.npy"), "--y", path("y.npy"), "--epochs", "1", "-o", directory.path + "/../" + directory.lastPathComponent + "/n.eqnn"])
        XCTAssertEqual(train.status, 1)
        XCTAssertTrue(train.stderr.contains("is the same file as the source"), train.stderr)
        XCTAssertEqual(try String(contentsOfFile: source, encoding: .utf8), sourceText)
        try FileManager.default.createSymbolicLink(atPath: path("alias.npy"), withDestinationPath: path("x.npy"))
        let run = Driver.run(["run", source, "--weights", path("w.safetensors"), "--input", path("x.npy"), "--output", path("alias.npy")])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("is the same file as --input"), run.stderr)
    }

    /// Finite weights that overflow: `run` and `evaluate` name the op where the
    /// first infinity appears and write nothing; `emit c` refuses float32 weights
    /// beyond its range; `verify` fails instead of dropping NaN from its maximum.
    func testResultsThatAreNotFiniteAreErrors() throws {
        let source = try write("n.eqnn", "network N over S(3) { input V layer 4*V : relu layer 4*V : relu output Scalar }")
        try trainedWeights(source)
        let file = try Safetensors.read(try Data(contentsOf: URL(fileURLWithPath: path("w.safetensors"))), name: "w")
        let graph = try XCTUnwrap(Compiled.loadAll(source).first).graph
        let slices = Set(graph.parameterSlices.map(\.name))
        let huge = file.tensors.values.sorted { $0.name < $1.name }.map { t in
            Safetensors.Tensor(name: t.name, shape: t.shape, values: slices.contains(t.name) ? t.values.map { $0 == 0 ? 0 : 1e300 * ($0 > 0 ? 1 : -1) } : t.values)
        }
        try OutputFile.write(Safetensors.write(huge, metadata: file.metadata.sorted { $0.key < $1.key }), to: path("huge.safetensors"))
        let run = Driver.run(["run", source, "--weights", path("huge.safetensors"), "--input", path("x.npy"), "--output", path("o.npy")])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("the first value that is not finite comes from op "), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("o.npy")))
        let evaluate = Driver.run(["evaluate", source, "--weights", path("huge.safetensors"), "--x", path("x.npy"), "--y", path("y.npy")])
        XCTAssertEqual(evaluate.status, 1, evaluate.stdout)
        XCTAssertTrue(evaluate.stderr.contains("comes from op "), evaluate.stderr)
        let emit = Driver.run([source, "--emit", "c", "--weights", path("huge.safetensors"), "-o", path("c")])
        XCTAssertEqual(emit.status, 1)
        XCTAssertTrue(emit.stderr.contains("beyond float32's range"), emit.stderr)
        XCTAssertEqual(Driver.run([source, "--emit", "c", "--weights", path("huge.safetensors"), "--precision", "f64", "-o", path("c64")]).status, 0)
        let verify = Driver.run(["verify", source, "--weights", path("huge.safetensors")])
        XCTAssertEqual(verify.status, 1, verify.stdout)
        XCTAssertTrue(verify.stdout.contains("not finite"), verify.stdout)
        XCTAssertFalse(verify.stdout.contains("  equivariant\n"), verify.stdout)
    }

    /// Generated files never shadow a module or header their users import, and the
    /// module's classes never take the runtime's names.
    func testGeneratedNamesShadowNothing() throws {
        XCTAssertEqual(Naming.stem("Signal"), "signal_net")
        XCTAssertEqual(Naming.stem("Math"), "math_net")
        XCTAssertEqual(Naming.stem("Numpy"), "numpy_net")
        XCTAssertEqual(Naming.stem("Segment"), "segment")
        let source = try write("s.eqnn", "network Signal over S(3) { input V output Scalar }\nnetwork _Linear over S(3) { input V output V }\n")
        for network in ["Signal", "_Linear"] {
            let emitted = Driver.run([source, "--network", network, "--emit", "pytorch", "-o", path("py")])
            XCTAssertEqual(emitted.status, 0, emitted.stderr)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("py/signal_net.py")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("py/signal.py")))
        let module = try String(contentsOfFile: path("py/n_linear.py"), encoding: .utf8)
        XCTAssertTrue(module.contains("class _Linear_(_EqnnModule):"), module)
        XCTAssertTrue(module.contains("class _Linear(_Op):"), module)
    }
}
