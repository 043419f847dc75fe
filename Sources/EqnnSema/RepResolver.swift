import EqnnDiagnostics
import EqnnGroups
import EqnnLinearAlgebra
import EqnnSyntax

/// Evaluates representation expressions under one group.
struct RepResolver {
    let group: Group
    let repDeclarations: [String: RepDecl]
    var groups: GroupResolver
    var diagnostics: [Diagnostic] = []
    /// Declared reps already evaluated under this group (nil: had errors),
    /// so a rep used by many layers reports its own errors once.
    private var memo: [String: Rep?] = [:]
    private var resolving: [String] = []

    static let builtinNames = ["Scalar", "V", "Sign", "Det", "Regular", "Irrep", "Mirror", "dual"]
    /// The highest k of Irrep(k): far beyond what a sampled kernel resolves.
    static let maxFrequency = 256

    init(group: Group, repDeclarations: [String: RepDecl], groups: GroupResolver) {
        self.group = group
        self.repDeclarations = repDeclarations
        self.groups = groups
    }

    /// A product factor is either a representation or an integer multiplicity.
    private enum Value {
        case rep(Rep)
        case multiplicity(Int)
    }

    mutating func resolve(_ expr: RepExpr) -> Rep? {
        switch value(expr) {
        case .rep(let r)?: return guarded(expr.span) { _ = try r.dimension(); return r }
        case .multiplicity(let k)?:
            diagnostics.append(.error("'\(k)' is a multiplicity, not a representation", at: expr.span,
                                      notes: ["write \(k)*Scalar for \(k) invariant channels"],
                                      fixIts: [FixIt(span: expr.span, replacement: "\(k)*Scalar")]))
            return nil
        case nil: return nil
        }
    }

    private mutating func value(_ expr: RepExpr) -> Value? {
        switch expr.kind {
        case .parenthesized(let inner):
            return value(inner)
        case .multiplicity(let literal):
            guard let k = literal.value else { return nil }
            guard k >= 1 else {
                diagnostics.append(.error("multiplicity must be at least 1, found \(k)", at: literal.span,
                                          notes: ["remove the summand instead of giving it no copies"]))
                return nil
            }
            return .multiplicity(k)
        case .sum(let terms):
            var result: Rep? = nil
            var failed = false
            for term in terms {
                guard let r = resolve(term) else { failed = true; continue }
                result = result.map { $0 + r } ?? r
            }
            return failed ? nil : result.map(Value.rep)
        case .product(let factors):
            var multiplicity = 1
            var rep: Rep? = nil
            var failed = false
            for factor in factors {
                switch value(factor) {
                case .multiplicity(let k)?:
                    guard let m = checkedMul(multiplicity, k) else {
                        tooLarge(expr.span, "multiplicity overflows")
                        return nil
                    }
                    multiplicity = m
                case .rep(let r)?:
                    if let current = rep {
                        rep = guarded(expr.span) { try current.tensor(r) }
                        if rep == nil { return nil }
                    } else {
                        rep = r
                    }
                case nil:
                    failed = true
                }
            }
            if failed { return nil }
            guard let r = rep else { return .multiplicity(multiplicity) }
            return guarded(expr.span) { try r.times(multiplicity) }.map(Value.rep)
        case .power(let base, let exponent):
            guard let k = exponent.value else { return nil }
            guard let r = resolve(base) else { return nil }
            guard k >= 0 && k <= Rep.maxSlots else {
                diagnostics.append(.error("exponent \(k) is out of range", at: exponent.span,
                                          notes: ["tensor powers go from 0 (Scalar) to \(Rep.maxSlots)"]))
                return nil
            }
            if r.summands.count == 1, r.summands[0].multiplicity == 1, let d = try? r.dimension(), d > 1 {
                // One atom: say the size of the whole power, not of the step where it overflowed.
                var total: Int? = 1
                for _ in 0..<k { total = total.flatMap { checkedMul($0, d) } }
                if (total ?? Int.max) > Rep.maxAtomDimension {
                    let value = total.map { " = \($0)" } ?? " > 2^63"
                    tooLarge(expr.span, "the dimension of \(r.description)^\(k) is \(d)^\(k)\(value)", limit: Rep.maxAtomDimension)
                    return nil
                }
            }
            return guarded(expr.span) { try r.power(k) }.map(Value.rep)
        case .dual(let inner):
            return resolve(inner).map { .rep($0.dual) }
        case .name(let name, let argument):
            return named(name, argument: argument, span: expr.span).map(Value.rep)
        case .indexed(let name, let index):
            return indexed(name, index, span: expr.span).map(Value.rep)
        }
    }


