import XCTest
import EqnnLinearAlgebra
@testable import EqnnGroups

/// Every basis element must satisfy rho_B(g) W = W rho_A(g) for random group
/// elements g (random words in the discrete generators, exponentials of
/// random Lie-algebra elements), and the space must be nonzero where theory
/// says so. This checks the solver against the definition, not against itself.
final class BasisEquivarianceTests: XCTestCase {
    let solver = EquivariantSolver()

    func assertEquivariant(_ g: Group, from a: Atom, to b: Atom, expectedDimension: Int? = nil,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let a = g.canonical(a), b = g.canonical(b)
        let basis = try solver.homBasis(g, from: a, to: b)
        if let expected = expectedDimension {
            XCTAssertEqual(basis.count, expected, file: file, line: line)
        } else {
            XCTAssertFalse(basis.isEmpty, "an empty basis passes every equivariance check", file: file, line: line)
        }
        let inRep = Rep(group: g, summands: [Summand(multiplicity: 1, atom: a)])
        let outRep = Rep(group: g, summands: [Summand(multiplicity: 1, atom: b)])
        let m = try inRep.dimension(), n = try outRep.dimension()
        var rng = SplitMix64(seed: 42)
        for _ in 0..<3 {
            let element = g.randomElement(using: &rng, scale: 0.5)
            let rhoIn = inRep.matrix(at: element), rhoOut = outRep.matrix(at: element)
            for vector in basis {
                let w = Matrix(rows: n, columns: m, entries: vector.dense(count: n * m).map(Double.init))
                XCTAssertGreaterThan(w.norm, 0, file: file, line: line)
                let residual = (rhoOut * w - w * rhoIn).norm / (w.norm * max(1, rhoIn.norm * rhoOut.norm))
                XCTAssertLessThan(residual, 1e-9, "\(g) \(g.name(of: a)) -> \(g.name(of: b))", file: file, line: line)
            }
        }
    }

    func testPermutationGroups() throws {
        try assertEquivariant(group(.symmetric(4)), from: tensorPower(2), to: tensorPower(2), expectedDimension: 15)
        try assertEquivariant(group(.cyclic(6)), from: tensorPower(1), to: tensorPower(1), expectedDimension: 6)
        try assertEquivariant(group(.dihedral(5)), from: tensorPower(1), to: tensorPower(2))
        try assertEquivariant(group(.alternating(4)), from: tensorPower(2), to: tensorPower(1))
        try assertEquivariant(group(.symmetric(3)), from: tensorPower(0, det: 1), to: tensorPower(3), expectedDimension: 4)
        let cube = GroupKind.permutations(degree: 8, generators: [
            GroupFactor.cycle(8, [0, 1, 2, 3]).compose(GroupFactor.cycle(8, [4, 5, 6, 7])),
            GroupFactor.cycle(8, [0, 1, 5, 4]).compose(GroupFactor.cycle(8, [3, 2, 6, 7])),
        ])
        try assertEquivariant(group(cube), from: tensorPower(1), to: tensorPower(1))
    }

    func testLieGroups() throws {
        try assertEquivariant(group(.specialOrthogonal(3)), from: tensorPower(2), to: tensorPower(1), expectedDimension: 1)
        try assertEquivariant(group(.specialOrthogonal(3)), from: tensorPower(3), to: tensorPower(3))
        try assertEquivariant(group(.orthogonal(3)), from: tensorPower(2), to: tensorPower(2), expectedDimension: 3)
        try assertEquivariant(group(.orthogonal(2)), from: tensorPower(2), to: tensorPower(2))
        try assertEquivariant(group(.lorentz(full: true)), from: tensorPower(2), to: tensorPower(0), expectedDimension: 1)
        try assertEquivariant(group(.lorentz(full: false)), from: tensorPower(1), to: tensorPower(3))
        try assertEquivariant(group(.symplectic(4)), from: tensorPower(2), to: tensorPower(0), expectedDimension: 1)
        try assertEquivariant(group(.symplectic(2)), from: tensorPower(1, dual: true), to: tensorPower(1), expectedDimension: 1)
    }

