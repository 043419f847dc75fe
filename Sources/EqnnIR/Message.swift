import Foundation

/// The first half of a message layer on point clouds (the linear op after it
/// mixes both halves): y_i = [x_i ; m_i], where
///
///     m_i = sum over neighbours j of i, per path p and input copy u:
///           w_(p,u)(|r_ij|) B_p (x_(j,u) (x) e_ij^(x)l_p)    into copy u of p's output block
///
/// with r_ij = pos_j - pos_i, e_ij = r_ij / |r_ij| (0 when the points
/// coincide), the neighbours of i every other point of its sample closer than
/// `radius`, and w the radial network:
///
///     w(r) = W2 silu(W1 phi(r) + b1) + b2,
///     phi_k(r) = sqrt(2 / R) sin(k pi r / R) / r * cutoff(r / R),  k = 1...basisCount,
///     cutoff(x) = 1 - 28 x^6 + 48 x^7 - 21 x^8 (0 from x = 1 on),
///
/// NequIP's Bessel basis and polynomial cut-off (p = 6), so that a message
/// fades smoothly to zero, with its first two derivatives, at the radius.
/// B_p is an exact basis map of Hom_G(input atom (x) V^l, output atom).
public struct Message: Sendable, Equatable {
    /// The dimension d of the points' space.
    public var dimension: Int
    /// Coordinates of x per point (the layer before).
    public var channels: Int
    public var radius: Double
    /// The highest power of e_ij any path reads.
    public var degree: Int
    public var basisCount: Int
    public var hidden: Int
    /// Outputs of the radial network: one per (path, input copy).
    public var weights: Int
    public var paths: [MessageBlock]
    /// channels + the dimension of m.
    public var outputDimension: Int
    /// W1 (hidden x basisCount, row-major), b1 (hidden), W2 (weights x hidden), b2 (weights).
    public var parameters: ParameterSlice
    public var representation: String

    public init(dimension: Int, channels: Int, radius: Double, degree: Int, basisCount: Int, hidden: Int, weights: Int,
                paths: [MessageBlock], outputDimension: Int, parameters: ParameterSlice, representation: String) {
        self.dimension = dimension
        self.channels = channels
        self.radius = radius
        self.degree = degree
        self.basisCount = basisCount
        self.hidden = hidden
        self.weights = weights
        self.paths = paths
        self.outputDimension = outputDimension
        self.parameters = parameters
        self.representation = representation
    }

    /// The basis functions every layer uses, and the radial network's default width.
    public static let defaultBasisCount = 8
    public static let defaultHidden = 32

    /// Where the powers 1, e, e (x) e, ... of a pair's direction start, one after another
    /// (degree l at `powerOffsets[l]`, d^l values), and their total at `powerOffsets[degree + 1]`:
    /// the layout every back end keeps them in.
    public var powerOffsets: [Int] {
        (0...(degree + 1)).map { l in (0..<l).reduce(0) { total, j in total + (0..<j).reduce(1) { r, _ in r * dimension } } }
    }

    /// The values a training pass keeps per pair (its geometry, radial basis and network,
    /// the direction's powers and their gradients), in doubles: what sizes its memory.
    public var valuesPerPair: Int {
        3 * dimension + 2 * (powerOffsets.last ?? 1) + 3 * basisCount + 3 * hidden + 2 * weights + 4
    }

    /// Where W1, b1, W2 and b2 start in theta.
    public var firstLayer: Int { parameters.offset }
    public var firstBias: Int { firstLayer + hidden * basisCount }
    public var secondLayer: Int { firstBias + hidden }
    public var secondBias: Int { secondLayer + weights * hidden }
    public static func parameterCount(basisCount: Int, hidden: Int, weights: Int) -> Int {
        hidden * basisCount + hidden + weights * hidden + weights
    }

    /// phi(r) and d phi / dr, basisCount values each.
    public func radialBasis(_ r: Double) -> (values: [Double], derivatives: [Double]) {
        var values = [Double](repeating: 0, count: basisCount), derivatives = values
        values.withUnsafeMutableBufferPointer { v in
            derivatives.withUnsafeMutableBufferPointer { dv in
                if let va = v.baseAddress, let da = dv.baseAddress { radialBasis(r, into: va, derivatives: da) }
            }
        }
        return (values, derivatives)
    }

    /// The same into `values` and `derivatives` (basisCount each): sin(k theta) and
    /// cos(k theta) by the angle-addition recurrence, one sin and one cos per pair.
    @inlinable
    public func radialBasis(_ r: Double, into values: UnsafeMutablePointer<Double>, derivatives: UnsafeMutablePointer<Double>) {
        let x = r / radius
        guard x < 1 else {
            values.update(repeating: 0, count: basisCount)
            derivatives.update(repeating: 0, count: basisCount)
            return
        }
        let x5 = x * x * x * x * x, x6 = x5 * x, x7 = x6 * x, x8 = x7 * x
        let cutoff = 1 - 28 * x6 + 48 * x7 - 21 * x8
        let dCutoff = (-168 * x5 + 336 * x6 - 168 * x7) / radius
        let norm = (2 / radius).squareRoot()
        let theta = Double.pi * r / radius, s1 = sin(theta), c1 = cos(theta)
        var (s, c) = (s1, c1)
        for k in 0..<basisCount {
            let a = Double(k + 1) * Double.pi / radius
            // sin(a r) / r and its derivative, by their series near 0.
            let (f, df): (Double, Double) = r < 1e-4 / a
                ? (a - a * a * a * r * r / 6, -a * a * a * r / 3)
                : (s / r, (a * r * c - s) / (r * r))
            values[k] = norm * f * cutoff
            derivatives[k] = norm * (df * cutoff + f * dCutoff)
            (s, c) = (s * c1 + c * s1, c * c1 - s * s1)
        }
    }
}

/// One path of a message layer from one input summand: copy u of the input
/// summand sends B (x_u (x) e^(x)degree) to copy u of the output block, weighted
/// by radial output `firstWeight + u`.
public struct MessageBlock: Sendable, Equatable {
    /// The input summand (offsets in x).
    public var input: SummandExtent
    /// The output block (offsets in y, from `channels` on), as many copies as the input.
    public var output: SummandExtent
    public var degree: Int
    /// B: output.dimension x (input.dimension * d^degree), row-major, e's index fastest.
    public var matrix: [Double]
    public var firstWeight: Int

    public init(input: SummandExtent, output: SummandExtent, degree: Int, matrix: [Double], firstWeight: Int) {
        self.input = input
        self.output = output
        self.degree = degree
        self.matrix = matrix
        self.firstWeight = firstWeight
    }
}
