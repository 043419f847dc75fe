import EqnnDiagnostics
import EqnnGroups
import EqnnIR

/// The result of checking: every network that checked without errors,
/// with its layers' representations and parameter counts.
public struct CheckedProgram: Sendable {
    public var networks: [CheckedNetwork]
}

public struct CheckedNetwork: Sendable {
    public var name: String
    public var group: Group
    /// The input first, then the hidden layers, then the output.
    public var layers: [CheckedLayer]
    /// The grid of a grid network (its group is then the point group).
    public var domain: GridDomain? = nil
    /// How the group rotates the grid when its rotations leave the pixel
    /// lattice (C(n), D(n), SO(2), O(2) on a 2-D grid): convolutions then use
    /// sampled steerable kernels (LayerMaps).
    public var planar: PlanarAction? = nil
    /// The space of a network on point clouds (then `domain` is nil).
    public var points: PointDomain? = nil

    public var totalWeights: Int { layers.reduce(0) { $0 + $1.weights + $1.bilinearWeights + ($1.message?.radialParameters ?? 0) } }
    public var totalBias: Int { layers.reduce(0) { $0 + $1.bias } }
    public var totalNormalization: Int { layers.reduce(0) { $0 + ($1.batchNorm ?? 0) } }
    public var totalParameters: Int { totalWeights + totalBias + totalNormalization }
    /// A dense MLP with the same widths: in*out weights and out biases per layer (none for the input).
    public var denseParameters: Int { layers.reduce(0) { $0 + ($1.role == .input ? 0 : $1.denseWeights + $1.outDimension) } }
}

public struct CheckedLayer: Sendable {
    public var role: LayerRole
    public var rep: Rep
    public var activation: Activation?
    /// Extra invariant channels the linear map produces for `gated`.
    public var gates: Int
    public var dimension: Int
    /// Input and output dimension of the linear map into this layer (0 for the input layer).
    public var inDimension: Int
    public var outDimension: Int
    /// Dimension of Hom_G(previous, this + gates): the number of weight parameters.
    public var weights: Int
    public var denseWeights: Int
    /// Dimension of the invariant subspace of this + gates: the number of bias parameters.
    public var bias: Int
    /// Grid networks: the kernel size of the convolution into this layer
    /// (1 for a layer without `kernel`, nil off the grid and for the input),
    /// and the pooling after its activation.
    public var kernel: Int? = nil
    public var pool: Pooling? = nil
    /// `band F`: the highest angular frequency of the layer's steerable kernel (nil: the rings' limits).
    public var band: Int? = nil
    /// Point clouds: `message R` (with its `degree` and `radial`), nil otherwise.
    /// `weights` then counts the linear map from the layer before and the
    /// messages; the radial network's parameters are the message's own.
    public var message: CheckedMessage? = nil
    /// Whether the layer has the bilinear feature (`: gated + bilinear`).
    public var hasBilinear = false
    /// The learned coefficients of the bilinear feature (0 without it).
    public var bilinearWeights = 0
    /// With `+ batchnorm`: its learned scales and shifts (one scale per summand
    /// copy, one shift per centred copy); nil without it.
    public var batchNorm: Int? = nil
    public var span: Span
}
