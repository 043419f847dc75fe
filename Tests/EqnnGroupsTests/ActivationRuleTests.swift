import XCTest
import EqnnLinearAlgebra
@testable import EqnnGroups

/// The exact rules decided from generators agree with the definition,
/// checked numerically on the representation matrices of the generators and
/// of random group elements.
final class ActivationRuleTests: XCTestCase {
    /// Group elements to test: each discrete generator alone, plus random elements.
    func elements(_ g: Group) -> [[FactorElement]] {
        var out: [[FactorElement]] = []
        for (f, factor) in g.factors.enumerated() {
            for h in factor.discrete {
                guard let inv = h.inverse else { continue }
                var e = g.factors.map { FactorElement(matrix: .identity($0.dimension), inverse: .identity($0.dimension), determinant: 1) }
                e[f] = FactorElement(matrix: h.doubleMatrix, inverse: inv.doubleMatrix, determinant: h.determinant.doubleValue)
                out.append(e)
            }
        }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<4 { out.append(g.randomElement(using: &rng, scale: 0.3)) }
        return out
    }

    func isMonomial(_ m: Matrix, signed: Bool) -> Bool {
        for i in 0..<m.rows {
            let row = (0..<m.columns).map { m[i, $0] }.filter { abs($0) > 1e-9 }
            guard row.count == 1 else { return false }
            if signed ? abs(abs(row[0]) - 1) > 1e-9 : abs(row[0] - 1) > 1e-9 { return false }
        }
        return true
    }

    func isOrthogonal(_ m: Matrix) -> Bool { (m.transposed * m - .identity(m.rows)).maxAbs < 1e-8 }

    func check(_ g: Group, _ atom: Atom, file: StaticString = #filePath, line: UInt = #line) {
        let atom = g.canonical(atom)
        let matrices = elements(g).map { g.matrix(of: atom, at: $0) }
        let name = "\(g) \(g.name(of: atom))"
        XCTAssertEqual(g.pointwiseObstruction(atom, requirement: .permutation) == nil,
                       matrices.allSatisfy { isMonomial($0, signed: false) }, "permutation: \(name)", file: file, line: line)
        XCTAssertEqual(g.pointwiseObstruction(atom, requirement: .signedPermutation) == nil,
                       matrices.allSatisfy { isMonomial($0, signed: true) }, "signed: \(name)", file: file, line: line)
        XCTAssertEqual(g.orthogonalityObstruction(atom) == nil,
                       matrices.allSatisfy(isOrthogonal), "orthogonal: \(name)", file: file, line: line)
    }

    func testRulesAgreeWithTheMatrices() {
        let atoms = [tensorPower(0), tensorPower(1), tensorPower(2), tensorPower(0, det: 1), tensorPower(1, det: 1),
                     tensorPower(1, dual: true)]
        let kinds: [GroupKind] = [
            .symmetric(4), .alternating(4), .cyclic(5), .dihedral(6), .orthogonal(3), .specialOrthogonal(3),
            .lorentz(full: true), .lorentz(full: false), .symplectic(4),
            .matrices(dimension: 2, discrete: [RationalMatrix(integers: [[0, -1], [1, 0]])], algebra: []),
            .matrices(dimension: 2, discrete: [RationalMatrix(integers: [[2, 0], [0, 1]])], algebra: []),
            .matrices(dimension: 2, discrete: [], algebra: [RationalMatrix(integers: [[1, 0], [0, 1]])]),
        ]
        for kind in kinds {
            for atom in atoms { check(group(kind), atom) }
        }
    }

    func testKnownAnswers() {
        let o3 = group(.orthogonal(3)), s4 = group(.symmetric(4))
        XCTAssertNotNil(o3.pointwiseObstruction(tensorPower(1), requirement: .permutation))   // relu on V of O(3)
        XCTAssertNil(s4.pointwiseObstruction(tensorPower(2), requirement: .permutation))      // relu on V^2 of S(4)
        XCTAssertNotNil(s4.pointwiseObstruction(tensorPower(0, det: 1), requirement: .permutation))  // relu on Sign
        XCTAssertNil(s4.pointwiseObstruction(tensorPower(0, det: 1), requirement: .signedPermutation)) // tanh on Sign
        XCTAssertNotNil(group(.lorentz(full: false)).orthogonalityObstruction(tensorPower(1)))  // norm on Lorentz
        XCTAssertNil(o3.orthogonalityObstruction(tensorPower(2)))
        // Scaling by 2 on V and by 1/2 on V* cancel: the matrix on V (x) V* is orthogonal.
        let scale = group(.matrices(dimension: 1, discrete: [RationalMatrix(integers: [[2]])], algebra: []))
        let mixed = Atom(slots: [Slot(factor: 0, dual: false), Slot(factor: 0, dual: true)], detPowers: [0])
        XCTAssertNil(scale.orthogonalityObstruction(mixed))
        XCTAssertNil(scale.pointwiseObstruction(mixed, requirement: .permutation))
    }
}
