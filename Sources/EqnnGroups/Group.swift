/// A direct product G_1 x ... x G_k of group factors. Each factor keeps the
/// label the user gave it (a declared name like "P", or "S(5)" written inline)
/// so that V(P) can find it.
public struct Group: Hashable, Sendable, CustomStringConvertible {
    public let factors: [GroupFactor]
    public let labels: [String]

    public init(factors: [GroupFactor], labels: [String]) {
        self.factors = factors
        self.labels = labels
    }

    public init(_ factor: GroupFactor, label: String? = nil) {
        self.init(factors: [factor], labels: [label ?? factor.canonicalName])
    }

    public static func == (a: Group, b: Group) -> Bool { a.factors == b.factors }
    public func hash(into hasher: inout Hasher) { hasher.combine(factors) }

    /// The product of two groups (factors concatenated).
    public static func * (a: Group, b: Group) -> Group {
        Group(factors: a.factors + b.factors, labels: a.labels + b.labels)
    }

    /// "S(5) x O(3)": the canonical names, or the user's labels when two
    /// factors are the same group and only the labels tell them apart.
    public var description: String {
        Set(factors).count < factors.count ? written : canonicalName
    }

    /// The group as the user wrote it, e.g. "P x E".
    public var written: String { labels.joined(separator: " x ") }

    /// "P x E = S(5) x O(3)", or just "O(3)" when written that way.
    public var writtenAndCanonical: String {
        written == canonicalName ? written : "\(written) = \(canonicalName)"
    }

    /// The group in canonical names, e.g. "S(5) x O(3)" even when written "P x E".
    /// How to name factor f alone: its canonical name, unless it is
    /// user-defined or repeated, where only the user's label tells.
    public func factorName(_ f: Int) -> String {
        let factor = factors[f]
        switch factor.kind {
        case .permutations, .matrices: return labels[f]
        default: return factors.filter { $0 == factor }.count > 1 ? labels[f] : factor.canonicalName
        }
    }

    /// User-defined factors (permutations, matrices) go by their labels.
    public var canonicalName: String {
        factors.indices.map { f in
            switch factors[f].kind {
            case .permutations, .matrices: return labels[f]
            default: return factors[f].canonicalName
            }
        }.joined(separator: " x ")
    }
}
