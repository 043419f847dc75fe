/// FNV-1a 64 over everything that decides what theta means: the ops, their
/// shapes, parameter slices and basis entries. Identical structure gives an
/// identical hash on every machine.
public struct StructureHash {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    public static func of(_ graph: Graph) -> String {
        var h = StructureHash()
        h.mix(graph.network)
        h.mix(graph.group)
        h.mix(graph.input.dimension)
        h.mix(graph.output.dimension)
        h.mix(graph.parameterCount)
        if let domain = graph.domain {  // absent for plain networks, whose hashes stay as they were
            h.mix(domain.description)
        }
        if let points = graph.points {
            h.mix(points.description)
            h.mix(points.factor)
        }
        for op in graph.ops {
            h.mix(op.representation)
            h.mix(op.inputDimension)
            h.mix(op.outputDimension)
            switch op {
            case .linear(let l): h.mix(l)
            case .convolution(let c):
                h.mix("convolution")
                h.mix(c.kernel)
                h.mix(c.dimension)
                h.mix(c.linear)
            case .pool(let p): h.mix(p.pooling.description)
            case .bias(let b): h.mix(b.parameters); h.mix(b.basis)
            case .bilinear(let b):
                h.mix(b.parameters)
                for block in b.blocks {
                    h.mix(block.output)
                    h.mix(block.input)
                    for x in [block.firstParameter, block.outputStride] + block.sources { h.mix(x) }
                }
            case .pointwise(let p): h.mix(p.function.rawValue)
            case .gate(let g): for b in g.blocks { h.mix(b.offset); h.mix(b.length); h.mix(b.gate) }
            case .norm(let n): for b in n.blocks { h.mix(b.offset); h.mix(b.length) }
            case .batchNorm(let b):
                h.mix("batchnorm")
                h.mix(b.parameters)
                h.mix(b.statistics)
                for f in b.fields { h.mix(f.offset); h.mix(f.length); h.mix(f.centred ? 1 : 0) }
            case .message(let m):
                h.mix("message")
                h.mix(m.parameters)
                h.mix(m.radius)
                for x in [m.degree, m.basisCount, m.hidden, m.weights] { h.mix(x) }
                for p in m.paths {
                    h.mix(p.input)
                    h.mix(p.output)
                    h.mix(p.degree)
                    h.mix(p.firstWeight)
                    for v in p.matrix { h.mix(v) }
                }
            }
        }
        let hex = String(h.state, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    mutating func mix(_ byte: UInt8) {
        state ^= UInt64(byte)
        state = state &* 0x100_0000_01b3
    }

    mutating func mix(_ value: UInt64) {
        for k in 0..<8 { mix(UInt8(truncatingIfNeeded: value >> (8 * k))) }
    }

    mutating func mix(_ value: Int) { mix(UInt64(bitPattern: Int64(value))) }
    mutating func mix(_ value: Double) { mix(value.bitPattern) }

    mutating func mix(_ text: String) {
        for byte in text.utf8 { mix(byte) }
        mix(UInt8(0))
    }

    mutating func mix(_ slice: ParameterSlice) {
        mix(slice.name)
        mix(slice.offset)
        mix(slice.count)
    }

    mutating func mix(_ l: Linear) {
        mix(l.parameters)
        for pair in l.bases { mix(pair.matrices) }
        for b in l.blocks {
            mix(b.output)
            mix(b.input)
            for x in [b.basis, b.firstParameter, b.outputStride] { mix(x) }
        }
    }

    mutating func mix(_ summand: SummandExtent) {
        mix(summand.offset)
        mix(summand.copies)
        mix(summand.dimension)
    }

    mutating func mix(_ basis: SparseBasis) {
        mix(basis.rows)
        mix(basis.columns)
        for s in basis.starts { mix(s) }
        for k in 0..<basis.entryCount {
            mix(basis.entryRows[k])
            mix(basis.entryColumns[k])
            mix(basis.values[k])
        }
    }
}
