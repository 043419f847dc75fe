import EqnnIR

extension Model {
    /// Where a value that is not finite (NaN or infinity) first appears when the
    /// model runs one sample in double precision: the input, its normalization,
    /// an op (named with its layer), the output's scaling; nil if nowhere. What
    /// `run` and `evaluate` report instead of writing NaN.
    public func firstNonFinite(_ sample: [Double], extents: [Int] = [], points: PointBatch? = nil) -> String? {
        let d = graph.input.dimension
        if let k = sample.firstIndex(where: { !$0.isFinite }) { return "the input itself (coordinate \(k % max(1, d)))" }
        let x = sample.enumerated().map { k, v in normalizer.normalizedInput(v, coordinate: k % d) }
        if let k = x.firstIndex(where: { !$0.isFinite }) {
            let c = k % d
            return "the input normalization (coordinate \(c): shift \(normalizer.inputShift[c]), scale \(normalizer.inputScale[c]))"
        }
        let executable = Executable<Double>(self)
        var values = x, shape = extents, cloud = points
        let starts = graph.layerStarts
        for (k, op) in graph.ops.enumerated() {
            let layer = starts.filter { $0 <= k }.count
            executable.apply(op, index: k, &values, samples: 1, extents: &shape, points: &cloud)
            if values.contains(where: { !$0.isFinite }) {
                let weights = op.parameterSlices.flatMap { parameters[$0.offset..<($0.offset + $0.count)] }
                let cause = weights.isEmpty ? "its input was finite"
                    : weights.contains { !$0.isFinite } ? "its weights are not finite"
                    : "its weights reach \(weights.map(abs).max() ?? 0)"
                return "op \(k) (\(op.name) of layer \(layer)): \(cause)"
            }
        }
        let e = graph.output.dimension
        if let k = values.indices.first(where: { !normalizer.denormalizedOutput(values[$0], coordinate: $0 % e).isFinite }) {
            let c = k % e
            return "the output scaling (coordinate \(c): scale \(normalizer.outputScale[c]), shift \(normalizer.outputShift[c]))"
        }
        return nil
    }
}
