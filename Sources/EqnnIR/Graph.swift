/// The graph IR: what every backend consumes. Plain data: a chain of typed
/// ops on one vector per sample, each annotated with the representation of
/// its output. Parameters are one flat vector theta; every op that learns
/// owns a slice of it. Format documented in docs/graph-ir.md.
public struct Graph: Sendable, Equatable {
    public static let formatVersion = 2

    public var network: String
    /// The group in canonical names (`S(5) x O(3)`), and as the source wrote it.
    public var group: String
    public var groupAsWritten: String
    /// The layers as checked: what the headers of generated code and the weights files describe.
    public var layers: [LayerSummary]
    public var input: Layout
    public var output: Layout
    public var ops: [Op]
    public var parameterCount: Int
    /// FNV-1a 64 of the canonical structure (ops, shapes, bases): weights made
    /// for another structure are refused.
    public var structureHash: String
    /// The grid of a grid network (nil otherwise). Then every op but
    /// `convolution` and `pool` acts on each position alone, and data carry
    /// one vector per position: (samples, extents..., channels).
    public var domain: GridDomain? = nil
    /// The space of a network on point clouds (nil otherwise). Then every op but
    /// `message` and `pool` acts on each point alone, and data carry one vector
    /// per point, with the points' positions and each sample's count beside them.
    public var points: PointDomain? = nil

    public init(network: String, group: String, groupAsWritten: String, layers: [LayerSummary], input: Layout, output: Layout, ops: [Op], parameterCount: Int, structureHash: String) {
        self.network = network
        self.group = group
        self.groupAsWritten = groupAsWritten
        self.layers = layers
        self.input = input
        self.output = output
        self.ops = ops
        self.parameterCount = parameterCount
        self.structureHash = structureHash
    }
}

/// One layer of the network as written: its representation, dimension, activation.
public struct LayerSummary: Sendable, Equatable {
    public var role: LayerRole
    public var representation: String
    public var dimension: Int
    public var activation: Activation?
    public var bilinear: Bool
    /// Grid networks: the kernel size of the layer's convolution, and its pooling.
    public var kernel: Int?
    public var pool: Pooling?
    public var batchNorm: Bool

    public init(role: LayerRole, representation: String, dimension: Int, activation: Activation?, bilinear: Bool,
                kernel: Int? = nil, pool: Pooling? = nil, batchNorm: Bool = false) {
        self.role = role
        self.representation = representation
        self.dimension = dimension
        self.activation = activation
        self.bilinear = bilinear
        self.kernel = kernel
        self.pool = pool
        self.batchNorm = batchNorm
    }

    /// "64*Scalar + 32*V (160) : gated + bilinear", "8*Regular (64) : relu + batchnorm kernel 3 pool 2".
    public var description: String {
        "\(representation) (\(dimension))" + (activation.map { " : \($0.rawValue)" } ?? "") + (bilinear ? " + bilinear" : "")
            + (batchNorm ? " + batchnorm" : "")
            + (kernel.map { " kernel \($0)" } ?? "") + (pool.map { " " + $0.description } ?? "")
    }
}

/// Where each summand copy of a representation sits.
public struct Layout: Sendable, Equatable {
    public var representation: String
    public var dimension: Int
    public var blocks: [LayoutBlock]

    public init(representation: String, dimension: Int, blocks: [LayoutBlock]) {
        self.representation = representation
        self.dimension = dimension
        self.blocks = blocks
    }
}

public struct LayoutBlock: Sendable, Equatable {
    public var name: String
    public var offset: Int
    public var length: Int
    /// The trivial representation: these coordinates are invariants.
    public var isScalar: Bool

    public init(name: String, offset: Int, length: Int, isScalar: Bool) {
        self.name = name
        self.offset = offset
        self.length = length
        self.isScalar = isScalar
    }
}

/// A contiguous slice of theta.
public struct ParameterSlice: Sendable, Equatable {
    public var name: String
    public var offset: Int
    public var count: Int

    public init(name: String, offset: Int, count: Int) {
        self.name = name
        self.offset = offset
        self.count = count
    }
}

