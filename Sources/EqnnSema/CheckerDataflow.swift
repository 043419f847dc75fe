import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnSyntax

/// Dataflow from the input to the output: what can vary with the input, layer by layer.
extension Checker {
    /// Follows which summands can depend on the input: the input's do; a
    /// summand of a later layer does when some summand it receives a nonzero
    /// equivariant map from does (activations keep dependence: gated scales a
    /// block by its gate, the others act channel by channel or by block norms).
    /// A network whose output cannot depend on its input is an error: every
    /// weight would be wasted, and nothing else would say so.
    mutating func checkOutputDependsOnInput(_ decl: NetworkDecl, _ layers: [CheckedLayer], _ group: Group, _ domain: GridDomain?, _ maps: LayerMaps) {
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

    // MARK: Which summands reach the output, and which receive from the input (warnings)

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
