import XCTest
@testable import EqnnLinearAlgebra

final class RationalTests: XCTestCase {
    func testArithmeticInLowestTerms() {
        XCTAssertEqual(Rational(1, 2) + Rational(1, 3), Rational(5, 6))
        XCTAssertEqual(Rational(2, -4), Rational(-1, 2))
        XCTAssertEqual(Rational(3, 4) * Rational(8, 9), Rational(2, 3))
        XCTAssertEqual(Rational(1, 2) / Rational(1, 4), Rational(2))
        XCTAssertEqual((Rational(1, 3) - Rational(1, 3)), .zero)
    }

    func testOverflowIsAbsorbingNotATrap() {
        let big = Rational(Int.max)
        XCTAssertTrue((big + big).isOverflow)
        XCTAssertTrue((big * Rational(2)).isOverflow)
        XCTAssertTrue(((big * big) + .one).isOverflow)
        XCTAssertTrue((Rational.one / .zero).isOverflow)
        XCTAssertTrue(Rational(1, 0).isOverflow)
    }

    func testParsingIsExact() {
        XCTAssertEqual(Rational(parsing: "0.25"), Rational(1, 4))
        XCTAssertEqual(Rational(parsing: "-1.5e-1"), Rational(-3, 20))
        XCTAssertEqual(Rational(parsing: "1/3"), Rational(1, 3))
        XCTAssertEqual(Rational(parsing: "-7"), Rational(-7))
        XCTAssertEqual(Rational(parsing: "2e3"), Rational(2000))
        XCTAssertNil(Rational(parsing: "1/0"))
        XCTAssertNil(Rational(parsing: "abc"))
        XCTAssertNil(Rational(parsing: "0.1234567890123456789"))  // more digits than fit exactly
        XCTAssertNil(Rational(parsing: "1e400"))
    }

    func testModularReconstructionRoundTrips() throws {
        for q in [Rational(3, 7), Rational(-5, 12), Rational(123_456, 789), Rational(-1)] {
            let residue = try XCTUnwrap(ModP(q))
            XCTAssertEqual(residue.rationalReconstruction, q)
        }
    }

    func testMonomialFastPaths() {
        let p = RationalMatrix(integers: [[0, 0, 1], [1, 0, 0], [0, 1, 0]])  // a 3-cycle
        XCTAssertEqual(p.determinant, .one)
        let swap = RationalMatrix(integers: [[0, 1], [1, 0]])
        XCTAssertEqual(swap.determinant, -.one)
        XCTAssertEqual(p.inverse.map { $0 * p }, .identity(3))
        let general = RationalMatrix(integers: [[2, 1], [1, 1]])
        XCTAssertEqual(general.determinant, .one)
        XCTAssertEqual(general.inverse, RationalMatrix(integers: [[1, -1], [-1, 2]]))
        XCTAssertNil(RationalMatrix(integers: [[1, 2], [2, 4]]).inverse)
        // Two columns in one row is not monomial (it is singular).
        XCTAssertNil(RationalMatrix(integers: [[1, 1], [0, 0]]).monomialColumns)
    }
}
