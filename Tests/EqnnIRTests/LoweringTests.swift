import EqnnDiagnostics
import EqnnGroups
import EqnnSema
import EqnnSupport
import XCTest
@testable import EqnnIR
import Foundation

final class LoweringTests: XCTestCase {
    /// The first network of `text`, checked (without errors) and lowered.
    static func lower(_ text: String) throws -> (CheckedNetwork, Graph) {
        let solver = EquivariantSolver()
        let (program, bag) = Checker.check(SourceFile(name: "t", text: text), solver: solver)
        XCTAssertFalse(bag.hasErrors)
        let network = try XCTUnwrap(program.networks.first)
        return (network, try Lowering.lower(network, solver: solver))
    }

    func testParameterSlicesMatchTheCheckedCounts() throws {
        let (network, graph) = try Self.lower("""
        network N over O(3) {
          input  2*Scalar + 2*V
          layer  4*Scalar + 3*V + V^2 : gated + bilinear
          output V
        }
        """)
        XCTAssertEqual(graph.parameterCount, network.totalParameters)
        guard case .linear(let first) = graph.ops[0] else { return XCTFail("first op is not linear") }
        XCTAssertEqual(first.parameters.count, network.layers[1].weights)
        XCTAssertEqual(first.outputDimension, network.layers[1].outDimension)
        XCTAssertEqual(first.inputDimension, 8)
        // Every pair basis matrix has unit Frobenius norm.
        for pair in first.bases {
            for k in 0..<pair.count {
                let norm = pair.matrices.values[pair.matrices.starts[k]..<pair.matrices.starts[k + 1]].reduce(0) { $0 + $1 * $1 }
                XCTAssertEqual(norm, 1, accuracy: 1e-12)
            }
        }
        XCTAssertEqual(graph.ops.map(\.inputDimension).dropFirst(), graph.ops.map(\.outputDimension).dropLast())
        XCTAssertEqual(graph.ops.last?.outputDimension, 3)
    }

    func testStructureHashIsStableAndSeesStructure() throws {
        let a = try Self.lower("network N over S(5) { input V layer 3*V : relu output Scalar }").1
        let b = try Self.lower("network N over S(5) { input V layer 3*V : relu output Scalar }").1
        let c = try Self.lower("network N over S(5) { input V layer 4*V : relu output Scalar }").1
        let d = try Self.lower("network N over C(5) { input V layer 3*V : relu output Scalar }").1
        XCTAssertEqual(a.structureHash, b.structureHash)
        XCTAssertNotEqual(a.structureHash, c.structureHash)
        XCTAssertNotEqual(a.structureHash, d.structureHash)
    }

