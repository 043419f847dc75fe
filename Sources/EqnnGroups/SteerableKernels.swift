import EqnnLinearAlgebra
import Foundation
import Synchronization

/// The radial part of steerable kernels: Gaussian rings, each with the
/// highest angular frequency it carries. The defaults are e2cnn's (R2Conv's
/// `compute_basis_params`): for a kernel of size k, rings at radii
/// 0, 1, ..., (k - 1) / 2 pixels; width 0.6 (0.4 for the outer ring, 0.005 at
/// the centre, a single pixel); frequency 0 at the centre, and at radius r
/// min(2r, 2 on the outer ring, 2r - 1 on odd ones else 2r): for k = 3 and 5,
/// up to 2; for k = 7, 2, 3, 2.
public struct KernelRings: Sendable, Hashable {
    public var radii: [Double]
    public var widths: [Double]
    public var maxFrequencies: [Int]

    public static func standard(kernel k: Int) -> KernelRings {
        let outer = k / 2
        let radii = (0...outer).map(Double.init)
        var widths = radii.map { $0 == 0 ? 0.005 : 0.6 }
        if outer > 0 { widths[outer] = 0.4 }
        let maxFrequencies = (0...outer).map { r in
            r == 0 ? 0 : min(2 * r, r == outer ? 2 : 2 * r - (r + 1) % 2)
        }
        return KernelRings(radii: radii, widths: widths, maxFrequencies: maxFrequencies)
    }

    /// The same rings with every frequency limit capped at `band` (e2cnn's
    /// `maximum_frequency`): fewer basis kernels, and less of the sampling error,
    /// which grows with the frequency.
    public func limited(to band: Int?) -> KernelRings {
        guard let band else { return self }
        return KernelRings(radii: radii, widths: widths, maxFrequencies: maxFrequencies.map { min($0, band) })
    }
}

/// Equivariant kernels of a convolution under a rotation group of the plane
/// (`PlanarAction`), as escnn and e2cnn build them: K(x) = sum_i w_i phi_i(x),
/// phi_i(x) = ring(|x|) (A_i cos(j phi) + B_i sin(j phi)) with phi the angle of
/// x, for each ring and each frequency j up to the ring's limit, where the
/// (A_i, B_i) span the pairs with K(g x) = rho_out(g) K(x) rho_in(g)^-1 for
/// every g. That constraint acts on each frequency separately; its solutions
/// are the image of the average over the group of
///     g.(A, B) = rho_out(g) (A cos j b + B sin j b, s (B cos j b - A sin j b)) rho_in(g)^-1
/// (g^-1 moves the angle phi to s phi + b), which also gives C(n)'s aliased
/// frequencies without listing them. Sampled on the kernel's offsets and
/// normalized, they are the pair basis of the convolution's linear op:
/// exactly equivariant for the rotations by multiples of 90 degrees (and the
/// mirror), which permute the offsets, and up to the sampling error for the others.
public enum SteerableKernels {
    /// The pair basis from atom `a` to atom `b` for a `kernel` x `kernel`
    /// convolution: matrices of dim b rows and dim a * kernel^2 columns (input
    /// coordinate major, offset minor, offsets in PointSet.offsetVectors order),
    /// each of unit Frobenius norm and linearly independent.
    public static func basis(_ group: Group, _ action: PlanarAction, from a: Atom, to b: Atom, kernel: Int,
                             rings: KernelRings? = nil) -> [[Double]] {
        sampled(group, action, from: a, to: b, kernel: kernel, rings: rings).matrices
    }

    /// A pair basis with the angular frequency j of each matrix: the harmonic it samples,
    /// before any orthonormalization against the ones before it.
    public struct Sampled: Sendable {
        public var matrices: [[Double]], frequencies: [Int]
    }

    /// `basis` with the frequencies, computed once per (action, atoms, kernel, rings).
    public static func sampled(_ group: Group, _ action: PlanarAction, from a: Atom, to b: Atom, kernel: Int, rings: KernelRings? = nil) -> Sampled {
        let rings = rings ?? .standard(kernel: kernel)
        let key = Key(action: action, from: a, to: b, kernel: kernel, rings: rings)
        if let known = cache.withLock({ $0[key] }) { return known }
        let result = compute(group, action, from: a, to: b, kernel: kernel, rings: rings)
        cache.withLock { $0[key] = result }
        return result
    }

