import EqnnIR
import EqnnLinearAlgebra
import Foundation

/// Samples of a network on point clouds: every sample's points (with their
/// positions), their features `x` (points x input dimension) and the targets
/// `y`, one row per sample when the network pools its points, else one per
/// point (a class index per row for cross-entropy).
public struct PointSamples: Sendable {
    public var points: PointBatch
    public var x: [Double]
    public var y: [Double]

    public init(points: PointBatch, x: [Double], y: [Double]) {
        self.points = points
        self.x = x
        self.y = y
    }

    public var count: Int { points.samples }

    /// The samples `indices`, in that order, with their features and targets
    /// (`width` values per target row; per point when `perPoint`).
    public func subset(_ indices: [Int], inputs: Int, width: Int, perPoint: Bool) -> PointSamples {
        let (batch, x) = points.gather(indices, self.x, width: inputs)
        var y: [Double] = []
        for s in indices {
            let rows = perPoint ? points.starts[s]..<points.starts[s + 1] : s..<(s + 1)
            y += self.y[(rows.lowerBound * width)..<(rows.upperBound * width)]
        }
        return PointSamples(points: batch, x: x, y: y)
    }
}

extension Graph {
    /// Output rows for `points`: one per sample when pooled, one per point otherwise.
    public func outputRows(_ points: PointBatch) -> Int { poolsPoints ? points.samples : points.total }
}