    private mutating func guarded(_ span: Span, _ body: () throws -> Rep) -> Rep? {
        do {
            return try body()
        } catch RepError.tooLarge(let what, let size, let limit) {
            tooLarge(span, "\(what) is \(size)", limit: limit)
        } catch {
            tooLarge(span, "\(error)")
        }
        return nil
    }

    private mutating func tooLarge(_ span: Span, _ why: String, limit: Int? = nil) {
        var notes = ["eqnnc builds every representation explicitly"]
        if let limit, limit != Int.max { notes = ["the limit is \(limit)"] }
        diagnostics.append(.error("representation too large: \(why)", at: span, notes: notes))
    }

    // MARK: Names

    private mutating func named(_ name: Identifier, argument: GroupExpr?, span: Span) -> Rep? {
        switch name.text {
        case "Scalar":
            if let argument {
                diagnostics.append(.error("'Scalar' takes no group", at: argument.span,
                                          notes: ["the trivial representation is the same for every factor"]))
            }
            return .scalar(group)
        case "V":
            return factor(for: name, argument: argument).map { Rep.vector(group, factor: $0) }
        case "Sign", "Det":
            guard let f = factor(for: name, argument: argument) else { return nil }
            let permutation = group.factors[f].isPermutationGroup
            if permutation != (name.text == "Sign") {
                let right = permutation ? "Sign" : "Det"
                let what = permutation ? "a permutation group" : "a matrix group"
                diagnostics.append(.error("'\(name.text)' is not defined for \(group.labels[f]), \(what)", at: name.span,
                                          notes: ["'Sign' is the sign of a permutation (permutation groups); 'Det' is the determinant (matrix groups); for \(group.labels[f]) use '\(right)'"],
                                          fixIts: [FixIt(span: name.span, replacement: right)]))
                return nil
            }
            return .determinant(group, factor: f)
        case "Irrep":
            diagnostics.append(.error("'Irrep' needs a frequency: Irrep(1), Irrep(2), ...", at: span,
                                      notes: ["Irrep(k) is the 2-dimensional representation in which the rotation by theta acts as the rotation by k theta"],
                                      fixIts: argument == nil ? [FixIt(span: name.span, replacement: "Irrep(1)")] : []))
            return nil
        case "Mirror":
            if let argument {
                diagnostics.append(.error("'Mirror' takes no group", at: argument.span,
                                          notes: ["it is defined for the network's group, one of D(n) and O(2)"]))
                return nil
            }
            guard let action = planarAction(name, what: "'Mirror'") else { return nil }
            guard action.mirrors else {
                diagnostics.append(.error("\(group) has no mirror, so 'Mirror' is not defined for it", at: name.span,
                                          notes: ["Mirror is the sign of the mirror in D(n) and O(2); \(group) has only rotations"]))
                return nil
            }
            // For O(2) it is the determinant, which the exact solver handles.
            if action.rotations == nil { return .determinant(group, factor: 0) }
            return irrep(.mirror)
        case "Regular":
            // The regular representation of a product is the product of its factors' ones.
            let factors = argument == nil ? Array(group.factors.indices) : factor(for: name, argument: argument).map { [$0] } ?? []
            var result: Rep? = nil
            for f in factors {
                guard let regular = regular(f, name) else { return nil }
                guard let product = result.map({ current in guarded(span) { try current.tensor(regular) } }) ?? regular else { return nil }
                result = product
            }
            return result
        default:
            return declaredRep(name, argument: argument)
        }
    }

