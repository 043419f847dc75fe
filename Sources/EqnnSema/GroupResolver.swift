import EqnnDiagnostics
import EqnnGroups
import EqnnLinearAlgebra
import EqnnSyntax

/// Turns group expressions into `Group` values, reporting every problem.
struct GroupResolver {
    /// Declared groups resolved so far (nil: declared, but its definition had errors).
    var declared: [String: Group?] = [:]
    var declarationSpans: [String: Span] = [:]
    var diagnostics: [Diagnostic] = []

    static let maxPermutationDegree = 1024
    static let maxMatrixDimension = 32

    static let builtinNames = ["S", "A", "C", "Z", "D", "SO", "O", "Sp"]

    mutating func resolve(_ expr: GroupExpr) -> Group? {
        switch expr.kind {
        case .product(let factors):
            let groups = factors.map { resolve($0) }
            var result: Group? = nil
            for g in groups {
                guard let g else { return nil }
                result = result.map { $0 * g } ?? g
            }
            return result
        case .named(let name, let arguments):
            if let arguments { return builtin(name, arguments, span: expr.span) }
            if let known = declared[name.text] {
                guard let g = known else { return nil }  // its own errors were reported
                // A declared single factor takes the declared name as its label.
                return g.factors.count == 1 ? Group(g.factors[0], label: name.text) : g
            }
            if GroupResolver.builtinNames.contains(name.text) {
                diagnostics.append(.error("'\(name.text)' needs a size, as in \(name.text)(3)", at: name.span))
                return nil
            }
            let suggestion = didYouMean(name, among: Array(declared.keys) + GroupResolver.builtinNames)
            let notes = [suggestion?.note ?? "declare it with 'group \(name.text) = ...' before its first use, or use a built-in group: S(n), A(n), C(n), D(n), SO(n), O(n), SO(1,3), O(1,3), Sp(2m)"]
            diagnostics.append(.error("unknown group '\(name.text)'", at: name.span, notes: notes, fixIts: suggestion.map { [$0.fixIt] } ?? []))
            return nil
        case .permutations(let degree, let generators):
            return permutationGroup(degree, generators, span: expr.span)
        case .matrices(let dimension, let generators):
            return matrixGroup(dimension, generators, span: expr.span)
        }
    }

    // MARK: Built-in groups

    private mutating func builtin(_ name: Identifier, _ arguments: [IntLiteral], span: Span) -> Group? {
        let values = arguments.map(\.value)
        guard !values.contains(where: { $0 == nil }) else { return nil }  // "too large" already reported
        let args = values.compactMap { $0 }
        func arity(_ n: Int) -> Bool {
            if args.count == n { return true }
            diagnostics.append(.error("'\(name.text)' takes \(n) argument\(n == 1 ? "" : "s"), found \(args.count)", at: span))
            return false
        }
        func range(_ value: Int, _ low: Int, _ high: Int, _ at: Span, _ why: String) -> Bool {
            if value >= low && value <= high { return true }
            // `why` explains the lower bound; above the upper one the limit is eqnnc's own.
            let reason = value < low ? why : "eqnnc supports \(name.text)(n) up to n = \(high)"
            diagnostics.append(.error("\(name.text)(\(value)) is out of range: \(reason)", at: at,
                                      notes: ["the size must be between \(low) and \(high)"]))
            return false
        }
        let permutationLimit = GroupResolver.maxPermutationDegree
        let matrixLimit = GroupResolver.maxMatrixDimension
        let kind: GroupKind
        switch name.text {
        case "S", "A", "C", "Z":
            guard arity(1), range(args[0], 1, permutationLimit, arguments[0].span, "it permutes n points, n >= 1") else { return nil }
            switch name.text {
            case "S": kind = .symmetric(args[0])
            case "A": kind = .alternating(args[0])
            default: kind = .cyclic(args[0])
            }
        case "D":
            guard arity(1), range(args[0], 3, permutationLimit, arguments[0].span, "D(n) is the symmetry group of a regular n-gon, n >= 3") else { return nil }
            kind = .dihedral(args[0])
        case "SO", "O":
            if args.count == 2 {
                guard args == [1, 3] else {
                    diagnostics.append(.error("\(name.text)(\(args[0]),\(args[1])) is not built in", at: span,
                                              notes: ["the built-in indefinite group is the Lorentz group \(name.text)(1,3), with metric diag(1, -1, -1, -1)"]))
                    return nil
                }
                kind = .lorentz(full: name.text == "O")
            } else {
                guard arity(1), range(args[0], 1, matrixLimit, arguments[0].span, "it acts on R^n, n >= 1") else { return nil }
                kind = name.text == "SO" ? .specialOrthogonal(args[0]) : .orthogonal(args[0])
            }
        case "Sp":
            guard arity(1) else { return nil }
            guard args[0] >= 2, args[0] % 2 == 0, args[0] <= matrixLimit else {
                diagnostics.append(.error("Sp(\(args[0])) is out of range: the symplectic group acts on an even-dimensional space",
                                          at: arguments[0].span,
                                          notes: ["write Sp(2m) with 2 <= 2m <= \(matrixLimit), e.g. Sp(4) acting on R^4"]))
                return nil
            }
            kind = .symplectic(args[0])
        default:
            let suggestion = didYouMean(name, among: GroupResolver.builtinNames)
            let notes = (suggestion.map { [$0.note] } ?? [])
                + ["the built-in groups are S(n), A(n), C(n) (or Z(n)), D(n), SO(n), O(n), SO(1,3), O(1,3) and Sp(2m)"]
            diagnostics.append(.error("unknown group '\(name.text)'", at: name.span, notes: notes, fixIts: suggestion.map { [$0.fixIt] } ?? []))
            return nil
        }
        return Group(GroupFactor(kind: kind))
    }