    private struct Key: Hashable {
        var action: PlanarAction, from: Atom, to: Atom, kernel: Int, rings: KernelRings
    }
    private static let cache = Mutex<[Key: Sampled]>([:])

    /// One continuous basis kernel: ring(|x|) (A cos(j phi) + B sin(j phi)).
    public struct Harmonic: Sendable {
        public var radius: Double, width: Double, frequency: Int
        /// A then B (only A at frequency 0), each rows x columns row-major.
        public var coefficients: [Double]
        public var rows: Int, columns: Int

        /// ring(|x|) cos(j phi) and ring(|x|) sin(j phi) at x (phi undefined at 0: there only frequency 0).
        public func angular(_ x: (Double, Double)) -> (Double, Double) {
            let r = (x.0 * x.0 + x.1 * x.1).squareRoot()
            let weight = exp(-0.5 * (r - radius) * (r - radius) / (width * width))
            guard r > 0 else { return (frequency == 0 ? weight : 0, 0) }
            let phi = atan2(x.1, x.0)
            return (weight * cos(Double(frequency) * phi), weight * sin(Double(frequency) * phi))
        }

        /// K(x), rows x columns row-major.
        public func value(at x: (Double, Double)) -> [Double] {
            let (u, v) = angular(x)
            let n = rows * columns
            return (0..<n).map { i in coefficients[i] * u + (frequency == 0 ? 0 : coefficients[n + i] * v) }
        }
    }

    /// The continuous kernels before sampling, ring by ring and frequency by frequency.
    public static func harmonics(_ group: Group, _ action: PlanarAction, from a: Atom, to b: Atom, rings: KernelRings) -> [Harmonic] {
        let maxFrequency = rings.maxFrequencies.max() ?? 0
        // Averaging over C(N) is exact for trigonometric polynomials of degree below N.
        let order = 2 * (maxFrequency + action.degree(a) + action.degree(b)) + 2
        let elements = action.elements(order: order)
        let inMatrices = elements.map { group.matrix(of: a, at: [$0.factorElement]) }
        let outMatrices = elements.map { group.matrix(of: b, at: [$0.factorElement]) }
        let m = outMatrices.first?.rows ?? 1, n = inMatrices.first?.rows ?? 1
        var result: [Harmonic] = []
        for j in 0...maxFrequency {
            let solutions = alignedWithFrequencies(fixedCoefficients(frequency: j, elements: elements, inMatrices: inMatrices, outMatrices: outMatrices),
                                                   parts: j == 0 ? 1 : 2, elements: elements, inMatrices: inMatrices, outMatrices: outMatrices)
            for (ring, radius) in rings.radii.enumerated() where rings.maxFrequencies[ring] >= j && (radius > 0 || j == 0) {
                for c in solutions {
                    result.append(Harmonic(radius: radius, width: rings.widths[ring], frequency: j, coefficients: c, rows: m, columns: n))
                }
            }
        }
        return result
    }

    static func compute(_ group: Group, _ action: PlanarAction, from a: Atom, to b: Atom, kernel: Int, rings: KernelRings) -> Sampled {
        let offsets = PointSet.offsetVectors(kernel: kernel, dimension: 2).map { (Double($0[0]), Double($0[1])) }
        let harmonics = harmonics(group, action, from: a, to: b, rings: rings)
        var sampled: [[Double]] = []
        for h in harmonics {
            let profile = offsets.map { h.angular($0) }
            // Row p, column q * offsets + o: input coordinate major, offset minor.
            var matrix = [Double](repeating: 0, count: h.rows * h.columns * offsets.count)
            let n = h.rows * h.columns
            for i in 0..<n {
                let cosine = h.coefficients[i], sine = h.frequency == 0 ? 0 : h.coefficients[n + i]
                guard cosine != 0 || sine != 0 else { continue }
                for (o, (u, v)) in profile.enumerated() { matrix[i * offsets.count + o] = cosine * u + sine * v }
            }
            sampled.append(matrix)
        }
        // Independent scalar functions make the sampled kernels independent (each frequency's
        // coefficients are): normalizing them is enough. Otherwise (rings crowded on a small
        // kernel) Gram-Schmidt drops the dependent ones.
        // Every sampled ring(|x|) cos(j phi) and ring(|x|) sin(j phi) the rings allow.
        var functions: [[Double]] = []
        for (ring, radius) in rings.radii.enumerated() {
            for j in 0...rings.maxFrequencies[ring] where radius > 0 || j == 0 {
                let h = Harmonic(radius: radius, width: rings.widths[ring], frequency: j, coefficients: [], rows: 0, columns: 0)
                let profile = offsets.map { h.angular($0) }
                functions.append(profile.map(\.0))
                if j > 0 { functions.append(profile.map(\.1)) }
            }
        }
        var result = Sampled(matrices: [], frequencies: [])
        if orthonormalized(functions).count == functions.count {
            for (v, h) in zip(sampled, harmonics) {
                let size = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                guard size > 0 else { continue }
                result.matrices.append(v.map { abs($0 / size) < 1e-12 ? 0 : $0 / size })
                result.frequencies.append(h.frequency)
            }
        } else {
            for (v, h) in zip(sampled, harmonics) {
                if appendOrthonormalized(v, to: &result.matrices) { result.frequencies.append(h.frequency) }
            }
        }
        return result
    }

