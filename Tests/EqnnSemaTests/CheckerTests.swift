import EqnnDiagnostics
import EqnnGroups
import XCTest
@testable import EqnnSema

final class CheckerTests: XCTestCase {
    func check(_ text: String) -> (CheckedProgram, DiagnosticBag) {
        Checker.check(SourceFile(name: "t.eqnn", text: text))
    }

    func testDeepSetsCountsFollowTheFormula() throws {
        // S(n) on V: Hom(V, V) = 2 (lambda I + gamma 11^T), Hom(V, Scalar) = Hom(Scalar, V) = 1.
        let (program, bag) = check("""
        network D over S(7) {
          input  3*V
          layer  5*V + 2*Scalar : relu
          output Scalar
        }
        """)
        XCTAssertFalse(bag.hasErrors)
        let layers = try XCTUnwrap(program.networks.first).layers
        XCTAssertEqual(layers[1].weights, 5 * 3 * 2 + 2 * 3 * 1)
        XCTAssertEqual(layers[1].bias, 5 * 1 + 2)         // invariant vectors of V: the all-ones vector
        XCTAssertEqual(layers[1].denseWeights, 21 * 37)
        XCTAssertEqual(layers[2].weights, 5 * 1 + 2 * 1)
    }

    func testCirculantLayerHasNParametersPerChannelPair() throws {
        let (program, bag) = check("network C over C(12) { input 2*V layer 3*V : relu output V }")
        XCTAssertFalse(bag.hasErrors)
        let layers = try XCTUnwrap(program.networks.first).layers
        XCTAssertEqual(layers[1].weights, 2 * 3 * 12)
        XCTAssertEqual(layers[1].denseWeights, 24 * 36)
    }

    func testGatesAreExtraOutputsOfTheLinearLayer() throws {
        let (program, _) = check("network G over SO(3) { input Scalar + V layer 2*Scalar + 3*V + V^2 : gated output V }")
        let layer = try XCTUnwrap(program.networks.first?.layers[1])
        XCTAssertEqual(layer.gates, 4)
        XCTAssertEqual(layer.dimension, 2 + 9 + 9)
        XCTAssertEqual(layer.outDimension, 2 + 9 + 9 + 4)
        // SO(3): Scalar->Scalar 1, V->V 1, Scalar->V^2 1, V->V^2 1 (the cross product's epsilon).
        XCTAssertEqual(layer.weights, (2 + 4) * 1 + 3 * 1 + 1 * (1 + 1))
    }

    func testCenterOfMassHasOneParameter() throws {
        let (program, bag) = check("""
        group P = S(5)
        group E = O(3)
        network M over P x E { input V(P) * V(E) output V(E) }
        """)
        XCTAssertFalse(bag.hasErrors)
        XCTAssertEqual(program.networks.first?.totalParameters, 1)
    }

    func testAllErrorsOfAFileInOneRun() {
        let (_, bag) = check("""
        group G = SO(3)
        network A over G { input V layer V : relu output V }
        network B over G { input V output Scalar }
        network C over Q { input V output V }
        """)
        XCTAssertEqual(bag.errorCount, 3, bag.diagnostics.map(\.message).joined(separator: "\n"))
    }

    /// Random token soup through the whole checker: never a crash; every
    /// diagnostic points inside the text and renders with its source line.
    func testCheckerSurvivesGarbage() {
        let vocabulary = ["group", "rep", "network", "over", "input", "layer", "output", "{", "}", "(", ")", "[", "]",
                          ",", ":", "+", "*", "^", "=", "x", "V", "Scalar", "Sign", "Det", "S", "O", "SO", "Sp",
                          "1", "3", "0", "30", "relu", "gated", "norm", "dual", "permutations", "matrices",
                          "discrete", "algebra", "G", "H", "-", "/", "2"]
        var state: UInt64 = 99
        for _ in 0..<300 {
            var text = ""
            for _ in 0..<30 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                text += vocabulary[Int(state >> 33) % vocabulary.count] + " "
            }
            let (_, bag) = check(text)
            let size = text.utf8.count
            XCTAssertTrue(bag.diagnostics.allSatisfy { $0.span.start <= $0.span.end && $0.span.end <= size }, text)
            let rendered = DiagnosticRenderer(file: SourceFile(name: "t.eqnn", text: text)).render(bag)
            XCTAssertEqual(rendered.components(separatedBy: "t.eqnn:").count - 1, bag.diagnostics.count)
        }
    }
}
