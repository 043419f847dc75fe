import XCTest
import EqnnLinearAlgebra
@testable import EqnnGroups

/// Kernel spaces of grid convolutions, Hom_H(rho_in (x) P, rho_out), against
/// the character formula dim = (1/|H|) sum_h chi_in(h) chi_out(h) chi_P(h)
/// (real representations), with H enumerated and every character computed
/// here from the matrices, independently of the solver and its group tables.
final class GridKernelTests: XCTestCase {
    let solver = EquivariantSolver()

    /// An integer matrix group closed under products, by brute force.
    func elements(_ generators: [[[Int]]], d: Int) -> [[[Int]]] {
        let identity = (0..<d).map { i in (0..<d).map { $0 == i ? 1 : 0 } }
        var found = [identity]
        var k = 0
        while k < found.count {
            for g in generators {
                let product = (0..<d).map { i in (0..<d).map { j in (0..<d).reduce(0) { $0 + g[i][$1] * found[k][$1][j] } } }
                if !found.contains(product) { found.append(product) }
            }
            k += 1
        }
        return found
    }

    func determinant(_ m: [[Int]]) -> Int {
        let d = m.count
        if d == 1 { return m[0][0] }
        return (0..<d).reduce(0) { sum, j in
            let minor = (1..<d).map { i in (0..<d).filter { $0 != j }.map { m[i][$0] } }
            return sum + (j % 2 == 0 ? 1 : -1) * m[0][j] * determinant(minor)
        }
    }

    enum Field { case scalar, vector, det, regular, vectorSquared, detVector }

    func character(_ field: Field, _ h: [[Int]], order: Int) -> Int {
        let trace = h.indices.reduce(0) { $0 + h[$1][$1] }
        let isIdentity = h.indices.allSatisfy { i in h.indices.allSatisfy { h[i][$0] == (i == $0 ? 1 : 0) } }
        switch field {
        case .scalar: return 1
        case .vector: return trace
        case .det: return determinant(h)
        case .regular: return isIdentity ? order : 0
        case .vectorSquared: return trace * trace
        case .detVector: return determinant(h) * trace
        }
    }

    /// Offsets x in {-r..r}^d with h x = x.
    func fixedOffsets(_ h: [[Int]], kernel: Int) -> Int {
        var points: [[Int]] = [[]]
        for _ in h.indices { points = points.flatMap { p in (0..<kernel).map { p + [$0 - kernel / 2] } } }
        return points.filter { x in h.indices.allSatisfy { i in h.indices.reduce(0) { $0 + h[i][$1] * x[$1] } == x[i] } }.count
    }

    func atom(_ field: Field, order: Int) -> Atom {
        switch field {
        case .scalar: return Atom(slots: [], detPowers: [0])
        case .vector: return Atom(slots: [Slot(factor: 0, dual: false)], detPowers: [0])
        case .det: return Atom(slots: [], detPowers: [1])
        case .regular: return Atom(slots: [Slot(factor: 0, dual: false, points: .regular(order: order))], detPowers: [0])
        case .vectorSquared: return Atom(slots: [Slot(factor: 0, dual: false), Slot(factor: 0, dual: false)], detPowers: [0])
        case .detVector: return Atom(slots: [Slot(factor: 0, dual: false)], detPowers: [1])
        }
    }

    func checkKernels(_ generators: [[[Int]]], d: Int, kernels: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        let group = Group(GroupFactor(kind: .matrices(dimension: d, discrete: generators.map { RationalMatrix(integers: $0) }, algebra: [])))
        let all = elements(generators, d: d)
        XCTAssertEqual(group.factors[0].finiteTable?.order, all.count, file: file, line: line)
        let fields: [Field] = [.scalar, .vector, .det, .regular, .vectorSquared, .detVector]
        var nonzero = 0
        for k in kernels {
            for a in fields {
                for b in fields {
                    var sum = 0
                    for h in all { sum += character(a, h, order: all.count) * character(b, h, order: all.count) * fixedOffsets(h, kernel: k) }
                    XCTAssertEqual(sum % all.count, 0, file: file, line: line)
                    let input = atom(a, order: all.count)
                    let neighbourhood = Atom(slots: input.slots + [Slot(factor: 0, dual: false, points: .offsets(kernel: k, dimension: d))],
                                             detPowers: input.detPowers)
                    let dimension = try solver.homDimension(group, from: k == 1 ? input : neighbourhood, to: atom(b, order: all.count))
                    XCTAssertEqual(dimension, sum / all.count, "\(a) -> \(b), kernel \(k)", file: file, line: line)
                    if dimension > 0 { nonzero += 1 }
                }
            }
        }
        XCTAssertGreaterThan(nonzero, 0, file: file, line: line)
    }

    func testP4MKernels() throws {
        try checkKernels([[[0, -1], [1, 0]], [[1, 0], [0, -1]]], d: 2, kernels: [1, 3, 5])
    }

    func testP4AndFlipKernels() throws {
        try checkKernels([[[0, -1], [1, 0]]], d: 2, kernels: [3, 5])
        try checkKernels([[[-1, 0], [0, 1]]], d: 2, kernels: [3, 5])
        try checkKernels([[[-1]]], d: 1, kernels: [1, 3, 7])
        try checkKernels([], d: 2, kernels: [3])  // the trivial group: a plain CNN
    }

    func testCubeKernels() throws {
        // The 24 rotations of the cube, and all 48 symmetries.
        let quarterZ = [[0, -1, 0], [1, 0, 0], [0, 0, 1]], quarterX = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]
        try checkKernels([quarterZ, quarterX], d: 3, kernels: [3])
        try checkKernels([quarterZ, quarterX, [[-1, 0, 0], [0, -1, 0], [0, 0, -1]]], d: 3, kernels: [3])
    }

    /// The example: no 3x3 kernel maps Det to Scalar under P4M.
    func testDetToScalarHasNoKernel() throws {
        let group = Group(GroupFactor(kind: .matrices(dimension: 2, discrete: [RationalMatrix(integers: [[0, -1], [1, 0]]),
                                                                              RationalMatrix(integers: [[1, 0], [0, -1]])], algebra: [])))
        let det = Atom(slots: [Slot(factor: 0, dual: false, points: .offsets(kernel: 3, dimension: 2))], detPowers: [1])
        XCTAssertEqual(try solver.homDimension(group, from: det, to: Atom(slots: [], detPowers: [0])), 0)
    }
}