    func testUserMatrixGroups() throws {
        // The hyperbolic rotations exp(t [[0,1],[1,0]]) preserve x^2 - y^2 and,
        // having determinant 1, the area form x1 y2 - x2 y1: two bilinear invariants.
        let boost = GroupKind.matrices(dimension: 2, discrete: [], algebra: [RationalMatrix(integers: [[0, 1], [1, 0]])])
        try assertEquivariant(group(boost), from: tensorPower(2), to: tensorPower(0), expectedDimension: 2)
        // A rotation by a quarter turn generates C(4) acting on R^2.
        let quarter = GroupKind.matrices(dimension: 2, discrete: [RationalMatrix(integers: [[0, -1], [1, 0]])], algebra: [])
        try assertEquivariant(group(quarter), from: tensorPower(1), to: tensorPower(1), expectedDimension: 2)
        // A non-monomial discrete generator: the shear keeps only e1 invariant.
        let shear = GroupKind.matrices(dimension: 2, discrete: [RationalMatrix(integers: [[1, 1], [0, 1]])], algebra: [])
        try assertEquivariant(group(shear), from: tensorPower(0), to: tensorPower(1), expectedDimension: 1)
        try assertEquivariant(group(shear), from: tensorPower(1), to: tensorPower(1))
    }

    func testProductGroups() throws {
        let g = Group(factors: [GroupFactor(kind: .symmetric(4)), GroupFactor(kind: .specialOrthogonal(3))], labels: ["P", "R"])
        let mixed = Atom(slots: [Slot(factor: 1, dual: false), Slot(factor: 0, dual: false), Slot(factor: 1, dual: false)],
                         detPowers: [0, 0])
        // R (x) P (x) R -> P: Hom factors as S(4) V->V (2) times SO(3) V^2 -> Scalar (1).
        try assertEquivariant(g, from: mixed, to: tensorPower(1, factor: 0, of: 2), expectedDimension: 2)
    }

    /// Point slots by the definition: Regular of D(4), and a 3x3 kernel of p4m
    /// (Regular tensored with the offsets), against random group words.
    func testRegularAndKernelOffsets() throws {
        try assertEquivariant(group(.dihedral(4)), from: Atom(slots: [Slot(factor: 0, dual: false, points: .regular(order: 8))], detPowers: [0]),
                              to: Atom(slots: [Slot(factor: 0, dual: false, points: .regular(order: 8))], detPowers: [0]), expectedDimension: 8)
        let p4m = Group(GroupFactor(kind: .matrices(dimension: 2, discrete: [RationalMatrix(integers: [[0, -1], [1, 0]]),
                                                                           RationalMatrix(integers: [[1, 0], [0, -1]])], algebra: [])))
        let regular = Slot(factor: 0, dual: false, points: .regular(order: 8)), offsets = Slot(factor: 0, dual: false, points: .offsets(kernel: 3, dimension: 2))
        try assertEquivariant(p4m, from: Atom(slots: [regular, offsets], detPowers: [0]), to: Atom(slots: [regular], detPowers: [0]), expectedDimension: 72)
        try assertEquivariant(p4m, from: Atom(slots: [Slot(factor: 0, dual: false), offsets], detPowers: [0]),
                              to: Atom(slots: [], detPowers: [1]))
    }

    func testBiasIsInvariant() throws {
        let o3 = group(.orthogonal(3))
        let basis = try solver.invariantBasis(o3, of: tensorPower(2))
        XCTAssertEqual(basis.map { $0.dense(count: 9) }, [[1, 0, 0, 0, 1, 0, 0, 0, 1]])
    }
}

extension Array where Element == Int {
    /// The permutation "self after other" (apply other first).
    func compose(_ other: [Int]) -> [Int] { other.map { self[$0] } }
}
