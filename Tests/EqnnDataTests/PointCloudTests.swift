import EqnnLinearAlgebra
import XCTest
@testable import EqnnData

/// The point-cloud tasks against physics and geometry: Lennard-Jones's textbook
/// minimum, forces as minus the energy's gradient by finite differences, the
/// energy's invariance under rotations, translations and relabelling, and the
/// tetris shapes as rigid motions of e3nn's, the first two each other's mirror image.
final class PointCloudTests: XCTestCase {
    func samples(_ set: PointCloudSet) -> [(points: [[Double]], features: [[Double]])] {
        var start = 0
        return set.counts.values.map { count in
            let n = Int(count)
            defer { start += n }
            let rows = (start..<(start + n))
            return (rows.map { Array(set.positions.values[(3 * $0)..<(3 * $0 + 3)]) },
                    rows.map { r in Array(set.features.values[(set.features.columns * r)..<(set.features.columns * (r + 1))]) })
        }
    }

    /// V(r) = 4 (r^-12 - r^-6) for two A atoms: zero at r = 1, the minimum -1 at 2^(1/6), repulsive inside.
    func testLennardJonesTextbookValues() {
        let minimum = pow(2, 1.0 / 6)
        let atMinimum = PointClouds.lennardJones([[0, 0, 0], [minimum, 0, 0]], species: [0, 0])
        XCTAssertEqual(atMinimum.energy, -1, accuracy: 1e-12)
        XCTAssertEqual(atMinimum.forces[0][0], 0, accuracy: 1e-12)
        XCTAssertEqual(PointClouds.lennardJones([[0, 0, 0], [0, 1, 0]], species: [0, 0]).energy, 0, accuracy: 1e-12)
        let close = PointClouds.lennardJones([[0, 0, 0], [0.95, 0, 0]], species: [0, 0])
        XCTAssertLessThan(close.forces[0][0], 0, "atom 0 is pushed away from atom 1 (at +x)")
        // A-B: epsilon 1.5 at sigma 0.8.
        XCTAssertEqual(PointClouds.lennardJones([[0, 0, 0], [0, 0, 0.8 * minimum]], species: [0, 1]).energy, -1.5, accuracy: 1e-12)
    }

    func testForcesAreMinusTheGradient() {
        let set = PointClouds.clusters(samples: 3, seed: 4)
        var start = 0
        for (sample, (points, features)) in samples(set).enumerated() {
            let species = features.map { $0[0] == 1 ? 0 : 1 }
            let h = 1e-6
            for i in [0, points.count - 1] {
                for a in 0..<3 {
                    var plus = points, minus = points
                    plus[i][a] += h
                    minus[i][a] -= h
                    let gradient = (PointClouds.lennardJones(plus, species: species).energy - PointClouds.lennardJones(minus, species: species).energy) / (2 * h)
                    let force = set.pointTargets!.values[3 * (start + i) + a]
                    XCTAssertEqual(force, -gradient, accuracy: 1e-5 * max(1, abs(force)), "sample \(sample) atom \(i) axis \(a)")
                }
            }
            XCTAssertEqual(set.targets.values[sample], PointClouds.lennardJones(points, species: species).energy, accuracy: 1e-9)
            start += points.count
        }
    }

    func testClustersHaveTheDocumentedLayout() {
        let set = PointClouds.clusters(samples: 40, seed: 1)
        XCTAssertEqual(Int(set.counts.values.reduce(0, +)), set.positions.rows)
        XCTAssertEqual(set.features.rows, set.positions.rows)
        XCTAssertEqual(set.pointTargets?.rows, set.positions.rows)
        XCTAssertTrue(set.counts.values.allSatisfy { (5...30).contains(Int($0)) })
        XCTAssertGreaterThan(Set(set.counts.values).count, 10, "sizes vary")
        for (points, features) in samples(set) {
            XCTAssertTrue(features.allSatisfy { $0.reduce(0, +) == 1 }, "one-hot species")
            var closest = Double.infinity
            for i in points.indices { for j in points.indices where j > i { closest = min(closest, distance(points[i], points[j])) } }
            XCTAssertGreaterThan(closest, 0.6, "no overlapping atoms")
        }
        XCTAssertTrue(set.targets.values.allSatisfy { $0.isFinite && $0 < 0 }, "bound clusters")
    }