    /// Irrep(k): the rotation by theta acts as the rotation by k theta.
    private mutating func indexed(_ name: Identifier, _ index: IntLiteral, span: Span) -> Rep? {
        guard let k = index.value else { return nil }
        guard name.text == "Irrep" else {
            let known = RepResolver.builtinNames.contains(name.text) || repDeclarations[name.text] != nil
            diagnostics.append(.error(known ? "'\(name.text)' takes no number" : "unknown representation '\(name.text)(\(k))'", at: span,
                                      notes: ["the only representation written with a number is Irrep(k), of C(n), D(n), SO(2) and O(2)"]))
            return nil
        }
        guard let action = planarAction(name, what: "Irrep(\(k))") else { return nil }
        if k == 0 {
            diagnostics.append(.error("Irrep(0) is the trivial representation", at: span, notes: ["write Scalar"],
                                      fixIts: [FixIt(span: span, replacement: "Scalar")]))
            return nil
        }
        guard k >= 1 && k <= RepResolver.maxFrequency else {
            diagnostics.append(.error("the frequency of Irrep(k) must be between 1 and \(RepResolver.maxFrequency), not \(k)", at: index.span))
            return nil
        }
        if let n = action.rotations, (2 * k) % n == 0 {
            // The rotation by 2 pi / n acts by +-1: two 1-dimensional representations, not an irreducible one.
            let turn = action.element(steps: 1, mirrored: false).description  // "rotation by 45 degrees"
            let parts = k % n == 0 ? (action.mirrors ? "Scalar + Mirror" : "2*Scalar") : "two 1-dimensional representations on which the \(turn) acts by -1"
            diagnostics.append(.error("Irrep(\(k)) of \(group) is not irreducible: the \(turn) acts on it by \(k % n == 0 ? "1" : "-1")", at: span,
                                      notes: ["it splits into \(parts); " + (n >= 3 ? "the 2-dimensional irreducible representations of \(group) are Irrep(1) to Irrep(\((n - 1) / 2))" : "\(group) has no 2-dimensional irreducible representations")]))
            return nil
        }
        // Irrep(1) of SO(2) and O(2) is the plane itself: V, which the exact solver handles.
        if k == 1 && action.rotations == nil { return .vector(group, factor: 0) }
        return irrep(.frequency(k))
    }

    /// The network's group as a rotation group of the plane, or an error saying `what` needs one.
    private mutating func planarAction(_ name: Identifier, what: String) -> PlanarAction? {
        if group.factors.count == 1, let action = PlanarAction(group.factors[0]) { return action }
        diagnostics.append(.error("\(what) is defined only for the rotation groups of the plane, and \(group) is not one", at: name.span,
                                  notes: ["Irrep(k) and Mirror belong to a network over one of C(n), D(n) (n >= 3), SO(2) and O(2)"]))
        return nil
    }

    private func irrep(_ irrep: PlanarIrrep) -> Rep {
        Rep(group: group, summands: [Summand(multiplicity: 1, atom: Atom(
            slots: [Slot(factor: 0, dual: false, irrep: irrep)], detPowers: Array(repeating: 0, count: group.factors.count)))])
    }

