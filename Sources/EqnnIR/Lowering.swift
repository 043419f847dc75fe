import EqnnGroups
import EqnnSema

/// Why a checked network could not be lowered (sizes beyond the limits).
public struct LoweringError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Lowers a checked network to the graph IR: per layer a linear op with its
/// sparse basis, a bias op, an optional bilinear op and the activation.
public enum Lowering {
    /// The most basis matrices one linear op may have.
    public static let maxBasisCount = 50_000_000

    public static func lower(_ network: CheckedNetwork, solver: EquivariantSolver) throws -> Graph {
        let group = network.group
        guard let first = network.layers.first, let last = network.layers.last else {
            throw LoweringError(description: "network '\(network.name)' has no layers")
        }
        var ops: [Op] = []
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

                let entries = try solver.homBasis(group, from: previous, to: output, limit: maxBasisCount)
                let basis = normalized(entries, rows: try output.dimension(), columns: try previous.dimension())
                let gain: Double = [.relu, .leakyRelu].contains(layer.activation) ? 2 : 1
                let extents = { (rep: Rep) in try rep.blocks().map { BlockExtent(offset: $0.offset, length: $0.dimension) } }
                ops.append(.linear(Linear(parameters: slice("\(name).weight", basis.count), basis: basis,
                                          representation: outputName, gain: gain,
                                          inputBlocks: try extents(previous), outputBlocks: try extents(output))))

                let biasBasis = try invariantBasis(of: output, solver: solver)
                ops.append(.bias(Bias(parameters: slice("\(name).bias", biasBasis.count), basis: biasBasis,
                                      representation: outputName)))

                if layer.hasBilinear {
                    let blocks = try output.blocks()
                    var bilinearBlocks: [BilinearBlock] = []
                    var count = 0
                    for term in try group.bilinearTerms(output) {
                        let o = blocks[term.output], i = blocks[term.input]
                        bilinearBlocks.append(BilinearBlock(
                            outputOffset: o.offset, outputLength: o.dimension, inputOffset: i.offset, inputLength: i.dimension,
                            sources: term.sources.map { blocks[$0].offset }, firstParameter: count))
                        count += term.sources.count
                    }
                    ops.append(.bilinear(Bilinear(parameters: slice("\(name).bilinear", count), dimension: try output.dimension(),
                                                  blocks: bilinearBlocks, representation: outputName)))
                }
                if let activation = layer.activation {
                    ops.append(try activationOp(activation, layer: layer, group: group))
                }
            }
        } catch let error as SolverError {
            throw LoweringError(description: "\(error)")
        } catch let error as RepError {
            throw LoweringError(description: "\(error)")
        }
        var graph = Graph(network: network.name, group: group.canonicalName,
                          input: try layout(first.rep), output: try layout(last.rep),
                          ops: ops, parameterCount: offset, structureHash: "")
        graph.structureHash = StructureHash.of(graph)
        return graph
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
        for m in matrices {
            let norm = m.values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            basis.entryRows += m.rows
            basis.entryColumns += m.columns
            basis.values += m.values.map { Double($0) / norm }
            basis.starts.append(basis.values.count)
        }
        return basis
    }

    /// The invariant vectors of every summand copy, placed at its offset.
    static func invariantBasis(of rep: Rep, solver: EquivariantSolver) throws -> SparseBasis {
        var matrices: [SparseMatrixEntries] = []
        for block in try rep.blocks() {
            for v in try solver.invariantBasis(rep.group, of: block.atom) {
                matrices.append(SparseMatrixEntries(rows: v.indices.map { block.offset + $0 },
                                                    columns: Array(repeating: 0, count: v.indices.count), values: v.values))
            }
        }
        return normalized(matrices, rows: try rep.dimension(), columns: 1)
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
            let function = PointwiseFunction(rawValue: activation.rawValue) ?? .identity
            return .pointwise(Pointwise(function: function, dimension: layer.dimension, representation: representation))
        }
    }
}
