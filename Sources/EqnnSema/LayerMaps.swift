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
///   layout; the basis is computed from the atom without it;
/// - the same group average at one position (a 1 x 1 kernel) for maps and
///   biases of fields with Irrep(k) or Mirror slots, whose matrices are
///   irrational, anywhere else.
///
/// The exact 2-D kernel bases of a finite point group of the plane (p4m as
/// matrices(2)) are then aligned with rotation frequencies (FrequencyAlignment):
/// the same space, in the coordinates Adam learns from.
public struct LayerMaps {
    public let group: Group
    public let solver: EquivariantSolver
    public let planar: PlanarAction?
    /// A layer's `band`: the highest angular frequency of its steerable kernels (nil: the rings' own limits).
    public private(set) var band: Int? = nil

    /// The rotations of a finite point group of the plane (p4m as matrices(2)), whose
    /// exact 2-D kernel bases are aligned with rotation frequencies (FrequencyAlignment).
    private let rotations: [PlanarAction.Element]?

    public init(group: Group, solver: EquivariantSolver, planar: PlanarAction?) {
        self.group = group
        self.solver = solver
        self.planar = planar
        rotations = planar == nil && group.factors.count == 1 ? FrequencyAlignment.planeRotations(group.factors[0]) : nil
    }

    /// The maps of a layer with `band` (the same solver and caches).
    public func banded(_ band: Int?) -> LayerMaps {
        var maps = self
        maps.band = band
        return maps
    }

    /// The rings of a steerable `kernel` x `kernel` convolution of this layer.
    public func rings(kernel: Int) -> KernelRings { KernelRings.standard(kernel: kernel).limited(to: band) }

    /// The convolution's kernel size and the atom it reads, when `read` is a
    /// neighbourhood atom of a steerable convolution.
    private func steerable(_ read: Atom) -> (atom: Atom, kernel: Int)? {
        guard planar != nil, let last = read.slots.last, case .offsets(let k, 2)? = last.points else { return nil }
        return (Atom(slots: Array(read.slots.dropLast()), detPowers: read.detPowers), k)
    }

    /// The most multiply-adds spent aligning one exact pair basis (its Gram-Schmidt:
    /// count^2 x entries; about 2 s): beyond it the orbit indicators stay, equally exact.
    public static let maxAlignmentWork = 4e9

    /// The largest dim a x dim b a steerable pair is solved for: its constraint is a
    /// dense (2 dim a dim b)^2 average (134 MB at the limit; Regular of D(16) uses 1,024).
    public static let maxSteerablePair = 2048

    private func steerableBasis(_ planar: PlanarAction, _ a: Atom, _ b: Atom, kernel: Int) throws -> SteerableKernels.Sampled {
        let reps = Rep.scalar(group)
        let (m, n) = (try reps.dimension(of: b), try reps.dimension(of: a))
        let size = m.multipliedReportingOverflow(by: n).overflow ? Int.max : m * n
        guard size <= LayerMaps.maxSteerablePair else {
            throw SolverError.tooLarge(what: "a steerable kernel's pair of fields (dim in x dim out)", size: size, limit: LayerMaps.maxSteerablePair)
        }
        return SteerableKernels.sampled(group, planar, from: a, to: b, kernel: kernel, rings: rings(kernel: kernel))
    }

    /// The rotation group of the plane whose maps between `a` and `b` are solved
    /// numerically at one position: when either carries Irrep(k) or Mirror.
    private func numeric(_ a: Atom, _ b: Atom) -> PlanarAction? {
        guard a.hasPlanarIrrep || b.hasPlanarIrrep, group.factors.count == 1 else { return nil }
        return planar ?? PlanarAction(group.factors[0])
    }

    /// The dense pair basis from `read` to `b` when it does not come from the exact solver.
    private func denseBasis(from read: Atom, to b: Atom) throws -> SteerableKernels.Sampled? {
        if let planar, let (a, k) = steerable(read) { return try steerableBasis(planar, a, b, kernel: k) }
        if let action = numeric(read, b) { return try steerableBasis(action, read, b, kernel: 1) }
        return nil
    }