    /// Regular of one factor: the group permuting its own elements.
    private mutating func regular(_ f: Int, _ name: Identifier) -> Rep? {
        let factor = group.factors[f]
        guard let table = factor.finiteTable else {
            let why = factor.algebra.isEmpty
                ? "it has more than \(FiniteGroupTable.maxOrder) elements, or infinitely many"
                : "it is a Lie group, with infinitely many elements"
            var notes = ["the regular representation permutes the group's elements, one coordinate per element"]
            if group.factors.count == 1, PlanarAction(factor) != nil {
                notes.append("its fields carry every frequency; write a band-limited sum of irreducible fields instead, e.g. Scalar + V + Irrep(2) (the highest k is the band limit), with 'gated' or 'norm'")
            }
            diagnostics.append(.error("'Regular' needs a finite group, and \(group.factorName(f)) is not one eqnnc can enumerate: \(why)",
                                      at: name.span, notes: notes))
            return nil
        }
        return .points(group, factor: f, .regular(order: table.order))
    }

    private mutating func declaredRep(_ name: Identifier, argument: GroupExpr?) -> Rep? {
        guard let declaration = repDeclarations[name.text] else {
            var notes: [String] = []
            var fixes: [FixIt] = []
            if groups.declared[name.text] != nil {
                notes.append("'\(name.text)' is a group; its defining representation is V(\(name.text))")
                fixes.append(FixIt(span: name.span, replacement: "V(\(name.text))"))
            } else if let suggestion = didYouMean(name, among: RepResolver.builtinNames + Array(repDeclarations.keys)) {
                notes.append(suggestion.note)
                fixes.append(suggestion.fixIt)
            } else {
                notes.append("the built-in representations are Scalar, V, Sign, Det, Regular; declare others with 'rep \(name.text) = ...'")
            }
            diagnostics.append(.error("unknown representation '\(name.text)'", at: name.span, notes: notes, fixIts: fixes))
            return nil
        }
        if let argument {
            diagnostics.append(.error("'\(name.text)' is a declared representation and takes no group", at: argument.span))
            return nil
        }
        if let known = memo[name.text] { return known }
        if resolving.contains(name.text) {
            diagnostics.append(.error("representation '\(name.text)' is defined in terms of itself", at: name.span,
                                      notes: ["the chain is " + (resolving + [name.text]).joined(separator: " -> ")]))
            return nil
        }
        resolving.append(name.text)
        let result = resolve(declaration.value)
        resolving.removeLast()
        memo[name.text] = result
        return result
    }

    /// Which factor V / Sign / Det refers to.
    private mutating func factor(for name: Identifier, argument: GroupExpr?) -> Int? {
        guard let argument else {
            if group.factors.count == 1 { return 0 }
            let options = group.labels.map { "\(name.text)(\($0))" }
            diagnostics.append(.error("bare '\(name.text)' is ambiguous under \(group), a product of \(group.factors.count) groups",
                                      at: name.span,
                                      notes: ["name the factor: " + options.joined(separator: " or ")]))
            return nil
        }
        // A label of the network's group (a declared name or the written form).
        if case .named(let label, nil) = argument.kind,
           let f = group.labels.firstIndex(of: label.text) {
            if group.labels.filter({ $0 == label.text }).count == 1 { return f }
        }
        var local = groups
        local.diagnostics = []
        guard let wanted = local.resolve(argument) else {
            diagnostics += local.diagnostics
            return nil
        }
        guard wanted.factors.count == 1 else {
            diagnostics.append(.error("'\(name.text)' needs a single group factor, but \(wanted) is a product", at: argument.span,
                                      notes: ["write " + wanted.labels.map { "\(name.text)(\($0))" }.joined(separator: " * ")]))
            return nil
        }
        let matches = group.factors.indices.filter { group.factors[$0] == wanted.factors[0] }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty {
            diagnostics.append(.error("\(name.text)(\(wanted.written)) is a representation of \(wanted), which is not a factor of \(group.writtenAndCanonical)",
                                      at: argument.span,
                                      notes: ["the factors are " + group.labels.joined(separator: ", ")]))
        } else {
            diagnostics.append(.error("\(name.text)(\(wanted)) is ambiguous: \(group) has \(matches.count) factors equal to \(wanted)",
                                      at: argument.span,
                                      notes: ["declare the factors with names ('group P = ...') and write \(name.text)(P)"]))
        }
        return nil
    }
}
