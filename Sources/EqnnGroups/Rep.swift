/// One tensor position of an atom: a copy of V of factor `factor`, or of its
/// dual, or a permutation representation of that factor on a set of points
/// (`Regular`, a grid kernel's offsets; these are their own duals), or an
/// irreducible representation of a rotation group of the plane (`Irrep(k)`,
/// `Mirror`; orthogonal, their own duals).
public struct Slot: Hashable, Sendable {
    public var factor: Int
    public var dual: Bool
    public var points: PointSet?
    public var irrep: PlanarIrrep?
    public init(factor: Int, dual: Bool, points: PointSet? = nil, irrep: PlanarIrrep? = nil) {
        self.factor = factor
        self.dual = dual
        self.points = points
        self.irrep = irrep
    }

    /// A copy of V or V* (the factor's own matrices act on it).
    public var isVector: Bool { points == nil && irrep == nil }

    /// The same slot in the dual representation.
    public var dualized: Slot {
        isVector ? Slot(factor: factor, dual: !dual) : self
    }
}

/// The representations of C(n), D(n), SO(2) and O(2) that are not tensors of
/// V (see PlanarAction for how these groups act on the plane). Their matrices
/// have irrational entries (cos 2 pi k / n), so the exact solver never sees
/// them: maps between them come from the numeric group average (LayerMaps).
public enum PlanarIrrep: Hashable, Sendable {
    /// Irrep(k), k >= 1: the rotation by theta acts as the rotation by k theta,
    /// the mirror as the plane's mirror diag(-1, 1). Irrep(1) of SO(2) and O(2) is V.
    case frequency(Int)
    /// Mirror (D(n), O(2)): rotations act trivially, the mirror by -1.
    case mirror

    public var dimension: Int {
        if case .frequency = self { return 2 }
        return 1
    }
}

/// A tensor product of copies of V and V* of the factors, in the order
/// written, times a power of Det (Sign) of each factor. Coordinates are
/// row-major over the slots. Atoms are kept canonical (see `Rep.canonical`),
/// so equal atoms are equal representations with equal layouts.
public struct Atom: Hashable, Sendable {
    public var slots: [Slot]
    public var detPowers: [Int]

    public init(slots: [Slot], detPowers: [Int]) {
        self.slots = slots
        self.detPowers = detPowers
    }

    public static func scalar(factorCount: Int) -> Atom {
        Atom(slots: [], detPowers: Array(repeating: 0, count: factorCount))
    }

    public var isScalar: Bool { slots.isEmpty && detPowers.allSatisfy { $0 == 0 } }

    /// Whether a slot is Irrep(k) or Mirror: only the numeric path solves for it.
    public var hasPlanarIrrep: Bool { slots.contains { $0.irrep != nil } }
}

/// A run of `multiplicity` copies of one atom.
public struct Summand: Hashable, Sendable {
    public var multiplicity: Int
    public var atom: Atom
    public init(multiplicity: Int, atom: Atom) {
        self.multiplicity = multiplicity
        self.atom = atom
    }
}

/// Why a representation cannot be built.
public enum RepError: Error, Sendable, Equatable {
    /// The dimension (or number of summands) exceeds what eqnnc handles.
    case tooLarge(what: String, size: String, limit: Int)
}

/// A representation: a direct sum of atoms laid out one after another.
///
/// Layout convention: R + S puts R's coordinates first; k*R is k copies of R
/// one after another; (A + B) * (C + D) is laid out as A*C + A*D + B*C + B*D,
/// each product row-major. Adjacent equal atoms merge into one summand.
public struct Rep: Hashable, Sendable {
    public let group: Group
    public private(set) var summands: [Summand]

    public static let maxSummands = 4096
    public static let maxAtomDimension = 1 << 24
    public static let maxSlots = 24
    /// The largest dimension of a whole representation (a layer's width), so
    /// that products of two widths (dense weight counts) stay far from overflow.
    public static let maxDimension = 1 << 28

    public init(group: Group, summands: [Summand]) {
        self.group = group
        self.summands = []
        for s in summands { append(s) }
    }

    public static func == (a: Rep, b: Rep) -> Bool { a.summands == b.summands }
    public func hash(into hasher: inout Hasher) { hasher.combine(summands) }

    private mutating func append(_ s: Summand) {
        guard s.multiplicity > 0 else { return }
        let atom = group.canonical(s.atom)
        if let last = summands.last, last.atom == atom {
            summands[summands.count - 1].multiplicity += s.multiplicity
        } else {
            summands.append(Summand(multiplicity: s.multiplicity, atom: atom))
        }
    }

