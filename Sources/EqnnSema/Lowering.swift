import EqnnGroups
import Foundation
import EqnnIR

/// Why a checked network could not be lowered (sizes beyond the limits).
public struct LoweringError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Lowers a checked network to the graph IR: per layer a linear op with its
/// sparse basis, a bias op, an optional batchnorm op, an optional bilinear op and the activation.
public enum Lowering {
    /// The most parameters one linear op may have.
    public static let maxBasisCount = 50_000_000
    /// The most entries of all the pair bases of one linear op (each stored once).
    public static let maxBasisEntries = 50_000_000

    public static func lower(_ network: CheckedNetwork, solver: EquivariantSolver) throws -> Graph {
        let group = network.group
        let maps = LayerMaps(group: group, solver: solver, planar: network.planar)
        guard let first = network.layers.first, let last = network.layers.last else {
            throw LoweringError(description: "network '\(network.name)' has no layers")
        }
        var ops: [Op] = []
        var normalized: [(index: Int, layer: String)] = []
        var offset = 0
        func slice(_ name: String, _ count: Int) -> ParameterSlice {
            defer { offset += count }
            return ParameterSlice(name: name, offset: offset, count: count)
        }
        do {
            for k in 1..<network.layers.count {
                let layer = network.layers[k]
                let previous = network.layers[k - 1].rep
                let output = layer.rep.appendingScalars(layer.gates)
                let name = layer.role == .output ? "output" : "layer\(k)"
                let outputName = output.description

                let gain = initializationGain(layer.activation, bilinear: layer.hasBilinear, readsInput: k == 1)
                let offsets = Checker.offsets(layer.kernel, network.domain)
                var reads = try Checker.neighbourhood(previous, offsets)
                if let message = layer.message, let points = network.points {
                    ops.append(.message(try messageOp(message, from: previous, points: points,
                                                      parameters: slice("\(name).message", message.radialParameters))))
                    reads = message.reads(previous)
                }
                let linear = try linearOp(from: reads, to: output, maps: maps.banded(layer.band),
                                          name: "\(name).weight", offset: offset, gain: gain)
                offset += linear.parameters.count
                if let kernel = layer.kernel, let domain = network.domain, offsets != nil {
                    ops.append(.convolution(Convolution(kernel: kernel, dimension: domain.dimension, channels: try previous.dimension(),
                                                        linear: linear)))
                } else {
                    ops.append(.linear(linear))
                }

                let biasBasis = try maps.invariantBasis(of: output)
                ops.append(.bias(Bias(parameters: slice("\(name).bias", biasBasis.count), basis: biasBasis,
                                      representation: outputName)))

                if layer.batchNorm != nil {
                    // Its slices are placed after every other parameter (below), so that
                    // folding it away leaves the other offsets as they are.
                    normalized.append((ops.count, name))
                    ops.append(.batchNorm(BatchNorm(dimension: try output.dimension(), fields: try normalizedFields(group, output),
                                                    parameters: ParameterSlice(name: "", offset: 0, count: 0),
                                                    statistics: ParameterSlice(name: "", offset: 0, count: 0),
                                                    representation: outputName)))
                }
                if layer.hasBilinear {
                    let (blocks, count) = try bilinearBlocks(group, output)
                    ops.append(.bilinear(Bilinear(parameters: slice("\(name).bilinear", count), dimension: try output.dimension(),
                                                  blocks: blocks, representation: outputName)))
                }
                if let activation = layer.activation {
                    ops.append(try activationOp(activation, layer: layer, group: group))
                }
                if let pool = layer.pool {
                    ops.append(.pool(Pool(pooling: pool, channels: layer.dimension, representation: layer.rep.description)))
                }
            }
            for (index, name) in normalized {
                guard case .batchNorm(var n) = ops[index] else { continue }
                n.parameters = slice("\(name).batchnorm", n.fields.count + n.centredCount)
                n.statistics = slice("\(name).running_statistics", n.centredCount + n.fields.count)
                ops[index] = .batchNorm(n)
            }
        } catch let error as SolverError {
            throw LoweringError(description: "\(error)")
        } catch let error as RepError {
            throw LoweringError(description: "\(error)")
        }
        let layers = network.layers.map {
            LayerSummary(role: $0.role, representation: $0.rep.description, dimension: $0.dimension, activation: $0.activation,
                         bilinear: $0.hasBilinear, kernel: $0.kernel, pool: $0.pool, batchNorm: $0.batchNorm != nil)
        }
        var graph = Graph(network: network.name, group: group.canonicalName, groupAsWritten: group.writtenAndCanonical,
                          layers: layers, input: try layout(first.rep), output: try layout(last.rep),
                          ops: ops, parameterCount: offset, structureHash: "")
        graph.domain = network.domain
        graph.points = network.points
        graph.structureHash = StructureHash.of(graph)
        try graph.verify()  // what the back ends may rely on without checking it themselves
        return graph
    }

