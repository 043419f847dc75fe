import EqnnIR
import EqnnInterpreter
import EqnnLinearAlgebra
import XCTest

/// Models for comparing back ends, and the comparison.
public enum TestModels {
    /// Weights a trained model could have: noise on every coefficient (biases
    /// too) and a normalizer that shifts scalars and scales every block.
    public static func model(_ graph: Graph, seed: UInt64) -> Model {
        var rng = SplitMix64(seed: seed)
        var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: seed).map { $0 + 0.1 * rng.nextNormal() })
        for (layout, isInput) in [(graph.input, true), (graph.output, false)] {
            for block in layout.blocks {
                let scale = 0.5 + rng.nextUniform(), shift = block.isScalar ? rng.nextNormal() : 0
                for i in block.offset..<(block.offset + block.length) {
                    if isInput { model.normalizer.inputScale[i] = scale; model.normalizer.inputShift[i] = shift }
                    else { model.normalizer.outputScale[i] = scale; model.normalizer.outputShift[i] = shift }
                }
            }
        }
        return model
    }

    /// Two S(1000) networks beside the examples: pair bases large enough to run as
    /// gathers and sums where a back end keeps them structured (the identity and
    /// the all-ones matrix of S(1000), uneven terms), and a norm nonlinearity.
    public static let wideNetworks = """
        group G = S(1000)
        network Wide over G {
          input  V
          layer  5*V + 2*Scalar : relu
          output Scalar
        }
        network Normed over G {
          input  V
          layer  2*V + Scalar : norm
          output Scalar
        }
        """

    /// Largest difference relative to the largest reference value, or to `floor` when that is larger.
    public static func relativeError(_ a: [Double], _ b: [Double], floor: Double = 1e-300) -> Double {
        XCTAssertEqual(a.count, b.count)
        let difference = zip(a, b).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
        return difference / max(b.reduce(0.0) { max($0, abs($1)) }, floor)
    }
}
