import EqnnKernels
import EqnnLinearAlgebra
import XCTest

@testable import EqnnInterpreter

/// The C kernels of every instruction set this machine has, against a product
/// summed in double precision entry by entry: shapes with edges in every
/// direction, depths across the cache block, A read plainly and transposed.
final class MatrixProductTests: XCTestCase {
    /// (m, n, k): below the packing threshold, edges of every tile, a depth of two blocks plus a
    /// rest, widths that take AVX-512's narrow tile (48 and 24 columns) and its wide one (64, 432),
    /// and row blocks of full tiles (read in place) followed by a packed rest (205 = 96 + 96 + 12 + 1);
    /// dot products (at most 4 columns, depth from 256: 1 to 4 columns, depths with a rest past the vectors);
    /// a few rows times a wide B (fewer than 8 rows, from 256 columns, with a rest past the vectors).
    let shapes = [(1, 1, 1), (3, 5, 7), (13, 33, 17), (25, 70, 300), (97, 31, 513), (12, 32, 256), (4, 64, 576),
                  (50, 48, 40), (30, 24, 33), (26, 432, 20), (205, 100, 260),
                  (37, 1, 256), (19, 2, 301), (5, 3, 1000), (40, 4, 777), (1, 256, 3), (2, 1000, 17), (7, 301, 40)]

    func reference(_ m: Int, _ n: Int, _ k: Int, _ a: [Double], rsa: Int, csa: Int, _ b: [Double], _ c: [Double]) -> [Double] {
        var out = c
        for i in 0..<m { for j in 0..<n { for p in 0..<k { out[i * n + j] += a[i * rsa + p * csa] * b[p * n + j] } } }
        return out
    }

    func testEveryKernelMatchesTheEntryByEntryProduct() {
        var rng = SplitMix64(seed: 7)
        let best = Int(eqnn_best_isa())
        for isa in 0...best {
            for (m, n, k) in shapes {
                for transposed in [false, true] {
                    let (rsa, csa) = transposed ? (1, m) : (k, 1)
                    let a = (0..<(m * k)).map { _ in rng.nextNormal() }, b = (0..<(k * n)).map { _ in rng.nextNormal() }
                    let c = (0..<(m * n)).map { _ in rng.nextNormal() }
                    let expected = reference(m, n, k, a, rsa: rsa, csa: csa, b, c)
                    var cd = c
                    eqnn_dgemm_isa(Int32(isa), m, n, k, a, rsa, csa, b, n, &cd, n)
                    var cs = c.map(Float.init)
                    eqnn_sgemm_isa(Int32(isa), m, n, k, a.map(Float.init), rsa, csa, b.map(Float.init), n, &cs, n)
                    let name = "\(String(cString: eqnn_isa_name(Int32(isa)))) \(m)x\(n)x\(k)\(transposed ? " A^T" : "")"
                    for e in expected.indices {
                        XCTAssertEqual(cd[e], expected[e], accuracy: 1e-12 * Double(k + 1), name)
                        XCTAssertEqual(Double(cs[e]), expected[e], accuracy: 1e-5 * Double(k + 1), name)
                    }
                }
            }
        }
    }

    /// The Swift entry point: strided C rows (ldc > n) keep the entries between rows untouched.
    func testLeadingDimensionsLeaveTheGapsAlone() {
        let m = 20, n = 40, k = 30, ldc = 45
        let a = (0..<(m * k)).map { Double($0 % 11) - 5 }, b = (0..<(k * n)).map { Double($0 % 7) - 3 }
        var c = [Double](repeating: -1, count: m * ldc)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    MatrixProduct.multiplyAdd(m: m, n: n, k: k, a: ap.baseAddress!, rowStride: k, columnStride: 1,
                                              b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: ldc)
                }
            }
        }
        for i in 0..<m {
            for j in 0..<ldc {
                let expected = j < n ? (0..<k).reduce(-1.0) { $0 + a[i * k + $1] * b[$1 * n + j] } : -1
                XCTAssertEqual(c[i * ldc + j], expected, "row \(i) column \(j)")
            }
        }
    }
}
