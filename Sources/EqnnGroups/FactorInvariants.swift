import Foundation
import EqnnLinearAlgebra

/// The part of an atom that one factor acts on: its slots in order (V, V*
/// or a set of points; their `factor` field is unused), and the power of its
/// Det. Invariants of a product group factor into these (see `EquivariantSolver`).
public struct FactorTensor: Hashable, Sendable {
    public var slots: [Slot]
    public var detPower: Int
    public init(slots: [Slot], detPower: Int) {
        self.slots = slots
        self.detPower = detPower
    }

    public init(duals: [Bool], detPower: Int) {
        self.init(slots: duals.map { Slot(factor: 0, dual: $0) }, detPower: detPower)
    }
}

/// The invariant subspace {v : rho(h) v = v, drho(X) v = 0} of one factor
/// tensor, exactly:
/// Point slots (Regular, kernel offsets) are permuted by every element.
/// 1. every generator that acts by a signed permutation (the discrete
///    generators of permutation groups, reflections, the `speedups`) merges
///    coordinates by signed union-find; each surviving class is one orbit
///    vector, and for permutation groups these already are the answer;
/// 2. the remaining generators (Lie algebra, other matrices) are imposed on
///    the orbit coordinates as a sparse rational system, solved by
///    `exactNullSpace`.
struct FactorInvariantSolver {
    let factor: GroupFactor
    let tensor: FactorTensor
    let size: Int
    private let order: Int
    /// The dimension of every slot.
    private let dims: [Int]
    private let table: FiniteGroupTable?

    init(factor: GroupFactor, tensor: FactorTensor, size: Int) {
        self.factor = factor
        self.tensor = tensor
        self.size = size
        self.order = tensor.slots.count
        self.dims = tensor.slots.map { $0.points?.count ?? factor.dimension }
        let regular = tensor.slots.contains { if case .regular = $0.points { return true } else { return false } }
        self.table = regular ? factor.finiteTable : nil
    }

    func solve() throws -> [SparseVector] {
        let hasPoints = tensor.slots.contains { $0.points != nil }
        if hasPoints && !factor.algebra.isEmpty {
            throw SolverError.inexact("a permutation representation of the Lie group \(factor.canonicalName)")
        }
        var signedGenerators: [[SlotAction]] = []
        var signedDetSigns: [Int8] = []
        var otherDiscrete: [RationalMatrix] = []
        // Speedups are Lie-group elements; point slots only occur in finite groups.
        for (k, h) in (factor.discrete + (hasPoints ? [] : factor.speedups)).enumerated() {
            if let actions = try signedActions(of: h) {
                signedGenerators.append(actions.slots)
                signedDetSigns.append(actions.detSign)
            } else if k < factor.discrete.count {
                otherDiscrete.append(h)
            }
        }
        var unionFind = SignedUnionFind(count: size)
        for (actions, detSign) in zip(signedGenerators, signedDetSigns) {
            forEachIndex { index, digits in
                var image = 0
                var s = detSign
                for slot in 0..<order {
                    let (row, sign) = actions[slot][digits[slot]]
                    image = image &* dims[slot] &+ row
                    s &*= sign
                }
                unionFind.union(index, image, sign: s)
            }
        }
        let orbits = collectOrbits(&unionFind)
        if orbits.isEmpty { return [] }
        if otherDiscrete.isEmpty && factor.algebra.isEmpty {
            // Members are collected in increasing coordinate order.
            return orbits.map { SparseVector(indices: $0.map(\.index), values: $0.map { Int($0.sign) }) }
        }
        let algebra = factor.algebraRepresentatives.map { factor.algebra[$0] }
        // The exact elimination on the orbit coordinates grows about with their
        // cube: refuse before building it, rather than run for hours.
        if orbits.count > FactorInvariantSolver.maxConstrainedOrbits {
            throw SolverError.tooLarge(
                what: "the unknowns of \(factor.canonicalName) on \(order) tensor slots left to solve exactly after its signed permutations",
                size: orbits.count, limit: FactorInvariantSolver.maxConstrainedOrbits)
        }
        let work = Double(size) * Double(max(1, order)) * Double(dims.max() ?? 1) * Double(algebra.count + otherDiscrete.count * size)
        guard work <= FactorInvariantSolver.maxWork else {
            throw SolverError.tooLarge(what: "the estimated operations to impose the constraints of \(factor.canonicalName) on \(order) tensor slots",
                                       size: work < 9e18 ? Int(work) : Int.max, limit: Int(FactorInvariantSolver.maxWork))
        }
        let rows = try constraintRows(orbits: orbits, discrete: otherDiscrete, algebra: algebra)
        let coefficients = try exactNullSpace(rows: rows, columns: orbits.count)
        return coefficients.compactMap { c in
            var entries: [(Int, Int)] = []
            for (k, ck) in zip(c.indices, c.values) {
                for member in orbits[k] { entries.append((member.index, ck * Int(member.sign))) }
            }
            return SparseVector(entries: entries)
        }
    }

