import EqnnDiagnostics
import XCTest
@testable import EqnnSyntax

final class ParserTests: XCTestCase {
    func parse(_ text: String) -> (SourceAST, [Diagnostic]) {
        Parser.parse(SourceFile(name: "t", text: text))
    }

    func testLexerKindsAndComments() {
        let (tokens, diagnostics) = Lexer.tokenize(SourceFile(name: "t", text: "group G = S(5) # comment\n0.5 1e-3 12 x"))
        XCTAssertTrue(diagnostics.isEmpty)
        XCTAssertEqual(tokens.map(\.kind), [
            .keyword(.group), .identifier, .punct(.equals), .identifier, .punct(.leftParen), .integer,
            .punct(.rightParen), .decimal, .decimal, .integer, .identifier, .endOfFile,
        ])
    }

    /// A stray token after a complete declaration is reported where it is, not
    /// at the end of the declaration before it.
    func testStrayTokenIsReportedAtItself() {
        let file = SourceFile(name: "t", text: "group G = S(3)\n\n  )\nnetwork N over G { input V output Scalar }\n")
        let (_, diagnostics) = Parser.parse(file)
        XCTAssertEqual(diagnostics.count, 1)
        XCTAssertEqual(diagnostics.first.map { file.location(of: $0.span.start).line }, 3)
    }

    func testGridNetworkOptions() throws {
        let (ast, diagnostics) = parse("""
        network N over matrices(2) { discrete: [[0, -1], [1, 0]] } on torus(2) {
          input  3*Scalar
          layer  8*Regular : relu + bilinear kernel 5 pool 2
          layer  4*Regular : relu pool global kernel 1
          output 10*Scalar
        }
        """)
        XCTAssertTrue(diagnostics.isEmpty, "\(diagnostics)")
        guard case .network(let network) = ast.declarations[0] else { return XCTFail("not a network") }
        XCTAssertEqual(network.domain?.kind, .torus)
        XCTAssertEqual(network.domain?.dimension.value, 2)
        XCTAssertEqual(network.layers[1].modifiers.map(\.text), ["bilinear"])
        XCTAssertEqual(network.layers[1].kernel?.value, 5)
        XCTAssertEqual(network.layers[1].pool?.size?.value, 2)
        XCTAssertEqual(network.layers[2].kernel?.value, 1)
        XCTAssertNotNil(network.layers[2].pool)
        XCTAssertNil(network.layers[2].pool?.size)  // global
        XCTAssertNil(network.layers[3].kernel)
        XCTAssertNil(network.layers[0].pool)
    }

    func testNetworkStructure() throws {
        let (ast, diagnostics) = parse("""
        group P = S(5)
        group E = O(3)
        network N over P x E {
          input  V(P) * V(E)
          layer  2*V(E) + Scalar : gated
          output V(E)
        }
        """)
        XCTAssertTrue(diagnostics.isEmpty, "\(diagnostics)")
        XCTAssertEqual(ast.declarations.count, 3)
        guard case .network(let network) = ast.declarations[2] else { return XCTFail("not a network") }
        XCTAssertEqual(network.layers.map(\.role), [.input, .hidden, .output])
        XCTAssertEqual(network.layers[1].activation?.text, "gated")
        guard case .product(let factors) = network.group.kind else { return XCTFail("not a product") }
        XCTAssertEqual(factors.count, 2)
        guard case .sum(let terms) = network.layers[1].rep.kind else { return XCTFail("not a sum") }
        guard case .product(let parts) = terms[0].kind, case .multiplicity(let k) = parts[0].kind else {
            return XCTFail("2*V(E) should be a product with a multiplicity")
        }
        XCTAssertEqual(k.value, 2)
    }

    func testPrecedence() throws {
        // 2*V^2 + Scalar  ==  (2 * (V^2)) + Scalar
        let (expr, diagnostics) = Parser.parseRep(SourceFile(name: "t", text: "2*V^2 + Scalar"))
        XCTAssertTrue(diagnostics.isEmpty)
        guard case .sum(let terms)? = expr?.kind, case .product(let parts) = terms[0].kind,
              case .power(_, let exponent) = parts[1].kind else { return XCTFail("wrong shape: \(String(describing: expr))") }
        XCTAssertEqual(exponent.value, 2)
    }

    func testUserGroups() throws {
        let (ast, diagnostics) = parse("""
        group Cube = permutations(8) { (1 2 3 4)(5 6 7 8), (1 2 6 5)(4 3 7 8) }
        group M = matrices(2) { discrete: [[0, -1], [1, 0]], [[1, 0], [0, -1]], algebra: [[1/2, 0.5], [-1e0, 0]] }
        """)
        XCTAssertTrue(diagnostics.isEmpty, "\(diagnostics)")
        guard case .group(let cube) = ast.declarations[0],
              case .permutations(_, let generators) = cube.value.kind else { return XCTFail() }
        XCTAssertEqual(generators.count, 2)
        XCTAssertEqual(generators[0].cycles.map { $0.compactMap(\.value) }, [[1, 2, 3, 4], [5, 6, 7, 8]])
        guard case .group(let m) = ast.declarations[1], case .matrices(_, let gens) = m.value.kind else { return XCTFail() }
        XCTAssertEqual(gens.map(\.role), [.discrete, .discrete, .algebra])
        XCTAssertEqual(gens[2].matrix.rows[0].map(\.text), ["1/2", "0.5"])
        XCTAssertEqual(gens[2].matrix.rows[1].map(\.text), ["-1e0", "0"])
    }

    func testRecoveryReportsEveryBrokenDeclaration() {
        let (ast, diagnostics) = parse("""
        group G = O(3
        group H = S(4)
        network A over H { input V layer V relu output V }
        rep = V
        network B over H { input V output V }
        """)
        XCTAssertEqual(diagnostics.count, 3, diagnostics.map(\.message).joined(separator: "\n"))
        // H, A (recovered inside its body) and B survive.
        XCTAssertEqual(ast.declarations.count, 3)
        XCTAssertEqual(ast.incomplete.map(\.text), ["G"])
    }

    /// Random token soup must always terminate without a crash, with every
    /// diagnostic pointing inside the text.
    func testParserTerminatesOnGarbage() {
        let vocabulary = ["group", "rep", "network", "over", "input", "layer", "output", "{", "}", "(", ")", "[", "]",
                          ",", ":", "+", "*", "^", "-", "/", "=", "x", "V", "S", "3", "0.5", "dual", "permutations",
                          "matrices", "discrete", "algebra", "@", "#c\n", "\n", "99999999999999999999999"]
        var state: UInt64 = 12345
        for _ in 0..<400 {
            var text = ""
            for _ in 0..<40 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                text += vocabulary[Int(state >> 33) % vocabulary.count] + " "
            }
            let (_, diagnostics) = parse(text)
            let size = text.utf8.count
            XCTAssertTrue(diagnostics.allSatisfy { $0.span.start <= $0.span.end && $0.span.end <= size }, text)
        }
    }
}
