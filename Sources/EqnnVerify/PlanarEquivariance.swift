import EqnnGroups
import EqnnIR
import EqnnInterpreter
import EqnnLinearAlgebra
import Foundation

/// The equivariance error of one group element that does not map pixels to pixels.
public struct RotationError: Sendable {
    public var element: String
    public var error: Double
}

/// Networks of a rotation group off the pixel lattice (C(n), D(n), SO(2),
/// O(2) on a 2-D grid). The elements that map pixels to pixels (quarter turns,
/// the mirror) are checked like any grid network's, exactly; the others by
/// rotating a smooth input with bilinear interpolation, as e2cnn's
/// `check_equivariance` does: the relative error of F(g.x) against g.F(x)
/// inside the disc of a quarter of the output's width about the centre
/// (where the rotated field stays inside the grid).
extension EquivarianceCheck {
    /// Random lattice elements of `action`, for measureGrid.
    public static func latticeDraw(_ action: PlanarAction) -> (inout SplitMix64) -> (element: [FactorElement], plane: Matrix) {
        let elements = action.latticeElements
        return { rng in
            let e = elements[Int(rng.next() % UInt64(elements.count))]
            return ([e.factorElement], e.plane)
        }
    }

    /// The elements `verify` rotates by: every element of C(n) or D(n), or for
    /// SO(2) and O(2) `samples` random angles (half of them after the mirror).
    public static func rotationElements(_ action: PlanarAction, samples: Int, seed: UInt64) -> [PlanarAction.Element] {
        guard action.rotations == nil else { return action.elements(order: 1) }
        var rng = SplitMix64(seed: seed)
        return (0..<max(1, samples)).map { k in
            action.element(angle: 2 * .pi * rng.nextUniform(), mirrored: action.mirrors && k % 2 == 1)
        }
    }

    /// The error of each element on one smooth input of `extent` x `extent` positions.
    public static func measureRotations(_ model: Model, input: Rep, output: Rep, elements: [PlanarAction.Element], seed: UInt64,
                                        extent: Int, evaluate: ([Double], [Int]) throws -> [Double]) rethrows -> [RotationError] {
        var rng = SplitMix64(seed: seed)
        let extents = [extent, extent]
        let d = model.graph.input.dimension
        // A sum of Gaussian bumps near the centre, in normalized units.
        let width = max(1.5, Double(extent) / 10)
        var field = [Double](repeating: 0, count: extent * extent * d)
        for _ in 0..<8 {
            let radius = Double(extent) / 4 * rng.nextUniform().squareRoot(), angle = 2 * .pi * rng.nextUniform()
            let centre = (radius * cos(angle), radius * sin(angle))
            let amplitudes = (0..<d).map { _ in rng.nextNormal() }
            for i in 0..<extent {
                for j in 0..<extent {
                    let (x0, x1) = centred(i, j, extent)
                    let bump = exp(-0.5 * ((x0 - centre.0) * (x0 - centre.0) + (x1 - centre.1) * (x1 - centre.1)) / (width * width))
                    for c in 0..<d { field[(i * extent + j) * d + c] += amplitudes[c] * bump }
                }
            }
        }
        func raw(_ normalized: [Double]) -> [Double] {
            normalized.enumerated().map { k, v in model.normalizer.inputShift[k % d] + model.normalizer.inputScale[k % d] * v }
        }
        let fx = try evaluate(raw(field), extents)
        let outExtents = model.graph.outputExtents(extents) ?? []
        var errors: [RotationError] = []
        for g in elements {
            let fgx = try evaluate(raw(rotated(field, rep: input, element: g, extent: extent)), extents)
            guard let outExtent = outExtents.first else {
                errors.append(RotationError(element: g.description, error: relativeError(fgx, output.act([g.factorElement], on: fx, rows: 1))))
                continue
            }
            let expected = rotated(fx, rep: output, element: g, extent: outExtent)
            let e = model.graph.output.dimension
            var actual: [Double] = [], wanted: [Double] = []
            for i in 0..<outExtent {
                for j in 0..<outExtent {
                    let (x0, x1) = centred(i, j, outExtent)
                    guard (x0 * x0 + x1 * x1).squareRoot() < Double(outExtent) / 4 else { continue }
                    for c in 0..<e {
                        actual.append(fgx[(i * outExtent + j) * e + c])
                        wanted.append(expected[(i * outExtent + j) * e + c])
                    }
                }
            }
            errors.append(RotationError(element: g.description, error: relativeError(actual, wanted)))
        }
        return errors
    }

    /// Position (i, j) measured from the centre of an extent x extent grid.
    static func centred(_ i: Int, _ j: Int, _ extent: Int) -> (Double, Double) {
        (Double(i) - Double(extent - 1) / 2, Double(j) - Double(extent - 1) / 2)
    }

    /// g.f: each position reads f at g^-1 x by bilinear interpolation (zero
    /// outside the grid), then rho(g) acts on its channels.
    static func rotated(_ f: [Double], rep: Rep, element g: PlanarAction.Element, extent: Int) -> [Double] {
        let channels = f.count / max(1, extent * extent)
        let h = g.plane
        let middle = Double(extent - 1) / 2
        var moved = [Double](repeating: 0, count: f.count)
        for i in 0..<extent {
            for j in 0..<extent {
                let (x0, x1) = centred(i, j, extent)
                // g^-1 = g^T.
                let s0 = h[0, 0] * x0 + h[1, 0] * x1 + middle, s1 = h[0, 1] * x0 + h[1, 1] * x1 + middle
                let i0 = Int(s0.rounded(.down)), j0 = Int(s1.rounded(.down))
                let t0 = s0 - Double(i0), t1 = s1 - Double(j0)
                for (di, wi) in [(0, 1 - t0), (1, t0)] {
                    for (dj, wj) in [(0, 1 - t1), (1, t1)] {
                        let a = i0 + di, b = j0 + dj
                        let w = wi * wj
                        guard a >= 0, a < extent, b >= 0, b < extent, w > 1e-12 else { continue }
                        for c in 0..<channels { moved[(i * extent + j) * channels + c] += w * f[(a * extent + b) * channels + c] }
                    }
                }
            }
        }
        return rep.act([g.factorElement], on: moved, rows: extent * extent)
    }
}
