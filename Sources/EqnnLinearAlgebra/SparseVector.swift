/// A sparse vector of exact integers: sorted indices with nonzero values.
public struct SparseVector: Sendable, Hashable {
    public var indices: [Int]
    public var values: [Int]

    public init(indices: [Int], values: [Int]) {
        self.indices = indices
        self.values = values
    }

    /// Builds from unsorted (index, value) pairs, summing repeats, dropping zeros.
    /// Returns nil on overflow.
    public init?(entries: [(Int, Int)]) {
        let sorted = entries.sorted { $0.0 < $1.0 }
        var indices: [Int] = [], values: [Int] = []
        for (i, v) in sorted {
            if let last = indices.last, last == i {
                guard let s = checkedAdd(values[values.count - 1], v) else { return nil }
                values[values.count - 1] = s
            } else {
                indices.append(i)
                values.append(v)
            }
        }
        let keep = values.indices.filter { values[$0] != 0 }
        self.indices = keep.map { indices[$0] }
        self.values = keep.map { values[$0] }
    }


    public func dense(count: Int) -> [Int] {
        var out = [Int](repeating: 0, count: count)
        for (i, v) in zip(indices, values) where i < count { out[i] = v }
        return out
    }

    /// Divides by the gcd of the entries and makes the first entry positive,
    /// so that equal directions print equally.
    public func primitive() -> SparseVector {
        guard let first = values.first else { return self }
        var g = 0
        for v in values { g = gcd(g, v) }
        let sign = first < 0 ? -1 : 1
        return SparseVector(indices: indices, values: values.map { sign * $0 / g })
    }
}
