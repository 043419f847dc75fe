import EqnnSupport

/// The graph as JSON (`eqnnc FILE --emit graph`), documented in docs/graph-ir.md.
extension Graph {
    public var json: JSON {
        .object([
            ("format", .string("eqnnc-graph")),
            ("version", .int(Graph.formatVersion)),
            ("network", .string(network)),
            ("group", .string(group)),
            ("group_as_written", .string(groupAsWritten)),
            ("domain", domainJSON),
            ("layers", .array(layers.map(Graph.json))),
            ("structure_hash", .string(structureHash)),
            ("parameter_count", .int(parameterCount)),
            ("input", Graph.json(input)),
            ("output", Graph.json(output)),
            ("ops", .array(ops.map(Graph.json))),
        ])
    }

    var domainJSON: JSON {
        if let points {
            return .object([("points", .int(points.dimension)), ("positions_factor", .int(points.factor))])
        }
        guard let domain else { return .null }
        return .object([("dimension", .int(domain.dimension)), ("padding", .string(domain.padding.rawValue)),
                        ("exact_for", domain.exactFor.map(JSON.string) ?? .null)])
    }

    static func json(_ l: LayerSummary) -> JSON {
        var fields: [(String, JSON)] = [("role", .string(l.role.rawValue)), ("representation", .string(l.representation)),
                                        ("dim", .int(l.dimension)), ("activation", l.activation.map { .string($0.rawValue) } ?? .null),
                                        ("bilinear", .bool(l.bilinear))]
        if let kernel = l.kernel { fields.append(("kernel", .int(kernel))) }
        if let pool = l.pool { fields.append(("pool", json(pool))) }
        if l.batchNorm { fields.append(("batchnorm", .bool(true))) }  // absent without it: older graphs read the same
        return .object(fields)
    }

    static func json(_ layout: Layout) -> JSON {
        .object([
            ("representation", .string(layout.representation)),
            ("dim", .int(layout.dimension)),
            ("blocks", .array(layout.blocks.map { b in
                .object([("name", .string(b.name)), ("offset", .int(b.offset)), ("length", .int(b.length)),
                         ("scalar", .bool(b.isScalar))])
            })),
        ])
    }

    static func json(_ slice: ParameterSlice) -> JSON {
        .object([("name", .string(slice.name)), ("offset", .int(slice.offset)), ("count", .int(slice.count))])
    }

    static func json(_ summand: SummandExtent) -> JSON {
        .object([("offset", .int(summand.offset)), ("copies", .int(summand.copies)), ("dim", .int(summand.dimension))])
    }

    static func json(_ basis: SparseBasis) -> JSON {
        .object([
            ("rows", .int(basis.rows)), ("columns", .int(basis.columns)),
            ("starts", .array(basis.starts.map(JSON.int))),
            ("entry_rows", .array(basis.entryRows.map(JSON.int))),
            ("entry_columns", .array(basis.entryColumns.map(JSON.int))),
            ("values", .array(basis.values.map(JSON.double))),
        ])
    }

    static func json(_ pooling: Pooling) -> JSON {
        switch pooling {
        case .mean(let size): return .int(size)
        case .global: return .string("global")
        case .sum: return .string("sum")
        }
    }

    /// The fields of a linear op (also the inner linear map of a convolution).
    static func fields(_ l: Linear) -> [(String, JSON)] {
        [("parameters", json(l.parameters)), ("gain", .double(l.gain)),
         ("bases", .array(l.bases.map { pair in
             .object([("kinds", .array(pair.kinds.map { .string($0.rawValue) })), ("basis", json(pair.matrices))]
                     + (pair.frequencies.map { [("frequencies", .array($0.map(JSON.int)))] } ?? []))
         })),
         ("blocks", .array(l.blocks.map { b in
             .object([("output", json(b.output)), ("input", json(b.input)), ("basis", .int(b.basis)),
                      ("first_parameter", .int(b.firstParameter)), ("output_stride", .int(b.outputStride))])
         }))]
    }

    static func json(_ op: Op) -> JSON {
        var fields: [(String, JSON)] = []
        switch op {
        case .linear(let l):
            fields = [("op", .string(op.name))] + Graph.fields(l)
        case .convolution(let c):
            fields = [("op", .string(op.name)), ("kernel", .int(c.kernel)), ("offsets", .int(c.offsets)),
                      ("linear", .object([("in_dim", .int(c.linear.inputDimension)), ("out_dim", .int(c.linear.outputDimension))]
                                         + Graph.fields(c.linear)))]
        case .pool(let p):
            fields = [("op", .string(op.name)), ("pool", json(p.pooling))]
        case .bias(let b):
            fields = [("op", .string(op.name)), ("parameters", json(b.parameters)), ("basis", json(b.basis))]
        case .bilinear(let b):
            fields = [("op", .string(op.name)), ("parameters", json(b.parameters)), ("blocks", .array(b.blocks.map { k in
                .object([("output", json(k.output)), ("input", json(k.input)), ("sources", .array(k.sources.map(JSON.int))),
                         ("first_parameter", .int(k.firstParameter)), ("output_stride", .int(k.outputStride))])
            }))]
        case .pointwise(let p):
            fields = [("op", .string(op.name)), ("function", .string(p.function.rawValue))]
        case .gate(let g):
            fields = [("op", .string(op.name)), ("scalars", .array(g.scalars.map(JSON.int))), ("blocks", .array(g.blocks.map { b in
                .object([("offset", .int(b.offset)), ("length", .int(b.length)), ("gate", .int(b.gate))])
            }))]
        case .norm(let n):
            fields = [("op", .string(op.name)), ("scalars", .array(n.scalars.map(JSON.int))), ("blocks", .array(n.blocks.map { b in
                .object([("offset", .int(b.offset)), ("length", .int(b.length))])
            }))]
        case .batchNorm(let b):
            fields = [("op", .string(op.name)), ("parameters", json(b.parameters)), ("statistics", json(b.statistics)),
                      ("epsilon", .double(BatchNorm.epsilon)), ("momentum", .double(BatchNorm.momentum)),
                      ("fields", .array(b.fields.map { f in
                          .object([("offset", .int(f.offset)), ("length", .int(f.length)), ("centred", .bool(f.centred))])
                      }))]
        case .message(let m):
            fields = [("op", .string(op.name)), ("parameters", json(m.parameters)), ("radius", .double(m.radius)),
                      ("degree", .int(m.degree)), ("basis_count", .int(m.basisCount)), ("hidden", .int(m.hidden)),
                      ("weights", .int(m.weights)),
                      ("paths", .array(m.paths.map { p in
                          .object([("input", json(p.input)), ("output", json(p.output)), ("degree", .int(p.degree)),
                                   ("first_weight", .int(p.firstWeight)), ("matrix", .array(p.matrix.map(JSON.double)))])
                      }))]
        }
        return .object(fields + [("in_dim", .int(op.inputDimension)), ("out_dim", .int(op.outputDimension)),
                                 ("representation", .string(op.representation))])
    }
}
