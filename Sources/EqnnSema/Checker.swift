import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnLinearAlgebra
import EqnnSyntax

/// The type checker: resolves names, groups and representations, decides
/// every equivariance rule exactly, and counts each layer's parameters.
/// It reports every problem it finds in one run and never stops at the first.
public struct Checker {
    var groups = GroupResolver()
    var repDeclarations: [String: RepDecl] = [:]
    var usedReps: Set<String> = []
    var bag = DiagnosticBag()
    /// Where the parser found errors: a network that contains one lost what the
    /// parser skipped (a layer, a clause), so it is checked but never reported as checked.
    var syntaxErrors: [Span] = []
    public let solver: EquivariantSolver
    /// The file being checked, to name lines in notes.
    let file: SourceFile?

    public init(file: SourceFile? = nil, solver: EquivariantSolver = EquivariantSolver()) {
        self.file = file
        self.solver = solver
    }

    /// Parses and checks one file.
    public static func check(_ file: SourceFile, solver: EquivariantSolver = EquivariantSolver())
        -> (program: CheckedProgram, diagnostics: DiagnosticBag) {
        let (ast, syntaxDiagnostics) = Parser.parse(file)
        var checker = Checker(file: file, solver: solver)
        checker.bag.add(contentsOf: syntaxDiagnostics)
        checker.syntaxErrors = syntaxDiagnostics.filter { $0.severity == .error }.map(\.span)
        let program = checker.check(ast)
        return (program, checker.bag)
    }

    public mutating func check(_ ast: SourceAST) -> CheckedProgram {
        for name in ast.incomplete {
            groups.declared[name.text] = .some(nil)
            groups.declarationSpans[name.text] = name.span
        }
        var networks: [CheckedNetwork] = []
        var networkNames: [String: Span] = [:]
        var stems: [String: (name: String, span: Span)] = [:]
        for declaration in ast.declarations {
            switch declaration {
            case .group(let decl):
                if let previous = groups.declarationSpans[decl.name.text] ?? repDeclarations[decl.name.text]?.name.span,
                   previous != decl.name.span {
                    redeclared(decl.name, previous)
                    continue
                }
                let group = groups.resolve(decl.value)
                groups.declared[decl.name.text] = .some(group)
                groups.declarationSpans[decl.name.text] = decl.name.span
            case .rep(let decl):
                if let previous = repDeclarations[decl.name.text]?.name.span ?? groups.declarationSpans[decl.name.text],
                   previous != decl.name.span {
                    redeclared(decl.name, previous)
                    continue
                }
                if RepResolver.builtinNames.contains(decl.name.text) {
                    bag.add(.error("'\(decl.name.text)' is a built-in representation and cannot be redefined", at: decl.name.span))
                    continue
                }
                repDeclarations[decl.name.text] = decl
            case .network(let decl):
                if let previous = networkNames[decl.name.text] {
                    redeclared(decl.name, previous)
                    continue
                }
                networkNames[decl.name.text] = decl.name.span
                // FooBar, foo_bar and Foo_Bar would write the same generated files.
                let stem = Naming.stem(decl.name.text)
                if let (other, span) = stems[stem] {
                    let line = file.map { "line \($0.location(of: span.start).line)" } ?? "an earlier line"
                    bag.add(.error("network '\(decl.name.text)' would write the same generated files as '\(other)' (\(stem).c, \(stem).h, \(stem).py)",
                                   at: decl.name.span, notes: ["'\(other)' is declared on \(line); rename one of them"]))
                    continue
                }
                stems[stem] = (decl.name.text, decl.name.span)
                if let network = checkNetwork(decl) { networks.append(network) }
            }
            flushGroupDiagnostics()
        }
        for (name, decl) in repDeclarations.sorted(by: { $0.value.name.span.start < $1.value.name.span.start })
            where !usedReps.contains(name) {
            bag.add(.warning("representation '\(name)' is never used", at: decl.name.span,
                             notes: ["it is checked only under the group of a network that uses it"]))
        }
        return CheckedProgram(networks: networks)
    }

    mutating func flushGroupDiagnostics() {
        bag.add(contentsOf: groups.diagnostics)
        groups.diagnostics = []
    }

