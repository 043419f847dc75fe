import EqnnLinearAlgebra
import Foundation

/// How a rotation group acts on the plane of a 2-D grid when its rotations
/// do not map pixels to pixels: C(n) and D(n) (rotations by multiples of
/// 2 pi / n, and for D(n) the mirror), SO(2) and O(2) (every angle).
///
/// Coordinates of the plane are the grid's axes (x0, x1) = (axis 0, axis 1);
/// the rotation by theta is [[cos, -sin], [sin, cos]] and the mirror is
/// (x0, x1) -> (-x0, x1). The group's own representations keep their meaning:
/// C(n)'s first generator (the cycle (1 2 ... n) of its V) is the rotation by
/// 2 pi / n, D(n)'s second (a reflection of the n-gon) is the mirror; for SO(2)
/// and O(2), V is the plane itself.
public struct PlanarAction: Sendable, Hashable {
    public let factor: GroupFactor
    /// n for C(n) and D(n); nil for SO(2) and O(2), which have every angle.
    public let rotations: Int?
    public let mirrors: Bool

    public init?(_ factor: GroupFactor) {
        self.factor = factor
        switch factor.kind {
        case .cyclic(let n): rotations = n; mirrors = false
        case .dihedral(let n) where n >= 3: rotations = n; mirrors = true
        case .specialOrthogonal(2): rotations = nil; mirrors = false
        case .orthogonal(2): rotations = nil; mirrors = true
        default: return nil
        }
    }

    /// One element: the rotation by `angle` after the mirror when `mirrored`.
    public struct Element: Sendable {
        public var angle: Double
        public var mirrored: Bool
        /// Its action on the group's representations (Group.matrix(of:at:)).
        public var factorElement: FactorElement
        /// Its 2 x 2 matrix on the plane (grid axes).
        public var plane: Matrix {
            let c = cos(angle), s = sin(angle)
            let m = mirrored ? -1.0 : 1.0
            return Matrix(rows: 2, columns: 2, entries: [m * c, -s, m * s, c])
        }
        /// "rotation by 45 degrees", "mirror, then rotation by 90 degrees".
        public var description: String {
            let degrees = angle * 180 / .pi
            let turn = abs(degrees - degrees.rounded()) < 1e-9 ? "\(Int(degrees.rounded()))" : String(format: "%.2f", degrees)
            let rotation = "rotation by \(turn) degrees"
            return mirrored ? (degrees == 0 ? "mirror" : "mirror, then \(rotation)") : rotation
        }
    }

    /// The rotation by `steps` * 2 pi / n (C(n), D(n)), after the mirror when `mirrored`.
    public func element(steps: Int, mirrored: Bool) -> Element {
        let n = rotations ?? 1
        let k = ((steps % n) + n) % n
        var word: [(generator: Int, inverted: Bool)] = Array(repeating: (0, false), count: n >= 2 ? k : 0)
        if mirrored { word.append((1, false)) }
        var matrix = Matrix.identity(factor.dimension)
        var determinant = 1.0
        for (g, _) in word {
            matrix = matrix * factor.discrete[g].doubleMatrix
            determinant *= factor.discrete[g].determinant.doubleValue
        }
        let element = FactorElement(matrix: matrix, inverse: matrix.transposed, determinant: determinant, word: word)
        return Element(angle: 2 * .pi * Double(k) / Double(n), mirrored: mirrored, factorElement: element)
    }

    /// The rotation by `angle` (SO(2), O(2)), after the mirror when `mirrored`.
    public func element(angle: Double, mirrored: Bool) -> Element {
        let c = cos(angle), s = sin(angle)
        var matrix = Matrix(rows: 2, columns: 2, entries: [c, -s, s, c])
        var word: [(generator: Int, inverted: Bool)] = []
        if mirrored {
            matrix = matrix * Matrix(rows: 2, columns: 2, entries: [-1, 0, 0, 1])
            word = [(0, false)]
        }
        return Element(angle: angle, mirrored: mirrored,
                       factorElement: FactorElement(matrix: matrix, inverse: matrix.transposed, determinant: mirrored ? -1 : 1, word: word))
    }

