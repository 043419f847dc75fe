import EqnnIR

/// The ONNX back end: a model (graph IR and theta) as one ONNX file with the
/// weights baked in, in inference mode (batchnorm folded into the linear map
/// before it, as the generated C runs it), float32. The input is
/// `x` (batch, in) or (batch, extents..., channels) on a grid, with the batch
/// and the extents named axes; the output `y` likewise. Every linear map is
/// written dense (MatMul, or Conv for a convolution): an inference engine runs
/// these fastest, and the file stays the size of W. Bilinear ops are Einsums
/// in the IR's order; gates, norms, pools and the normalizer are a few
/// elementwise ops each. Nothing else is read: the op chain and theta.
public enum ONNXBackend {
    public struct Output: Sendable {
        /// The file stem (`<name>.onnx`).
        public var name: String
        public var bytes: [UInt8]
    }

    public struct TooLarge: Error, CustomStringConvertible {
        public var description: String
    }

    /// The most weights one dense linear map may take (16,777,216: 64 MB in float32).
    public static let denseLimit = 1 << 24

    public static func generate(_ model: Model, version: String) throws -> Output {
        let folded = model.foldingBatchNorm()
        let graph = folded.graph
        for l in graph.ops.compactMap(\.linearMap) where l.denseEntries > denseLimit {
            throw TooLarge(description: "\(l.parameters.name) would be a dense \(l.outputDimension) x \(l.inputDimension) matrix, over the limit of \(denseLimit) weights for --emit onnx; emit the PyTorch module (--emit pytorch), which keeps such layers structured, and export it with torch.onnx.export")
        }
        var writer = Writer(model: folded)
        writer.run()
        let stem = Naming.stem(graph.network)
        return Output(name: stem, bytes: writer.onnx.serialized(producerVersion: version))
    }

    /// Lowers the op chain, one op at a time, into ONNX nodes.
    struct Writer {
        let model: Model
        var onnx: ONNXModel
        /// Axes of a value: batch, the grid's extents, channels.
        let rank: Int
        let gridDimension: Int
        private var oneConstant: String? = nil

        init(model: Model) {
            self.model = model
            let graph = model.graph
            gridDimension = graph.domain?.dimension ?? 0
            rank = 2 + gridDimension
            onnx = ONNXModel(name: graph.network,
                             documentation: "network \(graph.network) over \(graph.groupAsWritten)\(graph.domain.map { " on \($0)" } ?? ""): \(graph.input.representation) -> \(graph.output.representation), written by eqnnc (structure \(graph.structureHash))")
        }

        /// The scalar 1, one initializer for the whole model.
        mutating func one() -> String {
            if let name = oneConstant { return name }
            let name = onnx.floats("one", [1], dims: [])
            oneConstant = name
            return name
        }

        func shape(_ channels: Int) -> [ONNXModel.Axis] {
            [.named("batch")] + (0..<gridDimension).map { .named("extent\($0 + 1)") } + [.fixed(channels)]
        }

        mutating func run() {
            let graph = model.graph
            let n = model.normalizer
            onnx.inputs = [.init(name: "x", shape: shape(graph.input.dimension))]
            var x = onnx.node("Sub", ["x", onnx.floats("input_shift", n.inputShift.map(Float.init))], label: "normalized")
            x = onnx.node("Div", [x, onnx.floats("input_scale", n.inputScale.map(Float.init))], label: "normalized")
            for op in graph.ops { x = lower(op, x) }
            x = onnx.node("Mul", [x, onnx.floats("output_scale", n.outputScale.map(Float.init))], label: "denormalized")
            onnx.nodes.append(.init(op: "Add", inputs: [x, onnx.floats("output_shift", n.outputShift.map(Float.init))], output: "y", attributes: []))
            onnx.outputs = [.init(name: "y", shape: shape(graph.output.dimension))]
        }

        /// The channels of x (its last axis) from `begin` to `end`.
        mutating func channels(_ x: String, _ begin: Int, _ end: Int) -> String {
            onnx.node("Slice", [x, onnx.int64s("begin", [begin]), onnx.int64s("end", [end]), onnx.int64s("axis", [rank - 1])])
        }

        /// x with its last axis split into `shape` (the leading axes kept).
        mutating func reshaped(_ x: String, _ shape: [Int], lead: Int) -> String {
            onnx.node("Reshape", [x, onnx.int64s("shape", Array(repeating: 0, count: lead) + shape)])
        }

