import EqnnIR

/// IR to C: one header and one source per network, C99 with nothing beyond
/// libc and libm, no heap allocation, no mutable globals (thread-safe), and
/// byte-identical output for identical input.
public enum CBackend {
    public enum Precision: String, Sendable {
        case f32, f64
    }

    /// Weights to bake in: theta and the normalizer arrays.
    public struct Weights: Sendable {
        public var parameters: [Double]
        public var inputShift: [Double]
        public var inputScale: [Double]
        public var outputShift: [Double]
        public var outputScale: [Double]
        /// Where they came from, for the header comment.
        public var origin: String

        public init(parameters: [Double], inputShift: [Double], inputScale: [Double], outputShift: [Double],
                    outputScale: [Double], origin: String) {
            self.parameters = parameters
            self.inputShift = inputShift
            self.inputScale = inputScale
            self.outputShift = outputShift
            self.outputScale = outputScale
            self.origin = origin
        }
    }

    public struct Source: Sendable {
        public var name: String
        /// `<name>.h` and `<name>.c`.
        public var header: String
        public var implementation: String
    }

    public struct Description: Sendable {
        public var sourceFile: String
        public var group: String
        public var layers: [String]
        public var version: String

        public init(sourceFile: String, group: String, layers: [String], version: String) {
            self.sourceFile = sourceFile
            self.group = group
            self.layers = layers
            self.version = version
        }
    }

    /// snake_case of a network name ("CenterOfMass" -> "center_of_mass").
    public static func snakeCase(_ name: String) -> String {
        var out = ""
        let chars = Array(name)
        for (k, c) in chars.enumerated() {
            if c.isUppercase {
                let previous = k > 0 ? chars[k - 1] : " "
                let next = k + 1 < chars.count ? chars[k + 1] : " "
                if k > 0 && (previous.isLowercase || previous.isNumber || (previous.isUppercase && next.isLowercase)) { out += "_" }
                out += c.lowercased()
            } else if c.isLetter || c.isNumber {
                out.append(c)
            } else {
                out += "_"
            }
        }
        if let first = out.first, first.isNumber { out = "n_" + out }
        return out
    }

    /// `structured`: use structured kernels where every block pair allows (else dense everywhere).
    public static func generate(_ graph: Graph, weights: Weights, precision: Precision, description: Description,
                                structured: Bool = true) -> Source {
        var emitter = Emitter(graph: graph, weights: weights, precision: precision, description: description, structured: structured)
        return emitter.emit()
    }
}
