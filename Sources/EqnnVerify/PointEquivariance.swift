import EqnnGroups
import EqnnIR
import EqnnInterpreter
import EqnnLinearAlgebra

/// Networks on point clouds: the error of f(g p + t, rho_in(g) x), its points
/// permuted, against rho_out(g) f(p, x) (its rows permuted alike when the output
/// is per point), over random clouds, group elements, translations and permutations.
public enum PointEquivariance {
    /// Each sample: 2 to 24 points uniform in a cube of side 1.5 times the
    /// largest message radius (so that most have neighbours), features at the
    /// normalizer's scale, a random element of every factor (the positions turn
    /// by the domain's factor), a translation of that size, a random order.
    public static func measure(_ model: Model, input: Rep, output: Rep, samples: Int, seed: UInt64, scale: Double = 0.5)
        -> EquivarianceReport {
        let (f64, f32) = (Executable<Double>(model), Executable<Float>(model))
        return measure(model, input: input, output: output, samples: samples, seed: seed, scale: scale) { single, x, cloud in
            single ? f32.forward(x.map(Float.init), batch: cloud.samples, points: cloud).map(Double.init)
                   : f64.forward(x, batch: cloud.samples, points: cloud)
        }
    }

    /// The same with another back end: `evaluate(single precision?, features, clouds)` runs the model.
    public static func measure(_ model: Model, input: Rep, output: Rep, samples: Int, seed: UInt64, scale: Double = 0.5,
                               evaluate: (Bool, [Double], PointBatch) throws -> [Double]) rethrows -> EquivarianceReport {
        guard let domain = model.graph.points else { return EquivarianceReport(samples: 0, maxError64: .nan, maxError32: .nan) }
        var rng = SplitMix64(seed: seed)
        let d = domain.dimension, din = model.graph.input.dimension
        let radius = model.graph.ops.compactMap { if case .message(let m) = $0 { return m.radius } else { return nil } }.max() ?? 1
        let counts = (0..<samples).map { _ in 2 + Int(rng.next() % 23) }
        let total = counts.reduce(0, +)
        let points = PointBatch(counts: counts, positions: (0..<(total * d)).map { _ in 1.5 * radius * rng.nextUniform() }, dimension: d)
        var x = [Double](repeating: 0, count: total * din)
        for r in 0..<total {
            for c in 0..<din { x[r * din + c] = model.normalizer.inputShift[c] + model.normalizer.inputScale[c] * rng.nextNormal() }
        }
        var moved = points, gx = x, order: [Int] = [], elements: [[FactorElement]] = []
        for s in 0..<samples {
            let g = input.group.randomElement(using: &rng, scale: scale)
            elements.append(g)
            let shift = (0..<d).map { _ in 1.5 * radius * rng.nextNormal() }
            var local = Array(points.starts[s]..<points.starts[s + 1])
            local.shuffle(using: &rng)
            for i in local {
                let k = order.count
                order.append(i)
                let turned = input.act(g, on: Array(x[(i * din)..<((i + 1) * din)]), rows: 1)
                for c in 0..<din { gx[k * din + c] = turned[c] }
                for a in 0..<d {
                    moved.positions[k * d + a] = shift[a]
                        + (0..<d).reduce(0.0) { $0 + g[domain.factor].matrix[a, $1] * points.positions[i * d + $1] }
                }
            }
        }
        let pooled = model.graph.poolsPoints
        // The element of every output row, and f(g .) back in the original order.
        let rowElements = pooled ? elements : counts.enumerated().flatMap { s, n in Array(repeating: elements[s], count: n) }
        func aligned(_ fgx: [Double]) -> [Double] {
            guard !pooled else { return fgx }
            let e = model.graph.output.dimension
            var out = fgx
            for (k, i) in order.enumerated() { for c in 0..<e { out[i * e + c] = fgx[k * e + c] } }
            return out
        }
        let error64 = EquivarianceCheck.maxError(output, rowElements, fx: try evaluate(false, x, points), fgx: aligned(try evaluate(false, gx, moved)))
        let error32 = EquivarianceCheck.maxError(output, rowElements, fx: try evaluate(true, x, points), fgx: aligned(try evaluate(true, gx, moved)))
        return EquivarianceReport(samples: samples, maxError64: error64, maxError32: error32)
    }
}
