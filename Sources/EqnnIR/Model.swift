/// Per-coordinate affine maps applied before and after the network, fitted on
/// training data without breaking equivariance: a scalar (invariant) channel
/// is shifted by its mean and scaled by its standard deviation; every other
/// block is only scaled, by one number (its root-mean-square coordinate), so
/// the group still acts the same way on it. A network that sums its points
/// (`pool sum`) shifts each output by the sample's number of points times the
/// shift (an energy of n atoms: n energies per atom): `denormalizedOutput(_:coordinate:points:)`.
public struct Normalizer: Sendable, Equatable {
    public var inputShift: [Double]
    public var inputScale: [Double]
    public var outputShift: [Double]
    public var outputScale: [Double]

    /// Input coordinate c of a raw value, as the network sees it.
    @inlinable public func normalizedInput(_ v: Double, coordinate c: Int) -> Double { (v - inputShift[c]) / inputScale[c] }
    /// Output coordinate c of the network's value, in the data's units.
    @inlinable public func denormalizedOutput(_ v: Double, coordinate c: Int) -> Double { v * outputScale[c] + outputShift[c] }
    /// The same for a sample of `points` points of a network that sums them (the shift is per point).
    @inlinable public func denormalizedOutput(_ v: Double, coordinate c: Int, points: Int) -> Double {
        v * outputScale[c] + Double(points) * outputShift[c]
    }

    public static func identity(input: Int, output: Int) -> Normalizer {
        Normalizer(inputShift: Array(repeating: 0, count: input), inputScale: Array(repeating: 1, count: input),
                   outputShift: Array(repeating: 0, count: output), outputScale: Array(repeating: 1, count: output))
    }

    /// Why shifts and scales break the symmetry on a layout, or nil: a
    /// non-scalar block may only be scaled, by one number, and never shifted
    /// (the group moves its coordinates into each other).
    public static func symmetryViolation(shift: [Double], scale: [Double], layout: Layout) -> String? {
        for block in layout.blocks where !block.isScalar {
            let range = block.offset..<(block.offset + block.length)
            if let c = range.first(where: { shift[$0] != 0 }) {
                return "coordinate \(c) of the \(block.name) block at \(block.offset) is shifted by \(shift[c])"
            }
            if let c = range.first(where: { scale[$0] != scale[block.offset] }) {
                return "the \(block.name) block at \(block.offset) is scaled by \(scale[block.offset]) and by \(scale[c]) (coordinate \(c))"
            }
        }
        return nil
    }

    /// Statistics of `data` (rows of `layout.dimension`) per block of the layout.
    public static func fit(_ data: [Double], rows: Int, layout: Layout) -> (shift: [Double], scale: [Double]) {
        let d = layout.dimension
        var shift = [Double](repeating: 0, count: d)
        var scale = [Double](repeating: 1, count: d)
        guard rows > 0 else { return (shift, scale) }
        for block in layout.blocks {
            let range = block.offset..<(block.offset + block.length)
            // Statistics relative to the block's largest magnitude, so that features of
            // any scale (1e-12 or 1e200) are standardized, never taken for constants.
            var largest = 0.0
            for r in 0..<rows { for c in range { largest = max(largest, abs(data[r * d + c])) } }
            guard largest > 0, largest.isFinite else { continue }
            if block.isScalar {
                for c in range {
                    var mean = 0.0
                    for r in 0..<rows { mean += data[r * d + c] / largest }
                    mean /= Double(rows)
                    var variance = 0.0
                    for r in 0..<rows { variance += (data[r * d + c] / largest - mean) * (data[r * d + c] / largest - mean) }
                    variance /= Double(rows)
                    shift[c] = mean * largest
                    // Constant (to rounding) relative to its own size: shifted, not scaled.
                    scale[c] = variance > 1e-24 * max(mean * mean, 1e-300) ? variance.squareRoot() * largest : 1
                }
            } else {
                var sum = 0.0
                for r in 0..<rows { for c in range { sum += (data[r * d + c] / largest) * (data[r * d + c] / largest) } }
                let rms = (sum / Double(rows * block.length)).squareRoot() * largest
                for c in range { scale[c] = rms > 0 && rms.isFinite ? rms : 1 }
            }
        }
        return (shift, scale)
    }
}

/// A graph with its parameters: what `run`, `train` and `verify` execute.
public struct Model: Sendable {
    /// Fixed at init: the plans are derived from it.
    public let graph: Graph
    public var parameters: [Double]
    public var normalizer: Normalizer
    /// How each linear op runs (nil for the other ops), derived from the graph once.
    public var plans: [LinearPlan?]

    public init(graph: Graph, parameters: [Double], normalizer: Normalizer? = nil) {
        self.graph = graph
        plans = graph.ops.map { op in op.linearMap.map { LinearPlan($0) } }
        self.parameters = parameters
        self.normalizer = normalizer ?? .identity(input: graph.input.dimension, output: graph.output.dimension)
    }

    /// With plans already derived for these ops.
    init(graph: Graph, parameters: [Double], normalizer: Normalizer, plans: [LinearPlan?]) {
        self.graph = graph
        self.parameters = parameters
        self.normalizer = normalizer
        self.plans = plans
    }
}

extension Model {
    /// The network up to the end of hidden layer `layer` (1-based: the ops before
    /// the next layer's linear map, with which every layer starts), its output that
    /// layer's features unnormalized: what `verify` measures layer by layer. Nil
    /// unless `layer` is a hidden layer.
    public func prefix(throughLayer layer: Int) -> Model? {
        let starts = graph.layerStarts
        guard layer >= 1, layer < starts.count, starts.count == graph.layers.count - 1 else { return nil }
        let summary = graph.layers[layer], end = starts[layer]
        var prefix = graph
        prefix.ops = Array(graph.ops[0..<end])
        prefix.layers = Array(graph.layers[0...layer])
        prefix.output = Layout(representation: summary.representation, dimension: summary.dimension, blocks: [])
        var unscaled = normalizer
        unscaled.outputShift = Array(repeating: 0, count: summary.dimension)
        unscaled.outputScale = Array(repeating: 1, count: summary.dimension)
        return Model(graph: prefix, parameters: parameters, normalizer: unscaled, plans: Array(plans[0..<end]))
    }
}
