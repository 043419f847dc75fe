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

    /// "S(5) x O(3)", with user labels where the user named a factor.
    public var description: String {
        zip(factors, labels).map { factor, label in
            label == factor.canonicalName ? label : "\(label)"
        }.joined(separator: " x ")
    }

    /// The group in canonical names, e.g. "S(5) x O(3)" even when written "P x E".
    public var canonicalName: String {
        factors.map(\.canonicalName).joined(separator: " x ")
    }
}