/// Sparse basis matrices B_k (k < count), stored as concatenated entry lists:
/// matrix k has entries starts[k] ..< starts[k + 1]. Values are normalized so
/// that every B_k has unit Frobenius norm.
public struct SparseBasis: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var starts: [Int]
    public var entryRows: [Int]
    public var entryColumns: [Int]
    public var values: [Double]

    public var count: Int { starts.count - 1 }
    public var entryCount: Int { values.count }

    /// Every matrix written out: one count x (rows * columns) row-major array.
    public var denseMatrices: [Double] {
        let size = rows * columns
        var dense = [Double](repeating: 0, count: count * size)
        for j in 0..<count {
            for e in starts[j]..<starts[j + 1] { dense[j * size + entryRows[e] * columns + entryColumns[e]] += values[e] }
        }
        return dense
    }

    /// sum_k theta[offset + k] B_k as a dense array: (columns x rows) when
    /// transposed (input-major, as the backends multiply), else (rows x columns).
    /// Inlinable, so that the interpreter's calls are specialized to its precision.
    @inlinable
    public func expanded<T: BinaryFloatingPoint>(_ theta: [Double], offset: Int, transposed: Bool, as: T.Type = Double.self) -> [T] {
        var out = [T](repeating: 0, count: rows * columns)
        for k in 0..<count {
            let coefficient = theta[offset + k]
            if coefficient == 0 { continue }
            for e in starts[k]..<starts[k + 1] {
                let index = transposed ? entryColumns[e] * rows + entryRows[e] : entryRows[e] * columns + entryColumns[e]
                out[index] += T(coefficient * values[e])
            }
        }
        return out
    }

    public init(rows: Int, columns: Int, starts: [Int], entryRows: [Int], entryColumns: [Int], values: [Double]) {
        self.rows = rows
        self.columns = columns
        self.starts = starts
        self.entryRows = entryRows
        self.entryColumns = entryColumns
        self.values = values
    }
}

/// One op of the chain.
public enum Op: Sendable, Equatable {
    /// y = W x with W = sum_k theta_k B_k.
    case linear(Linear)
    /// y = x + sum_k theta_k b_k.
    case bias(Bias)
    /// y = x + W(x) x, W(x) filled block by block from copies inside x.
    case bilinear(Bilinear)
    /// y_i = f(x_i) for every coordinate.
    case pointwise(Pointwise)
    /// Non-scalar blocks times sigmoid of their gate; scalars through silu; gates dropped.
    case gate(Gate)
    /// Non-scalar blocks x -> x * sigmoid(|x|); scalars through silu.
    case norm(Norm)
    /// Grid networks: at every position, the neighbours' channels through a linear op.
    case convolution(Convolution)
    /// Grid networks: means over blocks of positions, or over all of them.
    case pool(Pool)
    /// Batch normalization per field (summand copy), before the activation.
    case batchNorm(BatchNorm)
    /// Point clouds: each point's vector and the messages from its neighbours.
    case message(Message)

    public var outputDimension: Int {
        switch self {
        case .linear(let l): return l.outputDimension
        case .bias(let b): return b.basis.rows
        case .bilinear(let b): return b.dimension
        case .pointwise(let p): return p.dimension
        case .gate(let g): return g.outputDimension
        case .norm(let n): return n.dimension
        case .convolution(let c): return c.linear.outputDimension
        case .pool(let p): return p.channels
        case .batchNorm(let b): return b.dimension
        case .message(let m): return m.outputDimension
        }
    }

    public var inputDimension: Int {
        switch self {
        case .linear(let l): return l.inputDimension
        case .convolution(let c): return c.channels
        case .message(let m): return m.channels
        case .gate(let g): return g.inputDimension
        default: return outputDimension
        }
    }

    public var representation: String {
        switch self {
        case .linear(let l): return l.representation
        case .bias(let b): return b.representation
        case .bilinear(let b): return b.representation
        case .pointwise(let p): return p.representation
        case .gate(let g): return g.representation
        case .norm(let n): return n.representation
        case .convolution(let c): return c.linear.representation
        case .pool(let p): return p.representation
        case .batchNorm(let b): return b.representation
        case .message(let m): return m.representation
        }
    }
}

extension Op {
    /// The linear map of a linear op or of a convolution (whose input is the neighbourhood).
    /// The op's name in the graph's JSON ("linear", "convolution", ...).
    public var name: String {
        switch self {
        case .linear: return "linear"
        case .convolution: return "convolution"
        case .pool: return "pool"
        case .bias: return "bias"
        case .bilinear: return "bilinear"
        case .pointwise: return "pointwise"
        case .gate: return "gate"
        case .norm: return "norm"
        case .batchNorm: return "batchnorm"
        case .message: return "message"
        }
    }

