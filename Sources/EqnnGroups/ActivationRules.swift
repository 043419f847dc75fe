import EqnnLinearAlgebra

/// Which group elements a pointwise function commutes with.
public enum PointwiseRequirement: Sendable {
    /// Every function: only permutation matrices.
    case permutation
    /// Odd functions (tanh): signed permutation matrices.
    case signedPermutation
}

/// The generator that breaks a rule, to name it in a diagnostic.
public struct Obstruction: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A discrete generator acts by a matrix that is not a (signed) permutation / not orthogonal.
        case discrete(RationalMatrix)
        /// A Lie-algebra generator acts nontrivially / not antisymmetrically.
        case algebra(RationalMatrix)
        /// An element of a rotation group of the plane, described ("rotation by 45 degrees"),
        /// where the atom has Irrep(k) or Mirror slots (decided numerically).
        case element(String)
    }
    public var factor: Int
    public var kind: Kind
}

/// Exact rules decided from the generators, factor by factor. An atom's
/// matrix for a generator of factor f is det(h)^k times the Kronecker product
/// of h (or h^{-T}) over f's slots, and the identity elsewhere.
extension Group {
    /// nil when a pointwise function meeting `requirement` commutes with the atom.
    ///
    /// A Kronecker product of monomial matrices is monomial, and of a
    /// non-monomial one is not; its entries are products of one entry per
    /// slot, so they are all 1 (or all +-1) exactly when every slot's entries
    /// have one common value c_s (resp. |c_s|) and det^k * prod c_s = 1 (resp. +-1).
    /// A Lie-algebra element acts by the Kronecker sum sum_s X_s + k tr(X),
    /// which is zero exactly when every X_s = c_s I and k tr(X) + sum c_s = 0.
    public func pointwiseObstruction(_ atom: Atom, requirement: PointwiseRequirement) -> Obstruction? {
        if atom.hasPlanarIrrep {
            return planarObstruction(atom) { m in m.isMonomial(signed: requirement == .signedPermutation) }
        }
        for (f, factor) in factors.enumerated() {
            let slots = atom.slots.filter { $0.factor == f }
            let k = atom.detPowers[f]
            if slots.isEmpty && k == 0 { continue }
            for h in factor.discrete where !actsMonomially(h, slots: slots, detPower: k, requirement: requirement) {
                return Obstruction(factor: f, kind: .discrete(h))
            }
            for x in factor.algebra where !actsAsZero(x, slots: slots, detPower: k) {
                return Obstruction(factor: f, kind: .algebra(x))
            }
        }
        return nil
    }

    /// nil when the atom is orthogonal (rho(g)^T rho(g) = I), as `norm` needs.
    ///
    /// (A (x) B)^T (A (x) B) = A^T A (x) B^T B is the identity exactly when
    /// every A^T A = c I with the c's (and det^2k) multiplying to 1; likewise
    /// the symmetric part of a Kronecker sum vanishes exactly when every
    /// symmetric part is a multiple of I and the multiples cancel.
    public func orthogonalityObstruction(_ atom: Atom) -> Obstruction? {
        if atom.hasPlanarIrrep {
            return planarObstruction(atom) { m in (m.transposed * m).isIdentity }
        }
        for (f, factor) in factors.enumerated() {
            let slots = atom.slots.filter { $0.factor == f }
            let k = atom.detPowers[f]
            if slots.isEmpty && k == 0 { continue }
            for h in factor.discrete {
                var product = Rational.one
                let det = h.determinant
                for _ in 0..<abs(2 * k) { product = k > 0 ? product * det : product / det }
                var ok = true
                for slot in slots where slot.points == nil {  // point slots are permutations
                    guard let m = slot.dual ? h.inverse?.transposed : h,
                          let c = scalarMultipleOfIdentity(m.transposed * m) else { ok = false; break }
                    product *= c
                }
                if !ok || product != .one { return Obstruction(factor: f, kind: .discrete(h)) }
            }
            for x in factor.algebra {
                var total = Rational(k) * x.trace
                var ok = true
                for slot in slots where slot.points == nil {  // point slots are permutations
                    let m = slot.dual ? -x.transposed : x
                    guard let c = scalarMultipleOfIdentity(m + m.transposed) else { ok = false; break }
                    total += c / Rational(2)
                }
                if !ok || !total.isZero { return Obstruction(factor: f, kind: .algebra(x)) }
            }
        }
        return nil
    }

