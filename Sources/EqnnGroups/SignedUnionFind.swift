/// Union-find over coordinates with a sign on every edge: it records
/// relations v[b] = s * v[a] (s = +-1) imposed by signed permutations, and
/// marks a class dead when it would force v[x] = -v[x], i.e. v = 0 there.
struct SignedUnionFind {
    private var parent: [Int32]
    private var sign: [Int8]  // v[x] = sign[x] * v[parent[x]]
    private(set) var dead: [Bool]

    init(count: Int) {
        parent = (0..<count).map { Int32($0) }
        sign = Array(repeating: 1, count: count)
        dead = Array(repeating: false, count: count)
    }

    /// The root of x and the sign s with v[x] = s * v[root].
    mutating func find(_ x: Int) -> (root: Int, sign: Int8) {
        var node = x
        var s: Int8 = 1
        while Int(parent[node]) != node {
            s &*= sign[node]
            node = Int(parent[node])
        }
        let root = node
        // Path compression: point every node on the way straight at the root.
        node = x
        var remaining = s
        while Int(parent[node]) != node {
            let next = Int(parent[node])
            let step = sign[node]
            parent[node] = Int32(root)
            sign[node] = remaining
            remaining &*= step
            node = next
        }
        return (root, s)
    }

    /// Imposes v[b] = s * v[a].
    mutating func union(_ a: Int, _ b: Int, sign s: Int8) {
        let (ra, sa) = find(a)
        let (rb, sb) = find(b)
        // v[rb] = sb * v[b] = sb * s * v[a] = sb * s * sa * v[ra]
        let relation = sb &* s &* sa
        if ra == rb {
            if relation != 1 { dead[ra] = true }
            return
        }
        parent[rb] = Int32(ra)
        sign[rb] = relation
        dead[ra] = dead[ra] || dead[rb]
    }
}