    /// The slices of theta the op reads.
    public var parameterSlices: [ParameterSlice] {
        if let l = linearMap { return [l.parameters] }  // linear ops and convolutions
        switch self {
        case .bias(let b): return [b.parameters]
        case .bilinear(let b): return [b.parameters]
        case .batchNorm(let n): return [n.parameters, n.statistics]
        case .message(let m): return [m.parameters]
        default: return []
        }
    }

    public var linearMap: Linear? {
        switch self {
        case .linear(let l): return l
        case .convolution(let c): return c.linear
        default: return nil
        }
    }
}

/// y(x) = W [f(x + o) for every offset o]: the values of the kernel^d
/// neighbours of each position, channel-major with the offset fastest
/// (column c * kernel^d + o, offsets {-r..r}^d row-major, the last grid axis
/// fastest), through `linear`, whose input representation is the layer's
/// input tensored with the permutation representation of the point group on
/// the offsets. Outside the grid: zeros (`grid`) or the wrapped position (`torus`).
public struct Convolution: Sendable, Equatable {
    public var kernel: Int
    /// The grid dimension d.
    public var dimension: Int
    /// Channels per position of the input.
    public var channels: Int
    public var linear: Linear

    public init(kernel: Int, dimension: Int, channels: Int, linear: Linear) {
        self.kernel = kernel
        self.dimension = dimension
        self.channels = channels
        self.linear = linear
    }

    /// kernel^d.
    public var offsets: Int { (0..<dimension).reduce(1) { r, _ in r * kernel } }

    /// The offsets {-r..r}^d in the order the columns use them: row-major, the last
    /// grid axis fastest (offset 0 is (-r, ..., -r)). Every back end reads this order
    /// here; the kernel bases (EqnnGroups' PointSet.offsetVectors) are solved in it,
    /// which a test pins.
    public static func offsetVectors(kernel: Int, dimension: Int) -> [[Int]] {
        var out: [[Int]] = [[]]
        for _ in 0..<dimension { out = out.flatMap { prefix in (0..<kernel).map { prefix + [$0 - kernel / 2] } } }
        return out
    }

    public var offsetVectors: [[Int]] { Convolution.offsetVectors(kernel: kernel, dimension: dimension) }

    /// Where column `column` (= c * kernel^d + o, the order above) sits in the
    /// offset-major order o * channels + c, in which each neighbour's channels are
    /// contiguous: the layout a back end may gather in, reordering W's columns to match.
    public func offsetMajorColumn(_ column: Int) -> Int {
        (column % offsets) * channels + column / offsets
    }

    /// W^T (input x output, row-major, rows in the order above) with its rows moved
    /// to the offset-major order of `offsetMajorColumn`.
    public func offsetMajorRows<T>(_ wt: [T]) -> [T] {
        let outputs = linear.outputDimension
        var out = wt
        for row in 0..<linear.inputDimension {
            let to = offsetMajorColumn(row) * outputs
            out[to..<(to + outputs)] = wt[(row * outputs)..<(row * outputs + outputs)]
        }
        return out
    }

    /// Positions per tile of the back ends: about 65,536 values of neighbourhoods, enough
    /// for long matrix products, few enough that the tile stays in cache.
    public var rowsPerTile: Int { max(16, min(512, 65536 / max(1, linear.inputDimension))) }
}

/// The coordinates of one field (one copy of a summand) that share their statistics.
public struct NormalizedField: Sendable, Equatable {
    public var offset: Int
    public var length: Int
    /// A permutation field (scalars, Regular): centred by its mean, then scaled.
    /// Otherwise (orthogonal fields such as V of O(3)): only scaled, by its
    /// root-mean-square coordinate, and never shifted.
    public var centred: Bool

    public init(offset: Int, length: Int, centred: Bool) {
        self.offset = offset
        self.length = length
        self.centred = centred
    }
}

/// y = gamma_f (x - mu_f) / sqrt(sigma2_f + epsilon) + beta_f on the coordinates
/// of every field f; mu_f = 0 and no beta_f on fields that are not centred, where
/// sigma2_f is the mean square instead of the variance. While training, mu and
/// sigma2 are the batch's (over samples, positions and the field's coordinates,
/// the biased variance); otherwise the running statistics, which every training
/// step moves by `momentum` towards the batch's. Both sets sit in theta:
/// `parameters` holds gamma (one per field) then beta (one per centred field),
/// `statistics` mu (one per centred field) then sigma2 (one per field); the
/// optimizer never changes the statistics.
public struct BatchNorm: Sendable, Equatable {
    public var dimension: Int
    public var fields: [NormalizedField]
    public var parameters: ParameterSlice
    public var statistics: ParameterSlice
    public var representation: String
    public static let epsilon = 1e-5
    public static let momentum = 0.1