    /// The first generating element of the plane's rotation group (the rotation
    /// by 2 pi / n, or by 1 radian for SO(2) and O(2), and the mirror) whose
    /// matrix on the atom fails `accepts`.
    private func planarObstruction(_ atom: Atom, accepts: (Matrix) -> Bool) -> Obstruction? {
        guard factors.count == 1, let action = PlanarAction(factors[0]) else { return nil }
        var generators: [PlanarAction.Element] = []
        if let n = action.rotations {
            if n >= 2 { generators.append(action.element(steps: 1, mirrored: false)) }
            if action.mirrors { generators.append(action.element(steps: 0, mirrored: true)) }
        } else {
            generators.append(action.element(angle: 1, mirrored: false))
            if action.mirrors { generators.append(action.element(angle: 0, mirrored: true)) }
        }
        for g in generators where !accepts(matrix(of: atom, at: [g.factorElement])) {
            return Obstruction(factor: 0, kind: .element(g.description))
        }
        return nil
    }

    /// Whether an atom is the trivial representation (a plain scalar channel).
    public func isTrivial(_ atom: Atom) -> Bool { canonical(atom).isScalar }

    private func actsMonomially(_ h: RationalMatrix, slots: [Slot], detPower k: Int,
                                requirement: PointwiseRequirement) -> Bool {
        var product = Rational.one
        let det = h.determinant
        for _ in 0..<abs(k) { product = k > 0 ? product * det : product / det }
        for slot in slots where slot.points == nil {  // point slots are permutations
            guard let m = slot.dual ? h.inverse?.transposed : h, let columns = m.monomialColumns else { return false }
            let values = columns.map(\.value)
            switch requirement {
            case .permutation:
                guard values.allSatisfy({ $0 == values[0] }) else { return false }
                product *= values[0]
            case .signedPermutation:
                let magnitude = values[0].numerator < 0 ? -values[0] : values[0]
                guard values.allSatisfy({ $0 == magnitude || $0 == -magnitude }) else { return false }
                product *= magnitude
            }
        }
        switch requirement {
        case .permutation: return product == .one
        case .signedPermutation: return product == .one || product == -.one
        }
    }

    private func actsAsZero(_ x: RationalMatrix, slots: [Slot], detPower k: Int) -> Bool {
        var total = Rational(k) * x.trace
        for slot in slots where slot.points == nil {  // point slots are permutations
            let m = slot.dual ? -x.transposed : x
            guard let c = scalarMultipleOfIdentity(m) else { return false }
            total += c
        }
        return total.isZero
    }

    private func scalarMultipleOfIdentity(_ m: RationalMatrix) -> Rational? {
        guard m.rows > 0 else { return .zero }
        let c = m[0, 0]
        for i in 0..<m.rows {
            for j in 0..<m.columns where m[i, j] != (i == j ? c : .zero) { return nil }
        }
        return c
    }
}

/// Numeric counterparts of the exact rules, for matrices with entries like cos(2 pi / 8).
private extension Matrix {
    static let tolerance = 1e-9

    var isIdentity: Bool {
        (0..<rows).allSatisfy { i in (0..<columns).allSatisfy { j in abs(self[i, j] - (i == j ? 1 : 0)) < Matrix.tolerance } }
    }

    /// One nonzero entry per row and column, each 1 (or +-1 when `signed`).
    func isMonomial(signed: Bool) -> Bool {
        var used = Set<Int>()
        for i in 0..<rows {
            let nonzero = (0..<columns).filter { abs(self[i, $0]) > Matrix.tolerance }
            guard nonzero.count == 1, used.insert(nonzero[0]).inserted else { return false }
            let value = self[i, nonzero[0]]
            guard abs(value - 1) < Matrix.tolerance || (signed && abs(value + 1) < Matrix.tolerance) else { return false }
        }
        return true
    }
}
