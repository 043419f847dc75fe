import EqnnGroups
import EqnnIR

/// Where a network's equivariant linear maps come from, per pair of atoms
/// (the checker counts them, its dataflow follows them, Lowering stores them):
///
/// - the exact solver, for maps between fields at one position and for
///   convolutions whose point group permutes the kernel's offsets (a
///   convolution then reads each atom tensored with that permutation
///   representation, Checker.neighbourhood);
/// - the sampled steerable basis (SteerableKernels) for convolutions of a
///   rotation group off the pixel lattice (`planar`): C(n), D(n), SO(2), O(2)
///   on a 2-D grid. The neighbourhood atom keeps the offsets slot for its
///   layout; the basis is computed from the atom without it.
public struct LayerMaps {
    public let group: Group
    public let solver: EquivariantSolver
    public let planar: PlanarAction?

    public init(group: Group, solver: EquivariantSolver, planar: PlanarAction?) {
        self.group = group
        self.solver = solver
        self.planar = planar
    }

    /// The convolution's kernel size and the atom it reads, when `read` is a
    /// neighbourhood atom of a steerable convolution.
    private func steerable(_ read: Atom) -> (atom: Atom, kernel: Int)? {
        guard planar != nil, let last = read.slots.last, case .offsets(let k, 2)? = last.points else { return nil }
        return (Atom(slots: Array(read.slots.dropLast()), detPowers: read.detPowers), k)
    }

    /// The largest dim a x dim b a steerable pair is solved for: its constraint is a
    /// dense (2 dim a dim b)^2 average (134 MB at the limit; Regular of D(16) uses 1,024).
    public static let maxSteerablePair = 2048

    private func steerableBasis(_ planar: PlanarAction, _ a: Atom, _ b: Atom, kernel: Int) throws -> [[Double]] {
        let reps = Rep.scalar(group)
        let (m, n) = (try reps.dimension(of: b), try reps.dimension(of: a))
        let size = m.multipliedReportingOverflow(by: n).overflow ? Int.max : m * n
        guard size <= LayerMaps.maxSteerablePair else {
            throw SolverError.tooLarge(what: "a steerable kernel's pair of fields (dim in x dim out)", size: size, limit: LayerMaps.maxSteerablePair)
        }
        return SteerableKernels.basis(group, planar, from: a, to: b, kernel: kernel)
    }

    /// dim of the equivariant maps from `read` (an atom, or a neighbourhood atom) to `b`.
    public func homDimension(from read: Atom, to b: Atom) throws -> Int {
        if let planar, let (a, k) = steerable(read) {
            return try steerableBasis(planar, a, b, kernel: k).count
        }
        return try solver.homDimension(group, from: read, to: b)
    }

    /// The pair basis from `read` to `b`, each matrix at unit Frobenius norm.
    public func homBasis(from read: Atom, to b: Atom, rows: Int, columns: Int) throws -> SparseBasis {
        if let planar, let (a, k) = steerable(read) {
            var basis = SparseBasis(rows: rows, columns: columns, starts: [0], entryRows: [], entryColumns: [], values: [])
            for matrix in try steerableBasis(planar, a, b, kernel: k) {
                for (i, value) in matrix.enumerated() where value != 0 {
                    basis.entryRows.append(i / columns)
                    basis.entryColumns.append(i % columns)
                    basis.values.append(value)
                }
                basis.starts.append(basis.values.count)
            }
            return basis
        }
        return Lowering.normalized(try solver.homBasis(group, from: read, to: b).map { v in
            SparseMatrixEntries(rows: v.indices.map { $0 / columns }, columns: v.indices.map { $0 % columns }, values: v.values)
        }, rows: rows, columns: columns)
    }

    /// For each distinct atom B of `to`: its multiplicity and the dimension of
    /// the maps into one copy of it from all of `from`.
    public func incomingDimensions(from: Rep, to: Rep) throws -> [(atom: Atom, multiplicity: Int, incoming: Int)] {
        try to.distinctAtoms.map { b, nb in
            var incoming = 0
            for (a, na) in from.distinctAtoms { incoming += na * (try homDimension(from: a, to: b)) }
            return (b, nb, incoming)
        }
    }
}
