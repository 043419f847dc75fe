import EqnnLinearAlgebra
import Foundation

/// Samples of varying numbers of points, stored the way PyTorch Geometric
/// batches them: every sample's points one after another.
///
/// - `positions` (total points, 3): each point's position;
/// - `features` (total points, f): each point's features (one-hot species);
/// - `counts` (samples, 1): how many points each sample has, in order;
/// - `targets` (samples, k): one row per sample (an energy, or a class index);
/// - `pointTargets` (total points, 3): one row per point (forces), when the task has them.
public struct PointCloudSet: Sendable {
    public var positions: Table
    public var features: Table
    public var counts: Table
    public var targets: Table
    public var pointTargets: Table?
}

public enum PointClouds {
    // MARK: Lennard-Jones clusters

    /// Kob and Andersen's binary Lennard-Jones mixture (Phys. Rev. E 51, 4626, 1995):
    /// species A and B, V_ab(r) = 4 eps_ab ((sigma_ab / r)^12 - (sigma_ab / r)^6).
    public static let epsilon: [[Double]] = [[1.0, 1.5], [1.5, 0.5]]
    public static let sigma: [[Double]] = [[1.0, 0.8], [0.8, 0.88]]

    /// The energy of a cluster and the force on every atom (F_i = -dE/dr_i), exactly, over all pairs.
    public static func lennardJones(_ positions: [[Double]], species: [Int]) -> (energy: Double, forces: [[Double]]) {
        var energy = 0.0
        var forces = [[Double]](repeating: [0, 0, 0], count: positions.count)
        for i in positions.indices {
            for j in positions.indices where j > i {
                let d = (0..<3).map { positions[i][$0] - positions[j][$0] }
                let r2 = d.reduce(0) { $0 + $1 * $1 }
                let (e, s) = (epsilon[species[i]][species[j]], sigma[species[i]][species[j]])
                let s6 = pow(s * s / r2, 3), s12 = s6 * s6
                energy += 4 * e * (s12 - s6)
                // -dV/dr / r, times the difference vector: the force on i.
                let scale = 24 * e * (2 * s12 - s6) / r2
                for a in 0..<3 {
                    forces[i][a] += scale * d[a]
                    forces[j][a] -= scale * d[a]
                }
            }
        }
        return (energy, forces)
    }

