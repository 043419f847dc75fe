import XCTest
import EqnnLinearAlgebra
@testable import EqnnGroups

/// Steerable kernels of rotation groups off the pixel lattice, against the
/// harmonic counting (character theory) and the constraint itself on the
/// continuous plane and on the lattice.
final class SteerableKernelTests: XCTestCase {
    func group(_ kind: GroupKind) -> (Group, PlanarAction) {
        let factor = GroupFactor(kind: kind)
        return (Group(factor), PlanarAction(factor)!)
    }

    func regular(_ g: Group) -> Atom {
        Atom(slots: [Slot(factor: 0, dual: false, points: .regular(order: g.factors[0].finiteTable!.order))], detPowers: [0])
    }
    let scalar = Atom.scalar(factorCount: 1)
    let vector = Atom(slots: [Slot(factor: 0, dual: false)], detPowers: [0])
    func irrep(_ k: Int) -> Atom { Atom(slots: [Slot(factor: 0, dual: false, irrep: .frequency(k))], detPowers: [0]) }
    let mirror = Atom(slots: [Slot(factor: 0, dual: false, irrep: .mirror)], detPowers: [0])
    func product(_ atoms: Atom...) -> Atom { Atom(slots: atoms.flatMap(\.slots), detPowers: [0]) }

    /// Sum over rings of the frequencies each carries, each counted `perFrequency(j)` times.
    func count(kernel: Int, band: Int? = nil, _ perFrequency: (Int) -> Int) -> Int {
        let rings = KernelRings.standard(kernel: kernel).limited(to: band)
        return zip(rings.radii, rings.maxFrequencies).reduce(0) { total, ring in
            total + (0...ring.1).filter { ring.0 > 0 || $0 == 0 }.reduce(0) { $0 + perFrequency($1) }
        }
    }

    /// Hom between Regular fields: at frequency j the average of tr(g on (A, B)) is
    /// (1 or 2) |G|^2 / |G| (the regular character vanishes off the identity);
    /// from Scalar, (1 or 2) |G| / |G|. e2cnn's R2Conv has the same counts
    /// (C8 5x5: 11 and 88; D16 5x5: 11 and 352; C16 3x3: 96).
    func testRegularDimensionsFromHarmonicCounting() {
        for kind in [GroupKind.cyclic(4), .cyclic(8), .cyclic(16), .dihedral(4), .dihedral(8), .dihedral(16), .cyclic(1)] {
            let (g, action) = group(kind)
            let order = g.factors[0].finiteTable!.order
            for kernel in [3, 5, 7] {
                let regularPairs = SteerableKernels.basis(g, action, from: regular(g), to: regular(g), kernel: kernel).count
                XCTAssertEqual(regularPairs, count(kernel: kernel) { ($0 == 0 ? 1 : 2) * order }, "\(kind) \(kernel)")
                let fromScalar = SteerableKernels.basis(g, action, from: scalar, to: regular(g), kernel: kernel).count
                XCTAssertEqual(fromScalar, count(kernel: kernel) { $0 == 0 ? 1 : 2 }, "\(kind) \(kernel)")
            }
        }
        XCTAssertEqual(SteerableKernels.basis(group(.cyclic(8)).0, group(.cyclic(8)).1, from: regular(group(.cyclic(8)).0),
                                              to: regular(group(.cyclic(8)).0), kernel: 5).count, 88)
    }

    /// A layer's `band` caps every ring's frequencies (e2cnn's maximum_frequency):
    /// the same counting over the capped rings, and band 0 leaves isotropic kernels.
    func testBandCapsTheFrequencies() {
        XCTAssertEqual(KernelRings.standard(kernel: 7).limited(to: 1).maxFrequencies, [0, 1, 1, 1])
        XCTAssertEqual(KernelRings.standard(kernel: 7).limited(to: nil), KernelRings.standard(kernel: 7))
        for kind in [GroupKind.cyclic(8), .dihedral(16)] {
            let (g, action) = group(kind)
            let order = g.factors[0].finiteTable!.order
            for band in [0, 1] {
                let rings = KernelRings.standard(kernel: 5).limited(to: band)
                let pairs = SteerableKernels.basis(g, action, from: regular(g), to: regular(g), kernel: 5, rings: rings).count
                XCTAssertEqual(pairs, count(kernel: 5, band: band) { ($0 == 0 ? 1 : 2) * order }, "\(kind) band \(band)")
            }
        }
        // Band 0 under C(8): Scalar -> Scalar, one isotropic kernel per ring.
        let (c8, action) = group(.cyclic(8))
        XCTAssertEqual(SteerableKernels.basis(c8, action, from: scalar, to: scalar, kernel: 5,
                                              rings: KernelRings.standard(kernel: 5).limited(to: 0)).count, 3)
    }

