import EqnnLinearAlgebra
import Foundation

/// The synthetic tasks of Finzi, Welling and Wilson (2021), generated here
/// with inputs drawn as in the paper, deterministic for a seed.
public enum Dataset: String, CaseIterable, Sendable {
    /// O(5)-invariant regression: x1, x2 ~ N(0, I_5);
    /// y = sin(|x1|) - |x2|^3 / 2 + (x1 . x2) / (|x1| |x2|). Input 2*V of O(5), output Scalar.
    case o5
    /// O(3)-equivariant inertia: masses softplus(N(0, 1)), positions N(0, I_3) of 5 bodies;
    /// y = sum_i m_i (|x_i|^2 I - x_i x_i^T), row-major. Input 5*Scalar + 5*V, output V^2.
    case inertia
    /// Lorentz-invariant electron-muon scattering: p1..p4 ~ N(0, I_4) / 4,
    /// eta = diag(1, -1, -1, -1), a.b = a^T eta b;
    /// Le = p1 p3^T - (p1.p3 - p1.p1) eta, Lmu = (eta p2)(eta p4)^T - (p2.p4 - p2.p2) eta,
    /// y = 4 sum_ij Le_ij Lmu_ij. Input 4*V of O(1,3), output Scalar.
    case lorentz

    public var inputDimension: Int {
        switch self {
        case .o5: return 10
        case .inertia: return 20
        case .lorentz: return 16
        }
    }

    public var outputDimension: Int { self == .inertia ? 9 : 1 }

    public func generate(samples: Int, seed: UInt64) -> (x: Table, y: Table) {
        var rng = SplitMix64(seed: seed)
        var x: [Double] = [], y: [Double] = []
        x.reserveCapacity(samples * inputDimension)
        for _ in 0..<samples {
            switch self {
            case .o5:
                let a = (0..<5).map { _ in rng.nextNormal() }, b = (0..<5).map { _ in rng.nextNormal() }
                let na = norm(a), nb = norm(b)
                x += a + b
                y.append(sin(na) - nb * nb * nb / 2 + dot(a, b) / max(na * nb, 1e-300))
            case .inertia:
                let masses = (0..<5).map { _ in softplus(rng.nextNormal()) }
                let positions = (0..<5).map { _ in (0..<3).map { _ in rng.nextNormal() } }
                x += masses + positions.flatMap { $0 }
                var tensor = [Double](repeating: 0, count: 9)
                for (m, p) in zip(masses, positions) {
                    let r2 = dot(p, p)
                    for i in 0..<3 { for j in 0..<3 { tensor[i * 3 + j] += m * ((i == j ? r2 : 0) - p[i] * p[j]) } }
                }
                y += tensor
            case .lorentz:
                let p = (0..<4).map { _ in (0..<4).map { _ in rng.nextNormal() / 4 } }
                x += p.flatMap { $0 }
                let eta = [1.0, -1, -1, -1]
                func mdot(_ a: [Double], _ b: [Double]) -> Double { (0..<4).reduce(0) { $0 + eta[$1] * a[$1] * b[$1] } }
                let le = mdot(p[0], p[2]) - mdot(p[0], p[0]), lmu = mdot(p[1], p[3]) - mdot(p[1], p[1])
                var total = 0.0
                for i in 0..<4 {
                    for j in 0..<4 {
                        let metric = i == j ? eta[i] : 0
                        let e = p[0][i] * p[2][j] - le * metric
                        let mu = eta[i] * p[1][i] * eta[j] * p[3][j] - lmu * metric
                        total += e * mu
                    }
                }
                y.append(4 * total)
            }
        }
        return (Table(rows: samples, columns: inputDimension, values: x), Table(rows: samples, columns: outputDimension, values: y))
    }

    private func norm(_ v: [Double]) -> Double { dot(v, v).squareRoot() }
    private func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    private func softplus(_ v: Double) -> Double { v > 30 ? v : log1p(exp(v)) }
}
