import XCTest
import EqnnLinearAlgebra
@testable import EqnnData

/// The FWW21 generators against their formulas, recomputed here from the
/// inputs they wrote, and the formulas against their symmetry.
final class DatasetFormulaTests: XCTestCase {
    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    /// A random orthogonal 3x3 matrix (Gram-Schmidt), with a reflection half the time.
    func orthogonal(_ rng: inout SplitMix64) -> [[Double]] {
        var q: [[Double]] = []
        while q.count < 3 {
            var v = (0..<3).map { _ in rng.nextNormal() }
            for u in q { let c = dot(u, v); v = zip(v, u).map { $0 - c * $1 } }
            let n = dot(v, v).squareRoot()
            q.append(v.map { $0 / n })
        }
        if rng.next() % 2 == 0 { q[0] = q[0].map { -$0 } }
        return q
    }

    func inertia(_ x: [Double]) -> [Double] {
        var t = [Double](repeating: 0, count: 9)
        for b in 0..<5 {
            let m = x[b], p = Array(x[(5 + 3 * b)..<(8 + 3 * b)])
            for i in 0..<3 { for j in 0..<3 { t[i * 3 + j] += m * ((i == j ? dot(p, p) : 0) - p[i] * p[j]) } }
        }
        return t
    }

    func testInertiaFollowsItsFormulaAndRotates() {
        let (x, y) = Dataset.inertia.generate(samples: 20, seed: 5)
        var rng = SplitMix64(seed: 6)
        for r in 0..<20 {
            let row = Array(x.values[(r * 20)..<(r * 20 + 20)])
            XCTAssertTrue(row[0..<5].allSatisfy { $0 > 0 })  // masses
            for (a, b) in zip(inertia(row), y.values[(r * 9)..<(r * 9 + 9)]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
            // I(Qx) = Q I(x) Q^T
            let q = orthogonal(&rng)
            var moved = row
            for b in 0..<5 {
                for i in 0..<3 {
                    var v = 0.0
                    for k in 0..<3 { v += q[i][k] * row[5 + 3 * b + k] }
                    moved[5 + 3 * b + i] = v
                }
            }
            let t = inertia(row), tq = inertia(moved)
            for i in 0..<3 {
                for j in 0..<3 {
                    var expected = 0.0
                    for k in 0..<3 { for l in 0..<3 { expected += q[i][k] * t[k * 3 + l] * q[j][l] } }
                    XCTAssertEqual(tq[i * 3 + j], expected, accuracy: 1e-9)
                }
            }
        }
    }

    func testO5IsInvariantAndFollowsItsFormula() {
        let (x, y) = Dataset.o5.generate(samples: 20, seed: 7)
        for r in 0..<20 {
            let a = Array(x.values[(r * 10)..<(r * 10 + 5)]), b = Array(x.values[(r * 10 + 5)..<(r * 10 + 10)])
            let na = dot(a, a).squareRoot(), nb = dot(b, b).squareRoot()
            XCTAssertEqual(y.values[r], sin(na) - nb * nb * nb / 2 + dot(a, b) / (na * nb), accuracy: 1e-12)
        }
    }

    /// Electron-muon scattering is invariant under a boost along x and a rotation.
    func testLorentzIsInvariantUnderABoost() {
        let (x, y) = Dataset.lorentz.generate(samples: 10, seed: 8)
        let eta = [1.0, -1, -1, -1]
        func mdot(_ a: [Double], _ b: [Double]) -> Double { (0..<4).reduce(0) { $0 + eta[$1] * a[$1] * b[$1] } }
        func amplitude(_ p: [[Double]]) -> Double {
            let le = mdot(p[0], p[2]) - mdot(p[0], p[0]), lmu = mdot(p[1], p[3]) - mdot(p[1], p[1])
            var total = 0.0
            for i in 0..<4 {
                for j in 0..<4 {
                    let metric = i == j ? eta[i] : 0
                    total += (p[0][i] * p[2][j] - le * metric) * (eta[i] * p[1][i] * eta[j] * p[3][j] - lmu * metric)
                }
            }
            return 4 * total
        }
        let rapidity = 0.7, c = cosh(rapidity), s = sinh(rapidity)
        for r in 0..<10 {
            let p = (0..<4).map { Array(x.values[(r * 16 + 4 * $0)..<(r * 16 + 4 * $0 + 4)]) }
            XCTAssertEqual(amplitude(p), y.values[r], accuracy: 1e-12 * max(1, abs(y.values[r])))
            let boosted = p.map { v in [c * v[0] + s * v[1], s * v[0] + c * v[1], -v[3], v[2]] }  // boost, then a quarter turn in (y, z)
            XCTAssertEqual(amplitude(boosted), y.values[r], accuracy: 1e-9 * max(1, abs(y.values[r])))
        }
    }
}
