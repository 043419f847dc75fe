import EqnnData
import EqnnIR
import EqnnPyTorchBackend
import Foundation

/// Runs a generated PyTorch module in one long-lived Python process: what
/// `verify --backend pytorch` and the tests use. Python is $EQNNC_PYTHON,
/// else /usr/bin/python3 (where Debian's python3-torch installs torch), else
/// python3; it needs torch and NumPy. Requests and answers are lines on the
/// process's standard input and output; arrays go through .npy files.
public final class PyTorchRunner {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let directory: URL
    private let process = Process()
    private let input: FileHandle
    private let output: FileHandle
    private var pending = Data()
    private var files = 0

    public static var python: String {
        if let chosen = ProcessInfo.processInfo.environment["EQNNC_PYTHON"] { return chosen }
        return FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
    }

    /// Starts Python; throws when it or torch is missing.
    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("eqnnc-torch-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("serve.py")
        try PyTorchRunner.server.write(to: script, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [PyTorchRunner.python, script.path]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        input = stdin.fileHandleForWriting
        output = stdout.fileHandleForReading
        try process.run()
        let hello = try readLine()
        guard hello.hasPrefix("ready") else {
            cleanUp()
            throw Failure(description: "\(PyTorchRunner.python) cannot run PyTorch modules: \(hello)")
        }
    }

    deinit { cleanUp() }

    public func cleanUp() {
        if process.isRunning {
            try? input.write(contentsOf: Data("quit\n".utf8))
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes the module and loads it with the weights of `model`.
    public func load(_ source: PyTorchBackend.Source, _ model: Model) throws {
        try source.text.write(to: directory.appendingPathComponent("\(source.name).py"), atomically: true, encoding: .utf8)
        let weights = directory.appendingPathComponent("weights.safetensors")
        try WeightsFile.encode(model, version: "runner").write(to: weights)
        try load(weights: weights, source)
    }

    /// The module's outputs for rows x (one sample of `extents` positions per row on a grid).
    public func forward(_ x: [Double], graph: Graph, batch: Int, extents: [Int] = [], single: Bool) throws -> [Double] {
        let file = try write(Table(rows: batch, columns: graph.input.dimension, values: x, extents: extents))
        let result = directory.appendingPathComponent("y\(files).npy")
        try request("forward \(single ? "f32" : "f64") \(file.path) \(result.path)")
        return try Npy.read(Data(contentsOf: result), name: result.path).values
    }

    /// d/dtheta of sum(f(x) * cotangent) by torch.autograd in float64, theta in the weights file's order.
    public func gradient(_ x: [Double], cotangent: [Double], graph: Graph, batch: Int, extents: [Int] = []) throws -> [Double] {
        let file = try write(Table(rows: batch, columns: graph.input.dimension, values: x, extents: extents))
        let outExtents = graph.outputExtents(extents) ?? []
        let weights = try write(Table(rows: batch, columns: graph.output.dimension, values: cotangent, extents: outExtents))
        let result = directory.appendingPathComponent("g\(files).npy")
        try request("gradient \(file.path) \(weights.path) \(result.path)")
        return try Npy.read(Data(contentsOf: result), name: result.path).values
    }

    /// A network on point clouds: the module's outputs for the clouds, and by torch.autograd in float64
    /// the gradient of sum(outputs * cotangent) with respect to theta (the weights file's order) and to the positions.
    public func cloud(_ x: [Double], positions: [Double], counts: [Int], graph: Graph, cotangent: [Double], single: Bool) throws
        -> (output: [Double], theta: [Double], positions: [Double]) {
        let total = counts.reduce(0, +), d = graph.points?.dimension ?? 1
        let files = [try write(Table(rows: total, columns: graph.input.dimension, values: x)),
                     try write(Table(rows: total, columns: d, values: positions)),
                     try write(Table(rows: counts.count, columns: 1, values: counts.map(Double.init))),
                     try write(Table(rows: cotangent.count / max(1, graph.output.dimension), columns: graph.output.dimension, values: cotangent))]
        let results = ["y", "gt", "gp"].map { directory.appendingPathComponent("\($0)\(self.files).npy") }
        try request("cloud \(single ? "f32" : "f64") " + (files + results).map(\.path).joined(separator: " "))
        let read = { (url: URL) in try Npy.read(Data(contentsOf: url), name: url.path).values }
        return (try read(results[0]), try read(results[1]), try read(results[2]))
    }

    /// Training on forces through the module: d/dtheta of sum(c * dE/dpositions), E the sum of the
    /// outputs, by torch.autograd's double backward (create_graph=True), in float64.
    public func forceGradient(_ x: [Double], positions: [Double], counts: [Int], graph: Graph, cotangent: [Double]) throws -> [Double] {
        let total = counts.reduce(0, +), d = graph.points?.dimension ?? 1
        let files = [try write(Table(rows: total, columns: graph.input.dimension, values: x)),
                     try write(Table(rows: total, columns: d, values: positions)),
                     try write(Table(rows: counts.count, columns: 1, values: counts.map(Double.init))),
                     try write(Table(rows: total, columns: d, values: cotangent))]
        let result = directory.appendingPathComponent("fg\(self.files).npy")
        try request("forcegradient " + (files + [result]).map(\.path).joined(separator: " "))
        return try Npy.read(Data(contentsOf: result), name: result.path).values
    }

    /// The float64 module's weights, written by its save_safetensors.
    public func save(to url: URL) throws {
        try request("save \(url.path)")
    }

    /// Loads the module written for `source` with a weights file (which it may refuse).
    public func load(weights url: URL, _ source: PyTorchBackend.Source) throws {
        try request("load \(directory.path) \(source.name) \(source.className) \(url.path)")
    }

    private func write(_ table: Table) throws -> URL {
        files += 1
        let url = directory.appendingPathComponent("a\(files).npy")
        try Npy.write(table).write(to: url)
        return url
    }

    private func request(_ line: String) throws {
        try input.write(contentsOf: Data((line + "\n").utf8))
        let answer = try readLine()
        guard answer == "ok" else { throw Failure(description: "PyTorch: \(answer)") }
    }

    private func readLine() throws -> String {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending = Data(pending[(newline + 1)...])
                return line
            }
            let chunk = output.availableData
            guard !chunk.isEmpty else { throw Failure(description: "\(PyTorchRunner.python) exited (is torch installed for it?)") }
            pending += chunk
        }
    }

    static let server = #"""
import copy
import importlib.util
import sys
import traceback

try:
    import numpy as np
    import torch
except Exception as e:  # reported to the caller, which says what is missing
    print(f"error: {type(e).__name__}: {e}", flush=True)
    sys.exit(0)
print(f"ready torch {torch.__version__}", flush=True)
models, loaded = {}, []
for line in sys.stdin:
    words = line.split()
    try:
        if not words or words[0] == "quit":
            break
        if words[0] == "load":
            directory, module, name, weights = words[1:5]
            # By path, under a fresh name: two networks may share a file name.
            spec = importlib.util.spec_from_file_location(f"{module}_{len(loaded)}", f"{directory}/{module}.py")
            loaded.append(importlib.util.module_from_spec(spec))
            spec.loader.exec_module(loaded[-1])
            cls = getattr(loaded[-1], name)
            # Inference (eval mode: batchnorm by its running statistics), as `eqnnc run`.
            models = {"f64": cls().double().load_safetensors(weights).eval(), "f32": cls().load_safetensors(weights).eval()}
        elif words[0] == "forward":
            precision, x, out = words[1:4]
            dtype = torch.float64 if precision == "f64" else torch.float32
            with torch.no_grad():
                y = models[precision](torch.from_numpy(np.load(x)).to(dtype))
            np.save(out, y.double().numpy())
        elif words[0] == "cloud":
            precision, x, positions, counts, cotangent, out, theta_out, positions_out = words[1:9]
            dtype = torch.float64 if precision == "f64" else torch.float32
            x, counts = torch.from_numpy(np.load(x)).to(dtype), torch.from_numpy(np.load(counts)).long().reshape(-1)
            positions = torch.from_numpy(np.load(positions)).to(dtype)
            with torch.no_grad():
                y = models[precision](x, positions, counts)
            np.save(out, y.double().numpy())
            model = copy.deepcopy(models["f64"]).train()
            model.zero_grad()
            where = positions.double().clone().requires_grad_(True)
            y = model(x.double(), where, counts)
            (y * torch.from_numpy(np.load(cotangent)).reshape(y.shape)).sum().backward()
            grads = [model.get_parameter(n).grad for n, _ in model.PARAMETERS]
            g = torch.cat([(g if g is not None else torch.zeros_like(model.get_parameter(n))).reshape(-1)
                           for g, (n, _) in zip(grads, model.PARAMETERS)])
            np.save(theta_out, g.numpy().reshape(1, -1))
            np.save(positions_out, where.grad.numpy())
        elif words[0] == "forcegradient":
            x, positions, counts, cotangent, out = words[1:6]
            model = copy.deepcopy(models["f64"]).train()
            model.zero_grad()
            where = torch.from_numpy(np.load(positions)).double().requires_grad_(True)
            energy = model(torch.from_numpy(np.load(x)).double(), where, torch.from_numpy(np.load(counts)).long().reshape(-1)).sum()
            (gradient,) = torch.autograd.grad(energy, where, create_graph=True)
            (gradient * torch.from_numpy(np.load(cotangent)).reshape(gradient.shape)).sum().backward()
            g = torch.cat([(model.get_parameter(n).grad if model.get_parameter(n).grad is not None
                            else torch.zeros_like(model.get_parameter(n))).reshape(-1) for n, _ in model.PARAMETERS])
            np.save(out, g.numpy().reshape(1, -1))
        elif words[0] == "save":
            models["f64"].save_safetensors(words[1])
        elif words[0] == "gradient":
            x, cotangent, out = words[1:4]
            # Training mode (batchnorm by the batch's statistics), on a copy: its running statistics move.
            model = copy.deepcopy(models["f64"]).train()
            model.zero_grad()
            y = model(torch.from_numpy(np.load(x)).double())
            (y * torch.from_numpy(np.load(cotangent)).reshape(y.shape)).sum().backward()
            grads = [model.get_parameter(n).grad for n, _ in model.PARAMETERS]
            g = torch.cat([(g if g is not None else torch.zeros_like(model.get_parameter(n))).reshape(-1)
                           for g, (n, _) in zip(grads, model.PARAMETERS)])
            np.save(out, g.numpy().reshape(1, -1))
        print("ok", flush=True)
    except Exception:
        print("error " + traceback.format_exc().replace("\n", " | "), flush=True)
"""#
}
