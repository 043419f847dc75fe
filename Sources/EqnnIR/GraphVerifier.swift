/// What `Graph.verify` found wrong: the op (or part of the graph) and what.
public struct GraphError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// The IR's invariants, checked between stages (as QBE checks its IR between
/// passes): every op reads what the op before it writes, every index of a
/// table lands inside the array it indexes, and the named slices of theta tile
/// it. A graph that passes can be run by every back end without a bounds
/// check of its own; Lowering's output is verified before anything reads it.
extension Graph {
    public func verify() throws {
        func fail(_ message: String) -> GraphError { GraphError(description: "graph of \(network): \(message)") }
        try verifyLayout(input, "the input", fail)
        try verifyLayout(output, "the output", fail)
        guard !ops.isEmpty else { throw fail("no ops") }

        var width = input.dimension
        for (k, op) in ops.enumerated() {
            let at = "op \(k) (\(op.name))"
            guard op.inputDimension == width else {
                throw fail("\(at) reads \(op.inputDimension) coordinates where the op before it writes \(width)")
            }
            guard op.outputDimension > 0 else { throw fail("\(at) writes no coordinates") }
            try verify(op, at: at, fail)
            width = op.outputDimension
        }
        guard width == output.dimension else {
            throw fail("the last op writes \(width) coordinates, the output has \(output.dimension)")
        }

        // The slices of theta: in order, without gaps or overlaps, and names that are unique.
        var next = 0
        var names = Set<String>()
        for slice in parameterSlices {
            guard slice.offset == next, slice.count >= 0 else {
                throw fail("parameter slice \(slice.name) starts at \(slice.offset), where \(next) was expected")
            }
            guard names.insert(slice.name).inserted else { throw fail("parameter slice \(slice.name) appears twice") }
            next += slice.count
        }
        guard next == parameterCount else { throw fail("the parameter slices hold \(next) values, the graph says \(parameterCount)") }
    }

    private func verifyLayout(_ layout: Layout, _ what: String, _ fail: (String) -> GraphError) throws {
        guard layout.dimension > 0 else { throw fail("\(what) has no coordinates") }
        var next = 0
        for block in layout.blocks {
            guard block.offset == next, block.length > 0 else {
                throw fail("\(what)'s block \(block.name) starts at \(block.offset), where \(next) was expected")
            }
            next += block.length
        }
        guard next == layout.dimension else { throw fail("\(what)'s blocks cover \(next) of its \(layout.dimension) coordinates") }
    }

