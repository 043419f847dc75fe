import EqnnLinearAlgebra
import XCTest

@testable import EqnnInterpreter

/// The activation loops: the C kernels (Float, Double) and the Swift loops (any other
/// precision, here Float16) against plain definitions, on a small grid with padding.
final class ElementwiseTests: XCTestCase {
    /// A 3 x 4 grid, two samples, three channels; a 3 x 3 kernel's neighbour table.
    let positions = 12, channels = 3, offsets = 9
    var table: [Int] { GridGeometry([3, 4], circular: false).neighbourTable(kernel: 3) }

    func expectedColumns(_ x: [Double], rows: Range<Int>) -> [Double] {
        rows.flatMap { row -> [Double] in
            let sample = row / positions, position = row % positions
            return (0..<offsets).flatMap { o -> [Double] in
                let q = table[position * offsets + o]
                return (0..<channels).map { c in q < 0 ? 0 : x[(sample * positions + q) * channels + c] }
            }
        }
    }

    func check<T: BinaryFloatingPoint>(_: T.Type, tolerance: Double) {
        var rng = SplitMix64(seed: 3)
        let x = (0..<(2 * positions * channels)).map { _ in rng.nextNormal() }
        let rows = 5..<19  // across the two samples
        let name = "\(T.self)"
        // Gather, and scatter as its adjoint: <scatter(c), x> = <c, gather(x)>.
        var columns = [T](repeating: 0, count: rows.count * offsets * channels)
        let xt = x.map { T($0) }
        xt.withUnsafeBufferPointer { xp in
            columns.withUnsafeMutableBufferPointer { cp in
                Elementwise.gather(xp.baseAddress!, channels: channels, table: table, offsets: offsets, positions: positions, rows: rows,
                                   into: cp.baseAddress!)
            }
        }
        for (a, b) in zip(columns, expectedColumns(x, rows: rows)) { XCTAssertEqual(Double(a), b, accuracy: tolerance, name) }
        let c = (0..<columns.count).map { _ in rng.nextNormal() }
        var dx = [T](repeating: 0, count: x.count)
        c.map { T($0) }.withUnsafeBufferPointer { cp in
            dx.withUnsafeMutableBufferPointer { dp in
                Elementwise.scatter(cp.baseAddress!, channels: channels, table: table, offsets: offsets, positions: positions, rows: rows,
                                    into: dp.baseAddress!)
            }
        }
        let left = zip(dx, x).reduce(0.0) { $0 + Double($1.0) * $1.1 }
        let right = zip(c, expectedColumns(x, rows: rows)).reduce(0.0) { $0 + $1.0 * $1.1 }
        XCTAssertEqual(left, right, accuracy: 20 * tolerance, name)
        // relu keeps NaN; its backward zeroes dy where the output is not positive.
        var r: [T] = [-1, 0, 2, .nan, 3]
        Elementwise.relu(&r)
        XCTAssertEqual(Array(r[0..<3]), [0, 0, 2], name)
        XCTAssertTrue(r[3].isNaN, name)
        var dy: [T] = [5, 5, 5, 5, 5]
        Elementwise.reluBackward(output: r, &dy)
        XCTAssertEqual(dy, [0, 0, 5, 0, 5], name)
        // Bias rows, column sums, a pool into rows and its backward.
        var m: [T] = [1, 2, 3, 4, 5, 6]
        Elementwise.addRows(&m, [10, 20])
        XCTAssertEqual(m, [11, 22, 13, 24, 15, 26], name)
        XCTAssertEqual(Elementwise.columnSums(m, columns: 2), [39, 72], name)
        var pooled = [T](repeating: 0, count: 4)
        let target = [1, 0, 1]
        m.withUnsafeBufferPointer { mp in
            pooled.withUnsafeMutableBufferPointer { pp in
                Elementwise.poolRows(mp.baseAddress!, rows: 3, width: 2, target: target, share: 0.5, into: pp.baseAddress!)
            }
        }
        XCTAssertEqual(pooled, [6.5, 12, 13, 24], name)  // row 0: half of row 1; row 1: half of rows 0 and 2
        var back = [T](repeating: 0, count: 6)
        pooled.withUnsafeBufferPointer { pp in
            back.withUnsafeMutableBufferPointer { bp in
                Elementwise.unpoolRows(pp.baseAddress!, rows: 3, width: 2, target: target, share: 0.5, into: bp.baseAddress!)
            }
        }
        XCTAssertEqual(back, [6.5, 12, 3.25, 6, 6.5, 12], name)
    }

    func testEveryPrecisionMatchesTheDefinitions() {
        check(Float.self, tolerance: 1e-6)
        check(Double.self, tolerance: 1e-12)
        check(Float16.self, tolerance: 1e-2)
    }
}
