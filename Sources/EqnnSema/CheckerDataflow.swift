import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnSyntax

/// Dataflow through the whole network, in one forward pass: which summands
/// of which layers each part of each layer can vary with.
extension Checker {
    /// A summand of a layer: what the dataflow follows.
    struct Origin: Hashable {
        var layer: Int
        var summand: Int
    }

    /// What varies in one layer: for each type of content (an atom), the
    /// summands it can vary with. After a nonlinear layer the types are the
    /// layer's own atoms; a layer that acts linearly on what varies keeps the
    /// types of the layer before (an image of them), which is sharper:
    /// Sign -> 4*Regular : identity -> Scalar of S(3) carries only Regular's
    /// Sign part, which no linear map takes to Scalar.
    typealias Flow = [Atom: Set<Origin>]

    /// Whether some equivariant map of layer `layer` (a convolution reads
    /// the atom tensored with its offsets; a message layer also sends a along
    /// its paths) takes atom a to atom b.
    func connects(_ a: Atom, _ b: Atom, _ layer: CheckedLayer, _ domain: GridDomain?, _ maps: LayerMaps) -> Bool {
        let read = Checker.neighbourhood(a, Checker.offsets(layer.kernel, domain))
        if let m = layer.message {  // through the messages: the planned paths, or for an atom of an earlier layer
            // that a linear layer passed on (not among the planned inputs), its paths solved here
            if let reached = m.reaches[a] {
                if reached.contains(b) { return true }
            } else if let paths = try? maps.solver.messagePaths(maps.group, positions: m.factor, from: a, to: b, degree: m.degree), !paths.isEmpty {
                return true
            }
        }
        return ((try? maps.banded(layer.band).homDimension(from: read, to: b)) ?? 0) > 0
    }

    /// A layer's bilinear terms as (output atom, atoms it multiplies).
    func bilinearProducts(_ layer: CheckedLayer, _ group: Group) -> [(output: Atom, factors: [Atom])] {
        guard layer.hasBilinear else { return [] }
        let output = layer.rep.appendingScalars(layer.gates)
        guard let blocks = try? output.blocks(), let terms = try? group.bilinearTerms(output) else { return [] }
        return terms.map { t in (blocks[t.output].atom, [blocks[t.input].atom] + t.sources.map { blocks[$0].atom }) }
    }

    /// Follows every summand of every layer forward, each starting in its own
    /// layer as the block that the layer's products and gates read: a summand
    /// of a later layer varies with what every summand it receives a nonzero
    /// equivariant map from varies with; a bilinear product with what its
    /// factors vary with; a gated block also with what its gate varies with
    /// (activations act channel by channel or by block norms, keeping each
    /// block's dependence).
    func flows(_ layers: [CheckedLayer], _ group: Group, _ domain: GridDomain?, _ maps: LayerMaps) -> [Flow] {
        let scalar = Atom.scalar(factorCount: group.factors.count)
        func own(_ k: Int) -> Flow {
            layers[k].rep.summands.enumerated().reduce(into: Flow()) { $0[$1.element.atom, default: []].insert(Origin(layer: k, summand: $1.offset)) }
        }
        var result = [own(0)]
        for k in layers.indices.dropFirst() {
            let layer = layers[k], before = result[k - 1]
            let output = layer.rep.appendingScalars(layer.gates)
            var next: Flow = [:]
            for (b, _) in output.distinctAtoms {
                next[b] = before.reduce(into: Set<Origin>()) { set, entry in
                    if !entry.value.isEmpty && connects(entry.key, b, layer, domain, maps) { set.formUnion(entry.value) }
                }
            }
            // The layer's own summands are the blocks its products and gates read.
            next.merge(own(k)) { $0.union($1) }
            for (out, factors) in bilinearProducts(layer, group) {
                for f in factors { next[out, default: []].formUnion(next[f] ?? []) }
            }
            let gateOrigins = layer.gates > 0 ? next[scalar] ?? [] : []
            for (b, _) in layer.rep.distinctAtoms where layer.gates > 0 && !group.isTrivial(b) {
                next[b, default: []].formUnion(gateOrigins)
            }
            // No kernel to tensor with, no product, no batch statistics, and an activation
            // that is the identity, or gates for what they do not vary with: the layer maps
            // what varies linearly, so it stays an image of the types before.
            let linear = layer.activation == nil || layer.activation == .identity || layer.activation == .gated
            if linear, Checker.offsets(layer.kernel, domain) == nil, !layer.hasBilinear, layer.batchNorm == nil {
                var image: Flow = [:]
                for (t, origins) in before where output.distinctAtoms.contains(where: { ((try? maps.homDimension(from: t, to: $0.atom)) ?? 0) > 0 }) {
                    image[t, default: []].formUnion(origins.subtracting(gateOrigins))
                }
                for (b, origins) in next where !origins.isDisjoint(with: gateOrigins) {
                    image[b, default: []].formUnion(origins.intersection(gateOrigins))
                }
                next = image.merging(own(k)) { $0.union($1) }
            }
            result.append(next)
        }
        return result
    }

