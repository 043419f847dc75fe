import Foundation
import XCTest
import EqnnLinearAlgebra
@testable import EqnnGroups

/// V^k of factor f (all slots of one factor), in a group with `count` factors.
func tensorPower(_ k: Int, factor f: Int = 0, of count: Int = 1, dual: Bool = false, det: Int = 0) -> Atom {
    var powers = Array(repeating: 0, count: count)
    powers[f] = det
    return Atom(slots: Array(repeating: Slot(factor: f, dual: dual), count: k), detPowers: powers)
}

func group(_ kind: GroupKind) -> Group { Group(GroupFactor(kind: kind)) }

/// Dimensions checked against independent truth from the literature.
final class SolverDimensionTests: XCTestCase {
    let solver = EquivariantSolver()

    func dim(_ g: Group, _ k: Int, _ l: Int) throws -> Int {
        try solver.homDimension(g, from: tensorPower(k), to: tensorPower(l))
    }

    func testSymmetricGroupGivesBellNumbers() throws {
        // Maron et al. 2019: dim Hom_{S(n)}(V^k, V^l) = Bell(k + l) when n >= k + l.
        let bell = [1, 1, 2, 5, 15, 52]
        let s6 = group(.symmetric(6))
        for k in 0...2 {
            for l in 0...2 where k + l <= 5 {
                XCTAssertEqual(try dim(s6, k, l), bell[k + l], "S(6) V^\(k) -> V^\(l)")
            }
        }
        XCTAssertEqual(try dim(group(.symmetric(5)), 1, 1), 2)  // DeepSets: lambda I + gamma 11^T
        XCTAssertEqual(try dim(group(.symmetric(8)), 2, 2), 15)
    }

    /// Tensor powers of Lie groups whose exact elimination would run for hours
    /// are refused at once, with the size and the limit.
    func testHugeLieGroupProblemsAreRefusedQuickly() throws {
        for (g, k, l) in [(group(.orthogonal(3)), 6, 6), (group(.lorentz(full: false)), 5, 5), (group(.orthogonal(2)), 16, 0)] {
            let start = Date()
            XCTAssertThrowsError(try EquivariantSolver().homDimension(g, from: tensorPower(k), to: tensorPower(l))) { error in
                guard case SolverError.tooLarge(_, let size, let limit) = error else { return XCTFail("\(error)") }
                XCTAssertGreaterThan(size, limit)
            }
            XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        }
    }

    func testSmallSymmetricGroupCountsPartitionsWithFewBlocks() throws {
        // With n < k + l, only set partitions with at most n blocks survive:
        // S(2) on V^2 -> V^2: partitions of 4 points into <= 2 blocks = 1 + 7 = 8.
        XCTAssertEqual(try dim(group(.symmetric(2)), 2, 2), 8)
    }

    func testOrthogonalGroupGivesBrauerCounts() throws {
        // (k + l - 1)!! when k + l is even and n >= k + l, else 0.
        let o4 = group(.orthogonal(4))
        XCTAssertEqual(try dim(o4, 1, 1), 1)
        XCTAssertEqual(try dim(o4, 2, 1), 0)
        XCTAssertEqual(try dim(o4, 2, 2), 3)
        XCTAssertEqual(try dim(o4, 3, 1), 3)
        XCTAssertEqual(try dim(group(.orthogonal(3)), 0, 2), 1)
    }

    func testOrthogonalThreeOnFourthPowersIs91() throws {
        // emlp's answer; Brauer's 105 overcounts because n = 3 < (k + l) / 2.
        XCTAssertEqual(try dim(group(.orthogonal(3)), 4, 4), 91)
    }

    func testSpecialOrthogonalThree() throws {
        let so3 = group(.specialOrthogonal(3))
        XCTAssertEqual(try dim(so3, 1, 1), 1)
        XCTAssertEqual(try dim(so3, 2, 1), 1)  // the cross product
        XCTAssertEqual(try dim(so3, 1, 0), 0)
        XCTAssertEqual(try dim(so3, 3, 0), 1)  // the Levi-Civita symbol
        XCTAssertEqual(try dim(group(.orthogonal(3)), 3, 0), 0)
        // Det of O(3) times V^3 has the Levi-Civita invariant back.
        let o3 = group(.orthogonal(3))
        XCTAssertEqual(try solver.invariantDimension(o3, of: o3.canonical(tensorPower(3, det: 1))), 1)
    }

    func testCyclicGroupGivesCirculants() throws {
        for n in [1, 2, 5, 12] {
            XCTAssertEqual(try dim(group(.cyclic(n)), 1, 1), n, "C(\(n))")
        }
    }

