import EqnnData
import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnInterpreter
import EqnnLinearAlgebra
import EqnnSema
import Foundation
import XCTest
@testable import EqnnDriver

/// Mutational fuzzing of the four readers a user feeds: the source (parser and
/// checker), .npy, .csv and safetensors weights. Deterministic: the seeds are
/// the repository's examples and test files (and files written by eqnnc), the
/// mutations come from a fixed random stream. A reader may reject an input
/// with an error, never crash or hang. A short run per reader in every test
/// run; a long one with EQNNC_FUZZ_ITERATIONS (per data reader) and
/// EQNNC_FUZZ_SOURCE_ITERATIONS, e.g.
///     EQNNC_FUZZ_ITERATIONS=300000 EQNNC_FUZZ_SOURCE_ITERATIONS=20000 swift test -c release --filter FuzzTests
/// Every crash found becomes a regression test (see RobustnessTests).
final class FuzzTests: XCTestCase {
    /// Mutated inputs per data reader, and per the source reader (which checks
    /// every input it parses, solver included, so it is slower).
    static var iterations: Int { Int(ProcessInfo.processInfo.environment["EQNNC_FUZZ_ITERATIONS"] ?? "") ?? 3000 }
    static var sourceIterations: Int { Int(ProcessInfo.processInfo.environment["EQNNC_FUZZ_SOURCE_ITERATIONS"] ?? "") ?? 100 }

    /// Values that often break readers: boundaries of integer widths and size fields.
    static let interesting: [[UInt8]] = [
        [0], [0xFF], [0x7F], [0x80], Array("9999999999999999999999".utf8), Array("-1".utf8), Array("1e308".utf8),
        Array("nan".utf8), Array("(((((".utf8), Array("]]]]".utf8), Array("\u{FEFF}".utf8), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
    ]

    /// One to four mutations: flip a byte, delete or duplicate a run, insert an
    /// interesting value, or splice a run of another seed.
    static func mutate(_ input: [UInt8], seeds: [[UInt8]], rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let at = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 6 {
            case 0 where !bytes.isEmpty:
                bytes[at] = UInt8(truncatingIfNeeded: rng.next())
            case 1 where !bytes.isEmpty:
                let length = min(bytes.count - at, 1 + Int(rng.next() % 16))
                bytes.removeSubrange(at..<(at + length))
            case 2 where !bytes.isEmpty:
                let length = min(bytes.count - at, 1 + Int(rng.next() % 32))
                bytes.insert(contentsOf: bytes[at..<(at + length)], at: at)
            case 3:
                bytes.insert(contentsOf: interesting[Int(rng.next() % UInt64(interesting.count))], at: at)
            case 4:
                let other = seeds[Int(rng.next() % UInt64(seeds.count))]
                guard !other.isEmpty else { continue }
                let from = Int(rng.next() % UInt64(other.count)), length = min(other.count - from, 1 + Int(rng.next() % 64))
                bytes.insert(contentsOf: other[from..<(from + length)], at: at)
            default:
                if !bytes.isEmpty { bytes[at] ^= 1 << (rng.next() % 8) }
            }
        }
        return bytes
    }

    func run(_ seeds: [[UInt8]], seed: UInt64, iterations: Int = FuzzTests.iterations, _ body: ([UInt8]) -> Void) {
        XCTAssertFalse(seeds.isEmpty)
        var rng = SplitMix64(seed: seed)
        for seedInput in seeds { body(seedInput) }
        for _ in 0..<iterations {
            body(FuzzTests.mutate(seeds[Int(rng.next() % UInt64(seeds.count))], seeds: seeds, rng: &rng))
        }
    }

    func contents(of folder: String, suffix: String) -> [[UInt8]] {
        let directory = GoldenTests.repository.appendingPathComponent(folder)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
        return names.compactMap { try? [UInt8](Data(contentsOf: directory.appendingPathComponent($0))) }
    }

    func testSourceReader() {
        let seeds = ["examples", "examples/grid", "examples/fww21", "examples/errors", "Tests/EqnnDriverTests/Diagnostics"]
            .flatMap { contents(of: $0, suffix: ".eqnn") }
        XCTAssertGreaterThanOrEqual(seeds.count, 30)
        run(seeds, seed: 1, iterations: FuzzTests.sourceIterations) { bytes in
            _ = Checker.check(SourceFile(name: "fuzz.eqnn", text: String(decoding: bytes, as: UTF8.self)))
        }
    }

    func tables() -> [Table] {
        [Table(rows: 3, columns: 2, values: [1, 2, 3, 4, 5, 6]), Table(rows: 2, columns: 1, values: [0, 1]),
         Table(rows: 2, columns: 3, values: (0..<12).map(Double.init), extents: [2]),
         Table(rows: 1, columns: 1, values: (0..<16).map(Double.init), extents: [4, 4])]
    }

    func testNpyReader() {
        let seeds = tables().flatMap { [[UInt8](Npy.write($0)), [UInt8](Npy.write($0, float32: true))] }
        run(seeds, seed: 2) { bytes in
            _ = try? Npy.read(Data(bytes), name: "fuzz.npy")
        }
    }

    func testCsvReader() {
        let seeds = tables().map { [UInt8](Csv.write($0).utf8) } + [Array("x,y\n1,2\n3,4\n".utf8), Array("\u{FEFF}1, 2\n\n3 ,4\n".utf8)]
        run(seeds, seed: 3) { bytes in
            _ = try? Csv.read(String(decoding: bytes, as: UTF8.self), name: "fuzz.csv")
        }
    }

    func testSafetensorsReader() throws {
        let sources = ["network A over O(3) { input Scalar + V layer 2*Scalar + V : gated output V }",
                       "network B over matrices(2) { discrete: [[0, -1], [1, 0]] } on torus(2) { input Scalar layer Regular : relu kernel 3 output Scalar }"]
        var graphs: [Graph] = []
        var seeds: [[UInt8]] = []
        for text in sources {
            let solver = EquivariantSolver()
            let (program, _) = Checker.check(SourceFile(name: "s.eqnn", text: text), solver: solver)
            let network = try XCTUnwrap(program.networks.first)
            let graph = try Lowering.lower(network, solver: solver)
            graphs.append(graph)
            seeds.append([UInt8](WeightsFile.encode(Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 1)), version: "fuzz")))
        }
        run(seeds, seed: 4) { bytes in
            for graph in graphs { _ = try? WeightsFile.decode(Data(bytes), name: "fuzz.safetensors", for: graph) }
        }
    }
}
