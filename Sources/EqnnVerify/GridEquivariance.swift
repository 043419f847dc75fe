import EqnnGroups
import EqnnIR
import EqnnInterpreter
import EqnnLinearAlgebra

/// Equivariance of grid networks: the point group acts on fields by
/// (h.f)(x) = rho(h) f(h^-1 x), x measured from the centre of the grid, and
/// translations by (t.f)(x) = f(x - t). On a torus every translation is a
/// symmetry (by multiples of the pools' product, which then shrink it); on a
/// grid with zero padding only the point group about the centre is.
extension EquivarianceCheck {
    /// Random elements of the point group (and random translations on a
    /// torus) on random square grids of `extent` positions per axis.
    ///
    /// `draw` gives the point group's elements and their matrices on the grid's
    /// axes (default: random elements, whose V is the grid's space).
    public static func measureGrid(_ model: Model, input: Rep, output: Rep, samples: Int, seed: UInt64, extent: Int,
                                   draw: ((inout SplitMix64) -> (element: [FactorElement], plane: Matrix))? = nil,
                                   evaluate: (Bool, [Double], Int, [Int]) throws -> [Double]) rethrows -> EquivarianceReport {
        guard let domain = model.graph.domain else { return EquivarianceReport(samples: 0, maxError64: 0, maxError32: 0) }
        var rng = SplitMix64(seed: seed)
        let extents = [Int](repeating: extent, count: domain.dimension)
        let positions = extents.reduce(1, *)
        let d = model.graph.input.dimension
        let outExtents = model.graph.outputExtents(extents) ?? []
        let shrink = outExtents.isEmpty ? 1 : extent / max(1, outExtents[0])
        var worst64 = 0.0, worst32 = 0.0
        for _ in 0..<samples {
            var x = [Double](repeating: 0, count: positions * d)
            for p in 0..<positions {
                for c in 0..<d { x[p * d + c] = model.normalizer.inputShift[c] + model.normalizer.inputScale[c] * rng.nextNormal() }
            }
            let (g, plane) = draw?(&rng) ?? { let e = input.group.randomElement(using: &rng); return (e, e[0].matrix) }()
            var shift = [Int](repeating: 0, count: domain.dimension)
            if domain.padding == .circular {
                for a in shift.indices { shift[a] = shrink * Int(rng.next() % UInt64(max(1, extent / shrink))) }
            }
            let gx = transform(x, rep: input, element: g, plane: plane, extents: extents, shift: shift)
            for single in [false, true] {
                let fx = try evaluate(single, x, 1, extents), fgx = try evaluate(single, gx, 1, extents)
                let expected = transform(fx, rep: output, element: g, plane: plane, extents: outExtents, shift: shift.map { $0 / shrink })
                var error = relativeError(fgx, expected)
                if let (moved, valid) = borderTranslation(model, x, extents: extents, rng: &rng) {
                    // Zero padding: translations hold wherever no receptive field meets the border.
                    let fy = try evaluate(single, moved, 1, extents)
                    error = worse(error, relativeError(valid.map { fy[$0.to] }, valid.map { fx[$0.from] }))
                }
                if single { worst32 = worse(worst32, error) } else { worst64 = worse(worst64, error) }
            }
        }
        return EquivarianceReport(samples: samples, maxError64: worst64, maxError32: worst32)
    }

    /// How far an output position's receptive field reaches: the kernels' radii
    /// added up (nil with pools, whose translations the torus check covers).
    public static func receptiveRadius(_ graph: Graph) -> Int? {
        var radius = 0
        for op in graph.ops {
            switch op {
            case .convolution(let c): radius += c.kernel / 2
            case .pool: return nil
            default: continue
            }
        }
        return radius
    }

