import Foundation

/// Least squares in the span of a bias basis: what calibration and batchnorm folding solve.
extension SparseBasis {
    /// argmin_c |sum_j c_j b_j - target| for the basis vectors b_j (a basis of
    /// one-column matrices, as a bias's): the normal equations of each group of
    /// vectors that share rows (nearly always one vector: one per summand
    /// copy), by Gaussian elimination; a vector dependent on the others gets 0.
    public func coefficients(nearest target: [Double]) -> [Double] {
        let basis = self
        let n = basis.count
        // Each vector as (row, value) sorted by row (a fixed order: the sums are deterministic).
        let vectors: [[(row: Int, value: Double)]] = (0..<n).map { j in
            var entries: [(row: Int, value: Double)] = []
            for e in basis.starts[j]..<basis.starts[j + 1] { entries.append((basis.entryRows[e], basis.values[e])) }
            return entries.sorted { $0.row < $1.row }
        }
        // Groups of vectors linked by shared rows (union-find on vector indices).
        var parent = Array(0..<n)
        func root(_ i: Int) -> Int { var i = i; while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }; return i }
        var owner: [Int: Int] = [:]
        for j in 0..<n { for entry in vectors[j] { if let other = owner[entry.row] { parent[root(j)] = root(other) } else { owner[entry.row] = j } } }
        var groups: [Int: [Int]] = [:]
        for j in 0..<n { groups[root(j), default: []].append(j) }
        var result = [Double](repeating: 0, count: n)
        for key in groups.keys.sorted() {
            guard let members = groups[key] else { continue }
            let solved = SparseBasis.solveNormalEquations(members.map { vectors[$0] }, target: target)
            for (j, c) in zip(members, solved) { result[j] = c }
        }
        return result
    }

    static func solveNormalEquations(_ vectors: [[(row: Int, value: Double)]], target: [Double]) -> [Double] {
        let n = vectors.count
        func dot(_ a: [(row: Int, value: Double)], _ b: [(row: Int, value: Double)]) -> Double {
            var (i, k, sum) = (0, 0, 0.0)
            while i < a.count, k < b.count {
                if a[i].row < b[k].row { i += 1 } else if a[i].row > b[k].row { k += 1 } else {
                    // Repeated rows within a vector: every pair of entries on the row.
                    let row = a[i].row
                    let ai = a[i...].prefix { $0.row == row }, bk = b[k...].prefix { $0.row == row }
                    for p in ai { for q in bk { sum += p.value * q.value } }
                    i += ai.count
                    k += bk.count
                }
            }
            return sum
        }
        var gram = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
        for i in 0..<n {
            for entry in vectors[i] { gram[i][n] += entry.value * target[entry.row] }
            for j in i..<n {
                gram[i][j] = dot(vectors[i], vectors[j])
                gram[j][i] = gram[i][j]
            }
        }
        for column in 0..<n {
            guard let pivot = (column..<n).max(by: { abs(gram[$0][column]) < abs(gram[$1][column]) }),
                  abs(gram[pivot][column]) > 1e-12 else { continue }
            gram.swapAt(column, pivot)
            for r in 0..<n where r != column {
                let f = gram[r][column] / gram[column][column]
                if f == 0 { continue }
                for c in column...n { gram[r][c] -= f * gram[column][c] }
            }
        }
        return (0..<n).map { abs(gram[$0][$0]) > 1e-12 ? gram[$0][n] / gram[$0][$0] : 0 }
    }
}
