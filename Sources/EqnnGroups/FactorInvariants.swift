import EqnnLinearAlgebra

/// The part of an atom that one factor acts on: its slots (true = dual)
/// in order, and the power of its Det. Invariants of a product group factor
/// into these (see `EquivariantSolver`).
public struct FactorTensor: Hashable, Sendable {
    public var duals: [Bool]
    public var detPower: Int
    public init(duals: [Bool], detPower: Int) {
        self.duals = duals
        self.detPower = detPower
    }
}

/// The invariant subspace {v : rho(h) v = v, drho(X) v = 0} of one factor
/// tensor, exactly:
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
    private let d: Int

    init(factor: GroupFactor, tensor: FactorTensor, size: Int) {
        self.factor = factor
        self.tensor = tensor
        self.size = size
        self.order = tensor.duals.count
        self.d = factor.dimension
    }

    func solve() throws -> [SparseVector] {
        var signedGenerators: [[SlotAction]] = []
        var signedDetSigns: [Int8] = []
        var otherDiscrete: [RationalMatrix] = []
        for (k, h) in (factor.discrete + factor.speedups).enumerated() {
            if let actions = signedActions(of: h) {
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
                    image = image &* d &+ row
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
        let work = Double(size) * Double(max(1, order)) * Double(d) * Double(algebra.count + otherDiscrete.count * size)
        guard work <= FactorInvariantSolver.maxWork else {
            throw SolverError.tooLarge(what: "the estimated operations to impose the constraints of \(factor.canonicalName) on \(order) tensor slots",
                                       size: work < 9e18 ? Int(work) : Int.max, limit: Int(FactorInvariantSolver.maxWork))
        }
        let rows = constraintRows(orbits: orbits, discrete: otherDiscrete, algebra: algebra)
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

    /// If h acts on every slot by a signed permutation and on Det by +-1.
    private func signedActions(of h: RationalMatrix) -> (slots: [SlotAction], detSign: Int8)? {
        let det = h.determinant
        var detSign: Int8 = 1
        if tensor.detPower != 0 {
            guard det == .one || det == -.one else { return nil }
            if det == -.one && tensor.detPower % 2 != 0 { detSign = -1 }
        }
        var cache: [Bool: SlotAction] = [:]
        var slots: [SlotAction] = []
        for dual in tensor.duals {
            if let known = cache[dual] {
                slots.append(known)
                continue
            }
            guard let m = slotMatrix(h, dual: dual), let columns = m.monomialColumns else { return nil }
            var action: SlotAction = []
            for (row, value) in columns {
                guard value == .one || value == -.one else { return nil }
                action.append((row, value == .one ? 1 : -1))
            }
            cache[dual] = action
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
                if digits[k] < d { break }
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

    private func constraintRows(orbits: [[Member]], discrete: [RationalMatrix], algebra: [RationalMatrix]) -> [SparseRow] {
        var rows: [SparseRow] = []
        for h in discrete {
            rows += transposeColumns(orbits.map { orbit in
                var image: [Int: Rational] = [:]
                for member in orbit {
                    applyGroupElement(h, to: member.index, scale: Rational(Int(member.sign)), into: &image)
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
            out[k] = rest % d
            rest /= d
        }
        return out
    }

    /// image += scale * rho(h) e_index, with rho(h) = det(h)^k (x)_slots h or h^{-T}.
    private func applyGroupElement(_ h: RationalMatrix, to index: Int, scale: Rational, into image: inout [Int: Rational]) {
        var factor = scale
        let det = h.determinant
        for _ in 0..<abs(tensor.detPower) { factor = tensor.detPower > 0 ? factor * det : factor / det }
        var terms: [(Int, Rational)] = [(0, factor)]
        for (slot, digit) in digits(of: index).enumerated() {
            guard let m = slotMatrix(h, dual: tensor.duals[slot]) else { return }
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
            guard let x = generators[tensor.duals[slot]] else { continue }
            let digit = digits[slot]
            let base = index - digit * step
            for row in 0..<d where !x[row, digit].isZero {
                image[base + row * step, default: .zero] += scale * x[row, digit]
            }
            step *= d
        }
        if !detTerm.isZero { image[index, default: .zero] += scale * detTerm }
    }
}
