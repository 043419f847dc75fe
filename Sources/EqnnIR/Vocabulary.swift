/// The words every stage shares: one enum per concept, defined here, in the
/// contract between the checker and the back ends.

/// The activations a hidden layer may use. The pointwise ones become a
/// `pointwise` op; `gated` and `norm` become ops of their own.
public enum Activation: String, CaseIterable, Sendable {
    case relu, leakyRelu = "leaky_relu", tanh, sigmoid, silu, gelu, softplus, identity, gated, norm

    /// Accepted spellings, including aliases.
    public static func named(_ text: String) -> Activation? {
        text == "swish" ? .silu : Activation(rawValue: text)
    }

    public static var spellings: [String] { allCases.map(\.rawValue) + ["swish"] }

    /// Applied coordinate by coordinate (everything but gated and norm).
    public var isPointwise: Bool { self != .gated && self != .norm }
}

/// Where a layer sits in a network.
public enum LayerRole: String, Sendable {
    case input, hidden, output
}
