import EqnnLinearAlgebra

/// Per-pixel segmentation of random shapes on square RGB images: what a
/// symmetry of the pixel grid buys. Each image holds 2 to 4 shapes (discs,
/// squares, triangles, bars) of random sizes, colours and places over a noisy
/// background; a pixel's class is the shape drawn on top of it (0: none).
/// Upright shapes have axis-aligned squares, triangles pointing up and
/// horizontal bars; `any` orientation applies one of the 8 rotations by 90
/// degrees and mirrors of the square (the group p4m) to each whole image.
public enum Shapes {
    public enum Orientation: String, Sendable, CaseIterable { case upright, any }

    /// Class names, index = class.
    public static let classes = ["background", "disc", "square", "triangle", "bar"]

    /// x: (samples, extent, extent, 3) colours; y: (samples, extent, extent) class indices.
    public static func generate(samples: Int, extent n: Int, seed: UInt64, orientation: Orientation) -> (x: Table, y: Table) {
        var rng = SplitMix64(seed: seed)
        var x = [Double](repeating: 0, count: samples * n * n * 3)
        var y = [Double](repeating: 0, count: samples * n * n)
        for s in 0..<samples {
            var image = [Double](repeating: 0, count: n * n * 3)
            var labels = [Double](repeating: 0, count: n * n)
            for i in image.indices { image[i] = 0.1 * rng.nextNormal() }
            for _ in 0..<(2 + Int(rng.next() % 3)) {
                let kind = 1 + Int(rng.next() % 4)
                let radius = Double(n) * (0.1 + 0.1 * rng.nextUniform())
                let (cy, cx) = (Double(n - 1) * rng.nextUniform(), Double(n - 1) * rng.nextUniform())
                let colour = (0..<3).map { _ in 0.3 + 0.7 * rng.nextUniform() }
                for i in 0..<n {
                    for j in 0..<n where inside(kind, dy: Double(i) - cy, dx: Double(j) - cx, radius) {
                        labels[i * n + j] = Double(kind)
                        for c in 0..<3 { image[(i * n + j) * 3 + c] = colour[c] }
                    }
                }
            }
            let element = orientation == .any ? Int(rng.next() % 8) : 0
            for i in 0..<n {
                for j in 0..<n {
                    let (si, sj) = p4m(element, i, j, n)
                    y[s * n * n + i * n + j] = labels[si * n + sj]
                    for c in 0..<3 { x[(s * n * n + i * n + j) * 3 + c] = image[(si * n + sj) * 3 + c] }
                }
            }
        }
        return (Table(rows: samples, columns: 3, values: x, extents: [n, n]), Table(rows: samples, columns: 1, values: y, extents: [n, n]))
    }

    /// Whether a pixel at (dy, dx) from a shape's centre (rows grow downwards) is inside an upright shape.
    static func inside(_ kind: Int, dy: Double, dx: Double, _ r: Double) -> Bool {
        switch kind {
        case 1: return dy * dy + dx * dx <= r * r
        case 2: return abs(dy) <= 0.8 * r && abs(dx) <= 0.8 * r
        case 3: return dy >= -r && dy <= 0.7 * r && abs(dx) <= (dy + r) * 0.6  // apex up, base down
        default: return abs(dy) <= 0.3 * r && abs(dx) <= 1.6 * r
        }
    }

    /// The pixel that element k of p4m (rotations by 90 degrees, then mirrors) brings to (i, j).
    static func p4m(_ k: Int, _ i: Int, _ j: Int, _ n: Int) -> (Int, Int) {
        var (a, b) = (i, j)
        for _ in 0..<(k % 4) { (a, b) = (b, n - 1 - a) }
        return k >= 4 ? (a, n - 1 - b) : (a, b)
    }
}
