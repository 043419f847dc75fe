import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnSyntax

/// Parameters: each layer's weights and biases, and the summands that receive nothing.
extension Checker {
    /// Why summand `name` receives nothing: no equivariant map reaches it, or no steerable kernel.
    func silentNote(_ name: String, written: Rep, previous: Rep, offsets: PointSet?, maps: LayerMaps, _ group: Group) -> String {
        if maps.planar != nil, case .offsets(let k, _)? = offsets {
            let top = maps.rings(kernel: k).maxFrequencies.max() ?? 0
            return "no steerable \(k)x\(k) kernel maps \(written.description) to \(name) under \(group): its rings carry angular frequencies up to \(top), and only its bias reaches it"
        }
        return "Hom_\(group)(\(previous.description), \(name)) = 0: only its bias reaches it"
            + (offsets == nil ? "" : " (\(written.description) tensored with the kernel's offsets)")
    }

    mutating func countParameters(_ layer: inout CheckedLayer, from written: Rep, offsets: PointSet?, _ group: Group, _ maps: LayerMaps) {
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
}
