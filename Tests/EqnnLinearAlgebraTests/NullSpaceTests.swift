import XCTest
@testable import EqnnLinearAlgebra

final class NullSpaceTests: XCTestCase {
    func rows(_ dense: [[Int]]) -> [SparseRow] {
        dense.map { row in row.enumerated().filter { $0.element != 0 }.map { (column: $0.offset, value: Rational($0.element)) } }
    }

    func testKnownNullSpace() throws {
        // x + y + z = 0 and x - y = 0: spanned by (1, 1, -2).
        let basis = try exactNullSpace(rows: rows([[1, 1, 1], [1, -1, 0]]), columns: 3)
        XCTAssertEqual(basis.map { $0.dense(count: 3) }, [[1, 1, -2]])
    }

    func testDimensionIsColumnsMinusRank() throws {
        // A rank-2 4x5 matrix (third row = first + second, fourth = 2 * first).
        let m = [[1, 2, 0, -1, 3], [0, 1, 1, 2, -1], [1, 3, 1, 1, 2], [2, 4, 0, -2, 6]]
        let basis = try exactNullSpace(rows: rows(m), columns: 5)
        XCTAssertEqual(basis.count, 3)
        for v in basis {
            let x = v.dense(count: 5)
            for row in m { XCTAssertEqual(zip(row, x).reduce(0) { $0 + $1.0 * $1.1 }, 0) }
        }
    }

    func testRationalEntriesGivePrimitiveIntegerVectors() throws {
        // (1/2) x - (1/3) y = 0  ->  (2, 3).
        let basis = try exactNullSpace(rows: [[(0, Rational(1, 2)), (1, Rational(-1, 3))]], columns: 2)
        XCTAssertEqual(basis.map { $0.dense(count: 2) }, [[2, 3]])
    }

    func testEmptySystemGivesTheStandardBasis() throws {
        XCTAssertEqual(try exactNullSpace(rows: [], columns: 2).map { $0.dense(count: 2) }, [[1, 0], [0, 1]])
    }

    func testOverflowingCoefficientsThrow() {
        XCTAssertThrowsError(try exactNullSpace(rows: [[(0, Rational.overflow)]], columns: 1))
    }

    func testMatrixExponentialOfARotationGenerator() {
        // exp(t [[0, -1], [1, 0]]) is the rotation by t.
        let t = 0.7
        let x = Matrix(rows: 2, columns: 2, entries: [0, -t, t, 0])
        let r = x.exponential
        XCTAssertEqual(r[0, 0], cos(t), accuracy: 1e-13)
        XCTAssertEqual(r[1, 0], sin(t), accuracy: 1e-13)
        let big = (8.0 * x).exponential
        XCTAssertEqual(big[0, 1], -sin(8 * t), accuracy: 1e-11)
    }
}
