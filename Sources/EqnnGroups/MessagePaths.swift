import EqnnLinearAlgebra

/// One way a neighbour's field reaches a field of a point along the unit vector
/// u from the point to the neighbour: h -> B (h (x) u^(x)l), with B an
/// equivariant map from `input` (x) V^l to `output` (V the factor acting on
/// positions). Because B commutes with the group and u turns with the
/// positions, the message turns with the point cloud.
public struct MessagePath: Sendable, Equatable {
    public var input: Atom
    public var output: Atom
    /// l: the power of u the path reads.
    public var degree: Int
    /// B: dim output x (dim input * d^l), row-major (the input's index slower
    /// than u's), of unit Frobenius norm.
    public var matrix: [Double]
}

extension EquivariantSolver {
    /// The most degree a message layer reads u to (u^(x)l has d^l coordinates).
    public static let maxMessageDegree = 4

    /// The paths from atom `a` to atom `b` reading u up to `degree`: the bases of
    /// Hom_G(a (x) V^l, b) for l = 0...degree, solved exactly, of which a path
    /// stays only when its function of u on the unit sphere is independent of
    /// the ones before it (u (x) u has trace 1, so degree 2's trace repeats
    /// degree 0; u (x) u is symmetric, so its antisymmetric part is zero). The
    /// independence is decided numerically, on random directions.
    public func messagePaths(_ group: Group, positions factor: Int, from a: Atom, to b: Atom, degree: Int) throws -> [MessagePath] {
        let reps = Rep.scalar(group)
        let (rows, inputs, d) = (try reps.dimension(of: b), try reps.dimension(of: a), group.factors[factor].dimension)
        var candidates: [MessagePath] = []
        for l in 0...degree {
            let read = group.canonical(Atom(slots: a.slots + Array(repeating: Slot(factor: factor, dual: false), count: l),
                                            detPowers: a.detPowers))
            let columns = inputs * power(d, l)
            for vector in try homBasis(group, from: read, to: b) {
                var matrix = [Double](repeating: 0, count: rows * columns)
                for (index, value) in zip(vector.indices, vector.values) { matrix[index] = Double(value) }
                let norm = matrix.reduce(0) { $0 + $1 * $1 }.squareRoot()
                candidates.append(MessagePath(input: a, output: b, degree: l, matrix: matrix.map { $0 / norm }))
            }
        }
        guard candidates.count > 1 else { return candidates }
        // Each path's function u -> B (I (x) u^l) sampled at enough directions to tell them apart: every entry
        // is a polynomial of degree <= `degree` on the sphere, a space of N = C(L+d-1, d-1) + C(L+d-2, d-1)
        // dimensions, which 2N + 4 random directions determine.
        let polynomials = MessagePaths.binomial(degree + d - 1, d - 1) + MessagePaths.binomial(degree + d - 2, d - 1)
        let count = 2 * polynomials + 4
        let work = Double(candidates.count) * Double(candidates.count) * Double(count * rows * inputs)
        guard work <= MessagePaths.maxWork else {
            throw SolverError.tooLarge(what: "the work of telling a message layer's paths apart (paths^2 x samples)",
                                       size: Int(min(work, 9e18)), limit: Int(MessagePaths.maxWork))
        }
        var rng = SplitMix64(seed: 0x6d65_7373_6167_65)
        let directions = (0..<count).map { _ in MessagePaths.unitVector(d, &rng) }
        var kept: [MessagePath] = [], orthonormal: [[Double]] = []
        for path in candidates {
            var sampled: [Double] = []
            for u in directions { sampled += MessagePaths.function(path, inputs: inputs, at: u) }
            let norm = sampled.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for q in orthonormal {
                let dot = zip(q, sampled).reduce(0) { $0 + $1.0 * $1.1 }
                for i in sampled.indices { sampled[i] -= dot * q[i] }
            }
            let residual = sampled.reduce(0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0, residual > 1e-7 * norm else { continue }
            orthonormal.append(sampled.map { $0 / residual })
            kept.append(path)
        }
        return kept
    }

    private func power(_ base: Int, _ exponent: Int) -> Int { (0..<exponent).reduce(1) { r, _ in r * base } }
}

public enum MessagePaths {
    /// The most multiply-adds spent separating one pair of atoms' paths (about 2 s).
    public static let maxWork = 4e9

    static func binomial(_ n: Int, _ k: Int) -> Int {
        guard k >= 0, n >= k else { return 0 }
        var result = 1
        for i in 0..<k { result = result * (n - i) / (i + 1) }
        return result
    }

    /// u, u (x) u, ... up to u^(x)degree, row-major, one array per degree (degree 0: [1]).
    public static func powers(_ u: [Double], degree: Int) -> [[Double]] {
        var out: [[Double]] = [[1]]
        for _ in 0..<degree {
            guard let last = out.last else { break }
            out.append(last.flatMap { x in u.map { x * $0 } })
        }
        return out
    }

    /// B (I (x) u^l) as a dim output x dim input row-major matrix.
    public static func function(_ path: MessagePath, inputs: Int, at u: [Double]) -> [Double] {
        guard let y = powers(u, degree: path.degree).last else { return [] }
        let width = y.count, rows = path.matrix.count / max(1, inputs * width)
        var out = [Double](repeating: 0, count: rows * inputs)
        for r in 0..<rows {
            for c in 0..<inputs {
                var sum = 0.0
                for k in 0..<width { sum += path.matrix[(r * inputs + c) * width + k] * y[k] }
                out[r * inputs + c] = sum
            }
        }
        return out
    }

    /// A direction drawn uniformly on the unit sphere of R^d.
    public static func unitVector(_ d: Int, _ rng: inout SplitMix64) -> [Double] {
        while true {
            let v = (0..<d).map { _ in rng.nextNormal() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 1e-3 { return v.map { $0 / norm } }
        }
    }
}
