import EqnnIR
import Foundation

/// A trained model as safetensors: one float64 tensor per parameter slice
/// (the coefficients theta over each equivariant basis, and the biases),
/// the normalizer, and metadata tying them to the compiled structure.
public enum WeightsFile {
    /// The file for a model; `version` is the eqnnc version that wrote it.
    public static func encode(_ model: Model, version: String) -> Data {
        var tensors = model.graph.parameterSlices.map { s in
            Safetensors.Tensor(name: s.name, shape: [s.count], values: Array(model.parameters[s.offset..<(s.offset + s.count)]))
        }
        let n = model.normalizer
        for (name, values) in zip(WeightsFormat.normalizerNames, [n.inputShift, n.inputScale, n.outputShift, n.outputScale]) {
            tensors.append(Safetensors.Tensor(name: name, shape: [values.count], values: values))
        }
        return Safetensors.write(tensors, metadata: [
            ("format", WeightsFormat.format), ("version", WeightsFormat.version), ("eqnnc_version", version),
            ("network", model.graph.network), ("group", model.graph.group),
            ("structure_hash", model.graph.structureHash), ("representations", model.graph.layers.map(\.representation).joined(separator: " -> ")),
            ("parameter_count", "\(model.graph.parameterCount)"),
        ])
    }

    /// The model in a file made for `graph`; a file for another structure is refused with the reason.
    public static func decode(_ data: Data, name: String, for graph: Graph) throws -> Model {
        let (tensors, metadata) = try Safetensors.read(data, name: name)
        if let hash = metadata["structure_hash"], hash != graph.structureHash {
            let other = metadata["network"].map { "network '\($0)'" } ?? "another network"
            throw DataError("\(name): these weights were made for \(other) (structure \(hash), representations \(metadata["representations"] ?? "?")), not for network '\(graph.network)' (structure \(graph.structureHash)); train again or pick the matching .eqnn file")
        }
        var theta = [Double](repeating: 0, count: graph.parameterCount)
        for s in graph.parameterSlices {
            guard let t = tensors[s.name] else { throw DataError("\(name): missing tensor '\(s.name)'") }
            guard t.values.count == s.count else {
                throw DataError("\(name): tensor '\(s.name)' has \(t.values.count) values; network '\(graph.network)' needs \(s.count)")
            }
            guard t.values.allSatisfy(\.isFinite) else {
                throw DataError("\(name): tensor '\(s.name)' contains NaN or infinite values; these weights cannot be used")
            }
            for k in 0..<s.count { theta[s.offset + k] = t.values[k] }
        }
        var normalizer = Normalizer.identity(input: graph.input.dimension, output: graph.output.dimension)
        let sizes = [graph.input.dimension, graph.input.dimension, graph.output.dimension, graph.output.dimension]
        var parts: [[Double]] = []
        for (tensorName, size) in zip(WeightsFormat.normalizerNames, sizes) {
            guard let t = tensors[tensorName] else { parts.append([]); continue }
            guard t.values.count == size else { throw DataError("\(name): tensor '\(tensorName)' has \(t.values.count) values, expected \(size)") }
            guard t.values.allSatisfy(\.isFinite) else {
                throw DataError("\(name): tensor '\(tensorName)' contains NaN or infinite values; these weights cannot be used")
            }
            parts.append(t.values)
        }
        if !parts[0].isEmpty { normalizer.inputShift = parts[0] }
        if !parts[1].isEmpty { normalizer.inputScale = parts[1] }
        if !parts[2].isEmpty { normalizer.outputShift = parts[2] }
        if !parts[3].isEmpty { normalizer.outputScale = parts[3] }
        guard normalizer.inputScale.allSatisfy({ $0 != 0 && $0.isFinite }) else {
            throw DataError("\(name): the input scale has zero or non-finite entries")
        }
        for (what, shift, scale, layout) in [("input", normalizer.inputShift, normalizer.inputScale, graph.input),
                                             ("output", normalizer.outputShift, normalizer.outputScale, graph.output)] {
            if let why = Normalizer.symmetryViolation(shift: shift, scale: scale, layout: layout) {
                throw DataError("\(name): the \(what) normalizer breaks the symmetry: \(why); the group moves a block's coordinates into each other, so a block may only be scaled by one number")
            }
        }
        return Model(graph: graph, parameters: theta, normalizer: normalizer)
    }
}