    /// The origins that reach a summand of atom `b` in a layer's flow: its own
    /// entry, and every type that maps to it (the types a linear layer kept).
    func origins(reaching b: Atom, in flow: Flow, _ maps: LayerMaps) -> Set<Origin> {
        flow.reduce(into: Set<Origin>()) { set, entry in
            if entry.key == b || ((try? maps.homDimension(from: entry.key, to: b)) ?? 0) > 0 { set.formUnion(entry.value) }
        }
    }

    /// A network whose output cannot depend on its input is an error: every
    /// weight would be wasted, and nothing else would say so. Returns whether
    /// the network passed.
    mutating func checkOutputDependsOnInput(_ decl: NetworkDecl, _ layers: [CheckedLayer], _ group: Group, _ flows: [Flow]) -> Bool {
        func fromInput(_ flow: Flow) -> [Atom] { flow.filter { $0.value.contains { $0.layer == 0 } }.map(\.key) }
        for k in layers.indices.dropFirst() where fromInput(flows[k]).isEmpty {
            let layer = layers[k]
            let place = layer.role == .output ? "the output layer" : "hidden layer \(k)"
            let before = fromInput(flows[k - 1])
            let sources = before.map { group.name(of: $0) }.sorted().joined(separator: ", ")
            let targets = layer.rep.appendingScalars(layer.gates).distinctAtoms.map { group.name(of: $0.atom) }.joined(separator: ", ")
            bag.add(.error("the output of network '\(decl.name.text)' cannot depend on its input",
                           at: decl.layers[k].rep.span,
                           notes: ["in \(layers[k - 1].rep.description), only \(sources) can vary with the input, and under \(group) every equivariant linear map from \(before.count == 1 ? "it" : "them") to \(place) (\(targets)) is zero",
                                   "linear maps and these activations cannot create the summands that would carry the input this far; feed such features in the input (pairwise products, for example) or add summands that receive from the ones that vary"]))
            return false
        }
        return true
    }

    /// Warnings: at the input for every input summand that cannot influence
    /// the output, and at a hidden layer for summands that receive nothing
    /// from the input or reach nothing of the output.
    mutating func checkInfluence(_ decl: NetworkDecl, _ layers: [CheckedLayer], _ group: Group, _ domain: GridDomain?, _ maps: LayerMaps, _ flows: [Flow]) {
        guard layers.count >= 2, let input = layers.first, let output = layers.last, let last = flows.last else { return }
        let reachesOutput = last.values.reduce(into: Set<Origin>()) { $0.formUnion($1) }
        let bilinearNote = "a bilinear layer (': gated + bilinear') multiplies summands with each other, which linear maps and gates cannot"
        for (i, s) in input.rep.summands.enumerated() where !reachesOutput.contains(Origin(layer: 0, summand: i)) {
            let name = s.multiplicity == 1 ? group.name(of: s.atom) : "\(s.multiplicity)*\(group.name(of: s.atom))"
            bag.add(.warning("input summand \(name) cannot influence the output of network '\(decl.name.text)'",
                             at: decl.layers[0].rep.span,
                             notes: ["under \(group), every chain of equivariant maps, gates and activations from \(group.name(of: s.atom)) to \(output.rep.description) is zero: the output is the same whatever these inputs are",
                                     bilinearNote]))
        }
        for k in 1..<(layers.count - 1) {
            for (i, s) in layers[k].rep.summands.enumerated() {
                let b = s.atom
                let receivesAny = layers[k - 1].rep.distinctAtoms.contains { connects($0.atom, b, layers[k], domain, maps) }
                guard receivesAny else { continue }  // already reported as constant
                let name = s.multiplicity == 1 ? group.name(of: b) : "\(s.multiplicity)*\(group.name(of: b))"
                // The weights that feed this summand from the layer before.
                let offsets = Checker.offsets(layers[k].kernel, domain)
                let wasted = layers[k - 1].rep.distinctAtoms.reduce(0) { total, entry in
                    let read = Checker.neighbourhood(entry.atom, offsets)
                    return total + entry.multiplicity * s.multiplicity * ((try? maps.banded(layers[k].band).homDimension(from: read, to: b)) ?? 0)
                }
                if !origins(reaching: b, in: flows[k], maps).contains(where: { $0.layer == 0 }) {
                    bag.add(.warning("summand \(name) of hidden layer \(k) receives nothing that depends on the input", at: layers[k].span,
                                     notes: ["its channels are constant for every input, and the \(wasted) weights that feed them are wasted; \(bilinearNote)"]))
                } else if !reachesOutput.contains(Origin(layer: k, summand: i)) {
                    bag.add(.warning("summand \(name) of hidden layer \(k) reaches nothing of the output", at: layers[k].span,
                                     notes: ["every equivariant map from \(group.name(of: b)) onward to the output is zero, so the \(wasted) weights that feed it are wasted; \(bilinearNote)"]))
                }
            }
        }
    }
}