    /// SO(2) and O(2): a frequency-j kernel maps frequency k to k +- j.
    func testContinuousGroupDimensions() {
        let (so2, rotations) = group(.specialOrthogonal(2))
        let (o2, mirrors) = group(.orthogonal(2))
        for kernel in [3, 5] {
            let rings = KernelRings.standard(kernel: kernel).radii.count
            // Scalar -> Scalar: frequency 0 on every ring.
            XCTAssertEqual(SteerableKernels.basis(so2, rotations, from: scalar, to: scalar, kernel: kernel).count, rings)
            // Scalar -> V: frequency 1, cos and sin (SO(2)), only the mirror-even one (O(2)).
            XCTAssertEqual(SteerableKernels.basis(so2, rotations, from: scalar, to: vector, kernel: kernel).count, 2 * (rings - 1))
            XCTAssertEqual(SteerableKernels.basis(o2, mirrors, from: scalar, to: vector, kernel: kernel).count, rings - 1)
            // V -> V: frequency 0 (I and the quarter turn J for SO(2); I for O(2)) and frequency 2 (two each).
            XCTAssertEqual(SteerableKernels.basis(so2, rotations, from: vector, to: vector, kernel: kernel).count, 2 + 4 * (rings - 1))
            XCTAssertEqual(SteerableKernels.basis(o2, mirrors, from: vector, to: vector, kernel: kernel).count, 1 + 2 * (rings - 1))
            // The frequency of each matrix: 1 from Scalar to V; 0 on every ring, then 2 off the centre, from V to V.
            XCTAssertEqual(SteerableKernels.sampled(so2, rotations, from: scalar, to: vector, kernel: kernel).frequencies,
                           [Int](repeating: 1, count: 2 * (rings - 1)))
            XCTAssertEqual(SteerableKernels.sampled(so2, rotations, from: vector, to: vector, kernel: kernel).frequencies,
                           [Int](repeating: 0, count: 2 * rings) + [Int](repeating: 2, count: 2 * (rings - 1)))
            // Scalar -> Det (O(2)): a rotation-invariant, mirror-odd kernel is zero.
            let det = Atom(slots: [], detPowers: [1])
            XCTAssertEqual(SteerableKernels.basis(o2, mirrors, from: scalar, to: det, kernel: kernel).count, 0)
        }
    }

    /// K(g x) = rho_out(g) K(x) rho_in(g)^-1 at random points of the plane, for
    /// every element (random angles for SO(2) and O(2)).
    func testContinuousKernelsAreEquivariant() {
        var rng = SplitMix64(seed: 5)
        for kind in [GroupKind.cyclic(8), .dihedral(6), .specialOrthogonal(2), .orthogonal(2)] {
            let (g, action) = group(kind)
            var pairs: [(Atom, Atom)] = [(scalar, vector), (vector, vector), (irrep(2), irrep(3)), (vector, product(irrep(2), vector))]
            if action.rotations != nil { pairs += [(regular(g), regular(g)), (vector, regular(g)), (regular(g), irrep(2))] }
            if action.mirrors { pairs += [(irrep(2), mirror), (mirror, product(mirror, irrep(2)))] }
            let elements = action.rotations != nil ? action.elements(order: 1)
                : (0..<6).map { k in action.element(angle: 2 * .pi * rng.nextUniform(), mirrored: action.mirrors && k % 2 == 1) }
            for (a, b) in pairs {
                let harmonics = SteerableKernels.harmonics(g, action, from: a, to: b, rings: .standard(kernel: 5))
                XCTAssertFalse(harmonics.isEmpty, "\(kind) \(g.name(of: a)) -> \(g.name(of: b))")
                for h in harmonics {
                    for e in elements {
                        let x = (3 * rng.nextNormal(), 3 * rng.nextNormal())
                        let p = e.plane
                        let gx = (p[0, 0] * x.0 + p[0, 1] * x.1, p[1, 0] * x.0 + p[1, 1] * x.1)
                        let kx = Matrix(rows: h.rows, columns: h.columns, entries: h.value(at: x))
                        let rin = g.matrix(of: a, at: [e.factorElement]), rout = g.matrix(of: b, at: [e.factorElement])
                        let expected = rout * kx * rin.transposed
                        let actual = h.value(at: gx)
                        for (u, v) in zip(actual, expected.entries) { XCTAssertEqual(u, v, accuracy: 1e-10, "\(kind) \(e.description)") }
                    }
                }
            }
        }
    }

