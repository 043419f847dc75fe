import EqnnGroups
import EqnnIR
import EqnnInterpreter
import EqnnLinearAlgebra

/// The largest relative equivariance error |f(rho_in(g) x) - rho_out(g) f(x)| / |f(x)|
/// of a model over random group elements and random inputs.
public struct EquivarianceReport: Sendable {
    public var samples: Int
    public var maxError64: Double
    public var maxError32: Double
    /// For a rotation group off the pixel lattice: the subgroup the errors above
    /// cover (it maps pixels to pixels), and the other elements' errors
    /// (PlanarEquivariance), which the sampled kernels leave and `passes` ignores.
    public var exactFor: String? = nil
    public var rotations: [RotationError] = []
    /// The same errors of the features after each hidden layer (the same inputs
    /// and elements), where the interpreter measures them: where the error enters.
    public var layerRotations: [[RotationError]] = []

    /// Tolerances for `eqnnc verify`: rounding errors of the two precisions
    /// amplified by a few layers and by non-orthogonal group elements.
    public static let tolerance64 = 1e-9
    public static let tolerance32 = 1e-3

    public var passes: Bool { maxError64 <= EquivarianceReport.tolerance64 && maxError32 <= EquivarianceReport.tolerance32 }
}

public enum EquivarianceCheck {
    /// Each sample: a random element g of every factor (random words in the
    /// discrete generators, exponentials of random Lie-algebra elements of
    /// scale `scale`), a random input at the scale the model was trained on.
    public static func measure(_ model: Model, input: Rep, output: Rep, samples: Int, seed: UInt64, scale: Double = 0.5)
        -> EquivarianceReport {
        let run = interpreter(model)
        return measure(model, input: input, output: output, samples: samples, seed: seed, scale: scale) { single, x, batch in
            run(single, x, batch, [])
        }
    }

    /// The interpreter as the measurements' `evaluate(single precision?, x, batch, extents)`.
    public static func interpreter(_ model: Model) -> (Bool, [Double], Int, [Int]) -> [Double] {
        let f64 = Executable<Double>(model), f32 = Executable<Float>(model)
        return { single, x, batch, extents in
            single ? f32.forward(x.map(Float.init), batch: batch, extents: extents).map(Double.init)
                   : f64.forward(x, batch: batch, extents: extents)
        }
    }

    /// The same with another backend: `evaluate(single precision?, rows, batch)` runs the model.
    public static func measure(_ model: Model, input: Rep, output: Rep, samples: Int, seed: UInt64, scale: Double = 0.5,
                               evaluate: (Bool, [Double], Int) throws -> [Double]) rethrows -> EquivarianceReport {
        var rng = SplitMix64(seed: seed)
        let d = model.graph.input.dimension
        var x = [Double](repeating: 0, count: samples * d)
        for r in 0..<samples {
            for c in 0..<d { x[r * d + c] = model.normalizer.inputShift[c] + model.normalizer.inputScale[c] * rng.nextNormal() }
        }
        var gx = x
        var elements: [[FactorElement]] = []
        for r in 0..<samples {
            let g = input.group.randomElement(using: &rng, scale: scale)
            elements.append(g)
            let row = input.act(g, on: Array(x[(r * d)..<((r + 1) * d)]), rows: 1)
            for c in 0..<d { gx[r * d + c] = row[c] }
        }
        let error64 = maxError(output, elements, fx: try evaluate(false, x, samples), fgx: try evaluate(false, gx, samples))
        let error32 = maxError(output, elements, fx: try evaluate(true, x, samples), fgx: try evaluate(true, gx, samples))
        return EquivarianceReport(samples: samples, maxError64: error64, maxError32: error32)
    }

    /// The larger of two errors, NaN when either is: an output that is not finite
    /// fails the check instead of vanishing from the maximum (Swift's max keeps
    /// its first argument when the second is NaN).
    static func worse(_ a: Double, _ b: Double) -> Double { a.isNaN || b.isNaN ? .nan : max(a, b) }

    static func maxError(_ output: Rep, _ elements: [[FactorElement]], fx: [Double], fgx: [Double]) -> Double {
        let e = fx.count / max(1, elements.count)
        var worst = 0.0
        for (r, g) in elements.enumerated() {
            let row = Array(fx[(r * e)..<((r + 1) * e)])
            let expected = output.act(g, on: row, rows: 1)
            var difference = 0.0, size = 0.0
            for c in 0..<e {
                let delta = fgx[r * e + c] - expected[c]
                difference += delta * delta
                size += expected[c] * expected[c]
            }
            let scale = max(size.squareRoot(), 1e-12)
            worst = worse(worst, difference.squareRoot() / scale)
        }
        return worst
    }
}
