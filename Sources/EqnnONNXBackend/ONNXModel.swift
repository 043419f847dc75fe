/// An ONNX graph under construction and its serialization (onnx.proto's
/// ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto; field
/// numbers from onnx.proto). Values are named; every node names its output
/// after the op it computes, so that a viewer (Netron) shows the IR's chain.
struct ONNXModel {
    /// The operator set the nodes use: Einsum (12), Pad and Slice with inputs (11), Range (11).
    static let opset = 13
    /// IR version 7 reads opset 13.
    static let irVersion = 7

    enum Attribute {
        case int(String, Int)
        case float(String, Float)
        case ints(String, [Int])
        case string(String, String)
    }

    struct Node {
        var op: String
        var inputs: [String]
        var output: String
        var attributes: [Attribute]
    }

    enum Tensor {
        case float(dims: [Int], values: [Float])
        case int64(dims: [Int], values: [Int])
    }

    /// A graph input or output: float32, each axis a fixed size or a named one.
    struct Value {
        var name: String
        var shape: [Axis]
    }

    enum Axis {
        case fixed(Int)
        case named(String)
    }

    var name: String
    var documentation: String
    var nodes: [Node] = []
    var initializers: [(name: String, tensor: Tensor)] = []
    var inputs: [Value] = []
    var outputs: [Value] = []
    private var counter = 0

    init(name: String, documentation: String) {
        self.name = name
        self.documentation = documentation
    }

    /// A fresh name for a value: `label` and a number.
    mutating func fresh(_ label: String) -> String {
        counter += 1
        return "\(label)_\(counter)"
    }

    /// Adds a node; returns the name of its output.
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], _ attributes: [Attribute] = [], label: String? = nil) -> String {
        let output = fresh(label ?? op.lowercased())
        nodes.append(Node(op: op, inputs: inputs, output: output, attributes: attributes))
        return output
    }

    mutating func constant(_ label: String, _ tensor: Tensor) -> String {
        let name = fresh(label)
        initializers.append((name, tensor))
        return name
    }

    mutating func floats(_ label: String, _ values: [Float], dims: [Int]? = nil) -> String {
        constant(label, .float(dims: dims ?? [values.count], values: values))
    }

    mutating func int64s(_ label: String, _ values: [Int], dims: [Int]? = nil) -> String {
        constant(label, .int64(dims: dims ?? [values.count], values: values))
    }

    mutating func scalar(_ label: String, _ value: Int) -> String { constant(label, .int64(dims: [], values: [value])) }

    // MARK: Serialization

    func serialized(producerVersion: String) -> [UInt8] {
        var w = ProtobufWriter()
        w.int(1, ONNXModel.irVersion)
        w.string(2, "eqnnc")
        w.string(3, producerVersion)
        w.message(7) { g in graph(&g) }
        w.message(8) { set in
            set.string(1, "")
            set.int(2, ONNXModel.opset)
        }
        return w.bytes
    }

    private func graph(_ g: inout ProtobufWriter) {
        for n in nodes {
            g.message(1) { w in
                for input in n.inputs { w.string(1, input) }
                w.string(2, n.output)
                w.string(3, n.output)
                w.string(4, n.op)
                for a in n.attributes { w.message(5) { attribute(a, &$0) } }
            }
        }
        g.string(2, name)
        for (name, tensor) in initializers { g.message(5) { ONNXModel.tensor(name, tensor, &$0) } }
        g.string(10, documentation)
        for v in inputs { g.message(11) { ONNXModel.value(v, &$0) } }
        for v in outputs { g.message(12) { ONNXModel.value(v, &$0) } }
    }

    /// AttributeProto: the name, the value in its type's field, the type (FLOAT 1, INT 2, STRING 3, INTS 7).
    private func attribute(_ a: Attribute, _ w: inout ProtobufWriter) {
        switch a {
        case .float(let name, _), .int(let name, _), .string(let name, _), .ints(let name, _): w.string(1, name)
        }
        switch a {
        case .float(_, let v): w.float(2, v); w.int(20, 1)
        case .int(_, let v): w.int(3, v); w.int(20, 2)
        case .string(_, let v): w.string(4, v); w.int(20, 3)
        case .ints(_, let vs): w.ints(8, vs); w.int(20, 7)
        }
    }

    private static func tensor(_ name: String, _ t: Tensor, _ w: inout ProtobufWriter) {
        var raw: [UInt8] = []
        switch t {
        case .float(let dims, let values):
            w.ints(1, dims)
            w.int(2, 1)  // FLOAT
            raw.reserveCapacity(4 * values.count)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw += $0 } }
        case .int64(let dims, let values):
            w.ints(1, dims)
            w.int(2, 7)  // INT64
            raw.reserveCapacity(8 * values.count)
            for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { raw += $0 } }
        }
        w.string(8, name)
        w.data(9, raw)
    }

    private static func value(_ v: Value, _ w: inout ProtobufWriter) {
        w.string(1, v.name)
        w.message(2) { type in
            type.message(1) { tensor in
                tensor.int(1, 1)  // FLOAT
                tensor.message(2) { shape in
                    for axis in v.shape {
                        shape.message(1) { dim in
                            switch axis {
                            case .fixed(let n): dim.int(1, n)
                            case .named(let s): dim.string(2, s)
                            }
                        }
                    }
                }
            }
        }
    }
}
