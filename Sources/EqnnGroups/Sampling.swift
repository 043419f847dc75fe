import EqnnLinearAlgebra

/// A group element of one factor, in floating point, with its inverse and
/// determinant, so that duals and Det can be evaluated without inverting.
public struct FactorElement: Sendable {
    public var matrix: Matrix
    public var inverse: Matrix
    public var determinant: Double
    /// The discrete generators multiplied, in order (a finite group's element
    /// is exactly this word): how point slots (Regular, offsets) are permuted.
    public var word: [(generator: Int, inverted: Bool)] = []
}

extension GroupFactor {
    /// A random element: a random word in the discrete generators and their
    /// inverses, times exp of a random Lie-algebra element, times another word.
    public func randomElement(using rng: inout SplitMix64, scale: Double = 1) -> FactorElement {
        let n = dimension
        var element = FactorElement(matrix: .identity(n), inverse: .identity(n), determinant: 1)
        let pieces: [(Matrix, Matrix, Double, Int)] = discrete.enumerated().compactMap { k, h in
            guard let inv = h.inverse else { return nil }
            return (h.doubleMatrix, inv.doubleMatrix, h.determinant.doubleValue, k)
        }
        func randomWord(_ e: inout FactorElement, _ rng: inout SplitMix64) {
            guard !pieces.isEmpty else { return }
            let length = 1 + Int(rng.next() % 12)
            for _ in 0..<length {
                let (m, inv, det, generator) = pieces[Int(rng.next() % UInt64(pieces.count))]
                let inverted = rng.next() % 2 == 0
                e.word.append((generator, inverted))
                e.matrix = e.matrix * (inverted ? inv : m)
                e.inverse = (inverted ? m : inv) * e.inverse
                e.determinant *= inverted ? 1 / det : det
            }
        }
        randomWord(&element, &rng)
        if !algebra.isEmpty {
            var x = Matrix(rows: n, columns: n)
            for generator in algebra { x = x + (scale * rng.nextNormal()) * generator.doubleMatrix }
            let trace = (0..<n).reduce(0.0) { $0 + x[$1, $1] }
            element.matrix = element.matrix * x.exponential
            element.inverse = (-1.0 * x).exponential * element.inverse
            element.determinant *= exp(trace)
        }
        randomWord(&element, &rng)
        return element
    }
}

extension Group {
    public func randomElement(using rng: inout SplitMix64, scale: Double = 1) -> [FactorElement] {
        factors.map { $0.randomElement(using: &rng, scale: scale) }
    }

    /// rho(g) on one atom: the Kronecker product over slots of g (or g^{-T}
    /// on a dual slot), times the Det powers.
    public func matrix(of atom: Atom, at element: [FactorElement]) -> Matrix {
        var m = Matrix.identity(1)
        for slot in atom.slots {
            let e = element[slot.factor]
            if let irrep = slot.irrep, let action = PlanarAction(factors[slot.factor]) {
                m = m.kronecker(action.matrix(of: irrep, at: e))
            } else if let points = slot.points {
                m = m.kronecker(pointMatrix(points, factors[slot.factor], e.word))
            } else {
                m = m.kronecker(slot.dual ? e.inverse.transposed : e.matrix)
            }
        }
        var det = 1.0
        for (f, power) in atom.detPowers.enumerated() where power != 0 {
            det *= pow(element[f].determinant, Double(power))
        }
        return det * m
    }
}

extension Group {
    /// The permutation matrix of a word on a set of points: the product of its
    /// generators' permutations in order.
    func pointMatrix(_ points: PointSet, _ factor: GroupFactor, _ word: [(generator: Int, inverted: Bool)]) -> Matrix {
        let n = points.count
        let table = { if case .regular = points { return factor.finiteTable } else { return nil } }()
        let generators = factor.discrete.map { points.permutation(by: $0, table: table) ?? Array(0..<n) }
        var sigma = Array(0..<n)  // e_i -> e_sigma[i]
        for (g, inverted) in word.reversed() {
            var step = generators[g]
            if inverted {
                var inverse = step
                for (i, j) in step.enumerated() { inverse[j] = i }
                step = inverse
            }
            sigma = sigma.map { step[$0] }
        }
        var m = Matrix(rows: n, columns: n)
        for (i, j) in sigma.enumerated() { m[j, i] = 1 }
        return m
    }
}

extension Rep {
    /// rho(g) on the whole representation: block diagonal over the summands.
    public func matrix(at element: [FactorElement]) -> Matrix {
        var m = Matrix(rows: 0, columns: 0)
        for s in summands {
            let block = group.matrix(of: s.atom, at: element)
            for _ in 0..<s.multiplicity { m = m.directSum(block) }
        }
        return m
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Rep {
    /// rho(g) applied to each of `rows` row vectors of x, block by block
    /// (one dense matrix per distinct atom, never the whole representation).
    public func act(_ element: [FactorElement], on x: [Double], rows: Int) -> [Double] {
        var matrices: [Atom: Matrix] = [:]
        for (atom, _) in distinctAtoms { matrices[atom] = group.matrix(of: atom, at: element) }
        guard let blocks = try? self.blocks(), let d = try? dimension() else { return x }
        var y = x
        for r in 0..<rows {
            for block in blocks {
                guard let m = matrices[block.atom] else { continue }
                let base = r * d + block.offset
                for i in 0..<block.dimension {
                    var sum = 0.0
                    for j in 0..<block.dimension { sum += m[i, j] * x[base + j] }
                    y[base + i] = sum
                }
            }
        }
        return y
    }
}