    /// On a zero-padded grid without pools: the input translated by a random t
    /// (positions that come from outside the grid get new random values), and the
    /// output coordinates (from, to) that must agree, out(p) = out'(p + t), for
    /// the positions p whose receptive fields lie inside the grid before and after.
    static func borderTranslation(_ model: Model, _ x: [Double], extents: [Int], rng: inout SplitMix64)
        -> (input: [Double], valid: [(from: Int, to: Int)])? {
        guard model.graph.domain?.padding == .zero, let radius = receptiveRadius(model.graph) else { return nil }
        let d = model.graph.input.dimension, e = model.graph.output.dimension
        let shift = extents.map { n -> Int in
            let reach = max(0, n / 2 - 2 * radius - 1)
            return reach == 0 ? 0 : Int(rng.next() % UInt64(2 * reach + 1)) - reach
        }
        guard shift.contains(where: { $0 != 0 }) else { return nil }
        let strides = GridGeometry(extents, circular: false).strides
        let positions = extents.reduce(1, *)
        var moved = [Double](repeating: 0, count: x.count)
        var valid: [(from: Int, to: Int)] = []
        for p in 0..<positions {
            var rest = p, source = 0, inside = true, interior = true
            for a in extents.indices {
                let i = rest / strides[a]
                rest %= strides[a]
                let j = i - shift[a]
                if j < 0 || j >= extents[a] { inside = false }
                if min(i, j) < radius || max(i, j) >= extents[a] - radius { interior = false }
                source += j * strides[a]
            }
            for c in 0..<d { moved[p * d + c] = inside ? x[source * d + c] : model.normalizer.inputShift[c] + rng.nextNormal() }
            if inside && interior { for c in 0..<e { valid.append((source * e + c, p * e + c)) } }
        }
        return valid.isEmpty ? nil : (moved, valid)
    }

    /// t.(h.f) for one sample: each position reads f at h^-1 (x - t), then rho(h) acts on its channels;
    /// `plane` is h on the grid's axes (a signed permutation).
    public static func transform(_ f: [Double], rep: Rep, element: [FactorElement], plane h: Matrix, extents: [Int], shift: [Int]) -> [Double] {
        let positions = extents.reduce(1, *)
        let channels = f.count / max(1, positions)
        guard !extents.isEmpty else { return rep.act(element, on: f, rows: 1) }
        let strides = GridGeometry(extents, circular: false).strides
        var moved = [Double](repeating: 0, count: f.count)
        for p in 0..<positions {
            // Twice the centred coordinates (integers even for even extents).
            var rest = p
            var doubled = [Int](repeating: 0, count: extents.count)
            for a in extents.indices {
                let i = rest / strides[a]
                rest %= strides[a]
                doubled[a] = 2 * (i - shift[a]) - (extents[a] - 1)
            }
            var source = 0
            for b in extents.indices {
                var y = 0.0
                for a in extents.indices { y += h[a, b] * Double(doubled[a]) }  // h^-1 = h^T
                let j = ((Int(y.rounded()) + extents[b] - 1) / 2 % extents[b] + extents[b]) % extents[b]
                source += j * strides[b]
            }
            for c in 0..<channels { moved[p * channels + c] = f[source * channels + c] }
        }
        return rep.act(element, on: moved, rows: positions)
    }

    static func relativeError(_ actual: [Double], _ expected: [Double]) -> Double {
        var difference = 0.0, size = 0.0
        for (a, e) in zip(actual, expected) {
            difference += (a - e) * (a - e)
            size += e * e
        }
        return difference.squareRoot() / max(size.squareRoot(), 1e-12)
    }

    /// The interpreter's report for a grid network.
    public static func measureGrid(_ model: Model, input: Rep, output: Rep, samples: Int, seed: UInt64, extent: Int,
                                   draw: ((inout SplitMix64) -> (element: [FactorElement], plane: Matrix))? = nil) -> EquivarianceReport {
        measureGrid(model, input: input, output: output, samples: samples, seed: seed, extent: extent, draw: draw, evaluate: interpreter(model))
    }
}
