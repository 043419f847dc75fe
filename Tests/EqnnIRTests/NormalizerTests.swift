import XCTest
@testable import EqnnIR

/// Standardization is relative to each block's own size: data of any scale
/// standardize to the same values, and only (near-)constant channels are left unscaled.
final class NormalizerTests: XCTestCase {
    let layout = Layout(representation: "Scalar + V", dimension: 4, blocks: [
        LayoutBlock(name: "Scalar", offset: 0, length: 1, isScalar: true),
        LayoutBlock(name: "V", offset: 1, length: 3, isScalar: false),
    ])

    func standardized(_ data: [Double], rows: Int) -> [Double] {
        let (shift, scale) = Normalizer.fit(data, rows: rows, layout: layout)
        return data.indices.map { (data[$0] - shift[$0 % 4]) / scale[$0 % 4] }
    }

    func testEveryScaleStandardizesAlike() {
        let base: [Double] = [1, 0.5, -2, 3, 2, 1, 0, -1, 4, -0.5, 2, 2, 3, 1, 1, -3]
        let reference = standardized(base, rows: 4)
        for factor in [1e-12, 1e-150, 1e200, 3.5] {
            let scaled = standardized(base.map { $0 * factor }, rows: 4)
            for (a, b) in zip(scaled, reference) { XCTAssertEqual(a, b, accuracy: 1e-9, "scale \(factor)") }
        }
        // The scalar channel has unit variance after standardization.
        let column = stride(from: 0, to: 16, by: 4).map { reference[$0] }
        XCTAssertEqual(column.reduce(0) { $0 + $1 * $1 } / 4, 1, accuracy: 1e-12)
    }

    func testConstantChannelsAreShiftedNotScaled() {
        let data: [Double] = [7e-12, 1, 2, 3, 7e-12, 2, 1, 0]
        let (shift, scale) = Normalizer.fit(data, rows: 2, layout: layout)
        XCTAssertEqual(shift[0], 7e-12)
        XCTAssertEqual(scale[0], 1)
        XCTAssertEqual(scale[1], scale[3])  // one scale for the vector block
    }
}
