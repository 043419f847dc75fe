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