    mutating func redeclared(_ name: Identifier, _ previous: Span) {
        let where_ = file.map { "line \($0.location(of: previous.start).line)" } ?? "an earlier line"
        bag.add(.error("'\(name.text)' is declared twice", at: name.span,
                       notes: ["it was first declared on \(where_); rename one of them"]))
    }

    // MARK: Networks

    mutating func checkNetwork(_ decl: NetworkDecl) -> CheckedNetwork? {
        let errorsBefore = bag.errorCount
        let group = groups.resolve(decl.group)
        flushGroupDiagnostics()
        checkStructure(decl)
        guard let group else { return nil }
        let onPoints = decl.domain?.kind == .points
        let points = onPoints ? decl.domain.flatMap { checkPointDomain($0, group, decl.group) } : nil
        let domain = onPoints ? nil : decl.domain.flatMap { checkDomain($0, group, decl.group) }
        let planar = domain.flatMap { Checker.planarAction(group, dimension: $0.dimension) }
        let maps = LayerMaps(group: group, solver: solver, planar: planar)
        let options = checkLayerOptions(decl, onGrid: decl.domain != nil && !onPoints, onPoints: onPoints, steerable: planar != nil)

        var resolver = RepResolver(group: group, repDeclarations: repDeclarations, groups: groups)
        let reps = decl.layers.map { resolver.resolve($0.rep) }
        bag.add(contentsOf: resolver.diagnostics)
        usedReps.formUnion(referencedNames(decl.layers.map(\.rep)))

        var gates = [Int](repeating: 0, count: decl.layers.count)
        var activations = [Activation?](repeating: nil, count: decl.layers.count)
        for (k, layer) in decl.layers.enumerated() where layer.role == .hidden {
            guard let name = layer.activation else { continue }
            guard let activation = Activation.named(name.text) else {
                unknownActivation(name)
                continue
            }
            activations[k] = activation
            if let rep = reps[k] { gates[k] = checkActivation(activation, name, on: rep, group) }
        }
        var bilinear: [Bool] = [], batchNorm: [Bool] = []
        for layer in decl.layers {
            let features = checkFeatures(layer)
            bilinear.append(features.bilinear)
            batchNorm.append(features.batchNorm)
        }

        var layers: [CheckedLayer] = []
        for (k, layer) in decl.layers.enumerated() {
            guard let rep = reps[k], let dimension = try? rep.dimension() else { continue }
            let role: LayerRole = layer.role == .input ? .input : (layer.role == .output ? .output : .hidden)
            var checked = CheckedLayer(role: role, rep: rep, activation: activations[k], gates: gates[k],
                                       dimension: dimension, inDimension: 0, outDimension: dimension + gates[k],
                                       weights: 0, denseWeights: 0, bias: 0, span: layer.rep.span)
            checked.hasBilinear = bilinear[k]
            if batchNorm[k], let feature = layer.modifiers.first(where: { $0.text == "batchnorm" }) {
                checked.batchNorm = checkBatchNorm(rep.appendingScalars(gates[k]), feature, group)
            }
            checked.pool = options[k].pool
            checked.band = options[k].band
            if domain != nil && k > 0 { checked.kernel = options[k].kernel }
            if k > 0, let previous = reps[k - 1], let previousDimension = try? previous.dimension() {
                let offsets = Checker.offsets(checked.kernel, domain)
                checked.inDimension = previousDimension
                checked.denseWeights = previousDimension * checked.outDimension * (offsets?.count ?? 1)
                if let message = options[k].message, let points {
                    planMessage(&checked, message, from: previous, points: points, group, maps)
                } else if layer.message != nil {
                    // Its messages were refused (an error above): counting without them would only warn falsely.
                } else {
                    countParameters(&checked, from: previous, offsets: offsets, group, maps.banded(checked.band))
                }
            }
            if bilinear[k] {
                do {
                    let terms = try group.bilinearTerms(rep.appendingScalars(gates[k]))
                    checked.bilinearWeights = terms.reduce(0) { $0 + $1.sources.count }
                    if terms.isEmpty {
                        bag.add(.warning("'bilinear' adds nothing to \(rep.description)", at: layer.modifiers[0].span,
                                         notes: ["no block of a map from this layer to itself transforms like a non-scalar summand of the layer, so there is nothing to multiply"]))
                    }
                } catch RepError.tooLarge(let what, let size, let limit) {
                    bag.add(.error("layer too large for 'bilinear': \(what) is \(size)", at: layer.modifiers[0].span,
                                   notes: ["the limit is \(limit)"]))
                } catch {
                    bag.add(.error("could not plan the bilinear layer: \(error)", at: layer.modifiers[0].span))
                }
            }
            layers.append(checked)
        }
        guard bag.errorCount == errorsBefore, layers.count == decl.layers.count else { return nil }
        // A missing closing brace leaves the network open to the end of the file.
        let end = decl.closingBrace.end > decl.keyword.start ? decl.closingBrace.end : Int.max
        guard !syntaxErrors.contains(where: { $0.start >= decl.keyword.start && $0.start <= end }) else { return nil }
        let flows = flows(layers, group, domain, maps)
        guard checkOutputDependsOnInput(decl, layers, group, flows) else { return nil }
        checkInfluence(decl, layers, group, domain, maps, flows)
        return CheckedNetwork(name: decl.name.text, group: group, layers: layers, domain: domain, planar: planar, points: points)
    }

