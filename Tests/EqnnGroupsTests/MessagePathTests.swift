import XCTest
import EqnnLinearAlgebra
@testable import EqnnGroups

/// The paths of a message layer: their number against invariant theory, and
/// B(rho_in(g) h (x) (g u)^l) = rho_out(g) B(h (x) u^l) at random elements.
final class MessagePathTests: XCTestCase {
    let solver = EquivariantSolver()

    func count(_ g: Group, _ k: Int, _ l: Int, degree: Int) throws -> Int {
        try solver.messagePaths(g, positions: 0, from: tensorPower(k), to: tensorPower(l), degree: degree).count
    }

    /// The equivariant maps as functions of a unit vector u: F(g u) = rho_out(g) F(u)
    /// rho_in(g)^-1 fixes F by F(e1), any map that commutes with e1's stabilizer.
    /// For O(3) (stabilizer O(2)), V -> V: diag(a, b, b), spanned by I and u u^T;
    /// SO(3) adds the cross product [u]x; V -> Scalar: u^T; Scalar -> V^2: I and
    /// u u^T (u's traces repeat lower degrees and are dropped).
    func testPathCountsMatchTheInvariantTheoryOfOneUnitVector() throws {
        let o3 = group(.orthogonal(3)), so3 = group(.specialOrthogonal(3))
        XCTAssertEqual(try count(o3, 0, 0, degree: 2), 1)
        XCTAssertEqual(try count(o3, 0, 1, degree: 2), 1)
        XCTAssertEqual(try count(o3, 1, 0, degree: 2), 1)
        XCTAssertEqual(try count(o3, 1, 1, degree: 2), 2)
        XCTAssertEqual(try count(so3, 1, 1, degree: 2), 3)
        XCTAssertEqual(try count(o3, 0, 2, degree: 2), 2)
        XCTAssertEqual(try count(o3, 1, 1, degree: 0), 1)
        // V -> V^2 of O(3): h u^T, u h^T, I (u . h), u u^T (u . h) (the last at degree 3).
        XCTAssertEqual(try count(o3, 1, 2, degree: 1), 3)
        XCTAssertEqual(try count(o3, 1, 2, degree: 3), 4)
        // The plane: F(u) is fixed by F(e1), which must commute with e1's stabilizer:
        // the mirror for O(2) (diagonal matrices, 2), nothing for SO(2) (any 2x2, 4).
        XCTAssertEqual(try count(group(.orthogonal(2)), 1, 1, degree: 2), 2)
        XCTAssertEqual(try count(group(.specialOrthogonal(2)), 1, 1, degree: 2), 4)
    }

    /// Paths whose separation would take minutes are refused at once, with the size and the limit.
    func testHugePathProblemsAreRefused() throws {
        let start = Date()
        // S(3) permutes the coordinates of R^3 (orthogonally): V^2 (x) V^4 -> V^2 has about a thousand invariants,
        // solved at once by its union-find, whose separation would take minutes.
        XCTAssertThrowsError(try solver.messagePaths(group(.symmetric(3)), positions: 0, from: tensorPower(2), to: tensorPower(2), degree: 4)) { error in
            guard case SolverError.tooLarge = error else { return XCTFail("\(error)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 20)
    }

    func testPathsAreEquivariant() throws {
        var rng = SplitMix64(seed: 7)
        for kind in [GroupKind.orthogonal(3), .specialOrthogonal(3), .orthogonal(2)] {
            let g = group(kind)
            for (k, l) in [(0, 1), (1, 1), (1, 2), (2, 1)] {
                let (a, b) = (tensorPower(k), tensorPower(l))
                let paths = try solver.messagePaths(g, positions: 0, from: a, to: b, degree: 2)
                XCTAssertFalse(paths.isEmpty)
                let d = g.factors[0].dimension
                for path in paths {
                    let element = g.randomElement(using: &rng)
                    let u = MessagePaths.unitVector(d, &rng)
                    let turned = (0..<d).map { i in (0..<d).reduce(0.0) { $0 + element[0].matrix[i, $1] * u[$1] } }
                    let inputs = a.slots.isEmpty ? 1 : Int(pow(Double(d), Double(k)))
                    let outputs = Int(pow(Double(d), Double(l)))
                    let f = MessagePaths.function(path, inputs: inputs, at: u), h = MessagePaths.function(path, inputs: inputs, at: turned)
                    let (rin, rout) = (g.matrix(of: a, at: element), g.matrix(of: b, at: element))
                    // F(g u) rho_in(g) = rho_out(g) F(u)
                    var error = 0.0
                    for r in 0..<outputs {
                        for c in 0..<inputs {
                            var left = 0.0, right = 0.0
                            for m in 0..<inputs { left += h[r * inputs + m] * rin[m, c] }
                            for m in 0..<outputs { right += rout[r, m] * f[m * inputs + c] }
                            error = max(error, abs(left - right))
                        }
                    }
                    XCTAssertLessThan(error, 1e-9, "\(kind) V^\(k) -> V^\(l), degree \(path.degree)")
                }
            }
        }
    }
}