    public init(dimension: Int, fields: [NormalizedField], parameters: ParameterSlice, statistics: ParameterSlice, representation: String) {
        self.dimension = dimension
        self.fields = fields
        self.parameters = parameters
        self.statistics = statistics
        self.representation = representation
    }

    public var centredCount: Int { fields.filter(\.centred).count }

    /// theta indices of each field's gamma, beta (nil if not centred), mu (nil) and sigma2.
    public func indices() -> [(gamma: Int, beta: Int?, mean: Int?, variance: Int)] {
        var centred = 0
        return fields.enumerated().map { f, field in
            defer { if field.centred { centred += 1 } }
            return (parameters.offset + f,
                    field.centred ? parameters.offset + fields.count + centred : nil,
                    field.centred ? statistics.offset + centred : nil,
                    statistics.offset + centredCount + f)
        }
    }
}

/// Mean pooling of every channel (equivariant: the group acts on channels and positions separately).
public struct Pool: Sendable, Equatable {
    public var pooling: Pooling
    public var channels: Int
    public var representation: String

    public init(pooling: Pooling, channels: Int, representation: String) {
        self.pooling = pooling
        self.channels = channels
        self.representation = representation
    }
}

extension Graph {
    /// Every named slice of theta in theta's order (batchnorm's slices come last):
    /// the tensors of the weights file and of the PyTorch module, in that order.
    public var parameterSlices: [ParameterSlice] {
        ops.flatMap(\.parameterSlices).sorted { $0.offset < $1.offset }
    }

    /// Where each layer after the input starts: the index of its linear map (a
    /// linear op or a convolution), the first op of every layer.
    public var layerStarts: [Int] { ops.indices.filter { ops[$0].linearMap != nil } }

    /// Batchnorm's running statistics in theta: never stepped by the optimizer.
    public var statisticsRanges: [Range<Int>] {
        ops.compactMap { if case .batchNorm(let n) = $0 { return n.statistics.offset..<(n.statistics.offset + n.statistics.count) } else { return nil } }
    }

    /// The sizes of the network's `pool s` ops, in order.
    public var poolSizes: [Int] {
        ops.compactMap { op in
            if case .pool(let p) = op, case .mean(let s) = p.pooling { return s }
            return nil
        }
    }

    /// Output positions per sample for input `extents` (1 off the grid and after
    /// `pool global`; callers check the extents with `outputExtents` first).
    public func outputPositions(_ extents: [Int]) -> Int { (outputExtents(extents) ?? []).reduce(1, *) }

    /// The grid axes of the output: the domain's, none after `pool global` or off the grid.
    public var outputAxes: Int {
        guard let domain else { return 0 }
        return ops.contains { if case .pool(let p) = $0, p.pooling == .global || p.pooling == .sum { return true } else { return false } } ? 0 : domain.dimension
    }

    /// A network on point clouds whose output has one row per sample (pooled), not one per point.
    public var poolsPoints: Bool {
        points != nil && ops.contains { if case .pool = $0 { return true } else { return false } }
    }

    /// A network on point clouds that sums its points (`pool sum`): its output shift is per point (Normalizer).
    public var sumsPoints: Bool {
        points != nil && ops.contains { if case .pool(let p) = $0 { return p.pooling == .sum } else { return false } }
    }

    /// The extents after every pool, from the input's: nil when a `pool s`
    /// meets an extent that is not a multiple of s (or zero positions).
    public func outputExtents(_ extents: [Int]) -> [Int]? {
        var current = extents
        for op in ops {
            guard case .pool(let p) = op else { continue }
            switch p.pooling {
            case .global, .sum: current = []
            case .mean(let s):
                guard current.allSatisfy({ $0 % s == 0 && $0 >= s }) else { return nil }
                current = current.map { $0 / s }
            }
        }
        return current
    }
}

/// The copies of one summand of a representation: `copies` blocks of
/// `dimension` coordinates each, one after another from `offset`.
public struct SummandExtent: Sendable, Equatable, Hashable {
    public var offset: Int
    public var copies: Int
    public var dimension: Int
    public init(offset: Int, copies: Int, dimension: Int) {
        self.offset = offset
        self.copies = copies
        self.dimension = dimension
    }
}

