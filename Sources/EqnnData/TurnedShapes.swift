import EqnnLinearAlgebra
import Foundation

/// Classification of shapes turned by any angle (not only by multiples of 90
/// degrees), one shape per grayscale image, at a random size and place near the
/// centre, over noise: the label (the kind) is invariant to every rotation and
/// mirror of the plane, the task of rotated-MNIST's protocol for images that
/// eqnnc can generate itself. The L is drawn unmirrored, but a mirror of it is
/// still an L: no class is the mirror image of another.
public enum TurnedShapes {
    public static let classes = ["disc", "ring", "square", "triangle", "cross", "bar", "L"]

    /// x: (samples, extent, extent, 1) intensities; y: (samples, 1) class indices.
    public static func generate(samples: Int, extent n: Int, seed: UInt64) -> (x: Table, y: Table) {
        var rng = SplitMix64(seed: seed)
        var x = [Double](repeating: 0, count: samples * n * n)
        var y = [Double](repeating: 0, count: samples)
        let centre = Double(n - 1) / 2
        for s in 0..<samples {
            for i in 0..<(n * n) { x[s * n * n + i] = 0.1 * rng.nextNormal() }
            let kind = Int(rng.next() % UInt64(classes.count))
            let angle = 2 * Double.pi * rng.nextUniform()
            let r = Double(n) * (0.22 + 0.08 * rng.nextUniform())
            let cy = Double(n) / 8 * (2 * rng.nextUniform() - 1), cx = Double(n) / 8 * (2 * rng.nextUniform() - 1)
            let intensity = 0.5 + 0.5 * rng.nextUniform()
            let (c, sn) = (cos(angle), sin(angle))
            for i in 0..<n {
                for j in 0..<n {
                    let dy = Double(i) - centre - cy, dx = Double(j) - centre - cx
                    // The pixel in the shape's own frame: the image turned back by the angle.
                    if inside(kind, c * dy + sn * dx, -sn * dy + c * dx, r) { x[s * n * n + i * n + j] = intensity }
                }
            }
            y[s] = Double(kind)
        }
        return (Table(rows: samples, columns: 1, values: x, extents: [n, n]), Table(rows: samples, columns: 1, values: y))
    }

    /// Whether (v, u) (rows down, columns right, from the centre) is inside shape `kind` of size r.
    static func inside(_ kind: Int, _ v: Double, _ u: Double, _ r: Double) -> Bool {
        let (av, au) = (abs(v), abs(u))
        let squared = v * v + u * u
        switch kind {
        case 0: return squared <= r * r
        case 1: return squared <= r * r && squared >= 0.55 * 0.55 * r * r
        case 2: return av <= 0.8 * r && au <= 0.8 * r
        case 3: return v >= -r && v <= 0.7 * r && au <= (v + r) * 0.6
        case 4: return (av <= 0.25 * r && au <= r) || (au <= 0.25 * r && av <= r)
        case 5: return av <= 0.25 * r && au <= 1.2 * r
        default: return av <= 0.8 * r && au <= 0.8 * r && !(v <= 0.2 * r && u >= -0.2 * r)
        }
    }
}
