import EqnnIR
import EqnnLinearAlgebra

/// The initial parameters. Every basis matrix B_k has unit Frobenius norm, so
/// with theta_k ~ N(0, s^2) the expanded W = sum_k theta_k B_k has
/// E |W|_F^2 = s^2 K for K basis matrices. Choosing s^2 = gain * out / K gives
/// E |W|_F^2 = gain * out, i.e. an average entry variance of gain / in, the
/// He (gain 2, before relu-like activations) or Glorot/LeCun (gain 1) scale,
/// so activations keep their scale through depth. Biases start at zero.
/// A bilinear coefficient starts at N(0, (0.1 / sqrt(f))^2), f the number of
/// (block, source) products feeding its output block, so W(h) h starts at
/// about a tenth of h (as in emlp) and the layer starts close to the identity.
public enum Initialization {
    public static func parameters(for graph: Graph, seed: UInt64) -> [Double] {
        var rng = SplitMix64(seed: seed)
        var theta = [Double](repeating: 0, count: graph.parameterCount)
        for op in graph.ops {
            switch op {
            case .linear(let l):
                let k = l.parameters.count
                guard k > 0 else { continue }
                let s = (l.gain * Double(l.basis.rows) / Double(k)).squareRoot()
                for j in 0..<k { theta[l.parameters.offset + j] = s * rng.nextNormal() }
            case .bilinear(let b):
                var fanIn: [Int: Int] = [:]
                for block in b.blocks { fanIn[block.outputOffset, default: 0] += block.sources.count }
                for block in b.blocks {
                    let s = 0.1 / Double(max(1, fanIn[block.outputOffset] ?? 1)).squareRoot()
                    for j in 0..<block.sources.count {
                        theta[b.parameters.offset + block.firstParameter + j] = s * rng.nextNormal()
                    }
                }
            default:
                continue
            }
        }
        return theta
    }
}
