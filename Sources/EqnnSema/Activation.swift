import EqnnGroups
import EqnnIR

extension Activation {
    /// What a pointwise activation needs of the layer's matrices; nil for the
    /// activations that are not pointwise over all channels (gated, norm) and
    /// for identity, which is linear and commutes with every matrix.
    public var pointwiseRequirement: PointwiseRequirement? {
        switch self {
        case .relu, .leakyRelu, .sigmoid, .silu, .gelu, .softplus: return .permutation
        case .tanh: return .signedPermutation
        case .identity, .gated, .norm: return nil
        }
    }
}
