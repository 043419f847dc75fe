import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnLinearAlgebra
import EqnnSema
import XCTest
@testable import EqnnInterpreter

/// `identity + bilinear` layers make the network a polynomial of its input,
/// so a polynomial target learned on a bounded range holds outside it, where
/// sigmoid gates saturate (examples/fww21/*_polynomial.eqnn).
final class PolynomialLayerTests: XCTestCase {
    func graph(_ activation: String) throws -> Graph {
        let text = """
        network N over O(1,3) {
          input  2*V
          layer  4*Scalar + 2*V + 2*dual(V) : \(activation) + bilinear
          output Scalar
        }
        """
        let solver = EquivariantSolver()
        let (program, bag) = Checker.check(SourceFile(name: "t.eqnn", text: text), solver: solver)
        XCTAssertFalse(bag.hasErrors)
        return try Lowering.lower(try XCTUnwrap(program.networks.first), solver: solver)
    }

    /// Momenta p1, p2 ~ N(0, I_4) * scale and y = p1 . p2 = p1^T diag(1, -1, -1, -1) p2.
    func minkowski(rows: Int, scale: Double, seed: UInt64) -> (x: [Double], y: [Double]) {
        var rng = SplitMix64(seed: seed)
        let x = (0..<(rows * 8)).map { _ in scale * rng.nextNormal() }
        let eta: [Double] = [1, -1, -1, -1]
        var y: [Double] = []
        for r in 0..<rows {
            var product = 0.0
            for k in 0..<4 { product += eta[k] * x[r * 8 + k] * x[r * 8 + 4 + k] }
            y.append(product)
        }
        return (x, y)
    }

    /// Relative root-mean-square error on inputs 3x larger than any of training.
    func extrapolationError(_ activation: String) throws -> Double {
        let train = minkowski(rows: 256, scale: 0.25, seed: 1)
        var options = TrainingOptions()
        options.epochs = 150
        options.batch = 64
        let (model, _) = Trainer(options: options).train(graph: try graph(activation), x: train.x, y: train.y, rows: 256) { _ in }
        let far = minkowski(rows: 200, scale: 0.75, seed: 2)
        let predicted = model.outputs(far.x, rows: 200)
        let error = zip(predicted, far.y).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        return (error / far.y.reduce(0.0) { $0 + $1 * $1 }).squareRoot()
    }

    func testPolynomialLayersExtrapolateAPolynomial() throws {
        let polynomial = try extrapolationError("identity")
        let gated = try extrapolationError("gated")
        XCTAssertLessThan(polynomial, 1e-4)  // exact: about 1e-10 here
        XCTAssertGreaterThan(gated, 10 * polynomial)
        print("relative error at 3x the training scale: identity + bilinear \(polynomial), gated + bilinear \(gated)")
    }
}
