/// The graph IR: what every backend consumes. Plain data: a chain of typed
/// ops on one vector per sample, each annotated with the representation of
/// its output. Parameters are one flat vector theta; every op that learns
/// owns a slice of it. Format documented in docs/graph-ir.md.
public struct Graph: Sendable, Equatable {
    public static let formatVersion = 1

    public var network: String
    public var group: String
    public var input: Layout
    public var output: Layout
    public var ops: [Op]
    public var parameterCount: Int
    /// FNV-1a 64 of the canonical structure (ops, shapes, bases): weights made
    /// for another structure are refused.
    public var structureHash: String
}

/// Where each summand copy of a representation sits.
public struct Layout: Sendable, Equatable {
    public var representation: String
    public var dimension: Int
    public var blocks: [LayoutBlock]
}

public struct LayoutBlock: Sendable, Equatable {
    public var name: String
    public var offset: Int
    public var length: Int
    /// The trivial representation: these coordinates are invariants.
    public var isScalar: Bool
}

/// A contiguous slice of theta.
public struct ParameterSlice: Sendable, Equatable {
    public var name: String
    public var offset: Int
    public var count: Int
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
}

public enum PointwiseFunction: String, Sendable, CaseIterable {
    case relu, leakyRelu = "leaky_relu", tanh, sigmoid, silu, gelu, softplus, identity
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

    public var outputDimension: Int {
        switch self {
        case .linear(let l): return l.basis.rows
        case .bias(let b): return b.basis.rows
        case .bilinear(let b): return b.dimension
        case .pointwise(let p): return p.dimension
        case .gate(let g): return g.outputDimension
        case .norm(let n): return n.dimension
        }
    }

    public var inputDimension: Int {
        switch self {
        case .linear(let l): return l.basis.columns
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
        }
    }
}

public struct Linear: Sendable, Equatable {
    public var parameters: ParameterSlice
    public var basis: SparseBasis
    public var representation: String
    /// Gain of the initialization: 2 when a relu-like activation follows, else 1.
    public var gain: Double
    /// The summand copies of the input and the output: every basis matrix lies
    /// inside one (output block, input block) pair, which backends may use.
    public var inputBlocks: [BlockExtent]
    public var outputBlocks: [BlockExtent]
}

public struct BlockExtent: Sendable, Equatable {
    public var offset: Int
    public var length: Int
    public init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }
}

public struct Bias: Sendable, Equatable {
    public var parameters: ParameterSlice
    /// Basis vectors as a (dimension x count) sparse basis with one column.
    public var basis: SparseBasis
    public var representation: String
}

public struct BilinearBlock: Sendable, Equatable {
    public var outputOffset: Int
    public var outputLength: Int
    public var inputOffset: Int
    public var inputLength: Int
    /// Offsets of the source copies in x (each outputLength * inputLength long).
    public var sources: [Int]
    /// Index of the first coefficient of this block in the op's parameter slice.
    public var firstParameter: Int
}

public struct Bilinear: Sendable, Equatable {
    public var parameters: ParameterSlice
    public var dimension: Int
    public var blocks: [BilinearBlock] {
        didSet { groups = Bilinear.grouping(blocks) }
    }
    public var representation: String
    /// `blocks` regrouped for execution (derived from them, not serialized).
    public private(set) var groups: [BilinearGroup]

    public init(parameters: ParameterSlice, dimension: Int, blocks: [BilinearBlock], representation: String) {
        self.parameters = parameters
        self.dimension = dimension
        self.blocks = blocks
        self.representation = representation
        groups = Bilinear.grouping(blocks)
    }
}

public struct Pointwise: Sendable, Equatable {
    public var function: PointwiseFunction
    public var dimension: Int
    public var representation: String
}

public struct GatedBlock: Sendable, Equatable {
    public var offset: Int
    public var length: Int
    /// The gate's coordinate in the op's input.
    public var gate: Int
}

public struct Gate: Sendable, Equatable {
    public var inputDimension: Int
    public var outputDimension: Int
    public var blocks: [GatedBlock]
    public var scalars: [Int]
    public var representation: String
}

public struct NormBlock: Sendable, Equatable {
    public var offset: Int
    public var length: Int
}

public struct Norm: Sendable, Equatable {
    public var dimension: Int
    public var blocks: [NormBlock]
    public var scalars: [Int]
    public var representation: String
}

/// Bilinear blocks regrouped for execution: the blocks with one output block,
/// one input length and one list of sources share their matrices X_s, so
/// y_out += sum_s X_s z_s with z_s = sum_i theta[i, s] x_i costs far less than
/// forming sum_s theta X_s for every input block (derived, not serialized).
public struct BilinearGroup: Sendable, Equatable {
    public struct Input: Sendable, Equatable {
        public var offset: Int
        public var firstParameter: Int
    }

    public var outputOffset: Int
    public var outputLength: Int
    public var inputLength: Int
    public var sources: [Int]
    public var inputs: [Input]
}

extension Bilinear {
    static func grouping(_ blocks: [BilinearBlock]) -> [BilinearGroup] {
        var groups: [BilinearGroup] = []
        var index: [[Int]: Int] = [:]
        for block in blocks {
            let key = [block.outputOffset, block.inputLength] + block.sources
            let input = BilinearGroup.Input(offset: block.inputOffset, firstParameter: block.firstParameter)
            if let k = index[key] {
                groups[k].inputs.append(input)
            } else {
                index[key] = groups.count
                groups.append(BilinearGroup(outputOffset: block.outputOffset, outputLength: block.outputLength,
                                            inputLength: block.inputLength, sources: block.sources, inputs: [input]))
            }
        }
        return groups
    }
}