    /// The message op of a message layer: the paths the checker planned.
    static func messageOp(_ message: CheckedMessage, from previous: Rep, points: PointDomain, parameters: ParameterSlice) throws -> Message {
        let reads = message.reads(previous)
        return Message(dimension: points.dimension, channels: try previous.dimension(), radius: message.radius, degree: message.degree,
                       basisCount: Message.defaultBasisCount, hidden: message.hidden, weights: message.radialOutputs, paths: message.blocks,
                       outputDimension: try reads.dimension(), parameters: parameters, representation: reads.description)
    }

    /// Batchnorm's fields: every copy of every summand, centred where the group permutes its coordinates.
    static func normalizedFields(_ group: Group, _ rep: Rep) throws -> [NormalizedField] {
        var fields: [NormalizedField] = []
        for (s, extent) in zip(rep.summands, try summands(rep)) {
            let centred = group.pointwiseObstruction(s.atom, requirement: .permutation) == nil
            for copy in 0..<extent.copies {
                fields.append(NormalizedField(offset: extent.offset + copy * extent.dimension, length: extent.dimension, centred: centred))
            }
        }
        return fields
    }

    static func summands(_ rep: Rep) throws -> [SummandExtent] {
        var offset = 0
        return try rep.summands.map { s in
            let d = try rep.dimension(of: s.atom)
            defer { offset += s.multiplicity * d }
            return SummandExtent(offset: offset, copies: s.multiplicity, dimension: d)
        }
    }

    /// The structured linear op: each distinct pair of atoms solved once, its
    /// basis stored once; parameters ordered output copy by output copy, then
    /// input copy, then pair basis (the order of the weights file).
    static func linearOp(from previous: Rep, to output: Rep, maps: LayerMaps, name: String,
                         offset: Int, gain: Double) throws -> Linear {
        let inputs = try summands(previous), outputs = try summands(output)
        var bases: [PairBasis] = []
        var index: [[Atom]: Int] = [:]
        var blocks: [LinearBlock] = []
        var count = 0, entries = 0
        for (s, out) in outputs.enumerated() {
            var row: [(input: Int, basis: Int, prefix: Int)] = []
            var stride = 0
            for (r, input) in inputs.enumerated() {
                let key = [previous.summands[r].atom, output.summands[s].atom]
                if index[key] == nil {
                    let (matrices, frequencies) = try maps.homBasis(from: key[0], to: key[1], rows: out.dimension, columns: input.dimension)
                    entries += matrices.entryCount
                    if entries > maxBasisEntries {
                        throw LoweringError(description: "\(name) needs pair bases of more than \(maxBasisEntries) entries")
                    }
                    index[key] = bases.count
                    bases.append(PairBasis(matrices: matrices, frequencies: frequencies))
                }
                guard let b = index[key], bases[b].count > 0 else { continue }
                row.append((r, b, stride))
                stride += input.copies * bases[b].count
            }
            for (r, b, prefix) in row {
                blocks.append(LinearBlock(output: out, input: inputs[r], basis: b, firstParameter: count + prefix, outputStride: stride))
            }
            count += out.copies * stride
            if count > maxBasisCount {
                throw SolverError.tooLarge(what: "the number of basis matrices", size: count, limit: maxBasisCount)
            }
        }
        return Linear(parameters: ParameterSlice(name: name, offset: offset, count: count),
                      inputDimension: try previous.dimension(), outputDimension: try output.dimension(),
                      representation: output.description, gain: gain, bases: bases, blocks: blocks)
    }

    /// The variance of a linear map's initial weights relative to the
    /// variance-preserving scale (see Graph.initialScales): He (2) before
    /// relu-like activations, 1 otherwise, and 0.3^2 of that on a gated or
    /// bilinear layer that reads the network's input. The input arrives
    /// standardized at unit scale; at the full scale that layer starts its
    /// sigmoid gates and bilinear products (which square the scale) far from
    /// their near-linear range, and the fit interpolates noise: on the FWW21
    /// tasks the smaller first layer lowers the test MSE 2x to 16x
    /// (`python3 bench/fww21.py ablations`). Pointwise layers (relu, tanh, ...)
    /// keep the full scale, which odd or sign-sensitive targets need (tanh
    /// networks of Sign channels start near zero otherwise).
    /// EQNNC_INPUT_LAYER_GAIN overrides the 0.09 (1: the full scale) for ablations.
    static func initializationGain(_ activation: Activation?, bilinear: Bool, readsInput: Bool) -> Double {
        let base: Double = [.relu, .leakyRelu].contains(activation) ? 2 : 1
        return readsInput && (activation == .gated || bilinear) ? base * inputLayerGainFactor : base
    }

