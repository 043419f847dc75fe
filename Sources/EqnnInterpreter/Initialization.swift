import EqnnIR
import EqnnLinearAlgebra

/// The initial parameters: theta drawn run by run as `Graph.initialScales`
/// prescribes (biases at zero), from SplitMix64, deterministic for a seed.
public enum Initialization {
    public static func parameters(for graph: Graph, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        var theta = [Double](repeating: 0, count: graph.parameterCount)
        for run in graph.initialScales {
            for k in run.offset..<(run.offset + run.count) { theta[k] = run.mean + run.standardDeviation * rng.nextNormal() }
        }
        return theta
    }
}
