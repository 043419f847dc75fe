/// A data or weights file that cannot be used, with what and where.
public struct DataError: Error, Sendable, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) {
        self.description = description
    }
}

/// Rows of numbers: `rows x columns`, row-major.
public struct Table: Sendable, Equatable {
    public var rows: Int
    public var columns: Int
    public var values: [Double]
    /// The grid of every row (images: [height, width]); empty for plain rows.
    /// The array's shape is (rows, extents..., columns), C order.
    public var extents: [Int]

    public init(rows: Int, columns: Int, values: [Double], extents: [Int] = []) {
        self.rows = rows
        self.columns = columns
        self.values = values
        self.extents = extents
    }

    /// The shape as NumPy writes it: "(16, 64, 64, 3)".
    public var shapeText: String { "(" + ([rows] + extents + [columns]).map(String.init).joined(separator: ", ") + ")" }
}