    /// E(R x + t) = E(x), and the same for any order of the atoms.
    func testEnergyIsInvariantUnderRigidMotionsAndRelabelling() {
        var rng = SplitMix64(seed: 9)
        let set = PointClouds.clusters(samples: 1, seed: 2)
        let (points, features) = samples(set)[0]
        let species = features.map { $0[0] == 1 ? 0 : 1 }
        let turn = PointClouds.randomRotation(&rng)
        let moved = points.map { p in (0..<3).map { a in (0..<3).reduce(0) { $0 + turn[a][$1] * p[$1] } + 3.5 } }
        let order = Array(points.indices).shuffled(using: &rng)
        let energy = PointClouds.lennardJones(order.map { moved[$0] }, species: order.map { species[$0] }).energy
        XCTAssertEqual(energy, set.targets.values[0], accuracy: 1e-9 * abs(energy))
    }

    func testTetrisSamplesAreRigidMotionsOfTheirShapes() {
        for turned in [true, false] {
            let set = PointClouds.tetris(samples: 64, seed: 3, turned: turned)
            XCTAssertEqual(Set(set.targets.values).count, 8)
            for (s, (points, _)) in samples(set).enumerated() {
                let shape = PointClouds.tetrisShapes[Int(set.targets.values[s])]
                XCTAssertEqual(distances(points), distances(shape), accuracy: 1e-9)
            }
        }
    }

    /// chi = sum over ordered quadruples of det[p_j - p_i, p_k - p_i, p_l - p_i] |p_j - p_i| |p_k - p_i|^2
    /// |p_l - p_i|^3: the same under rotations, translations and relabelling, negated by a mirror,
    /// so zero for a shape that is its own mirror image.
    func chirality(_ p: [[Double]]) -> Double {
        var chi = 0.0
        for i in p.indices {
            for j in p.indices where j != i {
                for k in p.indices where k != i && k != j {
                    for l in p.indices where l != i && l != j && l != k {
                        let (u, v, w) = (minus(p[j], p[i]), minus(p[k], p[i]), minus(p[l], p[i]))
                        let det = u[0] * (v[1] * w[2] - v[2] * w[1]) - u[1] * (v[0] * w[2] - v[2] * w[0]) + u[2] * (v[0] * w[1] - v[1] * w[0])
                        chi += det * distance(p[j], p[i]) * pow(distance(p[k], p[i]), 2) * pow(distance(p[l], p[i]), 3)
                    }
                }
            }
        }
        return chi
    }

    func testTheChiralPairAreMirrorImagesNoRotationJoins() {
        let mirrored = PointClouds.tetrisShapes[0].map { [$0[0], $0[1], -$0[2]] }
        XCTAssertEqual(distances(mirrored), distances(PointClouds.tetrisShapes[1]), accuracy: 1e-12)
        let hand = chirality(PointClouds.tetrisShapes[0])
        XCTAssertGreaterThan(abs(hand), 0.1)
        XCTAssertEqual(chirality(PointClouds.tetrisShapes[1]), -hand, accuracy: 1e-9 * abs(hand))
        let set = PointClouds.tetris(samples: 64, seed: 8, turned: true)
        for (s, (points, _)) in samples(set).enumerated() {
            let kind = Int(set.targets.values[s])
            let expected = kind == 0 ? hand : (kind == 1 ? -hand : 0)
            XCTAssertEqual(chirality(points), expected, accuracy: 1e-8 * abs(hand), "sample \(s), class \(kind)")
        }
    }

    func minus(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { $0 - $1 } }
    func distance(_ a: [Double], _ b: [Double]) -> Double { minus(a, b).reduce(0) { $0 + $1 * $1 }.squareRoot() }
    func distances(_ p: [[Double]]) -> [Double] {
        p.indices.flatMap { i in p.indices.filter { $0 > i }.map { distance(p[i], p[$0]) } }.sorted()
    }
}

func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
