import EqnnCBackend
import Foundation

/// Compiles generated C with the system compiler ($CC, else cc) and runs it:
/// what `verify --backend c` and the tests use. With PyTorchRunner, the only places that start processes.
public struct CCompiler {
    public let directory: URL

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("eqnnc-c-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    public func cleanUp() {
        try? FileManager.default.removeItem(at: directory)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs a command; returns its standard output, or throws with its standard error.
    @discardableResult
    public static func execute(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting, so a full pipe cannot block the child.
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(arguments.joined(separator: " ")) failed (\(process.terminationStatus)):\n"
                          + String(decoding: error + output, as: UTF8.self))
        }
        return String(decoding: output, as: UTF8.self)
    }

    public static var compiler: String { ProcessInfo.processInfo.environment["CC"] ?? "cc" }

    /// Writes the sources and a small driver program into the subfolder `tag`, and builds them.
    /// The driver reads float64 rows from a file, runs forward, writes float64 rows;
    /// with theta and normalizer files it uses `init` instead of the baked weights. For a grid
    /// network it reads the extents and the output positions from EQNNC_EXTENTS ("8,8") and
    /// EQNNC_OUTPUT_POSITIONS, and allocates the workspace the header asks for.
    public func build(_ source: CBackend.Source, flags: [String], tag: String) throws -> URL {
        let p = source.name
        let directory = self.directory.appendingPathComponent(tag)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try source.header.write(to: directory.appendingPathComponent("\(p).h"), atomically: true, encoding: .utf8)
        try source.implementation.write(to: directory.appendingPathComponent("\(p).c"), atomically: true, encoding: .utf8)
        let main = """
        #include <stdio.h>
        #include <stdlib.h>
        #include "\(p).h"

        static double *read_all(const char *path, size_t *count) {
            FILE *file = fopen(path, "rb");
            long size;
            double *data;
            if (!file) { perror(path); exit(2); }
            fseek(file, 0, SEEK_END);
            size = ftell(file);
            fseek(file, 0, SEEK_SET);
            data = malloc((size_t)size + sizeof(double));
            *count = fread(data, sizeof(double), (size_t)size / sizeof(double), file);
            fclose(file);
            return data;
        }

        static \(p)_real *convert(const double *values, size_t count) {
            \(p)_real *out = malloc((count + 1) * sizeof(\(p)_real));
            size_t i;
            for (i = 0; i < count; ++i) out[i] = (\(p)_real)values[i];
            return out;
        }

        int main(int argc, char **argv) {
            size_t count, batch, i;
            double *input = read_all(argv[1], &count);
            \(p)_real *x = convert(input, count), *y;
            const \(p)_model *model = \(p)_baked();
            \(p)_model *own = NULL;
            FILE *file;
            batch = count / \(p.uppercased())_INPUT_DIM;
            y = malloc((batch * \(p.uppercased())_OUTPUT_DIM + 1) * sizeof(\(p)_real));
            if (argc > 4) {
                size_t nt, nn;
                double *theta = read_all(argv[3], &nt), *normalizer = read_all(argv[4], &nn);
                \(p)_real *t = convert(theta, nt), *n = convert(normalizer, nn);
                own = malloc(sizeof *own);
                \(p)_init(own, t, n);
                model = own;
                free(theta); free(normalizer); free(t); free(n);
            }
            \(forwardCall(source))
            file = fopen(argv[2], "wb");
            if (!file) { perror(argv[2]); return 2; }
            for (i = 0; i < batch * \(p.uppercased())_OUTPUT_DIM; ++i) {
                double v = (double)y[i];
                fwrite(&v, sizeof v, 1, file);
            }
            fclose(file);
            free(input); free(x); free(y); free(own);
            return 0;
        }

        """
        try main.write(to: directory.appendingPathComponent("\(p)_main.c"), atomically: true, encoding: .utf8)
        let binary = directory.appendingPathComponent("\(p)_driver")
        try CCompiler.execute([CCompiler.compiler] + flags + ["-o", binary.path,
                                                              directory.appendingPathComponent("\(p).c").path,
                                                              directory.appendingPathComponent("\(p)_main.c").path, "-lm"])
        return binary
    }

    /// How the driver calls forward: rows, grids of the extents in the environment, or point
    /// clouds whose positions and counts are files named in the environment.
    func forwardCall(_ source: CBackend.Source) -> String {
        let p = source.name, P = p.uppercased()
        if source.pointAxes > 0 {
            return """
            {
                    size_t np, nc, samples, s, total = 0, most = 0, rows;
                    double *where = read_all(getenv("EQNNC_POSITIONS"), &np), *counted = read_all(getenv("EQNNC_COUNTS"), &nc);
                    \(p)_real *positions = convert(where, np);
                    size_t *counts = malloc((nc + 1) * sizeof *counts);
                    void *workspace;
                    samples = nc;
                    for (s = 0; s < samples; ++s) {
                        counts[s] = (size_t)counted[s];
                        total += counts[s];
                        if (counts[s] > most) most = counts[s];
                    }
                    rows = getenv("EQNNC_POOLED") ? samples : total;
                    free(y);
                    y = malloc((rows * \(P)_OUTPUT_DIM + 1) * sizeof(\(p)_real));
                    workspace = malloc(\(p)_workspace_bytes(most) + 1);
                    if (\(p)_forward(model, positions, x, counts, samples, y, workspace) != 0) { fprintf(stderr, "no workspace\\n"); return 3; }
                    free(workspace); free(where); free(counted); free(positions); free(counts);
                    batch = rows;
                }
            """
        }
        guard source.gridAxes > 0 else { return "\(p)_forward(model, x, y, batch);" }
        return """
        {
                size_t extents[\(P)_GRID_AXES], positions = 1, outputs = (size_t)atol(getenv("EQNNC_OUTPUT_POSITIONS"));
                const char *text = getenv("EQNNC_EXTENTS");
                \(p)_real *workspace;
                int a;
                for (a = 0; a < \(P)_GRID_AXES; ++a) {
                    extents[a] = (size_t)strtol(text, (char **)&text, 10);
                    positions *= extents[a];
                    if (*text == ',') ++text;
                }
                batch = count / (\(P)_INPUT_DIM * positions);
                free(y);
                y = malloc((batch * outputs * \(P)_OUTPUT_DIM + 1) * sizeof(\(p)_real));
                workspace = malloc((\(p)_workspace_size(extents) + 1) * sizeof(\(p)_real));
                if (\(p)_forward(model, x, y, batch, extents, workspace) != 0) { fprintf(stderr, "bad extents\\n"); return 3; }
                free(workspace);
                batch *= outputs;
            }
        """
    }

    /// Runs a built driver on rows of input; optionally with theta and normalizer for `init`;
    /// for a grid network, on samples of `extents` positions with `outputPositions` each out.
    public func run(_ binary: URL, input: [Double], theta: [Double]? = nil, normalizer: [Double]? = nil,
                    extents: [Int] = [], outputPositions: Int = 1, points: (positions: [Double], counts: [Int], pooled: Bool)? = nil) throws -> [Double] {
        let inURL = directory.appendingPathComponent("in-\(UUID().uuidString).bin")
        let outURL = directory.appendingPathComponent("out-\(UUID().uuidString).bin")
        try CCompiler.bytes(input).write(to: inURL)
        var arguments = [binary.path, inURL.path, outURL.path]
        if let theta, let normalizer {
            let t = directory.appendingPathComponent("theta.bin"), n = directory.appendingPathComponent("normalizer.bin")
            try CCompiler.bytes(theta).write(to: t)
            try CCompiler.bytes(normalizer).write(to: n)
            arguments += [t.path, n.path]
        }
        var environment: [String: String]? = nil
        if !extents.isEmpty {
            environment = ProcessInfo.processInfo.environment
            environment?["EQNNC_EXTENTS"] = extents.map(String.init).joined(separator: ",")
            environment?["EQNNC_OUTPUT_POSITIONS"] = "\(outputPositions)"
        }
        if let points {
            let p = directory.appendingPathComponent("positions-\(UUID().uuidString).bin"), c = directory.appendingPathComponent("counts-\(UUID().uuidString).bin")
            try CCompiler.bytes(points.positions).write(to: p)
            try CCompiler.bytes(points.counts.map(Double.init)).write(to: c)
            environment = ProcessInfo.processInfo.environment
            environment?["EQNNC_POSITIONS"] = p.path
            environment?["EQNNC_COUNTS"] = c.path
            if points.pooled { environment?["EQNNC_POOLED"] = "1" }
        }
        try CCompiler.execute(arguments, environment: environment)
        let data = try Data(contentsOf: outURL)
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 8)).map { Double(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }
    }

    static func bytes(_ values: [Double]) -> Data {
        var data = Data(capacity: values.count * 8)
        for v in values { withUnsafeBytes(of: v.bitPattern) { data.append(contentsOf: $0) } }
        return data
    }
}
