import EqnnLinearAlgebra

/// Why a basis could not be computed.
public enum SolverError: Error, Sendable, Equatable {
    /// A size beyond a limit; `what` names the quantity ("the coordinates of ...").
    case tooLarge(what: String, size: Int, limit: Int)
    case inexact(String)
}

/// Bases of equivariant maps Hom_G(A, B) and of invariant vectors, exactly.
///
/// Hom_G(A, B) is the space of invariants of B (x) A*. For a product group
/// G_1 x ... x G_k those invariants are the tensor product of the invariants
/// of each factor on its own slots, so each factor is solved alone (on
/// d^r coordinates, not the whole product) and cached by (factor, tensor).
/// The basis of the whole is the Kronecker product of the factor bases,
/// interleaved back to the slot order.
public final class EquivariantSolver {
    /// The most coordinates one factor tensor may have (d^r).
    public static let maxFactorSize = 1 << 22
    /// The most nonzero entries a materialized basis may have.
    public static let maxBasisEntries = 1 << 25

    private var cache: [CacheKey: [SparseVector]] = [:]

    private struct CacheKey: Hashable {
        let factor: GroupFactor
        let tensor: FactorTensor
    }

    public init() {}

    /// The number of (factor, tensor) problems solved so far (not cache hits).
    public private(set) var solvedCount = 0

    // MARK: Public queries

    public func homDimension(_ group: Group, from a: Atom, to b: Atom) throws -> Int {
        try invariantDimension(group, of: homAtom(group, from: a, to: b))
    }

    /// Basis of Hom_G(A, B) as vectors over W's row-major entries (W is dim B x dim A).
    public func homBasis(_ group: Group, from a: Atom, to b: Atom) throws -> [SparseVector] {
        try invariantBasis(group, of: homAtom(group, from: a, to: b))
    }

    public func invariantDimension(_ group: Group, of atom: Atom) throws -> Int {
        var dim = 1
        for (f, tensor) in factorTensors(group, atom) {
            let count = try factorBasis(group.factors[f], tensor).count
            if count == 0 { return 0 }
            guard let next = checkedMul(dim, count) else {
                throw SolverError.tooLarge(what: "the number of basis vectors", size: Int.max, limit: Int.max)
            }
            dim = next
        }
        return dim
    }

    public func invariantBasis(_ group: Group, of atom: Atom) throws -> [SparseVector] {
        // Stride of every slot in the full row-major layout.
        let dims = atom.slots.map { group.dimension(of: $0) }
        var strides = [Int](repeating: 1, count: dims.count)
        for s in stride(from: dims.count - 2, through: 0, by: -1) { strides[s] = strides[s + 1] * dims[s + 1] }

        var result: [(indices: [Int], values: [Int])] = [([0], [1])]
        for (f, tensor) in factorTensors(group, atom) {
            let basis = try factorBasis(group.factors[f], tensor)
            let positions = atom.slots.indices.filter { atom.slots[$0].factor == f }
            let offsets = subIndexOffsets(dims: positions.map { dims[$0] }, strides: positions.map { strides[$0] })
            var next: [(indices: [Int], values: [Int])] = []
            var entries = 0
            for partial in result {
                for vector in basis {
                    entries += partial.indices.count * vector.indices.count
                    if entries > EquivariantSolver.maxBasisEntries {
                        throw SolverError.tooLarge(what: "the nonzero entries of the basis", size: entries, limit: EquivariantSolver.maxBasisEntries)
                    }
                    var indices: [Int] = [], values: [Int] = []
                    indices.reserveCapacity(partial.indices.count * vector.indices.count)
                    for (i, v) in zip(partial.indices, partial.values) {
                        for (j, w) in zip(vector.indices, vector.values) {
                            guard let product = checkedMul(v, w) else { throw SolverError.inexact("basis entries overflow") }
                            indices.append(i + offsets[j])
                            values.append(product)
                        }
                    }
                    next.append((indices, values))
                }
            }
            result = next
        }
        return result.map { r in
            let order = r.indices.indices.sorted { r.indices[$0] < r.indices[$1] }
            return SparseVector(indices: order.map { r.indices[$0] }, values: order.map { r.values[$0] })
        }
    }

    // MARK: Pieces

    /// B (x) A*, canonical.
    public func homAtom(_ group: Group, from a: Atom, to b: Atom) -> Atom {
        group.canonical(Atom(
            slots: b.slots + a.slots.map(\.dualized),
            detPowers: zip(b.detPowers, a.detPowers).map { $0 - $1 }))
    }

    /// Each factor's share of an atom (factors with nothing to act on skipped).
    func factorTensors(_ group: Group, _ atom: Atom) -> [(Int, FactorTensor)] {
        group.factors.indices.compactMap { f in
            let slots = atom.slots.filter { $0.factor == f }.map { Slot(factor: 0, dual: $0.dual, points: $0.points, irrep: $0.irrep) }
            let power = atom.detPowers[f]
            if slots.isEmpty && power == 0 { return nil }
            return (f, FactorTensor(slots: slots, detPower: power))
        }
    }

    /// The full-layout offset of every sub-index of one factor's slots.
    private func subIndexOffsets(dims: [Int], strides: [Int]) -> [Int] {
        var offsets = [0]
        for (d, stride) in zip(dims, strides) {
            offsets = offsets.flatMap { base in (0..<d).map { base + $0 * stride } }
        }
        return offsets
    }

    public func factorBasis(_ factor: GroupFactor, _ tensor: FactorTensor) throws -> [SparseVector] {
        guard tensor.slots.allSatisfy({ $0.irrep == nil }) else {
            throw SolverError.inexact("Irrep(k) and Mirror have irrational matrices; their maps come from the numeric path (LayerMaps)")
        }
        let key = CacheKey(factor: factor, tensor: tensor)
        if let hit = cache[key] { return hit }
        var size = 1
        for slot in tensor.slots { size = checkedMul(size, slot.points?.count ?? factor.dimension) ?? Int.max }
        guard size <= EquivariantSolver.maxFactorSize else {
            let of = tensor.slots.allSatisfy { $0.points == nil } ? " of dimension \(factor.dimension)" : ""
            throw SolverError.tooLarge(
                what: "the number of coordinates of \(factor.canonicalName) acting on \(tensor.slots.count) tensor slots\(of)",
                size: size, limit: EquivariantSolver.maxFactorSize)
        }
        do {
            let basis = try FactorInvariantSolver(factor: factor, tensor: tensor, size: size).solve()
            cache[key] = basis
            solvedCount += 1
            return basis
        } catch let error as ExactnessError {
            if case .tooLarge(let why) = error { throw SolverError.inexact(why) }
            throw SolverError.inexact("\(error)")
        }
    }

}