        mutating func lower(_ op: Op, _ x: String) -> String {
            switch op {
            case .linear(let l):
                let wt = l.expanded(model.parameters, transposed: true).map(Float.init)
                return onnx.node("MatMul", [x, onnx.floats(l.parameters.name, wt, dims: [l.inputDimension, l.outputDimension])], label: "linear")
            case .bias(let b):
                let values = b.basis.expanded(model.parameters, offset: b.parameters.offset, transposed: false).map(Float.init)
                return onnx.node("Add", [x, onnx.floats(b.parameters.name, values)], label: "bias")
            case .pointwise(let p):
                return pointwise(p.function, x)
            case .gate(let g):  // x[c] sigmoid(x[source[c]]) on the kept coordinates (Gate.sigmoidSources)
                let gates = onnx.node("Sigmoid", [onnx.node("Gather", [x, onnx.int64s("source", g.sigmoidSources)], [.int("axis", rank - 1)])])
                let kept = onnx.node("Mul", [channels(x, 0, g.outputDimension), gates])
                return onnx.node("Mul", [kept, onnx.floats("keep", g.kept.map { $0 ? 1 : 0 })], label: "gated")
            case .norm(let m):
                return norm(m, x)
            case .bilinear(let b):
                return bilinear(b, x)
            case .convolution(let c):
                return convolution(c, x)
            case .pool(let p):
                return pool(p, x)
            case .batchNorm:
                return x  // folded into the linear map before it (Model.foldingBatchNorm)
            case .message:
                return x  // networks on point clouds never reach this back end: the driver refuses them (Graph.points)
            }
        }

        mutating func pointwise(_ function: Activation, _ x: String) -> String {
            switch function {
            case .relu: return onnx.node("Relu", [x])
            case .leakyRelu: return onnx.node("LeakyRelu", [x], [.float("alpha", Float(Activation.leakySlope))])
            case .tanh: return onnx.node("Tanh", [x])
            case .sigmoid: return onnx.node("Sigmoid", [x])
            case .silu: return onnx.node("Mul", [x, onnx.node("Sigmoid", [x])], label: "silu")
            case .gelu:
                let erf = onnx.node("Erf", [onnx.node("Mul", [x, onnx.floats("inverse_sqrt2", [Float(0.7071067811865476)], dims: [])])])
                let half = onnx.node("Mul", [x, onnx.floats("half", [0.5], dims: [])])
                return onnx.node("Mul", [half, onnx.node("Add", [erf, one()])], label: "gelu")
            case .softplus:  // x itself above the threshold, as every back end
                let above = onnx.node("Greater", [x, onnx.floats("threshold", [Float(Activation.softplusThreshold)], dims: [])])
                return onnx.node("Where", [above, x, onnx.node("Softplus", [x])], label: "softplus")
            case .identity, .gated, .norm: return x  // gated and norm are ops of their own
            }
        }

        /// Scalars through silu, each block x -> x sigmoid(|x|), the rest unchanged (Norm.sigmoidSources, touched).
        mutating func norm(_ m: Norm, _ x: String) -> String {
            var members = [Float](repeating: 0, count: m.dimension * max(1, m.blocks.count))
            for (b, block) in m.blocks.enumerated() {
                for c in block.offset..<(block.offset + block.length) { members[c * m.blocks.count + b] = 1 }
            }
            var values = x
            if !m.blocks.isEmpty {  // x and the block norms after it, which `source` indexes
                let squares = onnx.node("MatMul", [onnx.node("Mul", [x, x]), onnx.floats("members", members, dims: [m.dimension, m.blocks.count])])
                values = onnx.node("Concat", [x, onnx.node("Sqrt", [squares], label: "norms")], [.int("axis", rank - 1)])
            }
            let factor = onnx.node("Sigmoid", [onnx.node("Gather", [values, onnx.int64s("source", m.sigmoidSources)], [.int("axis", rank - 1)])])
            // x (1 + touched (factor - 1)): factor where touched, 1 elsewhere.
            let touched = onnx.floats("touched", m.touched.map { $0 ? 1 : 0 })
            let scale = onnx.node("Add", [onnx.node("Mul", [onnx.node("Sub", [factor, one()]), touched]), one()])
            return onnx.node("Mul", [x, scale], label: "normed")
        }

