import EqnnIR

/// Data-dependent initialization (in the manner of Mishkin and Matas's LSUV
/// and of Salimans and Kingma's weight-normalization init), run by `train`
/// before the first step: layer by layer, on a batch of training inputs,
///
/// - the bias after each linear op (or convolution) is set to cancel the mean of
///   its outputs where a bias can: their projection on the invariant subspace;
/// - the output op's coefficients are scaled down by one number where its
///   centred outputs have a mean square above 1 (the standardized target's).
///
/// Hidden ops keep the scale of their random draw: rescaling them to unit
/// variance undid the smaller first layer of docs/graph-ir.md (FWW21 inertia:
/// test MSE 1.5 against 0.074 centred only).
///
/// Why: on permutation fields (Regular) the mean that relu leaves is carried
/// by the invariant parts of every kernel basis, which sum the group's channels
/// coherently: a Regular -> Scalar map amplifies it |G| times more than it does
/// the fluctuations (a dense layer with He's variance: 1 time). The network
/// then starts with a constant offset of several standard deviations of the
/// target, which Adam's bounded steps remove only over thousands of steps.
/// Both changes keep theta in the equivariant space: the bias stays in the
/// invariant subspace, and every coefficient of an op is scaled alike.
public enum Calibration {
    /// theta after calibration on `rows` samples of `x` (normalized as the model does).
    public static func calibrated(_ model: Model, x: [Double], rows: Int, extents: [Int] = []) -> [Double] {
        var model = model
        let ops = model.graph.ops
        let outputOp = ops.lastIndex { $0.linearMap != nil }
        for (k, op) in ops.enumerated() {
            guard let linear = op.linearMap else { continue }
            // Outputs of op k (the input of op k + 1) with the bias that follows at zero.
            let bias: Bias? = k + 1 < ops.count ? { if case .bias(let b) = ops[k + 1] { return b } else { return nil } }() : nil
            if let bias { for j in 0..<bias.parameters.count { model.parameters[bias.parameters.offset + j] = 0 } }
            let tape = Executable<Double>(model).run(x.map { $0 }, batch: rows, extents: extents, keepTape: true).tape
            let z = tape[k + 1], d = linear.outputDimension
            let count = z.count / max(1, d)
            guard count > 0 else { continue }
            var mean = [Double](repeating: 0, count: d)
            for r in 0..<count { for c in 0..<d { mean[c] += z[r * d + c] } }
            for c in 0..<d { mean[c] /= Double(count) }
            let shift = bias.map { invariantProjection(mean, $0) } ?? [Double](repeating: 0, count: d)
            var squares = 0.0
            for r in 0..<count { for c in 0..<d { let v = z[r * d + c] - shift[c]; squares += v * v } }
            let meanSquare = squares / Double(count * d)
            guard meanSquare.isFinite, meanSquare > 1e-24 else { continue }
            let scale = k == outputOp && meanSquare > 1 ? 1 / meanSquare.squareRoot() : 1
            let slice = linear.parameters
            for j in slice.offset..<(slice.offset + slice.count) { model.parameters[j] *= scale }
            if let bias {
                // The coefficients of the bias that best cancel the (scaled) mean.
                let coefficients = leastSquares(bias.basis, target: mean.map { -$0 * scale })
                for (j, c) in coefficients.enumerated() { model.parameters[bias.parameters.offset + j] = c }
            }
        }
        return model.parameters
    }

    /// The vector of span(b) nearest to `v`.
    static func invariantProjection(_ v: [Double], _ bias: Bias) -> [Double] {
        let c = leastSquares(bias.basis, target: v)
        var out = [Double](repeating: 0, count: v.count)
        for (j, cj) in c.enumerated() {
            for e in bias.basis.starts[j]..<bias.basis.starts[j + 1] { out[bias.basis.entryRows[e]] += cj * bias.basis.values[e] }
        }
        return out
    }

    /// argmin_c |sum_j c_j b_j - target| for the basis vectors b_j (columns of
    /// a sparse basis): the normal equations of each group of vectors that share
    /// rows (nearly always one vector: one per summand copy), by Gaussian
    /// elimination; a vector dependent on the others gets 0.
    static func leastSquares(_ basis: SparseBasis, target: [Double]) -> [Double] {
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
            let solved = solveNormalEquations(members.map { vectors[$0] }, target: target)
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
