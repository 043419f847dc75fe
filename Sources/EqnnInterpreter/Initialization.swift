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
            if let l = op.linearMap {
                let k = l.parameters.count
                guard k > 0 else { continue }
                let s = (l.gain * Double(l.outputDimension) / Double(k)).squareRoot()
                for j in 0..<k { theta[l.parameters.offset + j] = s * rng.nextNormal() }
                continue
            }
            switch op {
            case .bilinear(let b):
                // In parameter order: output summand, output copy, input summand, input copy, source.
                var k = 0
                while k < b.blocks.count {
                    let row = b.blocks[k...].prefix { $0.output == b.blocks[k].output }
                    let fanIn = row.reduce(0) { $0 + $1.input.copies * $1.sources.count }
                    let s = 0.1 / Double(max(1, fanIn)).squareRoot()
                    for o in 0..<b.blocks[k].output.copies {
                        for block in row {
                            for i in 0..<block.input.copies {
                                for j in 0..<block.sources.count {
                                    theta[b.parameters.offset + block.parameter(output: o, input: i, source: j)] = s * rng.nextNormal()
                                }
                            }
                        }
                    }
                    k += row.count
                }
            default:
                continue
            }
        }
        return theta
    }
}
