import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnSyntax

/// The type checker: resolves names, groups and representations, decides
/// every equivariance rule exactly, and counts each layer's parameters.
/// It reports every problem it finds in one run and never stops at the first.
public struct Checker {
    private var groups = GroupResolver()
    private var repDeclarations: [String: RepDecl] = [:]
    private var usedReps: Set<String> = []
    private var bag = DiagnosticBag()
    /// Where the parser found errors: a network that contains one lost what the
    /// parser skipped (a layer, a clause), so it is checked but never reported as checked.
    private var syntaxErrors: [Span] = []
    public let solver: EquivariantSolver
    /// The file being checked, to name lines in notes.
    private let file: SourceFile?

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

    private mutating func flushGroupDiagnostics() {
        bag.add(contentsOf: groups.diagnostics)
        groups.diagnostics = []
    }

    private mutating func redeclared(_ name: Identifier, _ previous: Span) {
        let where_ = file.map { "line \($0.location(of: previous.start).line)" } ?? "an earlier line"
        bag.add(.error("'\(name.text)' is declared twice", at: name.span,
                       notes: ["it was first declared on \(where_); rename one of them"]))
    }

    // MARK: Networks

    private mutating func checkNetwork(_ decl: NetworkDecl) -> CheckedNetwork? {
        let errorsBefore = bag.errorCount
        let group = groups.resolve(decl.group)
        flushGroupDiagnostics()
        checkStructure(decl)
        guard let group else { return nil }
        let domain = decl.domain.flatMap { checkDomain($0, group, decl.group) }
        let planar = domain.flatMap { Checker.planarAction(group, dimension: $0.dimension) }
        let maps = LayerMaps(group: group, solver: solver, planar: planar)
        let options = checkLayerOptions(decl, onGrid: decl.domain != nil)

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
            if domain != nil && k > 0 { checked.kernel = options[k].kernel }
            if k > 0, let previous = reps[k - 1], let previousDimension = try? previous.dimension() {
                let offsets = Checker.offsets(checked.kernel, domain)
                checked.inDimension = previousDimension
                checked.denseWeights = previousDimension * checked.outDimension * (offsets?.count ?? 1)
                countParameters(&checked, from: previous, offsets: offsets, group, maps)
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
        checkOutputDependsOnInput(decl, layers, group, domain, maps)
        guard bag.errorCount == errorsBefore else { return nil }
        checkInfluence(decl, layers, group, domain, maps)
        return CheckedNetwork(name: decl.name.text, group: group, layers: layers, domain: domain, planar: planar)
    }

    // MARK: Grids

    /// The point set of a kernel's offsets (nil for kernel 1 and off the grid:
    /// a 1-point permutation representation is the trivial one).
    static func offsets(_ kernel: Int?, _ domain: GridDomain?) -> PointSet? {
        guard let kernel, kernel > 1, let domain else { return nil }
        return .offsets(kernel: kernel, dimension: domain.dimension)
    }

    /// What a convolution reads at each position: the layer before, tensored
    /// with the permutation representation of the point group on the offsets.
    static func neighbourhood(_ atom: Atom, _ offsets: PointSet?) -> Atom {
        guard let offsets else { return atom }
        return Atom(slots: atom.slots + [Slot(factor: 0, dual: false, points: offsets)], detPowers: atom.detPowers)
    }

    static func neighbourhood(_ rep: Rep, _ offsets: PointSet?) throws -> Rep {
        guard let offsets else { return rep }
        return try rep.tensor(.points(rep.group, factor: 0, offsets))
    }

    /// How the group rotates a d-dimensional grid off the pixel lattice: only
    /// one C(n), D(n), SO(2) or O(2) factor on a 2-D grid (nil otherwise).
    static func planarAction(_ group: Group, dimension d: Int) -> PlanarAction? {
        d == 2 && group.factors.count == 1 ? PlanarAction(group.factors[0]) : nil
    }

    /// The grid's point group: one matrices(d) factor of signed permutation
    /// matrices, or on a 2-D grid a rotation group (C(n), D(n) for n >= 3,
    /// SO(2), O(2); see PlanarAction).
    private mutating func checkDomain(_ domain: DomainDecl, _ group: Group, _ groupExpr: GroupExpr) -> GridDomain? {
        guard let d = domain.dimension.value else { return nil }
        guard (1...3).contains(d) else {
            bag.add(.error("a grid has 1, 2 or 3 dimensions, not \(d)", at: domain.dimension.span))
            return nil
        }
        let example = d == 2 ? "matrices(2) { discrete: [[0, -1], [1, 0]], [[1, 0], [0, -1]] } (rotations by 90 degrees and mirrors)"
                             : "matrices(\(d)) { discrete: ... } with signed permutation matrices"
        guard group.factors.count == 1 else {
            bag.add(.error("the group of a network on a grid must be one point group acting on the grid's \(d) coordinates, not a product",
                           at: groupExpr.span, notes: ["for example \(example)"]))
            return nil
        }
        let factor = group.factors[0]
        if Checker.planarAction(group, dimension: d) != nil {
            // Rotations off the pixel lattice: steerable kernels (LayerMaps).
            return GridDomain(dimension: d, padding: domain.kind == .grid ? .zero : .circular)
        }
        let planarNote = "on a 2-D grid, C(n), D(n) (n >= 3), SO(2) and O(2) rotate the plane, with steerable kernels"
        if !factor.algebra.isEmpty {
            bag.add(.error("\(group) is a Lie group: its rotations by most angles move pixels off the grid", at: groupExpr.span,
                           notes: ["a grid's symmetries beyond translations are finitely many signed permutations of its axes, as in \(example)",
                                   planarNote]))
            return nil
        }
        guard factor.dimension == d else {
            var notes = ["the point group acts on the grid's coordinates, so it is a matrices(\(d)) group, as in \(example)"]
            if factor.isPermutationGroup {
                notes.insert("\(group) permutes \(factor.dimension) points; it is not a group of \(d) x \(d) matrices", at: 0)
            }
            notes.append(planarNote)
            bag.add(.error("\(group) acts on R^\(factor.dimension), but the grid has \(d) dimension\(d == 1 ? "" : "s")",
                           at: groupExpr.span, notes: notes))
            return nil
        }
        if let bad = factor.discrete.first(where: { h in !(h.monomialColumns?.allSatisfy { $0.value == .one || $0.value == -.one } ?? false) }) {
            bag.add(.error("the generator \(describeGenerator(bad)) does not map the pixel grid to itself", at: groupExpr.span,
                           notes: ["a grid's point group is generated by signed permutation matrices (quarter turns, mirrors, axis swaps)"]))
            return nil
        }
        return GridDomain(dimension: d, padding: domain.kind == .grid ? .zero : .circular)
    }

    /// The largest `pool s`, and the largest product of a network's pools: the
    /// side its input grids must be a multiple of (bounded like kernels, so that
    /// grid sizes stay far from overflow and from gigabytes).
    static let maxPool = 64
    static let maxPoolProduct = 4096

    /// `kernel` and `pool` of every layer: only on a grid, not on the input,
    /// odd kernels, bounded pools, nothing spatial after `pool global`.
    private mutating func checkLayerOptions(_ decl: NetworkDecl, onGrid: Bool) -> [(kernel: Int, pool: Pooling?)] {
        var result: [(kernel: Int, pool: Pooling?)] = []
        var pooledGlobally: Span? = nil
        var poolProduct = 1
        for layer in decl.layers {
            var kernel = 1
            var pool: Pooling? = nil
            if let literal = layer.kernel {
                let span = literal.span
                if !onGrid {
                    bag.add(.error("'kernel' needs a network on a grid", at: span,
                                   notes: ["write 'network \(decl.name.text) over G on grid(2) { ... }' for images (or torus(2) for circular padding)"]))
                } else if layer.role == .input {
                    bag.add(.error("the input layer takes no kernel", at: span,
                                   notes: ["a kernel belongs to the layer that reads the one before; put it on the next layer"]))
                } else if let k = literal.value {
                    if k < 1 || k % 2 == 0 {
                        bag.add(.error("a kernel size must be odd, so that the kernel is centred on its position; found \(k)", at: span,
                                       notes: ["use \(max(1, k % 2 == 0 ? k + 1 : 1)) or \(max(1, k - 1))"].filter { _ in k > 1 }))
                    } else if k > 31 {
                        bag.add(.error("kernel \(k) is too large", at: span, notes: ["the limit is 31"]))
                    } else if k > 1, let global = pooledGlobally {
                        let line = file.map { "on line \($0.location(of: global.start).line)" } ?? "earlier"
                        bag.add(.error("no grid is left to convolve over after 'pool global'", at: span,
                                       notes: ["the positions were averaged away \(line); layers after it take no kernel"]))
                    } else {
                        kernel = k
                    }
                }
            }
            if let decl = layer.pool {
                if !onGrid {
                    bag.add(.error("'pool' needs a network on a grid", at: decl.span))
                } else if layer.role == .input {
                    bag.add(.error("the input layer takes no pooling", at: decl.span,
                                   notes: ["pooling applies after a layer's activation; put it on the first layer"]))
                } else if pooledGlobally != nil {
                    bag.add(.error("nothing is left to pool after 'pool global'", at: decl.span))
                } else if let size = decl.size {
                    if let s = size.value {
                        if s < 2 {
                            bag.add(.error("a pooling size is at least 2, found \(s)", at: size.span))
                        } else if s > Checker.maxPool {
                            bag.add(.error("pool \(s) is too large", at: size.span,
                                           notes: ["the limit is \(Checker.maxPool); 'pool global' averages over the whole grid"]))
                        } else if poolProduct * s > Checker.maxPoolProduct {
                            bag.add(.error("the pools multiply to \(poolProduct * s) here: an input grid would need a multiple of that many positions a side",
                                           at: size.span, notes: ["the limit is \(Checker.maxPoolProduct); use 'pool global' to average the rest away"]))
                        } else {
                            poolProduct *= s
                            pool = .mean(s)
                        }
                    }
                } else {
                    pool = .global
                    pooledGlobally = decl.span
                }
            }
            result.append((kernel, pool))
        }
        return result
    }

    private func referencedNames(_ exprs: [RepExpr]) -> Set<String> {
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
    private mutating func checkStructure(_ decl: NetworkDecl) {
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

    /// Validates the features (`+ bilinear`, `+ batchnorm`); returns which a hidden layer has.
    private mutating func checkFeatures(_ layer: LayerDecl) -> (bilinear: Bool, batchNorm: Bool) {
        var seen: Set<String> = []
        let features = ["bilinear", "batchnorm"]
        for feature in layer.modifiers {
            guard features.contains(feature.text) else {
                bag.add(.error("unknown layer feature '\(feature.text)'", at: feature.span,
                               notes: ["the features are 'bilinear' and 'batchnorm', as in 'layer R : gated + bilinear' or 'layer R : relu + batchnorm'"],
                               fixIts: didYouMean(feature, among: features).map { [$0.fixIt] } ?? []))
                continue
            }
            if seen.contains(feature.text) {
                bag.add(.error("'\(feature.text)' is given twice", at: feature.span))
            }
            seen.insert(feature.text)
        }
        return (seen.contains("bilinear") && layer.role == .hidden, seen.contains("batchnorm") && layer.role == .hidden)
    }

    /// Decides `+ batchnorm` summand by summand: a permutation summand (scalars,
    /// Regular) is centred and scaled with statistics shared over its coordinates
    /// (the constant vector is invariant); another orthogonal summand is only
    /// scaled, by its root-mean-square length (invariant); anything else has no
    /// invariant statistic to normalize by. Returns the layer's normalization
    /// parameters (a scale per copy, a shift per centred copy), 0 after an error.
    private mutating func checkBatchNorm(_ rep: Rep, _ feature: Identifier, _ group: Group) -> Int {
        var failing: [(Summand, Obstruction)] = []
        var parameters = 0
        for s in rep.summands {
            if group.pointwiseObstruction(s.atom, requirement: .permutation) == nil {
                parameters += 2 * s.multiplicity
            } else if let o = group.orthogonalityObstruction(s.atom) {
                if !failing.contains(where: { $0.0.atom == s.atom }) { failing.append((s, o)) }
            } else {
                parameters += s.multiplicity
            }
        }
        guard let (first, obstruction) = failing.first else { return parameters }
        bag.add(.error("'batchnorm' is not equivariant on \(failing.map { describe($0.0, group) }.joined(separator: " and ")) of \(group): \(group.factorName(obstruction.factor)) neither permutes its coordinates nor preserves its length",
                       at: feature.span,
                       notes: [batchNormObstruction(obstruction, group, atom: first.atom),
                               "normalize only layers whose summands are permutation representations (Scalar, Regular) or orthogonal ones"]))
        return 0
    }

    private mutating func unknownActivation(_ name: Identifier) {
        let suggestion = didYouMean(name, among: Activation.spellings)
        let notes = (suggestion.map { [$0.note] } ?? []) + ["the activations are " + Activation.spellings.joined(separator: ", ")]
        bag.add(.error("unknown activation '\(name.text)'", at: name.span, notes: notes, fixIts: suggestion.map { [$0.fixIt] } ?? []))
    }

    /// Decides the activation's equivariance; returns the number of gate channels.
    private mutating func checkActivation(_ activation: Activation, _ name: Identifier, on rep: Rep, _ group: Group) -> Int {
        let nonscalar = rep.summands.filter { !group.isTrivial($0.atom) }
        switch activation {
        case .gated:
            let gates = nonscalar.reduce(0) { $0 + $1.multiplicity }
            if gates == 0 {
                bag.add(.warning("'gated' has nothing to gate: every summand of \(rep.description) is scalar", at: name.span,
                                 notes: ["gated passes scalar channels through 'silu'; say so directly"],
                                 fixIts: [FixIt(span: name.span, replacement: "silu")]))
            }
            return gates
        case .norm:
            var failing: [(Summand, Obstruction)] = []
            for s in uniqueAtoms(nonscalar) {
                if let o = group.orthogonalityObstruction(s.atom) { failing.append((s, o)) }
            }
            if let (first, obstruction) = failing.first {
                bag.add(.error("'norm' is not equivariant on \(failing.map { describe($0.0, group) }.joined(separator: " and ")) of \(group): \(group.factorName(obstruction.factor)) does not preserve its length",
                               at: name.span,
                               notes: [explain(obstruction, group, atom: first.atom, rule: "lengths are preserved only by orthogonal matrices"),
                                       "use 'gated', which needs no invariant norm"]))
            }
            return 0
        default:
            guard let requirement = activation.pointwiseRequirement else { return 0 }
            var failing: [(Summand, Obstruction)] = []
            for s in uniqueAtoms(rep.summands) {
                if let o = group.pointwiseObstruction(s.atom, requirement: requirement) { failing.append((s, o)) }
            }
            guard let (first, obstruction) = failing.first else { return 0 }
            let rule = requirement == .permutation
                ? "a pointwise activation commutes only with permutations"
                : "an odd pointwise activation commutes only with signed permutations"
            var remedies = "use 'gated'"
            if failing.allSatisfy({ group.orthogonalityObstruction($0.0.atom) == nil }) { remedies += " or 'norm'" }
            remedies += ", or apply '\(name.text)' to scalar channels only"
            if requirement == .permutation,
               failing.allSatisfy({ group.pointwiseObstruction($0.0.atom, requirement: .signedPermutation) == nil }) {
                remedies += "; 'tanh', being odd, also commutes with sign changes"
            }
            bag.add(.error("'\(name.text)' is not equivariant on \(failing.map { describe($0.0, group) }.joined(separator: " and ")) of \(group)",
                           at: name.span,
                           notes: [explain(obstruction, group, atom: first.atom, rule: rule), remedies]))
            return 0
        }
    }

    private func uniqueAtoms(_ summands: [Summand]) -> [Summand] {
        var seen: Set<Atom> = []
        return summands.filter { seen.insert($0.atom).inserted }
    }

    private func describe(_ s: Summand, _ group: Group) -> String {
        let name = group.name(of: s.atom)
        return s.multiplicity == 1 ? name : "\(s.multiplicity)*\(name)"
    }

    private func batchNormObstruction(_ o: Obstruction, _ group: Group, atom: Atom) -> String {
        let rule = "a statistic shared by a field's coordinates is invariant only when the group permutes them (their mean) or acts orthogonally (their mean square)"
        switch o.kind {
        case .discrete(let h):
            return "\(group.factorName(o.factor)) acts on \(group.name(of: atom)) by matrices that are neither permutations nor orthogonal (its generator \(describeGenerator(h)), for one); \(rule)"
        case .algebra(let x):
            return "the Lie algebra of \(group.factorName(o.factor)) acts on \(group.name(of: atom)) by matrices that are not antisymmetric (the generator \(describeGenerator(x)), for one), so its elements are not orthogonal there; \(rule)"
        case .element(let g):
            return "\(group.factorName(o.factor)) acts on \(group.name(of: atom)) by matrices that are neither permutations nor orthogonal (the \(g), for one); \(rule)"
        }
    }

    private func explain(_ o: Obstruction, _ group: Group, atom: Atom, rule: String) -> String {
        let factorName = group.factorName(o.factor)
        let atomName = group.name(of: atom)
        switch o.kind {
        case .discrete(let h):
            return "\(factorName) acts on \(atomName) by matrices that are not permutations (its generator \(describeGenerator(h)), for one); \(rule)"
        case .algebra(let x):
            return "\(factorName) is a Lie group and its Lie algebra acts on \(atomName) nontrivially (the generator \(describeGenerator(x)), for one); \(rule), and no continuous family of matrices consists of them"
        case .element(let g):
            return "\(factorName) acts on \(atomName) by matrices that are not permutations (the \(g), for one); \(rule)"
        }
    }

    // MARK: Parameters

    /// Why summand `name` receives nothing: no equivariant map reaches it, or no steerable kernel.
    private func silentNote(_ name: String, written: Rep, previous: Rep, offsets: PointSet?, maps: LayerMaps, _ group: Group) -> String {
        if maps.planar != nil, case .offsets(let k, _)? = offsets {
            let top = KernelRings.standard(kernel: k).maxFrequencies.max() ?? 0
            return "no steerable \(k)x\(k) kernel maps \(written.description) to \(name) under \(group): its rings carry angular frequencies up to \(top), and only its bias reaches it"
        }
        return "Hom_\(group)(\(previous.description), \(name)) = 0: only its bias reaches it"
            + (offsets == nil ? "" : " (\(written.description) tensored with the kernel's offsets)")
    }

    private mutating func countParameters(_ layer: inout CheckedLayer, from written: Rep, offsets: PointSet?, _ group: Group, _ maps: LayerMaps) {
        let output = layer.rep.appendingScalars(layer.gates)
        let previous: Rep
        do {
            previous = try Checker.neighbourhood(written, offsets)
        } catch {
            bag.add(.error("the neighbourhoods of this layer's kernel are too large: \(error)", at: layer.span))
            return
        }
        var what = "linear map"
        if case .offsets(let k, let d)? = offsets { what = Array(repeating: "\(k)", count: d).joined(separator: "x") + " kernel" }
        do {
            var weights = 0
            var bias = 0
            var silent: [(atom: Atom, multiplicity: Int)] = []
            var fed: Set<Atom> = []
            for (b, nb, incoming) in try maps.incomingDimensions(from: previous, to: output) {
                if incoming == 0 { silent.append((b, nb)) } else { fed.insert(b) }
                weights += nb * incoming
                bias += nb * (try maps.invariantDimension(of: b))
            }
            if layer.hasBilinear, let blocks = try? output.blocks(), let terms = try? group.bilinearTerms(output) {
                // The bilinear term reaches a summand when one of its sources is reached.
                let reached = Set(terms.filter { $0.sources.contains { fed.contains(blocks[$0].atom) } }.map { blocks[$0.output].atom })
                silent.removeAll { reached.contains($0.atom) }
            }
            layer.weights = weights
            layer.bias = bias
            if weights == 0 {
                let example = written.distinctAtoms.first.map { group.name(of: $0.atom) } ?? "Scalar"
                bag.add(.error("no nonzero equivariant \(what) from \(written.description) to \(output.description) under \(group)",
                               at: layer.span,
                               notes: ["every \(what) from the layer before that commutes with \(group) is zero, so this layer could not depend on its input",
                                       "add a summand that can receive from the layer before; for example \(example) receives at least the identity from \(example)"]))
            } else {
                for (atom, count) in silent {
                    let name = group.name(of: atom)
                    bag.add(.warning("summand \(count == 1 ? name : "\(count)*\(name)") receives nothing from the layer before; it would be constant",
                                     at: layer.span,
                                     notes: [silentNote(name, written: written, previous: previous, offsets: offsets, maps: maps, group)]))
                }
            }
        } catch SolverError.tooLarge(let quantity, let size, let limit) {
            let remedy = maps.planar != nil ? "a Regular field of C(n) or D(n) has n or 2n dimensions: use a group of lower order, or Irrep(k) fields"
                : offsets != nil ? "the \(what) multiplies the layer before by its offsets: use a smaller kernel, or smaller tensor powers"
                : "use smaller tensor powers"
            bag.add(.error("representation too large to solve: \(quantity) is \(size)", at: layer.span,
                           notes: ["the limit is \(limit); \(remedy)"]))
        } catch {
            bag.add(.error("could not solve this layer exactly: \(error)", at: layer.span,
                           notes: ["the generators' entries grew beyond 64-bit integers; use generators with smaller entries"]))
        }
    }

    /// Follows which summands can depend on the input: the input's do; a
    /// summand of a later layer does when some summand it receives a nonzero
    /// equivariant map from does (activations keep dependence: gated scales a
    /// block by its gate, the others act channel by channel or by block norms).
    /// A network whose output cannot depend on its input is an error: every
    /// weight would be wasted, and nothing else would say so.
    private mutating func checkOutputDependsOnInput(_ decl: NetworkDecl, _ layers: [CheckedLayer], _ group: Group, _ domain: GridDomain?, _ maps: LayerMaps) {
        guard var previous = layers.first else { return }
        var dependent = Set(previous.rep.distinctAtoms.map(\.atom))
        for (k, layer) in layers.enumerated().dropFirst() {
            let output = layer.rep.appendingScalars(layer.gates)
            let before = dependent
            var next: Set<Atom> = []
            // A convolution reads each summand tensored with the offsets.
            let offsets = Checker.offsets(layer.kernel, domain)
            let read = dependent.map { Checker.neighbourhood($0, offsets) }
            for (b, _) in output.distinctAtoms {
                let receives = read.contains { a in ((try? maps.homDimension(from: a, to: b)) ?? 0) > 0 }
                if receives { next.insert(b) }
            }
            if layer.hasBilinear, let blocks = try? output.blocks(), let terms = try? group.bilinearTerms(output) {
                // W(h) h varies with the input wherever one of its sources does.
                for term in terms where term.sources.contains(where: { next.contains(blocks[$0].atom) }) {
                    next.insert(blocks[term.output].atom)
                }
            }
            let gatesVary = layer.gates > 0 && next.contains(.scalar(factorCount: group.factors.count))
            if gatesVary {
                next.formUnion(layer.rep.distinctAtoms.map(\.atom))  // a varying gate makes its block vary
            }
            // A layer that acts linearly on what varies (no activation or identity, constant
            // gates; no kernel to tensor with) keeps it an image of the varying summands
            // before: Sign -> 4*Regular : identity -> Scalar of S(3) carries only Regular's
            // Sign part, which no linear map takes to Scalar.
            let linear = layer.activation == nil || layer.activation == .identity || (layer.activation == .gated && !gatesVary)
            if linear, offsets == nil, !layer.hasBilinear, layer.batchNorm == nil {
                next = before.filter { t in output.distinctAtoms.contains { ((try? maps.homDimension(from: t, to: $0.atom)) ?? 0) > 0 } }
            }
            dependent = next
            if dependent.isEmpty {
                let place = layer.role == .output ? "the output layer" : "hidden layer \(k)"
                let sources = before.map { group.name(of: $0) }.sorted().joined(separator: ", ")
                let targets = output.distinctAtoms.map { group.name(of: $0.atom) }.joined(separator: ", ")
                bag.add(.error("the output of network '\(decl.name.text)' cannot depend on its input",
                               at: decl.layers[k].rep.span,
                               notes: ["in \(previous.rep.description), only \(sources) can vary with the input, and under \(group) every equivariant linear map from \(before.count == 1 ? "it" : "them") to \(place) (\(targets)) is zero",
                                       "linear maps and these activations cannot create the summands that would carry the input this far; feed such features in the input (pairwise products, for example) or add summands that receive from the ones that vary"]))
                return
            }
            previous = layer
        }
    }

}

// MARK: - Dataflow from the input to the output

extension Checker {
    /// Sets of summand indices per atom of one layer.
    typealias Flow = [Atom: Set<Int>]

    /// Whether some equivariant map of layer `layer` (a convolution reads
    /// the atom tensored with its offsets) takes atom a to atom b.
    func connects(_ a: Atom, _ b: Atom, _ layer: CheckedLayer, _ domain: GridDomain?, _ maps: LayerMaps) -> Bool {
        let read = Checker.neighbourhood(a, Checker.offsets(layer.kernel, domain))
        return ((try? maps.homDimension(from: read, to: b)) ?? 0) > 0
    }

    /// A layer's bilinear terms as (output atom, atoms it multiplies).
    func bilinearProducts(_ layer: CheckedLayer, _ group: Group) -> [(output: Atom, factors: [Atom])] {
        guard layer.hasBilinear else { return [] }
        let output = layer.rep.appendingScalars(layer.gates)
        guard let blocks = try? output.blocks(), let terms = try? group.bilinearTerms(output) else { return [] }
        return terms.map { t in (blocks[t.output].atom, [blocks[t.input].atom] + t.sources.map { blocks[$0].atom }) }
    }

    /// Which input summands can influence which output summands, through
    /// nonzero Hom blocks, bilinear products, gates (a gate's scalar acts on
    /// every block it gates) and activations (which keep each block's
    /// dependence): a warning at the input for every input summand that
    /// cannot reach the output, and at a hidden layer for summands that
    /// receive nothing from the input or reach nothing of the output.
    mutating func checkInfluence(_ decl: NetworkDecl, _ layers: [CheckedLayer], _ group: Group, _ domain: GridDomain?, _ maps: LayerMaps) {
        guard layers.count >= 2, let input = layers.first, let output = layers.last else { return }
        let scalar = Atom.scalar(factorCount: group.factors.count)
        func gated(_ layer: CheckedLayer) -> [Atom] {
            layer.gates > 0 ? layer.rep.distinctAtoms.map(\.atom).filter { !group.isTrivial($0) } : []
        }
        // Forward: the input summands each atom of each layer can depend on.
        var forward: [Flow] = [[:]]
        for (i, s) in input.rep.summands.enumerated() { forward[0][s.atom, default: []].insert(i) }
        for k in 1..<layers.count {
            let layer = layers[k]
            var next: Flow = [:]
            for (b, _) in layer.rep.appendingScalars(layer.gates).distinctAtoms {
                next[b] = forward[k - 1].reduce(into: Set<Int>()) { set, entry in
                    if !entry.value.isEmpty && connects(entry.key, b, layer, domain, maps) { set.formUnion(entry.value) }
                }
            }
            for (out, factors) in bilinearProducts(layer, group) {
                for f in factors { next[out, default: []].formUnion(next[f] ?? []) }
            }
            for b in gated(layer) { next[b, default: []].formUnion(next[scalar] ?? []) }
            forward.append(next)
        }
        // Backward: the output summands each atom of each layer can reach.
        var backward = [Flow](repeating: [:], count: layers.count)
        for (j, s) in output.rep.summands.enumerated() { backward[layers.count - 1][s.atom, default: []].insert(j) }
        for k in stride(from: layers.count - 1, through: 1, by: -1) {
            let layer = layers[k]
            var pre = backward[k]
            for b in gated(layer) { pre[scalar, default: []].formUnion(pre[b] ?? []) }
            for (out, factors) in bilinearProducts(layer, group) {
                for f in factors { pre[f, default: []].formUnion(pre[out] ?? []) }
            }
            for (a, _) in layers[k - 1].rep.distinctAtoms {
                backward[k - 1][a] = pre.reduce(into: Set<Int>()) { set, entry in
                    if !entry.value.isEmpty && connects(a, entry.key, layer, domain, maps) { set.formUnion(entry.value) }
                }
            }
            backward[k] = pre  // what the layer's own summands reach, its bilinear products included
        }
        let bilinearNote = "a bilinear layer (': gated + bilinear') multiplies summands with each other, which linear maps and gates cannot"
        for s in input.rep.summands where (backward[0][s.atom] ?? []).isEmpty {
            let name = s.multiplicity == 1 ? group.name(of: s.atom) : "\(s.multiplicity)*\(group.name(of: s.atom))"
            bag.add(.warning("input summand \(name) cannot influence the output of network '\(decl.name.text)'",
                             at: decl.layers[0].rep.span,
                             notes: ["under \(group), every chain of equivariant maps, gates and activations from \(group.name(of: s.atom)) to \(output.rep.description) is zero: the output is the same whatever these inputs are",
                                     bilinearNote]))
        }
        for k in 1..<(layers.count - 1) {
            for s in layers[k].rep.summands {
                let b = s.atom
                let receivesAny = layers[k - 1].rep.distinctAtoms.contains { connects($0.atom, b, layers[k], domain, maps) }
                guard receivesAny else { continue }  // already reported as constant
                let name = s.multiplicity == 1 ? group.name(of: b) : "\(s.multiplicity)*\(group.name(of: b))"
                // The weights that feed this summand from the layer before.
                let offsets = Checker.offsets(layers[k].kernel, domain)
                let wasted = layers[k - 1].rep.distinctAtoms.reduce(0) { total, entry in
                    let read = Checker.neighbourhood(entry.atom, offsets)
                    return total + entry.multiplicity * s.multiplicity * ((try? maps.homDimension(from: read, to: b)) ?? 0)
                }
                if (forward[k][b] ?? []).isEmpty {
                    bag.add(.warning("summand \(name) of hidden layer \(k) receives nothing that depends on the input", at: layers[k].span,
                                     notes: ["its channels are constant for every input, and the \(wasted) weights that feed them are wasted; \(bilinearNote)"]))
                } else if (backward[k][b] ?? []).isEmpty {
                    bag.add(.warning("summand \(name) of hidden layer \(k) reaches nothing of the output", at: layers[k].span,
                                     notes: ["every equivariant map from \(group.name(of: b)) onward to the output is zero, so the \(wasted) weights that feed it are wasted; \(bilinearNote)"]))
                }
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

import EqnnLinearAlgebra