    func testGraphJSONIsVersionedAndParses() throws {
        let graph = try Self.lower("network N over SO(3) { input V layer Scalar + V : norm output V }").1
        let data = Data(graph.json.rendered().utf8)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["format"] as? String, "eqnnc-graph")
        XCTAssertEqual(object["version"] as? Int, Graph.formatVersion)
        let ops = try XCTUnwrap(object["ops"] as? [[String: Any]])
        XCTAssertEqual(ops.map { $0["op"] as? String }, ["linear", "bias", "norm", "linear", "bias"])
    }

    /// Sampled steerable kernels carry the angular frequency of each matrix, from the
    /// harmonic counting: Scalar -> Regular of C(8) on a 3x3 kernel maps frequency j
    /// to the Regular field's frequency j, once with cos and once with sin for j = 1, 2
    /// (on the ring of radius 1), once for j = 0 on each of the two rings. Exact bases
    /// (P4M) have none; the graph JSON shows them where they are.
    func testSteerableBasesCarryTheirFrequencies() throws {
        let graph = try Self.lower("""
            network N over C(8) on grid(2) {
              input Scalar
              layer Regular : relu kernel 3
              output Scalar kernel 1
            }
            """).1
        guard case .convolution(let first) = graph.ops[0] else { return XCTFail("first op is not a convolution") }
        XCTAssertEqual(first.linear.bases.map(\.frequencies), [[0, 0, 1, 1, 2, 2]])
        let data = Data(graph.json.rendered().utf8)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let ops = try XCTUnwrap(object["ops"] as? [[String: Any]])
        let linear = try XCTUnwrap(ops[0]["linear"] as? [String: Any])
        let bases = try XCTUnwrap(linear["bases"] as? [[String: Any]])
        XCTAssertEqual(bases.first?["frequencies"] as? [Int], [0, 0, 1, 1, 2, 2])
        let p4m = try Self.lower("""
            group P4M = matrices(2) { discrete: [[0, -1], [1, 0]], [[1, 0], [0, -1]] }
            network N over P4M on grid(2) {
              input Scalar
              layer Regular : relu kernel 3
              output Scalar kernel 1
            }
            """).1
        XCTAssertTrue(p4m.ops.allSatisfy { $0.linearMap?.bases.allSatisfy { $0.frequencies == nil } ?? true })
        XCTAssertFalse(p4m.json.rendered().contains("frequencies"))
    }

    /// The structured op, expanded, is exactly sum_k theta_k B_k over the whole-layer
    /// basis that the solver builds copy pair by copy pair (the order of the weights
    /// files): same parameters, same order, same normalization.
    func testStructuredLayoutExpandsToTheWholeLayerBasis() throws {
        let sources = [
            "network N over O(3) { input 2*Scalar + 2*V layer 4*Scalar + 3*V + 2*V^2 : gated output V + Scalar }",
            "network N over S(5) { input 2*V + Scalar layer 3*V^2 + 2*V + Scalar : relu output Scalar }",
            "network N over C(6) { input 2*V layer 3*V : relu output V }",
            "network N over O(1,3) { input V + V^2 layer 2*Scalar + V + dual(V) : gated output Scalar }",
            "group P = S(3)\ngroup E = SO(3)\nnetwork N over P x E { input V(P)*V(E) layer 2*V(P)*V(E) + V(E) : gated output V(E) }",
        ]
        for source in sources {
            let solver = EquivariantSolver()
            let (program, bag) = Checker.check(SourceFile(name: "t", text: source), solver: solver)
            XCTAssertFalse(bag.hasErrors, source)
            let network = try XCTUnwrap(program.networks.first)
            let graph = try Lowering.lower(network, solver: solver)
            var k = 1
            for op in graph.ops {
                guard case .linear(let l) = op else { continue }
                let from = network.layers[k - 1].rep, to = network.layers[k].rep.appendingScalars(network.layers[k].gates)
                k += 1
                let whole = try solver.homBasis(network.group, from: from, to: to, limit: 1_000_000)
                XCTAssertEqual(whole.count, l.parameters.count, source)
                var theta = [Double](repeating: 0, count: graph.parameterCount)
                for j in 0..<l.parameters.count { theta[l.parameters.offset + j] = Double((j * 7919) % 13) - 6 }
                var expected = [Double](repeating: 0, count: l.outputDimension * l.inputDimension)
                for (j, m) in whole.enumerated() {
                    let norm = m.values.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
                    for e in m.values.indices {
                        expected[m.rows[e] * l.inputDimension + m.columns[e]] += theta[l.parameters.offset + j] * Double(m.values[e]) / norm
                    }
                }
                let actual = l.expanded(theta, transposed: false)
                XCTAssertEqual(actual.count, expected.count)
                let worst = zip(actual, expected).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
                XCTAssertLessThan(worst, 1e-12, source)
            }
        }
    }

    /// Every basis matrix is rebuilt exactly from its decomposition into operators.
    func testBasisDecompositionRebuildsEveryMatrix() throws {
        let sources = [
            "network N over S(6) { input V + Scalar layer 2*V^2 + V + Scalar : relu output Scalar }",
            "network N over O(3) { input Scalar + V + V^2 layer Scalar + V + V^2 : gated output V^2 }",
            "network N over O(1,3) { input V + V^2 layer Scalar + V + V^2 : gated output Scalar }",
            "network N over C(7) { input V layer 2*V : relu output Scalar }",
            "network N over SO(3) { input V^2 layer V + Scalar : norm output V }",
        ]
        var kinds = Set<BasisKind>()
        for source in sources {
            let graph = try Self.lower(source).1
            for op in graph.ops {
                guard case .linear(let l) = op else { continue }
                for pair in l.bases {
                    let m = pair.matrices
                    for j in 0..<m.count {
                        let kind = pair.kinds[j]
                        kinds.insert(kind)
                        var rebuilt = [Double](repeating: 0, count: m.rows * m.columns)
                        for term in pair.terms[j] {
                            for s in term.op.scatter {
                                for g in term.op.gather where g.row == s.column {
                                    rebuilt[s.row * m.columns + g.column] += term.weight * s.value * g.value
                                }
                            }
                        }
                        var expected = [Double](repeating: 0, count: m.rows * m.columns)
                        for e in m.starts[j]..<m.starts[j + 1] { expected[m.entryRows[e] * m.columns + m.entryColumns[e]] += m.values[e] }
                        let worst = zip(rebuilt, expected).reduce(0.0) { max($0, abs($1.0 - $1.1)) }
                        XCTAssertLessThan(worst, 1e-12, "\(source): \(kind)")
                        XCTAssertEqual(kind, LoweringTests.kind(of: expected, rows: m.rows, columns: m.columns), source)
                    }
                }
            }
        }
        // The examples above reach every kind but dense.
        XCTAssertTrue(kinds.isSuperset(of: [.identity, .permutation, .signedPermutation, .sumBroadcast, .complement]), "\(kinds)")
    }
}