extension Trainer {
    /// Trains a network on point clouds: as the fixed-shape `train`, with
    /// samples of any number of points (`validation`: held-out samples, else a
    /// `validationFraction` split). Data-dependent initialization calibrates
    /// on a batch of training samples.
    public func train(graph: Graph, samples: PointSamples, validation: PointSamples? = nil,
                      report: (EpochReport) -> Void) -> (model: Model, best: EpochReport?) {
        let inputs = graph.input.dimension, perPoint = !graph.poolsPoints
        let width = options.loss == .crossEntropy ? 1 : graph.output.dimension
        var rng = SplitMix64(seed: options.seed)
        var order = Array(0..<samples.count)
        order.shuffle(using: &rng)
        let held = heldOut(rows: samples.count, separateValidation: validation != nil)
        let train = samples.subset(Array(order.dropFirst(held)), inputs: inputs, width: width, perPoint: perPoint)
        let validation = validation ?? samples.subset(Array(order.prefix(held)), inputs: inputs, width: width, perPoint: perPoint)

        var normalizer = Normalizer.identity(input: inputs, output: graph.output.dimension)
        (normalizer.inputShift, normalizer.inputScale) = Trainer.inputStatistics(graph, train)
        if options.loss == .mse {
            (normalizer.outputShift, normalizer.outputScale) = Trainer.outputStatistics(graph, train)
        }
        var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: options.seed), normalizer: normalizer)
        let schedule = options.schedule(rows: train.count, positions: 1)
        if options.initialization == .data, train.count > 0 {
            let probe = train.subset(Array(0..<min(train.count, schedule.batch)), inputs: inputs, width: width, perPoint: perPoint)
            model.parameters = Calibration.calibrated(model, x: probe.x, rows: probe.count, points: probe.points)
        }
        return optimize(model, samples: train.count, schedule: schedule, rng: &rng, report: report, gradient: { model, rows in
            let batch = train.subset(Array(rows), inputs: inputs, width: width, perPoint: perPoint)
            return options.precision == .f32
                ? parallelGradient(Executable<Float>(model), batch.x.map(Float.init), batch.y, points: batch.points)
                : parallelGradient(Executable<Double>(model), batch.x, batch.y, points: batch.points)
        }, validationLoss: validation.count == 0 ? nil : { model in
            evaluation(model, validation).loss
        })
    }

    /// The input normalizer's statistics: as for any data, but a constant scalar channel
    /// (the 1 of points without species) is scaled to 1, not shifted to 0: a neighbour's
    /// messages are its features times the paths, and features of 0 would leave the first
    /// message layer nothing to send (on e3nn's tetris shapes, 75% against 100%).
    static func inputStatistics(_ graph: Graph, _ samples: PointSamples) -> (shift: [Double], scale: [Double]) {
        var (shift, scale) = Normalizer.fit(samples.x, rows: samples.points.total, layout: graph.input)
        let k = graph.input.dimension
        for block in graph.input.blocks where block.isScalar {
            for c in block.offset..<(block.offset + block.length) {
                guard samples.points.total > 0 else { continue }
                let first = samples.x[c]  // the first point's value of the channel
                guard first != 0, first.isFinite, (0..<samples.points.total).allSatisfy({ samples.x[$0 * k + c] == first }) else { continue }
                (shift[c], scale[c]) = (0, abs(first))
            }
        }
        return (shift, scale)
    }

    /// The output normalizer's statistics: as for any data, but for a network
    /// that sums its points a scalar's shift is per point (its total over the
    /// total of points), and its scale the standard deviation of what remains.
    static func outputStatistics(_ graph: Graph, _ samples: PointSamples) -> (shift: [Double], scale: [Double]) {
        let k = graph.output.dimension
        guard graph.sumsPoints else { return Normalizer.fit(samples.y, rows: samples.y.count / max(1, k), layout: graph.output) }
        let total = Double(max(1, samples.points.total))
        var shift = [Double](repeating: 0, count: k)
        for block in graph.output.blocks where block.isScalar {
            for c in block.offset..<(block.offset + block.length) {
                shift[c] = (0..<samples.count).reduce(0.0) { $0 + samples.y[$1 * k + c] } / total
            }
        }
        var residual = samples.y
        for s in 0..<samples.count { for c in 0..<k { residual[s * k + c] -= Double(samples.points.counts[s]) * shift[c] } }
        return (shift, Normalizer.fit(residual, rows: samples.count, layout: graph.output).scale)
    }

    /// Loss and gradient of a batch of point clouds, its samples split over the
    /// cores (parts added in a fixed order).
    func parallelGradient<T>(_ executable: Executable<T>, _ x: [T], _ y: [Double], points: PointBatch) -> (Double, [Double], [Double]) {
        let graph = executable.graph
        let samples = points.samples, parts = min(Trainer.threads, max(1, samples))
        let inputs = graph.input.dimension, outputs = graph.output.dimension
        let width = options.loss == .crossEntropy ? 1 : outputs
        let rows = graph.outputRows(points)
        let results = ResultSlots<(Double, [Double], [Double])>(count: parts)
        let deferred = ResultSlots<[Int: LinearGradient<T>]>(count: parts)
        let large = executable.largeDenseBases  // else each part contracts its own, overlapped
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let first = samples * part / parts, last = samples * (part + 1) / parts
            let cloud = points.slice(first..<last)
            let (from, to) = (points.starts[first], points.starts[last])
            let outputRows = graph.poolsPoints ? (first, last) : (from, to)
            let count = outputRows.1 - outputRows.0
            var partLoss = 0.0
            let (_, gradient, statistics, _, dense) = executable.gradientAndStatistics(Array(x[(from * inputs)..<(to * inputs)]),
                                                                                       batch: last - first, points: cloud,
                                                                                       deferDense: large) { output in
                let (value, dOutput) = lossAndGradient(output, Array(y[(outputRows.0 * width)..<(outputRows.1 * width)]), rows: count,
                                                       outputs: outputs)
                let share = Double(count) / Double(max(1, rows))
                partLoss = value * share
                return dOutput.map { $0 * share }
            }
            results.store(part, (partLoss, gradient, statistics.map { $0 * Double(count) / Double(max(1, rows)) }))
            deferred.store(part, dense)
        }
        return Trainer.summed(results, deferred, parts: parts, parameters: graph.parameterCount)
    }

    /// The loss (the mean over output rows) and, for cross-entropy, the share of labels the largest logit picks.
    public func evaluation(_ model: Model, _ samples: PointSamples) -> (loss: Double, accuracy: Double?) {
        let outputs = model.outputs(samples.x, rows: samples.count, points: samples.points)
        return scored(outputs, samples.y, rows: model.graph.outputRows(samples.points), outputs: model.graph.output.dimension)
    }
}
