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

    public init(rows: Int, columns: Int, values: [Double]) {
        self.rows = rows
        self.columns = columns
        self.values = values
    }
}