    /// Sampled on the offsets, the kernels keep the constraint exactly for the
    /// elements that permute the offsets (quarter turns, the mirror).
    func testSampledKernelsAreExactOnTheLattice() {
        for kind in [GroupKind.cyclic(8), .dihedral(16), .orthogonal(2)] {
            let (g, action) = group(kind)
            let a = action.rotations != nil ? regular(g) : vector, b = action.rotations != nil ? regular(g) : vector
            let kernel = 5
            let offsets = PointSet.offsetVectors(kernel: kernel, dimension: 2)
            let index = Dictionary(uniqueKeysWithValues: offsets.enumerated().map { ($1, $0) })
            let basis = SteerableKernels.basis(g, action, from: a, to: b, kernel: kernel)
            XCTAssertFalse(basis.isEmpty)
            for e in action.latticeElements {
                let p = e.plane
                let rin = g.matrix(of: a, at: [e.factorElement]), rout = g.matrix(of: b, at: [e.factorElement])
                let m = rout.rows, n = rin.rows, k = offsets.count
                for matrix in basis {
                    for (o, x) in offsets.enumerated() {
                        let moved = [Int((p[0, 0] * Double(x[0]) + p[0, 1] * Double(x[1])).rounded()),
                                     Int((p[1, 0] * Double(x[0]) + p[1, 1] * Double(x[1])).rounded())]
                        guard let go = index[moved] else { return XCTFail("\(moved) is not an offset") }
                        let kx = Matrix(rows: m, columns: n, entries: (0..<(m * n)).map { matrix[($0 / n) * n * k + ($0 % n) * k + o] })
                        let expected = rout * kx * rin.transposed
                        for i in 0..<(m * n) {
                            XCTAssertEqual(matrix[(i / n) * n * k + (i % n) * k + go], expected.entries[i], accuracy: 1e-12, "\(kind)")
                        }
                    }
                }
            }
        }
    }

    /// The matrices of Irrep(k) and Mirror are a representation: rho(gh) = rho(g) rho(h)
    /// for random elements (words in the generators; for SO(2) and O(2), exponentials).
    func testPlanarIrrepsAreRepresentations() {
        var rng = SplitMix64(seed: 11)
        for kind in [GroupKind.cyclic(8), .cyclic(5), .dihedral(6), .dihedral(16), .specialOrthogonal(2), .orthogonal(2)] {
            let (g, action) = group(kind)
            var atoms = [irrep(1), irrep(2), irrep(3), product(irrep(2), vector)]
            if action.mirrors { atoms.append(mirror) }
            for _ in 0..<10 {
                let x = g.factors[0].randomElement(using: &rng), y = g.factors[0].randomElement(using: &rng)
                let xy = FactorElement(matrix: x.matrix * y.matrix, inverse: y.inverse * x.inverse,
                                       determinant: x.determinant * y.determinant, word: x.word + y.word)
                for atom in atoms {
                    let expected = g.matrix(of: atom, at: [x]) * g.matrix(of: atom, at: [y])
                    let actual = g.matrix(of: atom, at: [xy])
                    for (u, v) in zip(actual.entries, expected.entries) { XCTAssertEqual(u, v, accuracy: 1e-9, "\(kind) \(g.name(of: atom))") }
                    let m = g.matrix(of: atom, at: [x])
                    XCTAssertEqual((m.transposed * m - .identity(m.rows)).maxAbs, 0, accuracy: 1e-12, "orthogonal")
                }
            }
        }
    }

