import EqnnGroups

/// The activations a hidden layer may use.
public enum Activation: String, CaseIterable, Sendable {
    case relu, leakyRelu = "leaky_relu", tanh, sigmoid, silu, gelu, softplus, identity, gated, norm

    /// Accepted spellings, including aliases.
    public static func named(_ text: String) -> Activation? {
        text == "swish" ? .silu : Activation(rawValue: text)
    }

    public static var spellings: [String] { allCases.map(\.rawValue) + ["swish"] }

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
