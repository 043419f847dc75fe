import EqnnLinearAlgebra

/// One basis matrix of a whole layer's Hom space, as sparse (row, column, value) entries.
public struct SparseMatrixEntries: Sendable, Equatable {
    public var rows: [Int]
    public var columns: [Int]
    public var values: [Int]

    public init(rows: [Int], columns: [Int], values: [Int]) {
        self.rows = rows
        self.columns = columns
        self.values = values
    }
}

extension EquivariantSolver {
    /// For each distinct atom B of `to` (first-appearance order): its total
    /// multiplicity and dim Hom_G(from, B), summed over the atoms of `from`
    /// with their multiplicities. Each pair is solved once (and cached).
    public func incomingDimensions(_ group: Group, from: Rep, to: Rep) throws -> [(atom: Atom, multiplicity: Int, incoming: Int)] {
        try to.distinctAtoms.map { b, nb in
            var incoming = 0
            for (a, na) in from.distinctAtoms { incoming += na * (try homDimension(group, from: a, to: b)) }
            return (b, nb, incoming)
        }
    }

    /// dim Hom_G(from, to) for whole representations, by the block structure.
    public func homDimension(_ group: Group, from: Rep, to: Rep) throws -> Int {
        try incomingDimensions(group, from: from, to: to).reduce(0) { $0 + $1.multiplicity * $1.incoming }
    }

    /// A basis of Hom_G(from, to) for whole representations, from the block
    /// structure: every pair basis (solved once per distinct pair of atoms)
    /// placed in every block (copy of the output atom, copy of the input atom).
    /// Ordered by output summand copy, then input summand copy, then pair basis.
    public func homBasis(_ group: Group, from: Rep, to: Rep, limit: Int) throws -> [SparseMatrixEntries] {
        let inputBlocks = try from.blocks()
        var result: [SparseMatrixEntries] = []
        for output in try to.blocks() {
            for input in inputBlocks {
                for vector in try homBasis(group, from: input.atom, to: output.atom) {
                    if result.count >= limit {
                        throw SolverError.tooLarge(what: "the number of basis matrices", size: result.count + 1, limit: limit)
                    }
                    result.append(SparseMatrixEntries(
                        rows: vector.indices.map { output.offset + $0 / input.dimension },
                        columns: vector.indices.map { input.offset + $0 % input.dimension },
                        values: vector.values))
                }
            }
        }
        return result
    }

}
