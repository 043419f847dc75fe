import EqnnIR
import Foundation

/// What a command will hold in memory, estimated before it allocates: a run
/// that cannot fit is refused with the estimate and the limit, instead of
/// dying in the allocator.
enum MemoryBudget {
    /// Three quarters of the machine's memory (EQNNC_MEMORY_LIMIT, in bytes, overrides it).
    static var limit: Double {
        if let text = ProcessInfo.processInfo.environment["EQNNC_MEMORY_LIMIT"], let bytes = Double(text) { return bytes }
        return 0.75 * Double(ProcessInfo.processInfo.physicalMemory)
    }

    /// Values held per sample by a forward pass that keeps every op's output
    /// (the tape of training), and by one that keeps two at a time.
    static func valuesPerSample(_ graph: Graph, positions: Int, tape: Bool) -> Double {
        let widths = [graph.input.dimension] + graph.ops.map { max($0.inputDimension, $0.outputDimension) }
        let total = tape ? widths.reduce(0, +) : 2 * (widths.max() ?? 0)
        return Double(total) * Double(max(1, positions))
    }

    /// Throws with `hint` when `bytes` is over the limit.
    static func check(_ bytes: Double, _ what: String, hint: String) throws {
        guard bytes > limit else { return }
        throw CommandResult(stderr: "eqnnc: error: \(what) would need about \(text(bytes)) of memory, over the limit of \(text(limit)) (three quarters of this machine's); \(hint)\n", status: 1)
    }

    /// "12.3 GB".
    static func text(_ bytes: Double) -> String {
        bytes >= 1e9 ? String(format: "%.1f GB", bytes / 1e9) : String(format: "%.0f MB", bytes / 1e6)
    }
}