    static let inputLayerGainFactor = ProcessInfo.processInfo.environment["EQNNC_INPUT_LAYER_GAIN"].flatMap(Double.init)
        .flatMap { $0.isFinite && $0 > 0 ? $0 : nil } ?? 0.09

    /// The bilinear blocks by summand pair (see Group.bilinearTerms), and the parameter count.
    static func bilinearBlocks(_ group: Group, _ rep: Rep) throws -> ([BilinearBlock], Int) {
        let extents = try summands(rep)
        let copies = try rep.blocks()
        // The summand of every copy, and the first copy of every summand.
        var summandOf: [Int] = [], first: [Int] = []
        for (k, s) in rep.summands.enumerated() {
            first.append(summandOf.count)
            summandOf += Array(repeating: k, count: s.multiplicity)
        }
        var sources: [[Int]: [Int]] = [:]
        var rowLength = [Int](repeating: 0, count: extents.count)
        var prefix: [[Int]: Int] = [:]
        for term in try group.bilinearTerms(rep) {
            let key = [summandOf[term.output], summandOf[term.input]]
            guard term.output == first[key[0]] else { continue }  // every copy of a summand has the same row
            if sources[key] == nil {
                sources[key] = term.sources.map { copies[$0].offset }
                prefix[key] = rowLength[key[0]]
                rowLength[key[0]] += extents[key[1]].copies * term.sources.count
            }
        }
        var blocks: [BilinearBlock] = []
        var count = 0
        for (s, out) in extents.enumerated() {
            for (r, input) in extents.enumerated() {
                guard let src = sources[[s, r]], let p = prefix[[s, r]] else { continue }
                blocks.append(BilinearBlock(output: out, input: input, sources: src, firstParameter: count + p, outputStride: rowLength[s]))
            }
            count += out.copies * rowLength[s]
        }
        return (blocks, count)
    }

    static func layout(_ rep: Rep) throws -> Layout {
        Layout(representation: rep.description, dimension: try rep.dimension(), blocks: try rep.blocks().map {
            LayoutBlock(name: rep.group.name(of: $0.atom), offset: $0.offset, length: $0.dimension,
                        isScalar: rep.group.isTrivial($0.atom))
        })
    }

    /// Scales each basis matrix to unit Frobenius norm.
    static func normalized(_ matrices: [SparseMatrixEntries], rows: Int, columns: Int) -> SparseBasis {
        var basis = SparseBasis(rows: rows, columns: columns, starts: [0], entryRows: [], entryColumns: [], values: [])
        for m in matrices { basis.appendNormalized(m) }
        return basis
    }

    static func activationOp(_ activation: Activation, layer: CheckedLayer, group: Group) throws -> Op {
        let blocks = try layer.rep.blocks()
        let representation = layer.rep.description
        let scalars = blocks.filter { group.isTrivial($0.atom) }.flatMap { $0.offset..<($0.offset + $0.dimension) }
        switch activation {
        case .gated:
            var gate = layer.dimension
            var gated: [GatedBlock] = []
            for b in blocks where !group.isTrivial(b.atom) {
                gated.append(GatedBlock(offset: b.offset, length: b.dimension, gate: gate))
                gate += 1
            }
            return .gate(Gate(inputDimension: layer.dimension + layer.gates, outputDimension: layer.dimension,
                              blocks: gated, scalars: scalars, representation: representation))
        case .norm:
            return .norm(Norm(dimension: layer.dimension,
                              blocks: blocks.filter { !group.isTrivial($0.atom) }.map { NormBlock(offset: $0.offset, length: $0.dimension) },
                              scalars: scalars, representation: representation))
        default:
            return .pointwise(Pointwise(function: activation, dimension: layer.dimension, representation: representation))
        }
    }
}

extension SparseBasis {
    /// One more basis element: an exact integer matrix at unit Frobenius norm, its rows shifted by `rowOffset`.
    mutating func appendNormalized(_ m: SparseMatrixEntries, rowOffset: Int = 0) {
        let norm = m.values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        entryRows += m.rows.map { rowOffset + $0 }
        entryColumns += m.columns
        values += m.values.map { Double($0) / norm }
        starts.append(values.count)
    }
}