/// Hom_G(R, S) for one pair of atoms, stored once per linear op however many
/// copies of R and S the layers have: matrices B_j of dim S x dim R, each of
/// unit Frobenius norm, and what kind of matrix each one is.
public struct PairBasis: Sendable, Equatable {
    public let matrices: SparseBasis
    /// Derived from the matrices once (BasisDecomposition): the kind of each, and
    /// each as a weighted sum of gather/scatter operators (not serialized).
    public let kinds: [BasisKind]
    public let terms: [[BasisTerm]]
    /// When the matrices cover most of their entries (steerable kernels), all of
    /// them as one dense count x (rows * columns) row-major array, so that a back
    /// end expands and contracts them by matrix products (not serialized).
    public let dense: [Double]?
    /// The same in single precision, for back ends that run in it (half the bytes to
    /// read per product; reading the basis is most of the cost).
    public let denseSingle: [Float]?
    /// For sampled steerable kernels, the angular frequency of the circular harmonic
    /// each matrix samples (its sampling error grows with it); nil for exact bases.
    public let frequencies: [Int]?
    public var count: Int { matrices.count }

    public init(matrices: SparseBasis, frequencies: [Int]? = nil) {
        self.matrices = matrices
        self.frequencies = frequencies
        let decompositions = (0..<matrices.count).map { BasisDecomposition.decompose(matrices, $0) }
        kinds = decompositions.map(\.kind)
        terms = decompositions.map(\.terms)
        let size = matrices.rows * matrices.columns
        // A product's multiply-add costs a tenth of a scattered one: dense from an eighth.
        if matrices.count > 1, size > 0, 8 * matrices.entryCount >= matrices.count * size {
            let dense = matrices.denseMatrices
            self.dense = dense
            denseSingle = dense.map(Float.init)
        } else {
            dense = nil
            denseSingle = nil
        }
    }

    public static func == (a: PairBasis, b: PairBasis) -> Bool { a.matrices == b.matrices && a.frequencies == b.frequencies }
}

/// One (output summand S with b copies, input summand R with a copies) pair
/// of a linear op: the weight between them is sum_j Theta_j (x) B_j, Theta_j
/// a learned b x a matrix. Its entries sit in theta, in the op's slice, at
/// `firstParameter + o * outputStride + i * J + j` (J basis matrices): the
/// order of the weights file, output copy by output copy.
public struct LinearBlock: Sendable, Equatable {
    public var output: SummandExtent
    public var input: SummandExtent
    /// Index into the op's `bases`.
    public var basis: Int
    public var firstParameter: Int
    public var outputStride: Int

    public init(output: SummandExtent, input: SummandExtent, basis: Int, firstParameter: Int, outputStride: Int) {
        self.output = output
        self.input = input
        self.basis = basis
        self.firstParameter = firstParameter
        self.outputStride = outputStride
    }
}

public struct Linear: Sendable, Equatable {
    public var parameters: ParameterSlice
    public var inputDimension: Int
    public var outputDimension: Int
    public var representation: String
    /// Gain of the initialization: 2 when a relu-like activation follows, else 1.
    public var gain: Double
    /// The distinct pair bases and the summand pairs that use them.
    public var bases: [PairBasis]
    public var blocks: [LinearBlock]

    /// theta index (within the op's slice) of entry (o, i) of Theta_j in `block`.
    @inlinable
    public func parameter(_ block: LinearBlock, output o: Int, input i: Int, basis j: Int) -> Int {
        block.firstParameter + o &* block.outputStride + i &* bases[block.basis].count + j
    }

    /// Entries of the dense W (Int.max if that overflows): the work of a dense product per sample.
    public var denseEntries: Int {
        let (entries, overflow) = inputDimension.multipliedReportingOverflow(by: outputDimension)
        return overflow ? Int.max : entries
    }