    // MARK: Signed permutations

    /// For one slot: column j goes to (row, sign).
    typealias SlotAction = [(row: Int, sign: Int8)]

    /// The matrix a slot sees: h on V, h^{-T} on V*.
    private func slotMatrix(_ h: RationalMatrix, dual: Bool) -> RationalMatrix? {
        dual ? h.inverse?.transposed : h
    }

    /// How h permutes a point slot (it always does: Sema admits point slots
    /// only for finite groups, offsets only for signed permutation groups).
    private func pointPermutation(_ points: PointSet, _ h: RationalMatrix) throws -> [Int] {
        guard let p = points.permutation(by: h, table: table) else {
            throw SolverError.inexact("\(factor.canonicalName) does not permute the points of \(points); a grid's group must consist of signed permutation matrices")
        }
        return p
    }

    /// If h acts on every slot by a signed permutation and on Det by +-1.
    private func signedActions(of h: RationalMatrix) throws -> (slots: [SlotAction], detSign: Int8)? {
        let det = h.determinant
        var detSign: Int8 = 1
        if tensor.detPower != 0 {
            guard det == .one || det == -.one else { return nil }
            if det == -.one && tensor.detPower % 2 != 0 { detSign = -1 }
        }
        var cache: [Slot: SlotAction] = [:]
        var slots: [SlotAction] = []
        for slot in tensor.slots {
            if let known = cache[slot] {
                slots.append(known)
                continue
            }
            var action: SlotAction = []
            if let points = slot.points {
                action = try pointPermutation(points, h).map { ($0, 1) }
            } else {
                guard let m = slotMatrix(h, dual: slot.dual), let columns = m.monomialColumns else { return nil }
                for (row, value) in columns {
                    guard value == .one || value == -.one else { return nil }
                    action.append((row, value == .one ? 1 : -1))
                }
            }
            cache[slot] = action
            slots.append(action)
        }
        return (slots, detSign)
    }

    /// Calls body(index, digits) for every coordinate, digits row-major.
    private func forEachIndex(_ body: (Int, [Int]) -> Void) {
        var digits = [Int](repeating: 0, count: order)
        for index in 0..<size {
            body(index, digits)
            var k = order - 1
            while k >= 0 {
                digits[k] += 1
                if digits[k] < dims[k] { break }
                digits[k] = 0
                k -= 1
            }
        }
    }

    typealias Member = (index: Int, sign: Int8)

    /// The live classes, each as its members with signs relative to the root,
    /// ordered by their smallest coordinate (deterministic).
    private func collectOrbits(_ unionFind: inout SignedUnionFind) -> [[Member]] {
        var column = [Int32](repeating: -1, count: size)
        var orbits: [[Member]] = []
        for index in 0..<size {
            let (root, sign) = unionFind.find(index)
            if unionFind.dead[root] { continue }
            if column[root] < 0 {
                column[root] = Int32(orbits.count)
                orbits.append([])
            }
            orbits[Int(column[root])].append((index, sign))
        }
        return orbits
    }

    // MARK: Remaining constraints