    /// dim Hom_G(A, B) at one position (a 1 x 1 kernel) against the character
    /// tables: C(n)'s 2-dimensional irreducibles are of complex type (End = C, dim 2),
    /// D(n)'s and O(2)'s of real type; V of C(n) and D(n) (the n-gon's vertices)
    /// holds each 2-dimensional one once and, for D(n), no Mirror.
    func testIrrepHomDimensionsFromCharacters() {
        let cases: [(GroupKind, Atom, Atom, Int)] = [
            (.cyclic(8), irrep(1), irrep(1), 2), (.cyclic(8), irrep(1), irrep(3), 0), (.cyclic(8), irrep(3), irrep(5), 2),
            (.cyclic(8), vector, irrep(3), 2), (.dihedral(8), vector, irrep(3), 1), (.dihedral(8), vector, mirror, 0),
            (.dihedral(8), irrep(1), irrep(1), 1), (.dihedral(6), product(irrep(1), irrep(1)), mirror, 1),
            (.dihedral(6), product(irrep(1), irrep(2)), irrep(1), 1), (.dihedral(5), product(irrep(2), irrep(2)), irrep(1), 1),
            (.specialOrthogonal(2), product(irrep(1), irrep(1)), scalar, 2), (.specialOrthogonal(2), irrep(2), irrep(2), 2),
            (.orthogonal(2), product(irrep(1), irrep(1)), scalar, 1), (.orthogonal(2), product(irrep(1), irrep(2)), vector, 1),
            (.orthogonal(2), product(irrep(1), irrep(1)), mirror, 1), (.orthogonal(2), irrep(2), irrep(3), 0),
        ]
        for (kind, a, b, expected) in cases {
            let (g, action) = group(kind)
            XCTAssertEqual(SteerableKernels.basis(g, action, from: a, to: b, kernel: 1).count, expected,
                           "\(kind): Hom(\(g.name(of: a)), \(g.name(of: b)))")
        }
        // D(8)'s regular representation holds Mirror once.
        let (d8, action) = group(.dihedral(8))
        XCTAssertEqual(SteerableKernels.basis(d8, action, from: regular(d8), to: mirror, kernel: 1).count, 1)
    }

    /// The analytic SO(2) and O(2) kernel spaces (Weiler and Cesa 2019): from
    /// Irrep(m) to Irrep(n), the angular frequencies |m - n| and m + n, two
    /// functions each for SO(2), one for O(2), on every ring carrying them.
    func testIrrepKernelsFromTheAnalyticSolution() {
        let (so2, rotations) = group(.specialOrthogonal(2))
        let (o2, mirrors) = group(.orthogonal(2))
        for (m, n) in [(2, 2), (2, 3), (3, 1), (2, 1)] {
            for kernel in [3, 5, 7] {
                let frequencies = [abs(m - n), m + n]
                let expectedSO2 = count(kernel: kernel) { j in frequencies.filter { $0 == j }.count * 2 }
                let expectedO2 = count(kernel: kernel) { j in frequencies.filter { $0 == j }.count }
                let a = m == 1 ? vector : irrep(m), b = n == 1 ? vector : irrep(n)
                XCTAssertEqual(SteerableKernels.basis(so2, rotations, from: a, to: b, kernel: kernel).count, expectedSO2, "SO(2) \(m)->\(n) k\(kernel)")
                XCTAssertEqual(SteerableKernels.basis(o2, mirrors, from: a, to: b, kernel: kernel).count, expectedO2, "O(2) \(m)->\(n) k\(kernel)")
            }
        }
        // Mirror -> Irrep(n) (O(2)): frequency n, the mirror-odd one only.
        XCTAssertEqual(SteerableKernels.basis(o2, mirrors, from: mirror, to: irrep(2), kernel: 5).count, count(kernel: 5) { $0 == 2 ? 1 : 0 })
    }
}