    /// dim of the equivariant maps from `read` (an atom, or a neighbourhood atom) to `b`.
    public func homDimension(from read: Atom, to b: Atom) throws -> Int {
        if let dense = try denseBasis(from: read, to: b) { return dense.matrices.count }
        return try solver.homDimension(group, from: read, to: b)
    }

    /// The pair basis from `read` to `b`, each matrix at unit Frobenius norm, and where it
    /// samples steerable kernels (SteerableKernels) the angular frequency of each matrix
    /// (nil where the exact solver gives it).
    public func homBasis(from read: Atom, to b: Atom, rows: Int, columns: Int) throws -> (matrices: SparseBasis, frequencies: [Int]?) {
        if let dense = try denseBasis(from: read, to: b) {
            var basis = SparseBasis(rows: rows, columns: columns, starts: [0], entryRows: [], entryColumns: [], values: [])
            for matrix in dense.matrices { basis.append(matrix, columns: columns, rowOffset: 0) }
            return (basis, dense.frequencies)
        }
        let exact = Lowering.normalized(try solver.homBasis(group, from: read, to: b).map { v in
            SparseMatrixEntries(rows: v.indices.map { $0 / columns }, columns: v.indices.map { $0 % columns }, values: v.values)
        }, rows: rows, columns: columns)
        guard let rotations, exact.count > 1, let last = read.slots.last, case .offsets(let k, 2)? = last.points,
              Double(exact.count) * Double(exact.count) * Double(rows * columns) <= LayerMaps.maxAlignmentWork else { return (exact, nil) }
        let flat = exact.denseMatrices, size = rows * columns
        let dense = (0..<exact.count).map { Array(flat[($0 * size)..<(($0 + 1) * size)]) }
        let a = Atom(slots: Array(read.slots.dropLast()), detPowers: read.detPowers)
        var basis = SparseBasis(rows: rows, columns: columns, starts: [0], entryRows: [], entryColumns: [], values: [])
        for matrix in FrequencyAlignment.aligned(dense, group, rotations: rotations, from: a, to: b, offsets: k * k) {
            basis.append(matrix, columns: columns, rowOffset: 0)
        }
        return (basis, nil)
    }

    /// dim of the invariant vectors of `b` (a bias on one copy of it).
    public func invariantDimension(of b: Atom) throws -> Int {
        let scalar = Atom.scalar(factorCount: group.factors.count)
        if let action = numeric(scalar, b) { return try steerableBasis(action, scalar, b, kernel: 1).matrices.count }
        return try solver.invariantDimension(group, of: b)
    }

    /// The invariant vectors of every summand copy of `rep`, placed at its offset, each of unit length.
    public func invariantBasis(of rep: Rep) throws -> SparseBasis {
        let scalar = Atom.scalar(factorCount: group.factors.count)
        var basis = SparseBasis(rows: try rep.dimension(), columns: 1, starts: [0], entryRows: [], entryColumns: [], values: [])
        for block in try rep.blocks() {
            if let action = numeric(scalar, block.atom) {
                for v in try steerableBasis(action, scalar, block.atom, kernel: 1).matrices { basis.append(v, columns: 1, rowOffset: block.offset) }
            } else {
                for v in try solver.invariantBasis(group, of: block.atom) {
                    basis.appendNormalized(SparseMatrixEntries(rows: v.indices, columns: Array(repeating: 0, count: v.indices.count), values: v.values),
                                           rowOffset: block.offset)
                }
            }
        }
        return basis
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

private extension SparseBasis {
    /// One more basis element: a dense row-major matrix of `columns` columns, its rows shifted by `rowOffset`.
    mutating func append(_ matrix: [Double], columns: Int, rowOffset: Int) {
        for (i, value) in matrix.enumerated() where value != 0 {
            entryRows.append(rowOffset + i / columns)
            entryColumns.append(i % columns)
            values.append(value)
        }
        starts.append(values.count)
    }
}