    // MARK: User-defined groups

    private mutating func permutationGroup(_ degree: IntLiteral, _ generators: [PermutationLiteral], span: Span) -> Group? {
        guard let n = degree.value else { return nil }
        guard n >= 1 && n <= GroupResolver.maxPermutationDegree else {
            diagnostics.append(.error("permutations(\(n)) is out of range", at: degree.span,
                                      notes: ["the number of points must be between 1 and \(GroupResolver.maxPermutationDegree)"]))
            return nil
        }
        var images: [[Int]] = []
        var ok = true
        for generator in generators {
            var image = Array(0..<n)
            var used = Set<Int>()
            for cycle in generator.cycles {
                var points: [Int] = []
                for point in cycle {
                    guard let p = point.value else { ok = false; continue }
                    guard p >= 1 && p <= n else {
                        diagnostics.append(.error("point \(p) is out of range for permutations(\(n))", at: point.span,
                                                  notes: ["points are numbered 1 to \(n)"]))
                        ok = false
                        continue
                    }
                    guard used.insert(p).inserted else {
                        diagnostics.append(.error("point \(p) appears twice in one permutation", at: point.span,
                                                  notes: ["in cycle notation each point appears at most once per permutation"]))
                        ok = false
                        continue
                    }
                    points.append(p - 1)
                }
                for (k, p) in points.enumerated() { image[p] = points[(k + 1) % points.count] }
            }
            images.append(image)
        }
        guard ok else { return nil }
        return Group(GroupFactor(kind: .permutations(degree: n, generators: images)))
    }

    private mutating func matrixGroup(_ dimension: IntLiteral, _ generators: [MatrixGenerator], span: Span) -> Group? {
        guard let n = dimension.value else { return nil }
        guard n >= 1 && n <= GroupResolver.maxMatrixDimension else {
            diagnostics.append(.error("matrices(\(n)) is out of range", at: dimension.span,
                                      notes: ["the dimension must be between 1 and \(GroupResolver.maxMatrixDimension)"]))
            return nil
        }
        var discrete: [RationalMatrix] = [], algebra: [RationalMatrix] = []
        var ok = true
        for generator in generators {
            guard let m = matrix(generator.matrix, n: n) else { ok = false; continue }
            switch generator.role {
            case .discrete:
                if m.determinant.isZero {
                    diagnostics.append(.error("discrete generator is singular", at: generator.matrix.span,
                                              notes: ["a group element must be invertible; Lie-algebra elements go after 'algebra:'"]))
                    ok = false
                } else {
                    discrete.append(m)
                }
            case .algebra:
                algebra.append(m)
            }
        }
        guard ok else { return nil }
        return Group(GroupFactor(kind: .matrices(dimension: n, discrete: discrete, algebra: algebra)))
    }

    private mutating func matrix(_ literal: MatrixLiteral, n: Int) -> RationalMatrix? {
        guard literal.rows.count == n, literal.rows.allSatisfy({ $0.count == n }) else {
            let shape = "\(literal.rows.count)x\(literal.rows.first?.count ?? 0)"
            diagnostics.append(.error("generator is not \(n)x\(n)", at: literal.span,
                                      notes: ["this matrix has \(literal.rows.count) rows of lengths \(literal.rows.map { "\($0.count)" }.joined(separator: ", ")) (\(shape)); every generator of matrices(\(n)) is \(n)x\(n)"]))
            return nil
        }
        var entries: [Rational] = []
        for number in literal.rows.joined() {
            guard let q = Rational(parsing: number.text) else {
                diagnostics.append(.error("number '\(number.text)' cannot be represented exactly", at: number.span,
                                          notes: ["entries are exact rationals: integers, decimals with at most 18 digits, or fractions like 1/3"]))
                return nil
            }
            entries.append(q)
        }
        return RationalMatrix(rows: n, columns: n, entries: entries)
    }
}
