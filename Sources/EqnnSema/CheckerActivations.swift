import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnLinearAlgebra
import EqnnSyntax

/// Activations and features: which nonlinearities and normalizations a representation allows, and why not.
extension Checker {
    /// Validates the features (`+ bilinear`, `+ batchnorm`); returns which a hidden layer has.
    mutating func checkFeatures(_ layer: LayerDecl) -> (bilinear: Bool, batchNorm: Bool) {
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
    mutating func checkBatchNorm(_ rep: Rep, _ feature: Identifier, _ group: Group) -> Int {
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

    mutating func unknownActivation(_ name: Identifier) {
        let suggestion = didYouMean(name, among: Activation.spellings)
        let notes = (suggestion.map { [$0.note] } ?? []) + ["the activations are " + Activation.spellings.joined(separator: ", ")]
        bag.add(.error("unknown activation '\(name.text)'", at: name.span, notes: notes, fixIts: suggestion.map { [$0.fixIt] } ?? []))
    }

    /// Decides the activation's equivariance; returns the number of gate channels.
    mutating func checkActivation(_ activation: Activation, _ name: Identifier, on rep: Rep, _ group: Group) -> Int {
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

    func uniqueAtoms(_ summands: [Summand]) -> [Summand] {
        var seen: Set<Atom> = []
        return summands.filter { seen.insert($0.atom).inserted }
    }

    func describe(_ s: Summand, _ group: Group) -> String {
        let name = group.name(of: s.atom)
        return s.multiplicity == 1 ? name : "\(s.multiplicity)*\(name)"
    }

    func batchNormObstruction(_ o: Obstruction, _ group: Group, atom: Atom) -> String {
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

    func explain(_ o: Obstruction, _ group: Group, atom: Atom, rule: String) -> String {
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
}
