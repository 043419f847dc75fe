/// A small dense matrix of exact rationals (group generators are tiny).
public struct RationalMatrix: Sendable, Hashable {
    public let rows: Int
    public let columns: Int
    public var entries: [Rational]  // row-major

    public init(rows: Int, columns: Int, entries: [Rational]) {
        self.rows = rows
        self.columns = columns
        self.entries = entries
    }

    public init(integers: [[Int]]) {
        rows = integers.count
        columns = integers.first?.count ?? 0
        entries = integers.flatMap { $0.map(Rational.init) }
    }

    public static func identity(_ n: Int) -> RationalMatrix {
        var m = RationalMatrix(rows: n, columns: n, entries: Array(repeating: .zero, count: n * n))
        for i in 0..<n { m[i, i] = .one }
        return m
    }

    public static func zero(_ n: Int) -> RationalMatrix {
        RationalMatrix(rows: n, columns: n, entries: Array(repeating: .zero, count: n * n))
    }

    public subscript(i: Int, j: Int) -> Rational {
        get { entries[i * columns + j] }
        set { entries[i * columns + j] = newValue }
    }

    public var isSquare: Bool { rows == columns }
    public var hasOverflow: Bool { entries.contains(where: \.isOverflow) }
    public var isZero: Bool { entries.allSatisfy(\.isZero) }

    public var transposed: RationalMatrix {
        var t = RationalMatrix(rows: columns, columns: rows, entries: entries)
        for i in 0..<rows { for j in 0..<columns { t[j, i] = self[i, j] } }
        return t
    }

    public static func * (a: RationalMatrix, b: RationalMatrix) -> RationalMatrix {
        var c = RationalMatrix(rows: a.rows, columns: b.columns, entries: Array(repeating: .zero, count: a.rows * b.columns))
        for i in 0..<a.rows {
            for k in 0..<a.columns where !a[i, k].isZero {
                for j in 0..<b.columns { c[i, j] += a[i, k] * b[k, j] }
            }
        }
        return c
    }

    public static func + (a: RationalMatrix, b: RationalMatrix) -> RationalMatrix {
        RationalMatrix(rows: a.rows, columns: a.columns, entries: zip(a.entries, b.entries).map { $0 + $1 })
    }

    public static prefix func - (a: RationalMatrix) -> RationalMatrix {
        RationalMatrix(rows: a.rows, columns: a.columns, entries: a.entries.map { -$0 })
    }

    public var trace: Rational {
        var t = Rational.zero
        for i in 0..<min(rows, columns) { t += self[i, i] }
        return t
    }

    /// Exact inverse by Gauss-Jordan; nil if singular (or on overflow).
    /// Monomial matrices (permutations, signed permutations) take a fast path.
    public var inverse: RationalMatrix? {
        guard isSquare else { return nil }
        if let columns = monomialColumns {
            var inv = RationalMatrix.zero(rows)
            for (j, (i, value)) in columns.enumerated() { inv[j, i] = Rational.one / value }
            return inv.hasOverflow ? nil : inv
        }
        let n = rows
        var a = self
        var inv = RationalMatrix.identity(n)
        for col in 0..<n {
            guard let pivot = (col..<n).first(where: { !a[$0, col].isZero }) else { return nil }
            if pivot != col {
                for j in 0..<n {
                    (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j])
                    (inv[col, j], inv[pivot, j]) = (inv[pivot, j], inv[col, j])
                }
            }
            let p = a[col, col]
            for j in 0..<n {
                a[col, j] = a[col, j] / p
                inv[col, j] = inv[col, j] / p
            }
            for i in 0..<n where i != col && !a[i, col].isZero {
                let f = a[i, col]
                for j in 0..<n {
                    a[i, j] -= f * a[col, j]
                    inv[i, j] -= f * inv[col, j]
                }
            }
        }
        return inv.hasOverflow ? nil : inv
    }

    public var determinant: Rational {
        guard isSquare else { return .zero }
        if let columns = monomialColumns {
            // The sign of the permutation times the product of the entries.
            var det = Rational.one
            var seen = [Bool](repeating: false, count: rows)
            for start in 0..<rows where !seen[start] {
                var length = 0, j = start
                while !seen[j] { seen[j] = true; j = columns[j].row; length += 1 }
                if length % 2 == 0 { det = -det }
            }
            for (_, value) in columns { det *= value }
            return det
        }
        var a = self
        var det = Rational.one
        for col in 0..<rows {
            guard let pivot = (col..<rows).first(where: { !a[$0, col].isZero }) else { return .zero }
            if pivot != col {
                for j in 0..<columns { (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]) }
                det = -det
            }
            det *= a[col, col]
            for i in (col + 1)..<rows where !a[i, col].isZero {
                let f = a[i, col] / a[col, col]
                for j in col..<columns { a[i, j] -= f * a[col, j] }
            }
        }
        return det
    }

    /// If every column has exactly one nonzero entry (a monomial matrix),
    /// the row of that entry and its value for each column.
    public var monomialColumns: [(row: Int, value: Rational)]? {
        guard isSquare else { return nil }
        var out: [(Int, Rational)] = []
        var rowUsed = [Bool](repeating: false, count: rows)
        for j in 0..<columns {
            var found: (Int, Rational)? = nil
            for i in 0..<rows where !self[i, j].isZero {
                if found != nil { return nil }
                found = (i, self[i, j])
            }
            guard let f = found, !rowUsed[f.0] else { return nil }
            rowUsed[f.0] = true
            out.append(f)
        }
        return out
    }

    public var doubleMatrix: Matrix {
        Matrix(rows: rows, columns: columns, entries: entries.map(\.doubleValue))
    }
}