    // MARK: Constructors

    public static func scalar(_ group: Group) -> Rep {
        Rep(group: group, summands: [Summand(multiplicity: 1, atom: .scalar(factorCount: group.factors.count))])
    }

    /// A permutation representation of factor `factor` (Regular, kernel offsets).
    public static func points(_ group: Group, factor: Int, _ points: PointSet) -> Rep {
        Rep(group: group, summands: [Summand(multiplicity: 1, atom: Atom(
            slots: [Slot(factor: factor, dual: false, points: points)],
            detPowers: Array(repeating: 0, count: group.factors.count)))])
    }

    /// V of factor `factor`.
    public static func vector(_ group: Group, factor: Int) -> Rep {
        Rep(group: group, summands: [Summand(multiplicity: 1, atom: Atom(
            slots: [Slot(factor: factor, dual: false)],
            detPowers: Array(repeating: 0, count: group.factors.count)))])
    }

    /// Det (Sign) of factor `factor`.
    public static func determinant(_ group: Group, factor: Int) -> Rep {
        var powers = Array(repeating: 0, count: group.factors.count)
        powers[factor] = 1
        return Rep(group: group, summands: [Summand(multiplicity: 1, atom: Atom(slots: [], detPowers: powers))])
    }

    // MARK: Algebra

    public static func + (a: Rep, b: Rep) -> Rep {
        Rep(group: a.group, summands: a.summands + b.summands)
    }

    public func times(_ k: Int) throws -> Rep {
        let count = summands.count
        if count > 1, (checkedMul(count, k) ?? Int.max) > Rep.maxSummands {
            throw RepError.tooLarge(what: "number of summands", size: "\(count) x \(k)", limit: Rep.maxSummands)
        }
        if count > 1 { return Rep(group: group, summands: Array(repeating: summands, count: k).flatMap { $0 }) }
        return Rep(group: group, summands: try summands.map {
            guard let m = checkedMul($0.multiplicity, k) else {
                throw RepError.tooLarge(what: "multiplicity", size: "\($0.multiplicity) x \(k)", limit: Int.max)
            }
            return Summand(multiplicity: m, atom: $0.atom)
        })
    }

    /// The tensor product, distributed over the summands in layout order:
    /// each copy of each summand of `self`, times each summand of `other`.
    public func tensor(_ other: Rep) throws -> Rep {
        var out: [Summand] = []
        for a in summands {
            let copies = other.summands.count == 1 ? 1 : a.multiplicity
            if out.count + copies * other.summands.count > Rep.maxSummands {
                throw RepError.tooLarge(what: "number of summands", size: "more than \(Rep.maxSummands)",
                                        limit: Rep.maxSummands)
            }
            for _ in 0..<copies {
                for b in other.summands {
                    let slots = a.atom.slots + b.atom.slots
                    if slots.count > Rep.maxSlots {
                        throw RepError.tooLarge(what: "tensor order", size: "\(slots.count)", limit: Rep.maxSlots)
                    }
                    let atom = Atom(slots: slots, detPowers: zip(a.atom.detPowers, b.atom.detPowers).map { $0 + $1 })
                    let perCopy = other.summands.count == 1 ? a.multiplicity : 1
                    guard let m = checkedMul(perCopy, b.multiplicity) else {
                        throw RepError.tooLarge(what: "multiplicity", size: "\(perCopy) x \(b.multiplicity)", limit: Int.max)
                    }
                    out.append(Summand(multiplicity: m, atom: atom))
                }
            }
        }
        let result = Rep(group: group, summands: out)
        _ = try result.dimension()
        return result
    }

    public func power(_ k: Int) throws -> Rep {
        var result = Rep.scalar(group)
        for _ in 0..<k { result = try result.tensor(self) }
        return result
    }

    public var dual: Rep {
        Rep(group: group, summands: summands.map { s in
            Summand(multiplicity: s.multiplicity, atom: Atom(
                slots: s.atom.slots.map(\.dualized),
                detPowers: s.atom.detPowers.map { -$0 }))
        })
    }

    // MARK: Sizes

    /// The dimension of one atom; throws if it exceeds `maxAtomDimension`.
    public func dimension(of atom: Atom) throws -> Int {
        var d = 1
        for slot in atom.slots {
            guard let next = checkedMul(d, group.dimension(of: slot)), next <= Rep.maxAtomDimension else {
                throw RepError.tooLarge(what: "dimension of \(group.name(of: atom))", size: group.dimensionText(of: atom),
                                        limit: Rep.maxAtomDimension)
            }
            d = next
        }
        return d
    }