    /// A basis of the coefficients (A, B) at frequency j (only A at j = 0,
    /// row-major, A before B) fixed by every element: the image of their average.
    static func fixedCoefficients(frequency j: Int, elements: [PlanarAction.Element], inMatrices: [Matrix], outMatrices: [Matrix]) -> [[Double]] {
        let m = outMatrices.first?.rows ?? 1, n = inMatrices.first?.rows ?? 1
        let parts = j == 0 ? 1 : 2
        let d = parts * m * n
        var average = [Double](repeating: 0, count: d * d)
        let share = 1 / Double(elements.count)
        for (e, element) in elements.enumerated() {
            // g^-1 sends the angle phi to s phi + b.
            let s = element.mirrored ? -1.0 : 1.0
            let b = element.mirrored ? Double.pi + element.angle : -element.angle
            let cb = cos(Double(j) * b), sb = sin(Double(j) * b)
            // New (A, B) from old: A' = cb A + sb B, B' = s (-sb A + cb B).
            let mix = parts == 1 ? [[1.0]] : [[cb, sb], [-s * sb, s * cb]]
            // (rho_out A rho_in^T)[p2, q2] = sum rho_out[p2, p] A[p, q] rho_in[q2, q] (rho_in^-1 = rho_in^T:
            // orthogonal), over the nonzero entries (one per row for permutations).
            let outer = nonzeros(outMatrices[e]), inner = nonzeros(inMatrices[e])
            for p2 in 0..<m {
                for (p, wp) in outer[p2] {
                    for q2 in 0..<n {
                        for (q, wq) in inner[q2] {
                            let w = wp * wq * share
                            for u2 in 0..<parts {
                                for u in 0..<parts {
                                    let row = u2 * m * n + p2 * n + q2, column = u * m * n + p * n + q
                                    average[row * d + column] += mix[u2][u] * w
                                }
                            }
                        }
                    }
                }
            }
        }
        // The average is an orthogonal projector: its rank is its trace, its columns span its image.
        var trace = 0.0
        for i in 0..<d { trace += average[i * d + i] }
        let rank = Int(trace.rounded())
        var basis: [[Double]] = []
        for i in 0..<d where average[i * d + i] > 1e-9 && basis.count < rank {
            appendOrthonormalized((0..<d).map { average[$0 * d + i] }, to: &basis)
        }
        return basis
    }

