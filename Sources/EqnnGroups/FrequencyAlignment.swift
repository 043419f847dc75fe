import EqnnLinearAlgebra
import Foundation
import Synchronization

/// The exact kernel bases of a finite point group of the plane (p4m as
/// `matrices(2)`, its subgroups) re-expressed like the steerable ones
/// (SteerableKernels.alignedWithFrequencies): each basis matrix maps one
/// rotation frequency of the input field to one of the output. The solver's
/// orbit indicators span the same space; Adam, which steps coefficient by
/// coefficient, learns from the aligned basis as it does from e2cnn's.
public enum FrequencyAlignment {
    /// The rotations of a finite matrix group acting on the plane (`matrices(2)`: its
    /// matrices are the action), as elements with words, or nil for any other factor
    /// (a permutation group's V is not the plane; C(n) and D(n) on grids are steerable).
    public static func planeRotations(_ factor: GroupFactor) -> [PlanarAction.Element]? {
        guard case .matrices(2, _, _) = factor.kind, factor.algebra.isEmpty, !factor.discrete.isEmpty,
              factor.finiteTable != nil else { return nil }
        let generators = factor.discrete.map(\.doubleMatrix)
        var found: [FactorElement] = [FactorElement(matrix: .identity(2), inverse: .identity(2), determinant: 1)]
        var seen: Set<[Int]> = [key(.identity(2))]
        var next = 0
        while next < found.count && found.count <= 1024 {
            let e = found[next]
            next += 1
            for (g, h) in generators.enumerated() {
                let m = e.matrix * h
                guard seen.insert(key(m)).inserted else { continue }
                let determinant = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
                found.append(FactorElement(matrix: m, inverse: m.transposed, determinant: determinant, word: e.word + [(g, false)]))
            }
        }
        // Only orthogonal point groups rotate: a shear would have no angle.
        guard found.allSatisfy({ ($0.matrix.transposed * $0.matrix - .identity(2)).maxAbs < 1e-9 }) else { return nil }
        return found.filter { $0.determinant > 0 }.map { e in
            PlanarAction.Element(angle: atan2(e.matrix[1, 0], e.matrix[0, 0]), mirrored: false, factorElement: e)
        }
    }

    private static func key(_ m: Matrix) -> [Int] { m.entries.map { Int(($0 * 1e6).rounded()) } }

    /// `basis` (matrices of dim b rows, dim a * offsets columns, input coordinate
    /// major, offset minor) aligned with the rotation frequencies of a and b.
    /// `basis` must be the exact solver's basis for (a with the offsets, b): the result is
    /// cached by those (a network's repeated layers align once).
    public static func aligned(_ basis: [[Double]], _ group: Group, rotations: [PlanarAction.Element],
                               from a: Atom, to b: Atom, offsets: Int) -> [[Double]] {
        let key = Key(group: group, from: a, to: b, offsets: offsets)
        if let known = cache.withLock({ $0[key] }) { return known }
        let result = compute(basis, group, rotations: rotations, from: a, to: b, offsets: offsets)
        cache.withLock { $0[key] = result }
        return result
    }

    private struct Key: Hashable { var group: Group, from: Atom, to: Atom, offsets: Int }
    private static let cache = Mutex<[Key: [[Double]]]>([:])

    private static func compute(_ basis: [[Double]], _ group: Group, rotations: [PlanarAction.Element],
                                from a: Atom, to b: Atom, offsets: Int) -> [[Double]] {
        let outMatrices = rotations.map { group.matrix(of: b, at: [$0.factorElement]) }
        let inMatrices = rotations.map { group.matrix(of: a, at: [$0.factorElement]) }
        return SteerableKernels.alignedWithFrequencies(basis, parts: 1, elements: rotations, inMatrices: inMatrices, outMatrices: outMatrices,
                                                       offsets: offsets)
    }
}