    private func verify(_ op: Op, at: String, _ fail: (String) -> GraphError) throws {
        func inside(_ first: Int, _ count: Int, _ limit: Int, _ what: String) throws {
            guard first >= 0, count >= 0, first + count <= limit else {
                throw fail("\(at): \(what) [\(first), \(first + count)) is outside [0, \(limit))")
            }
        }
        switch op {
        case .linear(let l):
            try verify(l, at: at, inside, fail)
        case .convolution(let c):
            guard let domain else { throw fail("\(at): a convolution in a network without a grid") }
            guard c.dimension == domain.dimension, c.kernel >= 1, c.kernel % 2 == 1 else {
                throw fail("\(at): kernel \(c.kernel) on \(c.dimension) axes, on a grid of \(domain.dimension) (kernels are odd)")
            }
            guard c.linear.inputDimension == c.channels * c.offsets else {
                throw fail("\(at): its linear map reads \(c.linear.inputDimension) values, the neighbourhood of \(c.offsets) offsets has \(c.channels * c.offsets)")
            }
            try verify(c.linear, at: at, inside, fail)
        case .pool(let p):
            guard domain != nil || points != nil else { throw fail("\(at): a pool in a network without a grid or points") }
            if case .mean(let size) = p.pooling, size < 1 || points != nil { throw fail("\(at): pool size \(size)") }
            if p.pooling == .sum, points == nil { throw fail("\(at): a sum pool off the points") }
        case .message(let m):
            guard let points else { throw fail("\(at): a message in a network without points") }
            guard m.dimension == points.dimension, m.radius > 0, m.radius.isFinite, m.basisCount > 0, m.hidden > 0 else {
                throw fail("\(at): radius \(m.radius), \(m.basisCount) basis functions, \(m.hidden) hidden, in R^\(m.dimension) of R^\(points.dimension)")
            }
            guard m.parameters.count == Message.parameterCount(basisCount: m.basisCount, hidden: m.hidden, weights: m.weights) else {
                throw fail("\(at): \(m.parameters.count) parameters for the radial network's layers")
            }
            for path in m.paths {
                try inside(path.input.offset, path.input.copies * path.input.dimension, m.channels, "a path's input")
                try inside(path.output.offset, path.output.copies * path.output.dimension, m.outputDimension, "a path's output")
                guard path.output.offset >= m.channels, path.output.copies == path.input.copies, path.degree <= m.degree else {
                    throw fail("\(at): a path overwrites the input or has \(path.output.copies) copies for \(path.input.copies)")
                }
                try inside(path.firstWeight, path.input.copies, m.weights, "a path's radial weights")
                let powers = m.powerOffsets
                let columns = path.input.dimension * (powers[path.degree + 1] - powers[path.degree])
                guard path.matrix.count == path.output.dimension * columns else {
                    throw fail("\(at): a path's matrix has \(path.matrix.count) entries, not \(path.output.dimension) x \(columns)")
                }
            }
        case .bias(let b):
            try verify(b.basis, at: at, "basis", fail)
            guard b.basis.count == b.parameters.count else {
                throw fail("\(at): \(b.basis.count) basis vectors for \(b.parameters.count) parameters")
            }
        case .bilinear(let b):
            for block in b.blocks {
                try inside(block.input.offset, block.input.copies * block.input.dimension, b.dimension, "a block's input")
                try inside(block.output.offset, block.output.copies * block.output.dimension, b.dimension, "a block's output")
                for source in block.sources {
                    try inside(source, block.output.dimension * block.input.dimension, b.dimension, "a source copy")
                }
                guard block.output.copies > 0, block.input.copies > 0 else { continue }
                let last = block.parameter(output: block.output.copies - 1, input: block.input.copies - 1, source: block.sources.count - 1)
                try inside(block.firstParameter, last - block.firstParameter + 1, b.parameters.count, "a block's parameters")
            }
        case .pointwise:
            break
        case .gate(let g):
            guard g.inputDimension >= g.outputDimension else { throw fail("\(at): more outputs than inputs") }
            for block in g.blocks {
                try inside(block.offset, block.length, g.outputDimension, "a gated block")
                try inside(block.gate, 1, g.inputDimension, "a gate")
            }
            for s in g.scalars { try inside(s, 1, g.outputDimension, "a scalar") }
        case .norm(let n):
            for block in n.blocks { try inside(block.offset, block.length, n.dimension, "a normed block") }
            for s in n.scalars { try inside(s, 1, n.dimension, "a scalar") }
        case .batchNorm(let n):
            for field in n.fields { try inside(field.offset, field.length, n.dimension, "a field") }
            let expected = n.fields.count + n.centredCount
            guard n.parameters.count == expected, n.statistics.count == expected else {
                throw fail("\(at): \(n.parameters.count) parameters and \(n.statistics.count) statistics for \(n.fields.count) fields, \(n.centredCount) centred (\(expected) each)")
            }
        }
    }

    private func verify(_ l: Linear, at: String, _ inside: (Int, Int, Int, String) throws -> Void,
                        _ fail: (String) -> GraphError) throws {
        for (j, basis) in l.bases.enumerated() { try verify(basis.matrices, at: at, "pair basis \(j)", fail) }
        for block in l.blocks {
            guard l.bases.indices.contains(block.basis) else { throw fail("\(at): a block names pair basis \(block.basis) of \(l.bases.count)") }
            let basis = l.bases[block.basis].matrices
            guard basis.rows == block.output.dimension, basis.columns == block.input.dimension else {
                throw fail("\(at): pair basis \(block.basis) is \(basis.rows) x \(basis.columns), its block maps \(block.input.dimension) to \(block.output.dimension)")
            }
            try inside(block.input.offset, block.input.copies * block.input.dimension, l.inputDimension, "a block's input")
            try inside(block.output.offset, block.output.copies * block.output.dimension, l.outputDimension, "a block's output")
            guard block.output.copies > 0, block.input.copies > 0, basis.count > 0 else { continue }
            let last = block.firstParameter + (block.output.copies - 1) * block.outputStride + block.input.copies * basis.count - 1
            try inside(block.firstParameter, last - block.firstParameter + 1, l.parameters.count, "a block's parameters")
        }
    }

    private func verify(_ basis: SparseBasis, at: String, _ what: String, _ fail: (String) -> GraphError) throws {
        guard let first = basis.starts.first, first == 0, basis.starts.last == basis.values.count,
              zip(basis.starts, basis.starts.dropFirst()).allSatisfy({ $0 <= $1 }),
              basis.entryRows.count == basis.values.count, basis.entryColumns.count == basis.values.count else {
            throw fail("\(at): \(what)'s entries are not indexed by its starts")
        }
        guard basis.entryRows.allSatisfy({ $0 >= 0 && $0 < basis.rows }), basis.entryColumns.allSatisfy({ $0 >= 0 && $0 < basis.columns }) else {
            throw fail("\(at): \(what) has an entry outside its \(basis.rows) x \(basis.columns) matrices")
        }
    }
}
