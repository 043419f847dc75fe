/// What a pair basis matrix B (dim S x dim R) is; it decides how the back
/// ends apply it without expanding it.
public enum BasisKind: String, Sendable, CaseIterable {
    /// c I.
    case identity
    /// c P, P a permutation matrix: a gather (a circulant block is a family of these).
    case permutation
    /// At most one nonzero per row and per column, any values: a signed gather,
    /// possibly of a subset of the coordinates.
    case signedPermutation = "signed_permutation"
    /// w u v^T: an orbit sum, a broadcast, a contraction such as the trace.
    case sumBroadcast = "sum_broadcast"
    /// w J + g I with g != 0: the deep-sets "all but itself" matrix J - I.
    case complement
    /// Anything else, applied as a small dense matrix.
    case dense
}

/// One entry of a small sparse matrix.
public struct BasisEntry: Sendable, Hashable {
    public var row: Int
    public var column: Int
    public var value: Double
    public init(row: Int, column: Int, value: Double) {
        self.row = row
        self.column = column
        self.value = value
    }
}

/// A factor pair of a basis matrix, B = scatter * gather up to a weight:
/// `gather` (width x dim R) reads `width` values per input copy, the learned
/// channel mixing combines copies, and `scatter` (dim S x width) writes them.
/// A permutation gathers dim S values and scatters them in place; a sum
/// gathers one value (the sum) and broadcasts it. Basis matrices with equal
/// operators share them, so their coefficients are added before mixing.
public struct BasisOperator: Sendable, Hashable {
    public var width: Int
    public var gather: [BasisEntry]
    public var scatter: [BasisEntry]
}

/// One term of a decomposed basis matrix: `weight * scatter * gather`.
public struct BasisTerm: Sendable, Hashable {
    public var op: BasisOperator
    public var weight: Double
}

public enum BasisDecomposition {
    /// Matrix k of `basis` as sum_t weight_t * scatter_t * gather_t, and its kind.
    public static func decompose(_ basis: SparseBasis, _ k: Int) -> (kind: BasisKind, terms: [BasisTerm]) {
        let entries = (basis.starts[k]..<basis.starts[k + 1]).map {
            BasisEntry(row: basis.entryRows[$0], column: basis.entryColumns[$0], value: basis.values[$0])
        }.filter { $0.value != 0 }.sorted { ($0.row, $0.column) < ($1.row, $1.column) }
        let rows = basis.rows, columns = basis.columns
        guard let first = entries.first else { return (.dense, []) }
        if let monomial = monomial(entries) {
            let full = entries.count == rows && rows == columns
            let equal = entries.allSatisfy { $0.value == first.value }
            let kind: BasisKind = full && equal && entries.allSatisfy { $0.row == $0.column } ? .identity
                : full && equal ? .permutation : .signedPermutation
            return (kind, [BasisTerm(op: monomial, weight: first.value)])
        }
        if let (op, weight) = rankOne(entries, rows: rows, columns: columns) {
            return (.sumBroadcast, [BasisTerm(op: op, weight: weight)])
        }
        if rows == columns, rows >= 2, let shifted = complement(entries, rows: rows) {
            return (.complement, shifted)
        }
        let identity = (0..<rows).map { BasisEntry(row: $0, column: $0, value: 1) }
        return (.dense, [BasisTerm(op: BasisOperator(width: rows, gather: entries, scatter: identity), weight: 1)])
    }

    /// At most one entry per row and column: gather the entries' columns (values
    /// relative to the first), scatter them to their rows.
    static func monomial(_ entries: [BasisEntry]) -> BasisOperator? {
        var rows = Set<Int>(), columns = Set<Int>()
        for e in entries {
            guard rows.insert(e.row).inserted, columns.insert(e.column).inserted else { return nil }
        }
        let scale = entries[0].value
        return BasisOperator(
            width: entries.count,
            gather: entries.enumerated().map { BasisEntry(row: $0.offset, column: $0.element.column, value: $0.element.value / scale) },
            scatter: entries.enumerated().map { BasisEntry(row: $0.element.row, column: $0.offset, value: 1) })
    }

    /// B = w u v^T with u and v 1 at the first entry's row and column.
    static func rankOne(_ entries: [BasisEntry], rows: Int, columns: Int) -> (BasisOperator, Double)? {
        // Only for matrices whose dense form is small next to their entries.
        guard rows * columns <= max(4096, 4 * entries.count) else { return nil }
        var dense = [Double](repeating: 0, count: rows * columns)
        for e in entries { dense[e.row * columns + e.column] += e.value }
        let r0 = entries[0].row, c0 = entries[0].column, w = entries[0].value
        var gather: [BasisEntry] = [], scatter: [BasisEntry] = []
        for c in 0..<columns where dense[r0 * columns + c] != 0 {
            gather.append(BasisEntry(row: 0, column: c, value: dense[r0 * columns + c] / w))
        }
        for r in 0..<rows where dense[r * columns + c0] != 0 {
            scatter.append(BasisEntry(row: r, column: 0, value: dense[r * columns + c0] / w))
        }
        var v = [Double](repeating: 0, count: columns), u = [Double](repeating: 0, count: rows)
        for g in gather { v[g.column] = g.value }
        for s in scatter { u[s.row] = s.value }
        for r in 0..<rows {
            for c in 0..<columns {
                let expected = w * u[r] * v[c]
                guard abs(dense[r * columns + c] - expected) <= 1e-12 * abs(w) else { return nil }
            }
        }
        return (BasisOperator(width: 1, gather: gather, scatter: scatter), w)
    }

    /// B = w J + d' I (square): every off-diagonal entry w, every diagonal entry d (or
    /// none): the all-ones part (a sum broadcast) and the identity, in one pass.
    static func complement(_ entries: [BasisEntry], rows n: Int) -> [BasisTerm]? {
        guard let w = entries.first(where: { $0.row != $0.column })?.value else { return nil }
        var offDiagonal = 0, diagonal = 0
        var d = 0.0
        for e in entries {
            if e.row == e.column {
                if diagonal > 0 && e.value != d { return nil }
                d = e.value
                diagonal += 1
            } else {
                guard e.value == w else { return nil }
                offDiagonal += 1
            }
        }
        guard offDiagonal == n * n - n, diagonal == 0 || diagonal == n, d != w else { return nil }
        let ones = (0..<n).map { BasisEntry(row: 0, column: $0, value: 1) }
        let broadcast = (0..<n).map { BasisEntry(row: $0, column: 0, value: 1) }
        let identity = (0..<n).map { BasisEntry(row: $0, column: $0, value: 1) }
        return [BasisTerm(op: BasisOperator(width: 1, gather: ones, scatter: broadcast), weight: w),
                BasisTerm(op: BasisOperator(width: n, gather: identity, scatter: identity), weight: d - w)]
    }
}
