import EqnnData
import EqnnIR
import EqnnInterpreter
import Foundation
#if canImport(Glibc)
import Glibc
private let RLIMIT_AS_VALUE = Int32(RLIMIT_AS.rawValue)
#elseif canImport(Darwin)
import Darwin
private let RLIMIT_AS_VALUE = RLIMIT_AS
#endif

/// What a command will hold in memory, estimated before it allocates: a run
/// that cannot fit is refused with the estimate and the limit, instead of
/// dying in the allocator.
enum MemoryBudget {
    /// Three quarters of the memory the process may use: the machine's, the
    /// address-space limit (ulimit -v) and the cgroup's (a container's) whichever
    /// is least; EQNNC_MEMORY_LIMIT, in bytes, overrides it.
    static var limit: Double { bound.bytes }

    /// The limit and where it comes from.
    static var bound: (bytes: Double, source: String) {
        if let text = ProcessInfo.processInfo.environment["EQNNC_MEMORY_LIMIT"], let bytes = Double(text) { return (bytes, "EQNNC_MEMORY_LIMIT") }
        var candidates: [(Double, String)] = [(Double(ProcessInfo.processInfo.physicalMemory), "this machine's memory")]
        var limit = rlimit()
        if getrlimit(RLIMIT_AS_VALUE, &limit) == 0, limit.rlim_cur != rlim_t.max {  // RLIM_INFINITY
            candidates.append((Double(limit.rlim_cur), "the process's address-space limit (ulimit -v)"))
        }
        for file in cgroupLimitFiles {
            // "max" (or a huge number) means none.
            if let text = try? String(contentsOfFile: file, encoding: .utf8), let bytes = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)),
               bytes < 1e18 {
                candidates.append((bytes, "the cgroup's memory limit (\(file))"))
            }
        }
        let least = candidates.min { $0.0 < $1.0 } ?? candidates[0]
        return (0.75 * least.0, "three quarters of \(least.1)")
    }

    /// Values held per sample by a forward pass that keeps every op's output
    /// (the tape of training), and by one that keeps two at a time.
    static func valuesPerSample(_ graph: Graph, positions: Int, tape: Bool) -> Double {
        let widths = [graph.input.dimension] + graph.ops.map { max($0.inputDimension, $0.outputDimension) }
        let total = tape ? widths.reduce(0, +) : 2 * (widths.max() ?? 0)
        return Double(total) * Double(max(1, positions))
    }

    /// Running a model on all of `x` (run, evaluate): the outputs, kept twice
    /// while written, and one chunk of samples' intermediate values.
    static func checkOutputs(_ compiled: Compiled, _ model: Model, _ x: Table, what: String) throws {
        let positions = x.extents.reduce(1, *)
        let outValues = Double(x.rows) * Double(compiled.graph.outputPositions(x.extents)) * Double(compiled.graph.output.dimension)
        let chunk = 8 * valuesPerSample(compiled.graph, positions: positions, tape: false)
            * Double(min(x.rows, model.samplesPerChunk(positions: positions)))
        try check(2 * 8 * outValues + chunk, what, hint: "split the data into several files")
    }

    /// The memory-limit files of the process's cgroup (v2 and v1), at the mount's
    /// root and at the process's own path (/proc/self/cgroup).
    static var cgroupLimitFiles: [String] {
        var files = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        let lines = ((try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? "").split(separator: "\n")
        for line in lines {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, fields[2].hasPrefix("/"), fields[2] != "/" else { continue }
            if fields[0] == "0" { files.append("/sys/fs/cgroup\(fields[2])/memory.max") }
            if fields[1].split(separator: ",").contains("memory") { files.append("/sys/fs/cgroup/memory\(fields[2])/memory.limit_in_bytes") }
        }
        return files
    }

    /// Throws with `hint` when `bytes` is over the limit.
    static func check(_ bytes: Double, _ what: String, hint: String) throws {
        let bound = self.bound
        guard bytes > bound.bytes else { return }
        throw CommandResult(stderr: "eqnnc: error: \(what) would need about \(text(bytes)) of memory, over the limit of \(text(bound.bytes)) (\(bound.source)); \(hint)\n", status: 1)
    }

    /// "12.3 GB".
    static func text(_ bytes: Double) -> String {
        bytes >= 1e9 ? String(format: "%.1f GB", bytes / 1e9) : String(format: "%.0f MB", bytes / 1e6)
    }
}