    func testDihedralGroup() throws {
        // Symmetric circulants: floor(n/2) + 1.
        XCTAssertEqual(try dim(group(.dihedral(6)), 1, 1), 4)
        XCTAssertEqual(try dim(group(.dihedral(7)), 1, 1), 4)
    }

    func testAlternatingGroup() throws {
        // A(n) on V^k -> V^l agrees with S(n) for n large; Sign becomes trivial.
        XCTAssertEqual(try dim(group(.alternating(5)), 1, 1), 2)
        let a4 = group(.alternating(4))
        XCTAssertEqual(a4.canonical(tensorPower(0, det: 1)), tensorPower(0))
        // A(3) = C(3): V -> V has dimension 3.
        XCTAssertEqual(try dim(group(.alternating(3)), 1, 1), 3)
    }

    func testSignOfSymmetricGroup() throws {
        // Hom(V, Sign) under S(n), n >= 3: zero (V = trivial + standard).
        let s4 = group(.symmetric(4))
        XCTAssertEqual(try solver.homDimension(s4, from: tensorPower(1), to: tensorPower(0, det: 1)), 0)
        // S(2) on V^2: the swap orbits {e11, e22} and {e12, e21}; each carries
        // one antisymmetric vector (e11 - e22, e12 - e21), so Hom(Sign, V^2) = 2.
        XCTAssertEqual(try solver.homDimension(group(.symmetric(2)), from: tensorPower(0, det: 1), to: tensorPower(2)), 2)
        // Sign * V^3 under S(3): tuples with distinct entries form one free orbit (1),
        // patterns (a,a,b), (a,b,a), (b,a,a) form free orbits (3), (a,a,a) is fixed
        // by a transposition and dies: 4.
        let s3 = group(.symmetric(3))
        XCTAssertEqual(try solver.invariantDimension(s3, of: s3.canonical(tensorPower(3, det: 1))), 4)
    }

    func testCenterOfMassUnderProductGroup() throws {
        let g = Group(factors: [GroupFactor(kind: .symmetric(5)), GroupFactor(kind: .orthogonal(3))], labels: ["P", "E"])
        let input = Atom(slots: [Slot(factor: 0, dual: false), Slot(factor: 1, dual: false)], detPowers: [0, 0])
        let output = tensorPower(1, factor: 1, of: 2)
        XCTAssertEqual(try solver.homDimension(g, from: input, to: output), 1)
        let basis = try solver.homBasis(g, from: input, to: output)
        // The center of mass: W[i, (p, j)] = delta_ij for every point p (up to scale).
        XCTAssertEqual(basis.count, 1)
        var expected = [Int](repeating: 0, count: 3 * 15)
        for i in 0..<3 { for p in 0..<5 { expected[i * 15 + p * 3 + i] = 1 } }
        XCTAssertEqual(basis[0].dense(count: 45), expected)
    }

    func testLorentzGroup() throws {
        let so13 = group(.lorentz(full: false))
        let o13 = group(.lorentz(full: true))
        // The metric is the only invariant bilinear form: V*^2 invariants = 1.
        XCTAssertEqual(try solver.invariantDimension(o13, of: o13.canonical(tensorPower(2, dual: true))), 1)
        XCTAssertEqual(try dim(o13, 1, 1), 1)
        XCTAssertEqual(try dim(o13, 2, 0), 1)   // p . q = p^T eta q
        // Levi-Civita: invariant of V^4 under SO+(1,3) but not O(1,3).
        XCTAssertEqual(try solver.invariantDimension(so13, of: tensorPower(4)), 4)  // 3 metric pairings + epsilon
        XCTAssertEqual(try solver.invariantDimension(o13, of: tensorPower(4)), 3)  // eta^{-1} pairings only
    }

    func testSymplecticGroup() throws {
        let sp4 = group(.symplectic(4))
        XCTAssertEqual(try dim(sp4, 1, 1), 1)
        XCTAssertEqual(try dim(sp4, 2, 0), 1)  // the symplectic form
        XCTAssertEqual(try dim(sp4, 1, 0), 0)
    }

    func testCacheSolvesEachPairOnce() throws {
        let o3 = group(.orthogonal(3))
        _ = try dim(o3, 2, 2)
        let before = solver.solvedCount
        _ = try dim(o3, 2, 2)
        XCTAssertEqual(solver.solvedCount, before)
    }

    func testTooLargeIsAnErrorNotACrash() {
        XCTAssertThrowsError(try dim(group(.symmetric(64)), 2, 2)) { error in
            guard case SolverError.tooLarge(_, let size, let limit) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(size, 64 * 64 * 64 * 64)
            XCTAssertEqual(limit, EquivariantSolver.maxFactorSize)
        }
    }
}
