import EqnnIR

/// Structured kernels for linear ops whose every block pair has a known
/// shape, instead of a dense product. A permutation group acting on V gives
/// orbit-indicator bases, and those have closed forms:
/// - scale (1 x 1): y += c x;
/// - sum (1 x n, the all-ones row): y += c sum(x);
/// - broadcast (n x 1, the all-ones column): y_i += c x;
/// - deep sets (n x n, S(n): the diagonal and the off-diagonal orbits):
///   y_i += a x_i + b sum(x), O(n) instead of O(n^2);
/// - circulant (n x n, C(n): the n cyclic diagonals): y_i += sum_s c_s x_{i+s mod n},
///   n weights instead of n^2.
/// An op takes the structured path only when every pair fits; otherwise dense.
struct StructuredLinear {
    enum Kind: Int {
        case scale = 0, sum, broadcast, deepSets, circulant
    }

    struct Pair {
        var kind: Kind
        var outputOffset: Int
        var outputLength: Int
        var inputOffset: Int
        var inputLength: Int
        var firstSlot: Int
        /// Index into `sumBlocks` for the kinds that read sum(x), else -1.
        var sumIndex = -1
    }

    /// slot value = sum of theta[basis] * weight over its terms.
    struct Term {
        var slot: Int
        var basis: Int
        var weight: Double
    }

    var pairs: [Pair] = []
    var terms: [Term] = []
    var slotCount = 0
    /// The input blocks whose sums some pair reads: summed once per sample, not once per pair.
    var sumBlocks: [BlockExtent] = []

    /// Multiply-adds per sample (the block sums included), to compare with the dense product.
    var work: Int {
        sumBlocks.reduce(0) { $0 + $1.length } + pairs.reduce(0) { total, p in
            switch p.kind {
            case .scale: return total + 1
            case .sum: return total + 1
            case .broadcast: return total + p.outputLength
            case .deepSets: return total + 2 * p.outputLength
            case .circulant: return total + p.outputLength * p.outputLength
            }
        }
    }

    init?(_ linear: Linear) {
        let basis = linear.basis
        guard basis.count > 0 else { return nil }
        func block(_ index: Int, in blocks: [BlockExtent]) -> Int? {
            blocks.firstIndex { index >= $0.offset && index < $0.offset + $0.length }
        }
        // Group the basis matrices by the block pair that holds them.
        var groups: [[Int]: [Int]] = [:]
        var order: [[Int]] = []
        for k in 0..<basis.count {
            let e = basis.starts[k]
            guard e < basis.starts[k + 1],
                  let o = block(basis.entryRows[e], in: linear.outputBlocks),
                  let i = block(basis.entryColumns[e], in: linear.inputBlocks) else { return nil }
            if groups[[o, i]] == nil { order.append([o, i]) }
            groups[[o, i], default: []].append(k)
        }
        for key in order {
            let out = linear.outputBlocks[key[0]], input = linear.inputBlocks[key[1]]
            guard let matrices = groups[key], add(matrices, basis, out, input) else { return nil }
        }
    }

    /// The entries of basis matrix k relative to the pair, if all its values are equal.
    private func uniform(_ k: Int, _ basis: SparseBasis, _ out: BlockExtent, _ input: BlockExtent) -> (entries: [(Int, Int)], value: Double)? {
        let range = basis.starts[k]..<basis.starts[k + 1]
        guard let first = range.first else { return nil }
        let value = basis.values[first]
        var entries: [(Int, Int)] = []
        for e in range {
            let r = basis.entryRows[e] - out.offset, c = basis.entryColumns[e] - input.offset
            guard r >= 0, r < out.length, c >= 0, c < input.length, basis.values[e] == value else { return nil }
            entries.append((r, c))
        }
        return (entries, value)
    }

    private mutating func add(_ matrices: [Int], _ basis: SparseBasis, _ out: BlockExtent, _ input: BlockExtent) -> Bool {
        var shapes: [(k: Int, entries: [(Int, Int)], value: Double)] = []
        for k in matrices {
            guard let u = uniform(k, basis, out, input) else { return false }
            shapes.append((k, u.entries, u.value))
        }
        let n = out.length, m = input.length
        var pair = Pair(kind: .scale, outputOffset: out.offset, outputLength: n, inputOffset: input.offset,
                        inputLength: m, firstSlot: slotCount)
        if n == 1 && m == 1 && shapes.count == 1 {
            pair.kind = .scale
            terms.append(Term(slot: slotCount, basis: shapes[0].k, weight: shapes[0].value))
            slotCount += 1
        } else if n == 1 && shapes.count == 1 && shapes[0].entries.count == m {
            pair.kind = .sum
            terms.append(Term(slot: slotCount, basis: shapes[0].k, weight: shapes[0].value))
            slotCount += 1
        } else if m == 1 && shapes.count == 1 && shapes[0].entries.count == n {
            pair.kind = .broadcast
            terms.append(Term(slot: slotCount, basis: shapes[0].k, weight: shapes[0].value))
            slotCount += 1
        } else if n == m, n > 1, shapes.count == 2,
                  let diagonal = shapes.first(where: { $0.entries.count == n && $0.entries.allSatisfy { $0.0 == $0.1 } }),
                  let off = shapes.first(where: { $0.entries.count == n * n - n && $0.entries.allSatisfy { $0.0 != $0.1 } }) {
            // a I + b (J - I): y = (a - b) x + b sum(x).
            pair.kind = .deepSets
            terms += [Term(slot: slotCount, basis: diagonal.k, weight: diagonal.value),
                      Term(slot: slotCount, basis: off.k, weight: -off.value),
                      Term(slot: slotCount + 1, basis: off.k, weight: off.value)]
            slotCount += 2
        } else if n == m, n > 1, shapes.count == n {
            // Each matrix must be one cyclic diagonal {(i, i + s mod n)}.
            var shifts: [Int: (k: Int, value: Double)] = [:]
            for shape in shapes {
                guard shape.entries.count == n, let s = shape.entries.first.map({ ($0.1 - $0.0 + n) % n }),
                      shape.entries.allSatisfy({ ($0.1 - $0.0 + n) % n == s }), shifts[s] == nil else { return false }
                shifts[s] = (shape.k, shape.value)
            }
            pair.kind = .circulant
            for s in 0..<n {
                guard let entry = shifts[s] else { return false }
                terms.append(Term(slot: slotCount + s, basis: entry.k, weight: entry.value))
            }
            slotCount += n
        } else {
            return false
        }
        if pair.kind == .sum || pair.kind == .deepSets {
            if let k = sumBlocks.firstIndex(of: input) {
                pair.sumIndex = k
            } else {
                pair.sumIndex = sumBlocks.count
                sumBlocks.append(input)
            }
        }
        pairs.append(pair)
        return true
    }
}