    /// The same space, in a basis whose vectors each map one rotation frequency of
    /// the input to one of the output (as e2cnn's basis maps one irreducible field
    /// to one): each vector split by the frequency projectors
    /// P_k = (c_k / N) sum over the N rotations of cos(k theta) rho(theta)
    /// (c_k = 1 at k = 0 and N / 2, else 2), which commute with the group and so
    /// keep the solutions, then orthonormalized block by block.
    /// With `offsets` > 1 each part is m x (n * offsets), input coordinate major, and the
    /// input projector acts on the coordinate index only (P_in (x) I, never built).
    static func alignedWithFrequencies(_ basis: [[Double]], parts: Int, elements: [PlanarAction.Element],
                                       inMatrices: [Matrix], outMatrices: [Matrix], offsets: Int = 1) -> [[Double]] {
        let rotations = elements.indices.filter { !elements[$0].mirrored }
        let count = rotations.count
        guard count > 1, !basis.isEmpty else { return basis }
        let m = outMatrices[0].rows, n = inMatrices[0].rows, width = n * offsets
        func projectors(_ matrices: [Matrix], size: Int) -> [Matrix] {
            (0...(count / 2)).compactMap { k in
                var p = Matrix(rows: size, columns: size)
                let weight = (k == 0 || 2 * k == count ? 1.0 : 2.0) / Double(count)
                for e in rotations { p = p + (weight * cos(Double(k) * elements[e].angle)) * matrices[e] }
                return p.maxAbs > 1e-9 ? p : nil
            }
        }
        let outP = projectors(outMatrices, size: m), inP = projectors(inMatrices, size: n)
        // Each vector's parts (A, then B) with every input projector applied: (A P_in^T, B P_in^T);
        // nil where both vanish (a frequency the vector does not read), most of them.
        let projected: [[[Matrix]?]] = basis.map { v in
            let halves = (0..<parts).map { part in Matrix(rows: m, columns: width, entries: Array(v[(part * m * width)..<((part + 1) * m * width)])) }
            return inP.map { p in
                let moved = halves.map { a in offsets == 1 ? a * p.transposed : rightMultiplied(a, p, offsets: offsets) }
                return moved.allSatisfy({ $0.maxAbs < 1e-12 }) ? nil : moved
            }
        }
        var aligned: [[Double]] = []
        for po in outP {
            for i in inP.indices {
                var block: [[Double]] = []
                for v in projected { if let halves = v[i] { appendOrthonormalized(halves.flatMap { (po * $0).entries }, to: &block) } }
                aligned += block
            }
        }
        return aligned.count == basis.count ? aligned : basis
    }

    /// a (P (x) I_offsets)^T for a of m x (n * offsets) columns q * offsets + o:
    /// [r, q * offsets + o] = sum over q' of a[r, q' * offsets + o] P[q, q'].
    static func rightMultiplied(_ a: Matrix, _ p: Matrix, offsets: Int) -> Matrix {
        let n = p.rows
        var out = Matrix(rows: a.rows, columns: a.columns)
        for r in 0..<a.rows {
            for q2 in 0..<n {
                for q in 0..<n {
                    let w = p[q, q2]
                    if w == 0 { continue }
                    for o in 0..<offsets { out[r, q * offsets + o] += w * a[r, q2 * offsets + o] }
                }
            }
        }
        return out
    }

    /// The nonzero entries of each row.
    static func nonzeros(_ a: Matrix) -> [[(column: Int, value: Double)]] {
        (0..<a.rows).map { i in (0..<a.columns).compactMap { j in a[i, j] == 0 ? nil : (j, a[i, j]) } }
    }

    /// Gram-Schmidt (twice, for stability), dropping vectors that are
    /// numerically in the span of the ones before; entries below 1e-12 cleared.
    static func orthonormalized(_ vectors: [[Double]]) -> [[Double]] {
        var basis: [[Double]] = []
        for v in vectors { appendOrthonormalized(v, to: &basis) }
        return basis
    }

    /// Whether `v` was appended.
    @discardableResult
    static func appendOrthonormalized(_ v: [Double], to basis: inout [[Double]]) -> Bool {
        let size = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard size > 1e-12 else { return false }
        var w = v
        for pass in 0..<2 {
            w.withUnsafeMutableBufferPointer { wp in
                for e in basis {
                    e.withUnsafeBufferPointer { ep in
                        var dot = 0.0
                        for i in 0..<wp.count { dot += ep[i] * wp[i] }
                        for i in 0..<wp.count { wp[i] -= dot * ep[i] }
                    }
                }
            }
            // A vector already in the span needs no second pass to be dropped.
            if pass == 0 && w.reduce(0, { $0 + $1 * $1 }).squareRoot() <= 1e-6 * size { return false }
        }
        let residual = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard residual > 1e-6 * size else { return false }
        basis.append(w.map { abs($0 / residual) < 1e-12 ? 0 : $0 / residual })
        return true
    }
}
