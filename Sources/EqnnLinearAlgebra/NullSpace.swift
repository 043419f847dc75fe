/// Why an exact computation could not be completed.
public enum ExactnessError: Error, Sendable, Equatable {
    /// Numbers grew beyond 64-bit integers or beyond what reconstruction recovers.
    case tooLarge(String)
}

/// A sparse row of an exact linear system: (column, coefficient) pairs.
public typealias SparseRow = [(column: Int, value: Rational)]

/// The null space {c : M c = 0} of a rational matrix given by its rows,
/// computed exactly: elimination modulo the prime 2^61 - 1 finds the pivots
/// and the reduced row echelon form; each basis vector is recovered by
/// rational reconstruction, scaled to a primitive integer vector, and then
/// verified against every row in exact rational arithmetic. A verified
/// vector is in the null space over Q, and the free columns give as many
/// independent vectors as the modular rank allows, so the dimension is exact.
///
/// Rows are fed one at a time and reduced against a fully reduced basis, so
/// memory is rank x columns, never rows x columns.
public func exactNullSpace(rows: [SparseRow], columns: Int) throws -> [SparseVector] {
    var reducer = RowReducer(columns: columns)
    for row in rows {
        if reducer.rank == columns { break }
        var dense = [ModP](repeating: ModP(raw: 0), count: columns)
        var any = false
        for (c, q) in row {
            guard let r = ModP(q) else { throw ExactnessError.tooLarge("coefficient \(q) has no residue") }
            dense[c] = dense[c] + r
            any = any || !r.isZero
        }
        if any { reducer.insert(dense) }
    }
    var basis: [SparseVector] = []
    for free in 0..<columns where reducer.pivotRowOfColumn[free] == nil {
        var entries: [(Int, Rational)] = [(free, .one)]
        for (pivotColumn, row) in zip(reducer.pivotColumns, reducer.rows) where !row[free].isZero {
            guard let q = (ModP(raw: 0) - row[free]).rationalReconstruction else {
                throw ExactnessError.tooLarge("null-space entry could not be reconstructed")
            }
            entries.append((pivotColumn, q))
        }
        var lcm = 1
        for (_, q) in entries {
            guard let l = checkedMul(lcm / gcd(lcm, q.denominator), q.denominator) else {
                throw ExactnessError.tooLarge("denominators overflow")
            }
            lcm = l
        }
        var integer: [(Int, Int)] = []
        for (c, q) in entries {
            guard let v = checkedMul(q.numerator, lcm / q.denominator) else {
                throw ExactnessError.tooLarge("null-space entry overflows")
            }
            integer.append((c, v))
        }
        guard let vector = SparseVector(entries: integer) else { throw ExactnessError.tooLarge("overflow") }
        basis.append(vector.primitive())
    }
    try verify(basis, against: rows)
    return basis
}

/// Exact check that every vector is annihilated by every row.
private func verify(_ basis: [SparseVector], against rows: [SparseRow]) throws {
    for vector in basis {
        let dense = Dictionary(uniqueKeysWithValues: zip(vector.indices, vector.values))
        for row in rows {
            var sum = Rational.zero
            for (c, q) in row {
                if let v = dense[c] { sum += q * Rational(v) }
            }
            if sum.isOverflow { throw ExactnessError.tooLarge("verification overflows") }
            if !sum.isZero { throw ExactnessError.tooLarge("modular solution failed exact verification") }
        }
    }
}

/// Incremental Gauss-Jordan elimination modulo p, keeping rows fully reduced.
struct RowReducer {
    let columns: Int
    var rows: [[ModP]] = []
    var pivotColumns: [Int] = []
    var pivotRowOfColumn: [Int?]

    init(columns: Int) {
        self.columns = columns
        pivotRowOfColumn = Array(repeating: nil, count: columns)
    }

    var rank: Int { rows.count }

    mutating func insert(_ input: [ModP]) {
        var row = input
        for (k, pc) in pivotColumns.enumerated() where !row[pc].isZero {
            let factor = row[pc]
            rows[k].withUnsafeBufferPointer { pivot in
                for c in 0..<columns where !pivot[c].isZero {
                    row[c] = row[c] - factor * pivot[c]
                }
            }
        }
        guard let lead = row.firstIndex(where: { !$0.isZero }) else { return }
        let inv = row[lead].inverse
        for c in lead..<columns where !row[c].isZero { row[c] = row[c] * inv }
        // Keep the basis fully reduced: clear the new pivot from older rows.
        for k in rows.indices where !rows[k][lead].isZero {
            let factor = rows[k][lead]
            for c in 0..<columns where !row[c].isZero {
                rows[k][c] = rows[k][c] - factor * row[c]
            }
        }
        pivotRowOfColumn[lead] = rows.count
        pivotColumns.append(lead)
        rows.append(row)
    }
}
