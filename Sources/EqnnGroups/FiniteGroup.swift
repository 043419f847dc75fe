import EqnnLinearAlgebra
import Synchronization

/// The elements of a finite group factor, enumerated once: what `Regular`
/// (the group acting on itself) and the kernel offsets of a grid need.
///
/// Order of the elements (the layout of `Regular`'s coordinates): breadth
/// first from the identity, appending g * e for each element e in order and
/// each discrete generator g in the order written.
public struct FiniteGroupTable: Sendable {
    /// The elements as matrices on V.
    public let elements: [RationalMatrix]
    /// For every discrete generator g: g * elements[i] = elements[generatorPermutations[k][i]].
    public let generatorPermutations: [[Int]]
    private let index: [RationalMatrix: Int]

    /// The largest group whose elements are enumerated (and the dimension of `Regular`).
    public static let maxOrder = 1024
    /// Groups of non-monomial matrices are enumerated by matrix products up to this dimension.
    public static let maxDenseDimension = 32

    public var order: Int { elements.count }

    /// m * elements[i] for every i, as indices; nil when m is not in the group.
    public func leftMultiplication(by m: RationalMatrix) -> [Int]? {
        if let k = generatorIndex[m] { return generatorPermutations[k] }
        var out: [Int] = []
        out.reserveCapacity(order)
        for e in elements {
            guard let j = index[m * e] else { return nil }
            out.append(j)
        }
        return out
    }
    private let generatorIndex: [RationalMatrix: Int]

    /// Breadth-first closure under left multiplication by the generators,
    /// on any element type with a product (signed permutations or matrices).
    private static func closure<E: Hashable>(identity: E, generators: [E], times: (E, E) -> E?) -> (elements: [E], permutations: [[Int]])? {
        var elements = [identity]
        var index = [identity: 0]
        var next = 0
        while next < elements.count {
            let e = elements[next]
            next += 1
            for g in generators {
                guard let product = times(g, e) else { return nil }
                if index[product] == nil {
                    guard elements.count < maxOrder else { return nil }
                    index[product] = elements.count
                    elements.append(product)
                }
            }
        }
        let permutations = generators.map { g in elements.map { e in times(g, e).flatMap { index[$0] } ?? 0 } }
        return (elements, permutations)
    }

    init?(factor: GroupFactor) {
        guard factor.algebra.isEmpty else { return nil }
        let n = factor.dimension
        let signed = factor.discrete.map { h in
            h.monomialColumns.flatMap { columns -> [Int]? in
                // Column j goes to row r with sign s, coded (r + 1) * s.
                let codes = columns.map { $0.value == .one ? $0.row + 1 : ($0.value == -.one ? -($0.row + 1) : 0) }
                return codes.contains(0) ? nil : codes
            }
        }
        let elements: [RationalMatrix]
        let permutations: [[Int]]
        if signed.allSatisfy({ $0 != nil }) {
            let generators = signed.compactMap { $0 }
            guard let found = FiniteGroupTable.closure(identity: (0..<n).map { $0 + 1 }, generators: generators,
                                                       times: { g, e in e.map { c in g[abs(c) - 1] * (c < 0 ? -1 : 1) } })
            else { return nil }
            elements = found.elements.map { codes in
                var m = RationalMatrix.zero(n)
                for (j, c) in codes.enumerated() { m[abs(c) - 1, j] = c < 0 ? -.one : .one }
                return m
            }
            permutations = found.permutations
        } else {
            guard n <= FiniteGroupTable.maxDenseDimension,
                  let found = FiniteGroupTable.closure(identity: RationalMatrix.identity(n), generators: factor.discrete,
                                                       times: { g, e in let p = g * e; return p.hasOverflow ? nil : p })
            else { return nil }
            elements = found.elements
            permutations = found.permutations
        }
        self.elements = elements
        generatorPermutations = permutations
        index = Dictionary(elements.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        generatorIndex = Dictionary(factor.discrete.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    }
}

/// Tables are computed on first use and shared (a group is enumerated once
/// however many layers, tensors and random elements ask for it).
private let tableCache = Mutex<[GroupKind: FiniteGroupTable?]>([:])

extension GroupFactor {
    /// The enumerated elements, or nil when the factor is a Lie group or has
    /// more than `FiniteGroupTable.maxOrder` elements (or is infinite).
    public var finiteTable: FiniteGroupTable? {
        if let known = tableCache.withLock({ $0[kind] }) { return known }
        let table = FiniteGroupTable(factor: self)
        tableCache.withLock { $0[kind] = .some(table) }
        return table
    }

    /// Whether every discrete generator is a signed permutation matrix and
    /// there is no Lie algebra: the point groups of a grid.
    public var isSignedPermutationGroup: Bool {
        algebra.isEmpty && discrete.allSatisfy { h in
            h.monomialColumns?.allSatisfy { $0.value == .one || $0.value == -.one } ?? false
        }
    }
}

/// A permutation representation of one finite factor on a set of points.
public enum PointSet: Hashable, Sendable {
    /// The group's elements under left multiplication: the regular representation.
    case regular(order: Int)
    /// The kernel^dimension offsets of a grid kernel, {-r..r}^d row-major
    /// (the last coordinate fastest), moved by the d x d signed permutation matrices.
    case offsets(kernel: Int, dimension: Int)

    public var count: Int {
        switch self {
        case .regular(let order): return order
        case .offsets(let k, let d): return (0..<d).reduce(1) { r, _ in r * k }
        }
    }

    /// Where h sends each point, or nil when h does not permute them.
    public func permutation(by h: RationalMatrix, table: FiniteGroupTable?) -> [Int]? {
        switch self {
        case .regular:
            return table?.leftMultiplication(by: h)
        case .offsets(let k, let d):
            guard let columns = h.monomialColumns, columns.count == d,
                  columns.allSatisfy({ $0.value == .one || $0.value == -.one }) else { return nil }
            let r = k / 2
            return PointSet.offsetVectors(kernel: k, dimension: d).map { x in
                // (h x)[row] = value * x[column] for each column.
                var image = [Int](repeating: 0, count: d)
                for (j, c) in columns.enumerated() { image[c.row] = (c.value == .one ? 1 : -1) * x[j] }
                return image.reduce(0) { $0 * k + ($1 + r) }
            }
        }
    }

    /// The offsets as integer vectors in layout order.
    public static func offsetVectors(kernel k: Int, dimension d: Int) -> [[Int]] {
        var out: [[Int]] = [[]]
        for _ in 0..<d { out = out.flatMap { prefix in (0..<k).map { prefix + [$0 - k / 2] } } }
        return out
    }
}
