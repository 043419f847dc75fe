import EqnnDiagnostics

/// The syntax tree: plain values with a span on every node.
public struct Identifier: Equatable, Sendable {
    public var text: String
    public var span: Span
}

/// An integer as written; `value` is nil when it does not fit in an Int.
public struct IntLiteral: Equatable, Sendable {
    public var value: Int?
    public var span: Span
}

/// A matrix entry as written ("-1", "0.5", "1/2").
public struct NumberLiteral: Equatable, Sendable {
    public var text: String
    public var span: Span
}

public struct MatrixLiteral: Equatable, Sendable {
    public var rows: [[NumberLiteral]]
    public var span: Span
}

public enum MatrixRole: String, Sendable { case discrete, algebra }

public struct MatrixGenerator: Equatable, Sendable {
    public var role: MatrixRole
    public var matrix: MatrixLiteral
}

/// A permutation in cycle notation, e.g. (1 2 3 4)(5 6 7 8).
public struct PermutationLiteral: Equatable, Sendable {
    public var cycles: [[IntLiteral]]
    public var span: Span
}

public struct GroupExpr: Equatable, Sendable {
    public indirect enum Kind: Equatable, Sendable {
        /// S(5), SO(1,3), or a declared group name (no arguments).
        case named(Identifier, arguments: [IntLiteral]?)
        case permutations(degree: IntLiteral, generators: [PermutationLiteral])
        case matrices(dimension: IntLiteral, generators: [MatrixGenerator])
        case product([GroupExpr])
    }
    public var kind: Kind
    public var span: Span
}

public struct RepExpr: Equatable, Sendable {
    public indirect enum Kind: Equatable, Sendable {
        case sum([RepExpr])
        case product([RepExpr])
        case power(RepExpr, IntLiteral)
        /// An integer in a product: k*R is k copies of R.
        case multiplicity(IntLiteral)
        /// Scalar, V, V(P), Sign, Det(E), or a declared rep name.
        case name(Identifier, argument: GroupExpr?)
        /// A built-in family member with an integer index: Irrep(k).
        case indexed(Identifier, IntLiteral)
        case dual(RepExpr)
        case parenthesized(RepExpr)
    }
    public var kind: Kind
    public var span: Span
}

/// The keyword that opens a layer (the checked role is EqnnIR.LayerRole).
public enum LayerKeyword: String, Sendable { case input, hidden = "layer", output }

public struct LayerDecl: Equatable, Sendable {
    public var role: LayerKeyword
    public var keyword: Span
    public var rep: RepExpr
    public var activation: Identifier?
    /// Extra layer features after the activation: `: gated + bilinear`.
    public var modifiers: [Identifier] = []
    /// `kernel 3`: the layer is a convolution with 3^d offsets (grid networks).
    public var kernel: IntLiteral? = nil
    /// `pool 2` or `pool global`, after the activation (grid networks).
    public var pool: PoolDecl? = nil
    /// `band 1`: the highest angular frequency of a steerable kernel (rotations off the lattice).
    public var band: IntLiteral? = nil
    /// `message 4.0`: the layer sums messages from the neighbours within that radius (point clouds).
    public var message: NumberLiteral? = nil
    /// `degree 2`: the highest power of the direction to a neighbour a message reads.
    public var degree: IntLiteral? = nil
    /// `radial 32`: the width of the hidden layer of the radial network.
    public var radial: IntLiteral? = nil
}

/// `pool 2` (mean over 2^d blocks), `pool global` or `pool mean` (mean over all
/// positions or points), `pool sum` (sum over all points).
public struct PoolDecl: Equatable, Sendable {
    /// nil for the pools over everything.
    public var size: IntLiteral?
    /// `pool sum`.
    public var sums = false
    public var span: Span
}

/// `on grid(2)` or `on torus(2)`: the network acts on fields over a pixel grid;
/// `on points(3)`: on clouds of points in R^3.
public struct DomainDecl: Equatable, Sendable {
    public enum Kind: String, Sendable { case grid, torus, points }
    public var kind: Kind
    public var dimension: IntLiteral
    public var span: Span
}

public struct GroupDecl: Equatable, Sendable {
    public var name: Identifier
    public var value: GroupExpr
}

public struct RepDecl: Equatable, Sendable {
    public var name: Identifier
    public var value: RepExpr
}

public struct NetworkDecl: Equatable, Sendable {
    public var name: Identifier
    public var group: GroupExpr
    public var layers: [LayerDecl]
    public var keyword: Span
    public var closingBrace: Span
    public var domain: DomainDecl? = nil
}

public enum Declaration: Equatable, Sendable {
    case group(GroupDecl)
    case rep(RepDecl)
    case network(NetworkDecl)
}

public struct SourceAST: Equatable, Sendable {
    public var declarations: [Declaration]
    /// Names of group and rep declarations that did not parse: they exist,
    /// and their uses must not be reported again as unknown names.
    public var incomplete: [Identifier] = []
}