extension LoweringTests {
    /// The kind of a dense matrix, from its definition (the first that applies).
    static func kind(of m: [Double], rows: Int, columns: Int) -> BasisKind {
        let nonzero = (0..<(rows * columns)).filter { m[$0] != 0 }
        let perRow = Dictionary(grouping: nonzero, by: { $0 / columns }), perColumn = Dictionary(grouping: nonzero, by: { $0 % columns })
        if perRow.values.allSatisfy({ $0.count == 1 }) && perColumn.values.allSatisfy({ $0.count == 1 }) {
            let equal = Set(nonzero.map { m[$0] }).count == 1
            if rows == columns && nonzero.count == rows && equal {
                return nonzero.allSatisfy { $0 / columns == $0 % columns } ? .identity : .permutation
            }
            return .signedPermutation
        }
        // Rank one: every 2 x 2 minor through the first nonzero vanishes.
        if let p = nonzero.first {
            let r0 = p / columns, c0 = p % columns
            let rankOne = (0..<rows).allSatisfy { r in
                (0..<columns).allSatisfy { c in abs(m[r * columns + c] * m[p] - m[r * columns + c0] * m[r0 * columns + c]) <= 1e-12 }
            }
            if rankOne { return .sumBroadcast }
        }
        if rows == columns, rows >= 2 {
            let off = Set((0..<(rows * columns)).filter { $0 / columns != $0 % columns }.map { m[$0] })
            let diagonal = Set((0..<rows).map { m[$0 * columns + $0] })
            if off.count == 1, diagonal.count == 1, off.first != diagonal.first { return .complement }
        }
        return .dense
    }

    /// A C(32) x C(32) image network stores each pair basis once (1,024
    /// permutations of 1,024 coordinates), never a matrix per channel pair, and
    /// its plan is structured: the dense matrices would not fit the budget.
    func testImageNetworkStoresEachPairBasisOnce() throws {
        let graph = try Self.lower("""
        group Rows = C(32)
        group Cols = C(32)
        network Image over Rows x Cols { input 3*V(Rows)*V(Cols) layer 16*V(Rows)*V(Cols) : relu output 4*V(Rows)*V(Cols) }
        """).1
        for op in graph.ops {
            guard case .linear(let l) = op else { continue }
            XCTAssertEqual(l.bases.count, 1)
            XCTAssertEqual(l.bases[0].count, 1024)
            XCTAssertEqual(l.bases[0].matrices.entryCount, 1024 * 1024)
            XCTAssertEqual(Set(l.bases[0].kinds), [.permutation, .identity])
            let plan = LinearPlan(l)
            XCTAssertFalse(plan.dense)
            XCTAssertEqual(plan.stacks.count, 1, "every permutation scatters in place: one product")
        }
    }
}