        /// y = x + W(x) x block by block (docs/graph-ir.md), each block as two
        /// Einsums in the order the IR chose, padded to the op's width and summed.
        mutating func bilinear(_ b: Bilinear, _ x: String) -> String {
            let lead = rank - 1
            var total: String? = nil
            for block in b.blocks {
                let (o, i, s) = (block.output, block.input, block.sources.count)
                let entries = o.dimension * i.dimension
                let gather = block.sources.flatMap { start in (0..<entries).map { start + $0 } }
                let sources = reshaped(onnx.node("Gather", [x, onnx.int64s("sources", gather)], [.int("axis", rank - 1)]),
                                       [s, o.dimension, i.dimension], lead: lead)
                let xr = reshaped(channels(x, i.offset, i.offset + i.copies * i.dimension), [i.copies, i.dimension], lead: lead)
                var w = [Float](repeating: 0, count: o.copies * i.copies * s)
                for oc in 0..<o.copies {
                    for ic in 0..<i.copies {
                        for k in 0..<s { w[(oc * i.copies + ic) * s + k] = Float(model.parameters[b.parameters.offset + block.parameter(output: oc, input: ic, source: k)]) }
                    }
                }
                let theta = onnx.floats(b.parameters.name, w, dims: [o.copies, i.copies, s])
                var y: String
                if !block.contractsFirst {
                    let mixed = onnx.node("Einsum", [theta, xr], [.string("equation", "ois,...ic->...osc")])
                    y = onnx.node("Einsum", [mixed, sources], [.string("equation", "...osc,...src->...or")])
                } else {
                    let products = onnx.node("Einsum", [sources, xr], [.string("equation", "...src,...ic->...isr")])
                    y = onnx.node("Einsum", [theta, products], [.string("equation", "ois,...isr->...or")])
                }
                y = reshaped(y, [o.copies * o.dimension], lead: lead)
                let after = b.dimension - o.offset - o.copies * o.dimension
                let pads = Array(repeating: 0, count: rank - 1) + [o.offset] + Array(repeating: 0, count: rank - 1) + [after]
                y = onnx.node("Pad", [y, onnx.int64s("pads", pads)])
                total = total.map { onnx.node("Add", [$0, y]) } ?? y
            }
            guard let total else { return x }
            return onnx.node("Add", [x, total], label: "bilinear")
        }

        /// Channels first, padded (zeros, or the wrapped grid), Conv with W as (out, in, k, ...), channels last.
        mutating func convolution(_ c: Convolution, _ x: String) -> String {
            let d = c.dimension, r = c.kernel / 2
            var y = onnx.node("Transpose", [x], [.ints("perm", [0, d + 1] + Array(1...d))])
            var pads = Array(repeating: r, count: 2 * d)
            if r > 0, model.graph.domain?.padding == .circular {
                for axis in 2..<(2 + d) {  // positions -r..n+r-1 modulo n, for any n
                    let n = onnx.node("Gather", [onnx.node("Shape", [y]), onnx.scalar("axis", axis)])
                    let positions = onnx.node("Range", [onnx.scalar("start", -r), onnx.node("Add", [n, onnx.scalar("r", r)]), onnx.scalar("step", 1)])
                    y = onnx.node("Gather", [y, onnx.node("Mod", [positions, n])], [.int("axis", axis)], label: "wrapped")
                }
                pads = Array(repeating: 0, count: 2 * d)
            }
            let w = c.linear.expanded(model.parameters, transposed: false).map(Float.init)
            let weight = onnx.floats(c.linear.parameters.name, w, dims: [c.linear.outputDimension, c.channels] + Array(repeating: c.kernel, count: d))
            y = onnx.node("Conv", [y, weight], [.ints("pads", pads), .ints("kernel_shape", Array(repeating: c.kernel, count: d))], label: "convolution")
            return onnx.node("Transpose", [y], [.ints("perm", [0] + Array(2..<(d + 2)) + [1])])
        }

        mutating func pool(_ p: Pool, _ x: String) -> String {
            let d = gridDimension
            switch p.pooling {
            case .global, .sum:  // sums pool points, which never reach this back end (Graph.points)
                return onnx.node("ReduceMean", [x], [.ints("axes", Array(1...d)), .int("keepdims", 0)], label: "pooled")
            case .mean(let s):
                let first = onnx.node("Transpose", [x], [.ints("perm", [0, d + 1] + Array(1...d))])
                let pooled = onnx.node("AveragePool", [first], [.ints("kernel_shape", Array(repeating: s, count: d)), .ints("strides", Array(repeating: s, count: d))])
                return onnx.node("Transpose", [pooled], [.ints("perm", [0] + Array(2..<(d + 2)) + [1])], label: "pooled")
            }
        }
    }
}