    public func dimension() throws -> Int {
        var total = 0
        for s in summands {
            let d = try dimension(of: s.atom)
            guard let m = checkedMul(d, s.multiplicity), let t = checkedAdd(total, m), t <= Rep.maxDimension else {
                throw RepError.tooLarge(what: "dimension", size: "more than \(Rep.maxDimension)", limit: Rep.maxDimension)
            }
            total = t
        }
        return total
    }

    /// Distinct atoms with their total multiplicities, in first-appearance order.
    public var distinctAtoms: [(atom: Atom, multiplicity: Int)] {
        var order: [Atom] = []
        var counts: [Atom: Int] = [:]
        for s in summands {
            if counts[s.atom] == nil { order.append(s.atom) }
            counts[s.atom, default: 0] += s.multiplicity
        }
        return order.map { ($0, counts[$0] ?? 0) }
    }

    /// "64*Scalar + 32*V + 16*V^2".
    public var description: String {
        summands.map { s in
            let name = group.name(of: s.atom)
            if s.multiplicity == 1 { return name }
            return "\(s.multiplicity)*\(name)"
        }.joined(separator: " + ")
    }
}

import EqnnLinearAlgebra

extension Slot {
    /// How the slot is written: V, Regular, Irrep(k), Mirror, or Offsets3x3 (never written by users).
    var baseName: String {
        switch irrep {
        case .frequency(let k)?: return "Irrep(\(k))"
        case .mirror?: return "Mirror"
        case nil: break
        }
        switch points {
        case nil: return "V"
        case .regular: return "Regular"
        case .offsets(let k, let d): return "Offsets" + Array(repeating: "\(k)", count: d).joined(separator: "x")
        }
    }
}

extension Group {
    /// The dimension of one slot: d for V, 2 for Irrep(k), 1 for Mirror, the number of points otherwise.
    public func dimension(of slot: Slot) -> Int {
        slot.irrep?.dimension ?? slot.points?.count ?? factors[slot.factor].dimension
    }

    /// Canonical form of an atom: duals dropped for orthogonal factors
    /// (V* = V there, matrix for matrix), Det powers reduced by Det's order.
    public func canonical(_ atom: Atom) -> Atom {
        var out = atom
        for k in out.slots.indices where factors[out.slots[k].factor].isOrthogonal || !out.slots[k].isVector {
            out.slots[k].dual = false
        }
        for f in out.detPowers.indices {
            switch factors[f].detOrder {
            case .trivial: out.detPowers[f] = 0
            case .two: out.detPowers[f] = ((out.detPowers[f] % 2) + 2) % 2
            case .unbounded: break
            }
        }
        return out
    }

    /// A readable name for an atom: "V^2", "V(P)*V(E)", "Sign*V", "dual(V)".
    public func name(of atom: Atom) -> String {
        var parts: [String] = []
        let qualify = factors.count > 1
        for (f, power) in atom.detPowers.enumerated() where power != 0 {
            let base = factors[f].isPermutationGroup ? "Sign" : "Det"
            let named = qualify ? "\(base)(\(labels[f]))" : base
            parts.append(power == 1 ? named : (power == -1 ? "dual(\(named))" : "\(named)^\(power)"))
        }
        var k = 0
        let slots = atom.slots
        while k < slots.count {
            var run = 1
            while k + run < slots.count && slots[k + run] == slots[k] { run += 1 }
            let slot = slots[k]
            var base = qualify ? "\(slot.baseName)(\(labels[slot.factor]))" : slot.baseName
            if slot.dual { base = "dual(\(base))" }
            parts.append(run == 1 ? base : "\(base)^\(run)")
            k += run
        }
        return parts.isEmpty ? "Scalar" : parts.joined(separator: "*")
    }

    /// "3^16 = 43046721" (or "... > 2^63" when it overflows).
    func dimensionText(of atom: Atom) -> String {
        var powers: [(base: Int, exponent: Int)] = []
        for slot in atom.slots {
            let d = dimension(of: slot)
            if let k = powers.firstIndex(where: { $0.base == d }) { powers[k].exponent += 1 } else { powers.append((d, 1)) }
        }
        var total: Int? = 1
        for (base, exponent) in powers {
            for _ in 0..<exponent { total = total.flatMap { checkedMul($0, base) } }
        }
        let formula = powers.map { $0.exponent == 1 ? "\($0.base)" : "\($0.base)^\($0.exponent)" }.joined(separator: " * ")
        return formula + (total.map { " = \($0)" } ?? " > 2^63")
    }
}
