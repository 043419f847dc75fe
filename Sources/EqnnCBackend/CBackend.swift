import EqnnIR

/// IR to C: one header and one source per network, C99 with nothing beyond
/// libc and libm, no heap allocation, no mutable globals (thread-safe), and
/// byte-identical output for identical input.
public enum CBackend {
    public typealias Precision = EqnnIR.Precision

    public struct Source: Sendable {
        public var name: String
        /// `<name>.h` and `<name>.c`.
        public var header: String
        public var implementation: String
        /// The grid's axes (the graph's domain); 0 for networks on vectors, whose
        /// forward takes no extents.
        public var gridAxes: Int
        /// Networks on points: the dimension of the points' space (0 otherwise); forward
        /// then takes each sample's count and positions.
        public var pointAxes: Int

        public init(name: String, header: String, implementation: String, gridAxes: Int, pointAxes: Int = 0) {
            self.name = name
            self.header = header
            self.implementation = implementation
            self.gridAxes = gridAxes
            self.pointAxes = pointAxes
        }
    }

    /// What the generated files say they came from.
    public struct Origin: Sendable {
        /// The .eqnn file, the eqnnc version, and where the baked weights came from.
        public var sourceFile: String
        public var version: String
        public var weights: String

        public init(sourceFile: String, version: String, weights: String) {
            self.sourceFile = sourceFile
            self.version = version
            self.weights = weights
        }
    }

    /// C for a model (its graph, theta and normalizer, baked in). `structured`: follow the
    /// cost model of each linear op's plan (else every linear op dense). The C
    /// runs inference: batchnorm is folded into the weights before it (Model.foldingBatchNorm).
    public static func generate(_ model: Model, precision: Precision, origin: Origin, structured: Bool = true) -> Source {
        var emitter = Emitter(model: model.foldingBatchNorm(), precision: precision, origin: origin, structured: structured)
        return emitter.emit()
    }
}
