/// A dense row-major matrix of doubles, for sampling group elements and
/// checking equivariance numerically.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public var entries: [Double]

    public init(rows: Int, columns: Int, entries: [Double]) {
        self.rows = rows
        self.columns = columns
        self.entries = entries
    }

    public init(rows: Int, columns: Int) {
        self.init(rows: rows, columns: columns, entries: Array(repeating: 0, count: rows * columns))
    }

    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, columns: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    public subscript(i: Int, j: Int) -> Double {
        get { entries[i * columns + j] }
        set { entries[i * columns + j] = newValue }
    }

    public static func * (a: Matrix, b: Matrix) -> Matrix {
        var c = Matrix(rows: a.rows, columns: b.columns)
        a.entries.withUnsafeBufferPointer { pa in
            b.entries.withUnsafeBufferPointer { pb in
                c.entries.withUnsafeMutableBufferPointer { pc in
                    for i in 0..<a.rows {
                        for k in 0..<a.columns {
                            let x = pa[i &* a.columns &+ k]
                            if x == 0 { continue }
                            for j in 0..<b.columns {
                                pc[i &* b.columns &+ j] += x * pb[k &* b.columns &+ j]
                            }
                        }
                    }
                }
            }
        }
        return c
    }

    public static func + (a: Matrix, b: Matrix) -> Matrix {
        Matrix(rows: a.rows, columns: a.columns, entries: zip(a.entries, b.entries).map { $0 + $1 })
    }

    public static func - (a: Matrix, b: Matrix) -> Matrix {
        Matrix(rows: a.rows, columns: a.columns, entries: zip(a.entries, b.entries).map { $0 - $1 })
    }

    public static func * (s: Double, a: Matrix) -> Matrix {
        Matrix(rows: a.rows, columns: a.columns, entries: a.entries.map { s * $0 })
    }

    public var transposed: Matrix {
        var t = Matrix(rows: columns, columns: rows)
        for i in 0..<rows { for j in 0..<columns { t[j, i] = self[i, j] } }
        return t
    }

    /// The Kronecker product, row-major: (A (x) B)[i*p + k, j*q + l] = A[i,j] B[k,l].
    public func kronecker(_ b: Matrix) -> Matrix {
        var c = Matrix(rows: rows * b.rows, columns: columns * b.columns)
        for i in 0..<rows {
            for j in 0..<columns where self[i, j] != 0 {
                let a = self[i, j]
                for k in 0..<b.rows {
                    for l in 0..<b.columns {
                        c[i * b.rows + k, j * b.columns + l] = a * b[k, l]
                    }
                }
            }
        }
        return c
    }

    /// Block-diagonal sum.
    public func directSum(_ b: Matrix) -> Matrix {
        var c = Matrix(rows: rows + b.rows, columns: columns + b.columns)
        for i in 0..<rows { for j in 0..<columns { c[i, j] = self[i, j] } }
        for i in 0..<b.rows { for j in 0..<b.columns { c[rows + i, columns + j] = b[i, j] } }
        return c
    }

    /// Frobenius norm.
    public var norm: Double { entries.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    public var maxAbs: Double { entries.reduce(0) { max($0, abs($1)) } }

    /// The matrix exponential by scaling and squaring with a Taylor series.
    public var exponential: Matrix {
        let n = rows
        var squarings = 0
        var scale = 1.0
        let size = entries.reduce(0) { max($0, abs($1)) } * Double(n)
        while size * scale > 0.5 {
            scale /= 2
            squarings += 1
        }
        let a = scale * self
        var result = Matrix.identity(n)
        var term = Matrix.identity(n)
        for k in 1...18 {
            term = (1.0 / Double(k)) * (term * a)
            result = result + term
        }
        for _ in 0..<squarings { result = result * result }
        return result
    }
}