    func referencedNames(_ exprs: [RepExpr]) -> Set<String> {
        var names: Set<String> = []
        var stack = exprs
        while let e = stack.popLast() {
            switch e.kind {
            case .sum(let xs), .product(let xs): stack += xs
            case .power(let x, _), .dual(let x), .parenthesized(let x): stack.append(x)
            case .multiplicity, .indexed: break
            case .name(let id, _):
                if names.insert(id.text).inserted, let decl = repDeclarations[id.text] { stack.append(decl.value) }
            }
        }
        return names
    }

    /// One input first, hidden layers, one output last; activations only on hidden layers.
    mutating func checkStructure(_ decl: NetworkDecl) {
        let roles = decl.layers.map(\.role)
        if !roles.contains(.input) {
            bag.add(.error("network '\(decl.name.text)' has no input layer", at: decl.name.span,
                           notes: ["begin the body with 'input REP', the representation of the data"]))
        }
        if !roles.contains(.output) {
            bag.add(.error("network '\(decl.name.text)' has no output layer", at: decl.closingBrace,
                           notes: ["end the body with 'output REP', the representation of the prediction"]))
        }
        for (k, layer) in decl.layers.enumerated() {
            switch layer.role {
            case .input where k != 0:
                bag.add(.error("'input' must be the first item of network '\(decl.name.text)'", at: layer.keyword,
                               notes: ["a network has exactly one input layer, before every other layer"]))
            case .output where k != decl.layers.count - 1:
                bag.add(.error("'output' must be the last item of network '\(decl.name.text)'", at: layer.keyword,
                               notes: ["a network has exactly one output layer, after every hidden layer"]))
            default: break
            }
            if layer.role != .hidden, let activation = layer.activation {
                let what = layer.role == .input ? "the input layer takes no activation" : "the output layer is linear and takes no activation"
                bag.add(.error(what, at: activation.span,
                               notes: layer.role == .output
                                   ? ["to apply '\(activation.text)', add 'layer REP : \(activation.text)' before the output"]
                                   : ["activations apply after a linear layer; put '\(activation.text)' on a hidden layer"]))
            }
        }
    }

}

/// A generator as a person reads it: cycle notation for permutations,
/// diag(...) for diagonal matrices, nested brackets otherwise.
func describeGenerator(_ m: EqnnLinearAlgebra.RationalMatrix) -> String {
    let n = m.rows
    if let columns = m.monomialColumns, columns.allSatisfy({ $0.value == .one }) {
        var seen = [Bool](repeating: false, count: n)
        var cycles: [String] = []
        for start in 0..<n where !seen[start] {
            var cycle: [Int] = []
            var j = start
            while !seen[j] { seen[j] = true; cycle.append(j + 1); j = columns[j].row }
            if cycle.count > 1 { cycles.append("(" + cycle.map(String.init).joined(separator: " ") + ")") }
        }
        return cycles.isEmpty ? "()" : cycles.joined()
    }
    let isDiagonal = (0..<n).allSatisfy { i in (0..<n).allSatisfy { j in i == j || m[i, j].isZero } }
    if isDiagonal { return "diag(" + (0..<n).map { m[$0, $0].description }.joined(separator: ", ") + ")" }
    return "[" + (0..<n).map { i in "[" + (0..<m.columns).map { m[i, $0].description }.joined(separator: ", ") + "]" }.joined(separator: ", ") + "]"
}
