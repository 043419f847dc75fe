import XCTest
@testable import EqnnData

/// The image task: shapes where the labels say, every class present, the
/// p4m elements distinct permutations of the pixels, and determinism.
final class ShapesTests: XCTestCase {
    func testLabelsMarkColouredPixels() {
        let (x, y) = Shapes.generate(samples: 20, extent: 24, seed: 7, orientation: .upright)
        XCTAssertEqual(x.shapeText, "(20, 24, 24, 3)")
        XCTAssertEqual(y.shapeText, "(20, 24, 24, 1)")
        var counts = [Int](repeating: 0, count: Shapes.classes.count)
        for (p, label) in y.values.enumerated() {
            counts[Int(label)] += 1
            let colour = x.values[(p * 3)..<(p * 3 + 3)]
            // Shapes are coloured in [0.3, 1]; the background is noise around 0.
            if label > 0 { XCTAssertTrue(colour.allSatisfy { $0 >= 0.3 && $0 <= 1 }) }
        }
        XCTAssertTrue(counts.allSatisfy { $0 > 0 }, "\(counts)")
        XCTAssertGreaterThan(counts[0], counts[1...].reduce(0, +))  // mostly background
        XCTAssertEqual(Shapes.generate(samples: 20, extent: 24, seed: 7, orientation: .upright).x, x)
    }

    func testUprightTrianglesPointUp() {
        // A triangle's rows widen downwards: its top row is its narrowest.
        XCTAssertTrue(Shapes.inside(3, dy: -4.9, dx: 0, 5))
        XCTAssertFalse(Shapes.inside(3, dy: -4.5, dx: 1, 5))
        XCTAssertTrue(Shapes.inside(3, dy: 3, dx: 3, 5))
        XCTAssertTrue(Shapes.inside(4, dy: 0, dx: 7, 5) && !Shapes.inside(4, dy: 7, dx: 0, 5))  // bars lie flat
    }

    func testP4MElementsAreEightDistinctPixelPermutations() {
        let n = 5
        var images: Set<[Int]> = []
        for k in 0..<8 {
            let image = (0..<(n * n)).map { p in let (i, j) = Shapes.p4m(k, p / n, p % n, n); return i * n + j }
            XCTAssertEqual(Set(image).count, n * n)
            images.insert(image)
        }
        XCTAssertEqual(images.count, 8)
    }
}

/// The turned-shapes classification: every class drawn, at angles that are
/// not multiples of 90 degrees (a square's edges leave the pixel axes), and
/// a shape's area independent of its angle (what makes the label invariant).
final class TurnedShapesTests: XCTestCase {
    func testClassesAndImages() {
        let (x, y) = TurnedShapes.generate(samples: 70, extent: 24, seed: 3)
        XCTAssertEqual(x.shapeText, "(70, 24, 24, 1)")
        XCTAssertEqual(y.shapeText, "(70, 1)")
        XCTAssertEqual(Set(y.values.map(Int.init)), Set(0..<TurnedShapes.classes.count))
        for s in 0..<70 {
            // Every image holds a shape: pixels of intensity 0.5 or more, far above the noise (0.1).
            let lit = x.values[(s * 576)..<((s + 1) * 576)].filter { $0 >= 0.5 }.count
            XCTAssertGreaterThan(lit, 8, "sample \(s)")
        }
        XCTAssertEqual(TurnedShapes.generate(samples: 70, extent: 24, seed: 3).x, x)
    }

    func testAreaDoesNotDependOnTheAngle() {
        for kind in 0..<TurnedShapes.classes.count {
            var areas: [Double] = []
            for angle in stride(from: 0.0, to: 2 * Double.pi, by: 0.3) {
                var count = 0
                let (c, s) = (cos(angle), sin(angle))
                for i in -200...200 { for j in -200...200 {
                    let (v, u) = (Double(i) / 10, Double(j) / 10)
                    if TurnedShapes.inside(kind, c * v + s * u, -s * v + c * u, 10) { count += 1 }
                } }
                areas.append(Double(count))
            }
            let spread = (areas.max() ?? 0) - (areas.min() ?? 0)
            // Within 3%: the pixels on an axis-aligned edge count at some angles only (thin bars most).
            XCTAssertLessThan(spread / (areas.max() ?? 1), 0.03, TurnedShapes.classes[kind])
        }
        // A square turned by 45 degrees reaches beyond its upright half-width along the axes.
        let (c, s) = (cos(Double.pi / 4), sin(Double.pi / 4))
        XCTAssertTrue(TurnedShapes.inside(2, c * 0 + s * 10, -s * 0 + c * 10, 10))
        XCTAssertFalse(TurnedShapes.inside(2, 0, 10, 10))
    }
}
