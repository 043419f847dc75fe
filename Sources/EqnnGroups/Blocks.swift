/// One copy of one summand of a representation: where its coordinates sit.
public struct Block: Sendable, Hashable {
    public var offset: Int
    public var atom: Atom
    public var dimension: Int
}

extension Rep {
    /// Every copy of every summand, in layout order.
    public func blocks() throws -> [Block] {
        var out: [Block] = []
        var offset = 0
        for s in summands {
            let d = try dimension(of: s.atom)
            for _ in 0..<s.multiplicity {
                out.append(Block(offset: offset, atom: s.atom, dimension: d))
                offset += d
            }
        }
        return out
    }
}

/// One block of the bilinear layer's input-dependent matrix W(h).
public struct BilinearTerm: Sendable, Hashable {
    /// Indices into the representation's blocks: W(h) maps block `input` to block `output`.
    public var output: Int
    public var input: Int
    /// Blocks of h that transform like this block of W (B_out (x) B_in*); each
    /// contributes one learned coefficient times its coordinates, read row-major
    /// as a (dim out) x (dim in) matrix.
    public var sources: [Int]
}

extension Group {
    /// The most sources one block of W(h) draws on (emlp draws min(copies, dim)).
    public static let maxBilinearSources = 4
    /// W(h) has one block per pair of summand copies; this bounds their number squared.
    public static let maxBilinearBlocks = 2048

    /// The bilinear layer h -> h + W(h) h (after FWW21's EMLP BiLinear): the
    /// block (j, i) of W lives in B_j (x) B_i*, so filling it with a learned
    /// combination of copies of that same representation inside h makes
    /// W(rho(g) h) = rho(g) W(h) rho(g)^-1, and W(h) h is equivariant.
    /// Blocks whose representation is trivial are left out: scalar products
    /// of scalars are the activation's job.
    public func bilinearTerms(_ rep: Rep) throws -> [BilinearTerm] {
        let blocks = try rep.blocks()
        if blocks.count > Group.maxBilinearBlocks {
            throw RepError.tooLarge(what: "number of summand copies in a bilinear layer", size: "\(blocks.count)",
                                    limit: Group.maxBilinearBlocks)
        }
        var copies: [Atom: [Int]] = [:]
        for (k, b) in blocks.enumerated() { copies[b.atom, default: []].append(k) }
        var terms: [BilinearTerm] = []
        for (j, out) in blocks.enumerated() {
            for (i, input) in blocks.enumerated() {
                let type = canonical(Atom(
                    slots: out.atom.slots + input.atom.slots.map(\.dualized),
                    detPowers: zip(out.atom.detPowers, input.atom.detPowers).map { $0 - $1 }))
                guard !type.isScalar, let sources = copies[type] else { continue }
                let n = min(sources.count, Group.maxBilinearSources, (try? rep.dimension(of: type)) ?? 1)
                terms.append(BilinearTerm(output: j, input: i, sources: Array(sources.prefix(n))))
            }
        }
        return terms
    }
}

extension Rep {
    /// This representation followed by n scalar channels (a gated layer's gates).
    public func appendingScalars(_ n: Int) -> Rep {
        guard n > 0 else { return self }
        return Rep(group: group, summands: summands + [Summand(multiplicity: n, atom: .scalar(factorCount: group.factors.count))])
    }
}