    /// Clusters of 5 to 30 atoms (80% A, 20% B) placed at random in a sphere of
    /// the liquid's density (1.2 atoms per sigma_AA^3), no pair closer than 0.9
    /// sigma_ab, relaxed by 40 capped steepest-descent steps and jiggled by 0.02
    /// (near-equilibrium structures, as a short molecular-dynamics run would give),
    /// each at a random orientation. Targets: the energy per cluster and the
    /// forces on every atom; features: the species one-hot (A, B).
    public static func clusters(samples: Int, seed: UInt64) -> PointCloudSet {
        var rng = SplitMix64(seed: seed)
        var positions: [Double] = [], features: [Double] = [], counts: [Double] = [], energies: [Double] = [], forces: [Double] = []
        for _ in 0..<samples {
            let n = 5 + Int(rng.next() % 26)
            let species = (0..<n).map { _ in rng.nextUniform() < 0.8 ? 0 : 1 }
            let radius = pow(3 * Double(n) / (4 * Double.pi * 1.2), 1.0 / 3) + 0.5
            var atoms: [[Double]] = []
            for i in 0..<n {
                var candidate = [0.0, 0.0, 0.0]
                for attempt in 0..<1000 {
                    let grown = radius * (1 + Double(attempt / 200) * 0.2)  // a little more room when crowded
                    repeat {
                        candidate = (0..<3).map { _ in grown * (2 * rng.nextUniform() - 1) }
                    } while candidate.reduce(0, { $0 + $1 * $1 }) > grown * grown
                    let clear = atoms.indices.allSatisfy { j in
                        zip(candidate, atoms[j]).reduce(0, { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }).squareRoot() >= 0.9 * sigma[species[i]][species[j]]
                    }
                    if clear { break }
                }
                atoms.append(candidate)
            }
            for _ in 0..<40 {  // steepest descent, no atom moving more than 0.05 per step
                let f = lennardJones(atoms, species: species).forces
                let largest = f.map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }.max() ?? 0
                let step = largest > 0 ? min(0.01, 0.05 / largest) : 0
                for i in 0..<n { for a in 0..<3 { atoms[i][a] += step * f[i][a] } }
            }
            let turn = randomRotation(&rng)
            atoms = atoms.map { p in (0..<3).map { a in (0..<3).reduce(0) { $0 + turn[a][$1] * p[$1] } + 0.02 * rng.nextNormal() } }
            let (energy, f) = lennardJones(atoms, species: species)
            positions += atoms.flatMap { $0 }
            features += species.flatMap { $0 == 0 ? [1.0, 0.0] : [0.0, 1.0] }
            forces += f.flatMap { $0 }
            counts.append(Double(n))
            energies.append(energy)
        }
        let total = counts.reduce(0, +)
        return PointCloudSet(positions: Table(rows: Int(total), columns: 3, values: positions),
                             features: Table(rows: Int(total), columns: 2, values: features),
                             counts: Table(rows: samples, columns: 1, values: counts),
                             targets: Table(rows: samples, columns: 1, values: energies),
                             pointTargets: Table(rows: Int(total), columns: 3, values: forces))
    }

    // MARK: Tetris

    /// e3nn's tetris: eight shapes of four unit cubes. The first two are each other's
    /// mirror images and no rotation of one is the other: under SO(3) they are two
    /// classes, under O(3) an invariant network cannot tell them apart.
    public static let tetrisShapes: [[[Double]]] = [
        [[0, 0, 0], [0, 0, 1], [1, 0, 0], [1, 1, 0]],   // chiral, one hand
        [[0, 0, 0], [0, 0, 1], [1, 0, 0], [1, -1, 0]],  // chiral, the other
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]],   // square
        [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 0, 3]],   // line
        [[0, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]],   // corner
        [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 0]],   // L
        [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 1]],   // T
        [[0, 0, 0], [1, 0, 0], [1, 1, 0], [2, 1, 0]],   // zigzag
    ]

    /// A random tetris shape per sample, its class the target, its four points in
    /// random order with the feature 1 each; `turned`: at a uniformly random
    /// rotation, else as listed; moved by a random translation either way.
    public static func tetris(samples: Int, seed: UInt64, turned: Bool) -> PointCloudSet {
        var rng = SplitMix64(seed: seed)
        var positions: [Double] = [], labels: [Double] = []
        for _ in 0..<samples {
            let kind = Int(rng.next() % UInt64(tetrisShapes.count))
            let turn = turned ? randomRotation(&rng) : [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
            let shift = (0..<3).map { _ in 2 * rng.nextNormal() }
            var points = tetrisShapes[kind].map { p in (0..<3).map { a in (0..<3).reduce(0) { $0 + turn[a][$1] * p[$1] } + shift[a] } }
            for i in stride(from: points.count - 1, to: 0, by: -1) { points.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            positions += points.flatMap { $0 }
            labels.append(Double(kind))
        }
        return PointCloudSet(positions: Table(rows: 4 * samples, columns: 3, values: positions),
                             features: Table(rows: 4 * samples, columns: 1, values: [Double](repeating: 1, count: 4 * samples)),
                             counts: Table(rows: samples, columns: 1, values: [Double](repeating: 4, count: samples)),
                             targets: Table(rows: samples, columns: 1, values: labels), pointTargets: nil)
    }

    /// A rotation uniform on SO(3): the matrix of a uniformly random unit quaternion.
    static func randomRotation(_ rng: inout SplitMix64) -> [[Double]] {
        var q = (0..<4).map { _ in rng.nextNormal() }
        let size = q.reduce(0) { $0 + $1 * $1 }.squareRoot()
        q = q.map { $0 / max(size, 1e-300) }
        let (w, x, y, z) = (q[0], q[1], q[2], q[3])
        return [[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]]
    }
}
