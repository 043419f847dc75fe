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

    /// leaky_relu(x) = x for x > 0, else leakySlope * x (PyTorch's default slope).
    public static let leakySlope = 0.01
    /// softplus(x) = log(1 + e^x), and x itself above this (where they agree in float64; PyTorch's threshold=30).
    public static let softplusThreshold = 30.0
}

/// The floating-point precision of generated code and of training.
public enum Precision: String, Sendable {
    case f32, f64
}

/// Where a layer sits in a network.
public enum LayerRole: String, Sendable {
    case input, hidden, output
}

/// The pixel grid the fields of a grid network live on: `on grid(d)` pads
/// with zeros, `on torus(d)` wraps around. Its extents are not part of the
/// network: one network runs on images of any size.
public struct GridDomain: Sendable, Equatable, Hashable {
    public enum Padding: String, Sendable { case zero, circular }
    public var dimension: Int
    public var padding: Padding
    /// Where the group rotates the plane off the pixel lattice (C(n), D(n) for n
    /// not dividing 4, SO(2), O(2)): the subgroup whose elements map pixels to
    /// pixels, e.g. "C(4)", for which the sampled steerable kernels are exact;
    /// the other elements hold up to the sampling. nil where every element maps
    /// the grid to itself and the network is exact.
    public var exactFor: String?

    public init(dimension: Int, padding: Padding, exactFor: String? = nil) {
        self.dimension = dimension
        self.padding = padding
        self.exactFor = exactFor
    }

    /// How the source writes it: "grid(2)" or "torus(2)".
    public var description: String { "\(padding == .zero ? "grid" : "torus")(\(dimension))" }
}

/// The space of a network on point clouds, `on points(d)`: a sample is any
/// number of points, each with a position in R^d, on which the group's factor
/// `factor` acts by its V (an orthogonal one, so distances are invariant), and
/// a vector of the layer's representation. Every op but `message` and `pool`
/// acts on each point alone; only differences of positions enter.
public struct PointDomain: Sendable, Equatable, Hashable {
    public var dimension: Int
    public var factor: Int

    public init(dimension: Int, factor: Int) {
        self.dimension = dimension
        self.factor = factor
    }

    /// How the source writes it: "points(3)".
    public var description: String { "points(\(dimension))" }
}

/// Pooling after a layer's activation on a grid or a point cloud.
public enum Pooling: Sendable, Equatable, Hashable {
    /// Means over blocks of size^d positions: the extents shrink by `size`.
    case mean(Int)
    /// The mean over all positions (or points): one vector per sample, invariant to translations.
    case global
    /// The sum over all points of a point cloud (`pool sum`): extensive, as an energy is.
    case sum

    /// "pool 2" or "pool global".
    public var description: String {
        switch self {
        case .mean(let size): return "pool \(size)"
        case .global: return "pool global"
        case .sum: return "pool sum"
        }
    }
}