    /// The dense W = sum theta B (rows x columns, or columns x rows when
    /// transposed), for the backends' dense fallback and for tests.
    @inlinable
    public func expanded<T: BinaryFloatingPoint>(_ theta: [Double], transposed: Bool, as: T.Type = Double.self) -> [T] {
        let rows = outputDimension, columns = inputDimension
        var out = [T](repeating: 0, count: rows * columns)
        let base = parameters.offset
        for block in blocks {
            let b = bases[block.basis].matrices
            for o in 0..<block.output.copies {
                for i in 0..<block.input.copies {
                    let rowBase = block.output.offset + o * block.output.dimension
                    let columnBase = block.input.offset + i * block.input.dimension
                    for j in 0..<b.count {
                        let coefficient = theta[base + parameter(block, output: o, input: i, basis: j)]
                        if coefficient == 0 { continue }
                        for e in b.starts[j]..<b.starts[j + 1] {
                            let r = rowBase + b.entryRows[e], c = columnBase + b.entryColumns[e]
                            out[transposed ? c * rows + r : r * columns + c] += T(coefficient * b.values[e])
                        }
                    }
                }
            }
        }
        return out
    }

    public init(parameters: ParameterSlice, inputDimension: Int, outputDimension: Int, representation: String, gain: Double, bases: [PairBasis], blocks: [LinearBlock]) {
        self.parameters = parameters
        self.inputDimension = inputDimension
        self.outputDimension = outputDimension
        self.representation = representation
        self.gain = gain
        self.bases = bases
        self.blocks = blocks
    }
}

public struct Bias: Sendable, Equatable {
    public var parameters: ParameterSlice
    /// Basis vectors as a (dimension x count) sparse basis with one column.
    public var basis: SparseBasis
    public var representation: String

    public init(parameters: ParameterSlice, basis: SparseBasis, representation: String) {
        self.parameters = parameters
        self.basis = basis
        self.representation = representation
    }
}

/// One (output summand S, input summand R) pair of a bilinear op: the block
/// (o, i) of W(x) is sum_s theta(o, i, s) X_s, X_s the coordinates of source
/// copy s read row-major as a dim S x dim R matrix. theta(o, i, s) sits at
/// `firstParameter + o * outputStride + i * sources.count + s` in the op's slice.
public struct BilinearBlock: Sendable, Equatable {
    public var output: SummandExtent
    public var input: SummandExtent
    /// Offsets in x of the source copies (each output.dimension * input.dimension long).
    public var sources: [Int]
    public var firstParameter: Int
    public var outputStride: Int

    @inlinable
    public func parameter(output o: Int, input i: Int, source s: Int) -> Int {
        firstParameter + o &* outputStride + i &* sources.count + s
    }

    public init(output: SummandExtent, input: SummandExtent, sources: [Int], firstParameter: Int, outputStride: Int) {
        self.output = output
        self.input = input
        self.sources = sources
        self.firstParameter = firstParameter
        self.outputStride = outputStride
    }
}

public struct Bilinear: Sendable, Equatable {
    public var parameters: ParameterSlice
    public var dimension: Int
    public var blocks: [BilinearBlock]
    public var representation: String

    public init(parameters: ParameterSlice, dimension: Int, blocks: [BilinearBlock], representation: String) {
        self.parameters = parameters
        self.dimension = dimension
        self.blocks = blocks
        self.representation = representation
    }
}

public struct Pointwise: Sendable, Equatable {
    /// A pointwise activation (never gated or norm, which have ops of their own).
    public var function: Activation
    public var dimension: Int
    public var representation: String

    public init(function: Activation, dimension: Int, representation: String) {
        self.function = function
        self.dimension = dimension
        self.representation = representation
    }
}

public struct GatedBlock: Sendable, Equatable {
    public var offset: Int
    public var length: Int
    /// The gate's coordinate in the op's input.
    public var gate: Int

    public init(offset: Int, length: Int, gate: Int) {
        self.offset = offset
        self.length = length
        self.gate = gate
    }
}

public struct Gate: Sendable, Equatable {
    public var inputDimension: Int
    public var outputDimension: Int
    public var blocks: [GatedBlock]
    public var scalars: [Int]
    public var representation: String

    public init(inputDimension: Int, outputDimension: Int, blocks: [GatedBlock], scalars: [Int], representation: String) {
        self.inputDimension = inputDimension
        self.outputDimension = outputDimension
        self.blocks = blocks
        self.scalars = scalars
        self.representation = representation
    }
}

public struct NormBlock: Sendable, Equatable {
    public var offset: Int
    public var length: Int

    public init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }
}

public struct Norm: Sendable, Equatable {
    public var dimension: Int
    public var blocks: [NormBlock]
    public var scalars: [Int]
    public var representation: String

    public init(dimension: Int, blocks: [NormBlock], scalars: [Int], representation: String) {
        self.dimension = dimension
        self.blocks = blocks
        self.scalars = scalars
        self.representation = representation
    }
}

