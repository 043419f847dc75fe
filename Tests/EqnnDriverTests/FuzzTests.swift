import EqnnCBackend
import EqnnData
import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnInterpreter
import EqnnLinearAlgebra
import EqnnPyTorchBackend
import EqnnSema
import EqnnSupport
import EqnnTestSupport
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
        let directory = Repository.root.appendingPathComponent(folder)
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
        // The header alone mutated, its length prefix kept right, so that mutations reach
        // the JSON's meaning (names, repeated keys, offsets, shapes) and not only its framing.
        let headers = seeds.map { file -> (header: [UInt8], data: [UInt8]) in
            let length = (0..<8).reduce(0) { $0 | Int(file[$1]) << (8 * $1) }
            return (Array(file[8..<(8 + length)]), Array(file[(8 + length)...]))
        }
        let fragments = [#""data_offsets":[0,99999999999]"#, #""shape":[4294967296,4294967296]"#, #""dtype":"F16""#,
                         #""layer1.weight":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"#, #""__metadata__":{"eqnnc":"x"},"#]
        run(headers.map(\.header), seed: 5) { header in
            var bytes = header
            var rng = SplitMix64(seed: UInt64(header.count))
            if rng.next() % 4 == 0 {
                let fragment = Array(fragments[Int(rng.next() % UInt64(fragments.count))].utf8)
                bytes.insert(contentsOf: fragment, at: Int(rng.next() % UInt64(bytes.count + 1)))
            }
            for (_, data) in headers {
                var file = [UInt8]()
                for k in 0..<8 { file.append(UInt8(truncatingIfNeeded: bytes.count >> (8 * k))) }
                for graph in graphs { _ = try? WeightsFile.decode(Data(file + bytes + data), name: "fuzz.safetensors", for: graph) }
            }
        }
    }

    /// Random network names and grid options through the checker and both
    /// generators: no crash, and every generated stem a C and Python identifier
    /// that shadows nothing.
    func testNamesAndGridOptions() {
        var rng = SplitMix64(seed: 6)
        let letters = Array("abcxyzABCXYZ_0123456789"), words = ["math", "Signal", "Random", "time", "_Linear", "Model", "torch", "numpy", "class", "stdio"]
        var generated = 0
        // Mostly options that check (so that the generators run), sometimes ones that must not.
        let valid = ["", " kernel 3", " kernel 5", " pool 2"]
        let invalid = [" kernel 33", " kernel 0", " pool 65", " pool 64 pool 64", " pool global", " kernel 99999999999", " pool 99999999999"]
        let domains = [("S(3)", ""), ("matrices(2) { discrete: [[0, -1], [1, 0]] }", " on torus(2)"), ("C(8)", " on grid(2)"),
                       ("D(4)", " on grid(2)"), ("matrices(1) { discrete: [[-1]] }", " on grid(1)")]
        for _ in 0..<FuzzTests.sourceIterations {
            var name = rng.next() % 2 == 0 ? words[Int(rng.next() % UInt64(words.count))] : ""
            for _ in 0..<Int(rng.next() % 6) { name.append(letters[Int(rng.next() % UInt64(letters.count))]) }
            if name.isEmpty || name.first?.isNumber == true { name = "N" + name }
            let (group, domain) = domains[Int(rng.next() % UInt64(domains.count))]
            let pick = { () -> String in
                guard !domain.isEmpty else { return rng.next() % 4 == 0 ? invalid[Int(rng.next() % UInt64(invalid.count))] : "" }
                return rng.next() % 4 == 0 ? invalid[Int(rng.next() % UInt64(invalid.count))] : valid[Int(rng.next() % UInt64(valid.count))]
            }
            let text = "network \(name) over \(group)\(domain) {\n  input Scalar\n  layer 2*Regular : relu\(pick())\n  output Scalar\(pick())\n}\n"
            let solver = EquivariantSolver()
            let (program, _) = Checker.check(SourceFile(name: "fuzz.eqnn", text: text), solver: solver)
            let stem = Naming.stem(name)
            XCTAssertTrue(stem.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") } && stem.first?.isLetter == true, stem)
            XCTAssertFalse(Naming.reserved.contains(stem), stem)
            for network in program.networks {
                guard let graph = try? Lowering.lower(network, solver: solver) else { continue }
                let model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: 1))
                let c = CBackend.generate(model, precision: .f32, origin: .init(sourceFile: "fuzz.eqnn", version: "fuzz", weights: "none"))
                XCTAssertEqual(c.name, stem)
                let module = PyTorchBackend.generate(graph, origin: .init(sourceFile: "fuzz.eqnn", version: "fuzz"))
                XCTAssertEqual(module.name, stem)
                XCTAssertFalse(module.className.hasPrefix("_") && !module.className.hasSuffix("_"), module.className)
                generated += 1
            }
        }
        XCTAssertGreaterThan(generated, FuzzTests.sourceIterations / 10)  // the options often check: the generators ran
    }
}