    /// Every element of C(n) or D(n); for SO(2) and O(2), those of C(order) or
    /// D(order) inside them (averaging over them integrates exactly every
    /// trigonometric polynomial of degree below `order`).
    public func elements(order: Int) -> [Element] {
        let n = rotations ?? order
        var out: [Element] = []
        for mirrored in mirrors ? [false, true] : [false] {
            for k in 0..<n {
                out.append(rotations == nil ? element(angle: 2 * .pi * Double(k) / Double(n), mirrored: mirrored)
                                            : element(steps: k, mirrored: mirrored))
            }
        }
        return out
    }

    /// The elements that map pixels to pixels (multiples of 90 degrees, and the
    /// mirror): there the sampled kernels are exactly equivariant.
    public var latticeElements: [Element] {
        elements(order: 4).filter { e in
            let turns = e.angle / (.pi / 2)
            return abs(turns - turns.rounded()) < 1e-9
        }
    }

    /// Whether every element maps pixels to pixels (C(n) and D(n) for n dividing 4).
    public var isExactOnLattice: Bool { rotations.map { 4 % $0 == 0 } ?? false }

    /// The name of the subgroup that acts exactly on the grid, e.g. "C(4)", "D(2)".
    public var latticeSubgroup: String {
        let quarter = rotations.map { $0 % 4 == 0 ? 4 : ($0 % 2 == 0 ? 2 : 1) } ?? 4
        return mirrors ? "D(\(quarter))" : "C(\(quarter))"
    }

    /// The degree of an atom's representation as a trigonometric polynomial in
    /// the angle (SO(2), O(2): one per copy of V, k per Irrep(k)); 0 for finite groups.
    public func degree(_ atom: Atom) -> Int {
        guard rotations == nil else { return 0 }
        return atom.slots.reduce(0) { total, slot in
            switch slot.irrep {
            case .frequency(let k)?: return total + k
            case .mirror?: return total
            case nil: return total + 1
            }
        }
    }

    /// The element as a rotation by `angle` after the mirror when `mirrored`:
    /// from its word for C(n) and D(n) (generator 0 the rotation by 2 pi / n,
    /// generator 1 the mirror), from its matrix on the plane for SO(2) and O(2).
    public func planar(_ e: FactorElement) -> (angle: Double, mirrored: Bool) {
        guard let n = rotations else {
            let m = e.matrix
            guard m.rows == 2 && m.columns == 2 else { return (0, false) }
            // R(theta) diag(-1, 1) has first column -(cos theta, sin theta).
            return e.determinant < 0 ? (atan2(-m[1, 0], -m[0, 0]), true) : (atan2(m[1, 0], m[0, 0]), false)
        }
        // R(a) M^s R(b) = R(a + (-1)^s b) M^s.
        var steps = 0, mirrored = false
        for (generator, inverted) in e.word {
            if generator == 0 {
                steps += (inverted ? -1 : 1) * (mirrored ? -1 : 1)
            } else {
                mirrored.toggle()
            }
        }
        return (2 * .pi * Double(((steps % n) + n) % n) / Double(n), mirrored)
    }

    /// The matrix of Irrep(k) or Mirror at an element.
    public func matrix(of irrep: PlanarIrrep, at e: FactorElement) -> Matrix {
        let (angle, mirrored) = planar(e)
        switch irrep {
        case .mirror:
            return Matrix(rows: 1, columns: 1, entries: [mirrored ? -1 : 1])
        case .frequency(let k):
            let c = cos(Double(k) * angle), s = sin(Double(k) * angle)
            let m = mirrored ? -1.0 : 1.0
            return Matrix(rows: 2, columns: 2, entries: [m * c, -s, m * s, c])
        }
    }
}