    /// Rows of (rho(h) - I) O and drho(X) O, where O's columns are the orbit vectors.
    /// A bound on the arithmetic of building the remaining constraints, so a
    /// huge request is an error and not an hour of work.
    static let maxWork = 4e9
    /// The most orbit coordinates an exact elimination may have: up to a few
    /// seconds for most groups (Sp(4) on V^4 -> V^4: 4,160 in 4 s), under a
    /// minute for the worst seen (O(2) on V^14: 4,096). EQNNC_MAX_ORBITS overrides it.
    static let maxConstrainedOrbits = Int(ProcessInfo.processInfo.environment["EQNNC_MAX_ORBITS"] ?? "") ?? 4200

    private func constraintRows(orbits: [[Member]], discrete: [RationalMatrix], algebra: [RationalMatrix]) throws -> [SparseRow] {
        var rows: [SparseRow] = []
        for h in discrete {
            let permutations = try tensor.slots.map { slot in try slot.points.map { try pointPermutation($0, h) } }
            rows += transposeColumns(orbits.map { orbit in
                var image: [Int: Rational] = [:]
                for member in orbit {
                    applyGroupElement(h, permutations, to: member.index, scale: Rational(Int(member.sign)), into: &image)
                    image[member.index, default: .zero] -= Rational(Int(member.sign))
                }
                return image
            })
        }
        for x in algebra {
            let slotGenerators: [Bool: RationalMatrix] = [false: x, true: -x.transposed]
            let detTerm = Rational(tensor.detPower) * x.trace
            rows += transposeColumns(orbits.map { orbit in
                var image: [Int: Rational] = [:]
                for member in orbit {
                    applyAlgebraElement(slotGenerators, detTerm: detTerm, to: member.index,
                                        scale: Rational(Int(member.sign)), into: &image)
                }
                return image
            })
        }
        return rows
    }

    private func transposeColumns(_ columns: [[Int: Rational]]) -> [SparseRow] {
        var rows: [Int: SparseRow] = [:]
        for (k, column) in columns.enumerated() {
            for (index, value) in column where !value.isZero {
                rows[index, default: []].append((k, value))
            }
        }
        return rows.keys.sorted().compactMap { rows[$0] }
    }

    private func digits(of index: Int) -> [Int] {
        var out = [Int](repeating: 0, count: order)
        var rest = index
        for k in stride(from: order - 1, through: 0, by: -1) {
            out[k] = rest % dims[k]
            rest /= dims[k]
        }
        return out
    }

    /// image += scale * rho(h) e_index, with rho(h) = det(h)^k (x)_slots h, h^{-T} or a permutation.
    private func applyGroupElement(_ h: RationalMatrix, _ permutations: [[Int]?], to index: Int, scale: Rational,
                                   into image: inout [Int: Rational]) {
        var factor = scale
        let det = h.determinant
        for _ in 0..<abs(tensor.detPower) { factor = tensor.detPower > 0 ? factor * det : factor / det }
        var terms: [(Int, Rational)] = [(0, factor)]
        for (slot, digit) in digits(of: index).enumerated() {
            let d = dims[slot]
            if let p = permutations[slot] {
                terms = terms.map { ($0.0 * d + p[digit], $0.1) }
                continue
            }
            guard let m = slotMatrix(h, dual: tensor.slots[slot].dual) else { return }
            var next: [(Int, Rational)] = []
            for (partial, value) in terms {
                for row in 0..<d where !m[row, digit].isZero {
                    next.append((partial * d + row, value * m[row, digit]))
                }
            }
            terms = next
        }
        for (i, v) in terms { image[i, default: .zero] += v }
    }

    /// image += scale * drho(X) e_index, with drho(X) the sum over slots of
    /// X (or -X^T on a dual slot) plus detPower * tr(X).
    private func applyAlgebraElement(_ generators: [Bool: RationalMatrix], detTerm: Rational, to index: Int,
                                     scale: Rational, into image: inout [Int: Rational]) {
        let digits = digits(of: index)
        var step = 1
        for slot in stride(from: order - 1, through: 0, by: -1) {
            guard let x = generators[tensor.slots[slot].dual] else { continue }
            let digit = digits[slot]
            let base = index - digit * step
            for row in 0..<dims[slot] where !x[row, digit].isZero {
                image[base + row * step, default: .zero] += scale * x[row, digit]
            }
            step *= dims[slot]
        }
        if !detTerm.isZero { image[index, default: .zero] += scale * detTerm }
    }
}
