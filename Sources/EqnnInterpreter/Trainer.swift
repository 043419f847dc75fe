import EqnnIR
import EqnnLinearAlgebra
import Foundation

public enum Loss: String, Sendable {
    case mse
    /// Softmax cross-entropy on k*Scalar logits; targets are class indices 0..<k.
    case crossEntropy = "cross-entropy"
}

public enum InitializationMode: String, Sendable, CaseIterable {
    case random, data
}

public struct TrainingOptions: Sendable {
    /// Passes over the training set; nil: as many as `steps` optimizer steps take.
    public var epochs: Int? = nil
    /// Samples per step; nil: `defaultBatch`.
    public var batch: Int? = nil
    /// The budget in optimizer steps when `epochs` is nil: about emlp's
    /// min(900,000 / N, 1000) epochs of batches of 500 at N = 1000 (1,800 steps),
    /// whatever the size of the data set.
    public var steps = 2000
    public var learningRate = 3e-3
    public var seed: UInt64 = 0
    public var validationFraction = 0.1
    public var loss = Loss.mse
    /// Forward and backward in float32 (half the work) or float64; the
    /// parameters, Adam's state and the gradient's sum stay in float64.
    public var precision = Precision.f64
    /// Decoupled weight decay (AdamW): every step shrinks theta by
    /// learning rate * weightDecay before Adam's step. 0 turns it off.
    public var weightDecay = 0.0
    /// How theta starts: drawn at random (`Graph.initialScales`), then, with
    /// `.data`, calibrated on a batch of the training inputs (`Calibration`).
    public var initialization = InitializationMode.data
    /// Adam's step per coefficient scaled so that the entries of the weights move
    /// as a plain network's do (`Graph.stepScales`); false: every coefficient by the learning rate.
    public var entryScaledSteps = true

    public init() {}

    /// Samples per batch when none is given: 500 off the grid; on a grid about
    /// 16,384 positions' worth (64 images of 16x16), from 8 to 500 samples.
    public static func defaultBatch(positions: Int) -> Int {
        positions <= 1 ? 500 : min(500, max(8, 16384 / positions))
    }

    /// The batch and the number of epochs for `rows` training samples of `positions` positions each.
    public func schedule(rows: Int, positions: Int) -> (batch: Int, epochs: Int) {
        let batch = max(1, min(self.batch ?? Self.defaultBatch(positions: positions), max(1, rows)))
        if let epochs { return (batch, max(0, epochs)) }  // 0: initialize only
        let stepsPerEpoch = max(1, (rows + batch - 1) / batch)
        return (batch, min(1000, max(1, (steps + stepsPerEpoch - 1) / stepsPerEpoch)))
    }
}

/// Held-out samples to validate on, laid out like the training data.
public struct ValidationSet: Sendable {
    public var x: [Double]
    public var y: [Double]
    public var rows: Int

    public init(x: [Double], y: [Double], rows: Int) {
        self.x = x
        self.y = y
        self.rows = rows
    }
}

public struct EpochReport: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var trainLoss: Double
    public var validationLoss: Double?
    public var learningRate: Double
    public var seconds: Double
}

/// Adam on theta with a cosine learning-rate schedule (after a linear warmup
/// over the first 5% of steps); keeps the parameters with the best
/// validation loss (or the last ones without a validation set), measured
/// after every epoch (every epochs/500-th of longer runs, and the last). A run whose
/// loss stops being finite ends at that epoch (its last report says so) and
/// keeps the best finite epoch; `best` is nil when there was none.
/// Deterministic for a seed: initialization, split and shuffles come from it.
public struct Trainer: Sendable {
    public var options: TrainingOptions

    public init(options: TrainingOptions) {
        self.options = options
    }

    /// Trains on rows of x (n x in) and y (n x out, or n x 1 class indices).
    /// Grid networks: every sample is a grid of `extents` positions, x is
    /// (n, extents..., in) and y (n, output extents..., out or 1).
    /// With `validation` (rows laid out like x and y), every row of x trains
    /// and the validation loss is measured on those rows instead of a
    /// `validationFraction` split off x.
    public func train(graph: Graph, x: [Double], y: [Double], rows n: Int, extents: [Int] = [],
                      validation: ValidationSet? = nil,
                      report: (EpochReport) -> Void) -> (model: Model, best: EpochReport?) {
        let positions = extents.reduce(1, *), outPositions = graph.outputPositions(extents)
        let inDim = graph.input.dimension * positions
        let yDim = (options.loss == .crossEntropy ? 1 : graph.output.dimension) * outPositions
        var rng = SplitMix64(seed: options.seed)
        var order = Array(0..<n)
        order.shuffle(using: &rng)
        let splitCount = heldOut(rows: n, separateValidation: false)
        let validationCount = validation?.rows ?? splitCount
        let held = heldOut(rows: n, separateValidation: validation != nil)
        let validationRows = Array(order.prefix(held))
        let trainRows = Array(order.dropFirst(held))

        func gather(_ data: [Double], _ width: Int, _ rows: ArraySlice<Int>) -> [Double] {
            var out = [Double](); out.reserveCapacity(rows.count * width)
            for r in rows { out.append(contentsOf: data[(r * width)..<(r * width + width)]) }
            return out
        }
        let trainX = gather(x, inDim, trainRows[...]), trainY = gather(y, yDim, trainRows[...])
        var normalizer = Normalizer.identity(input: inDim, output: graph.output.dimension)
        (normalizer.inputShift, normalizer.inputScale) = Normalizer.fit(trainX, rows: trainRows.count * positions, layout: graph.input)
        if options.loss == .mse {
            (normalizer.outputShift, normalizer.outputScale) = Normalizer.fit(trainY, rows: trainRows.count * outPositions,
                                                                              layout: graph.output)
        }
        var model = Model(graph: graph, parameters: Initialization.parameters(for: graph, seed: options.seed), normalizer: normalizer)
        if options.initialization == .data, !trainRows.isEmpty {
            // A batch's worth (its memory is checked), at most a chunk of `outputs`.
            let probe = min(trainRows.count, options.schedule(rows: trainRows.count, positions: positions).batch,
                            model.samplesPerChunk(positions: positions))
            model.parameters = Calibration.calibrated(model, x: Array(trainX.prefix(probe * inDim)), rows: probe, extents: extents,
                                                      classLabels: options.loss == .crossEntropy ? trainY : nil)
        }
        let validationX = validation?.x ?? gather(x, inDim, validationRows[...])
        let validationY = validation?.y ?? gather(y, yDim, validationRows[...])
        let schedule = options.schedule(rows: trainRows.count, positions: positions)
        return optimize(model, samples: trainRows.count, schedule: schedule, rng: &rng, report: report, gradient: { model, rows in
            let bx = gather(trainX, inDim, rows), by = gather(trainY, yDim, rows)
            return options.precision == .f32
                ? parallelGradient(Executable<Float>(model), bx.map(Float.init), by, rows: rows.count, extents: extents)
                : parallelGradient(Executable<Double>(model), bx, by, rows: rows.count, extents: extents)
        }, validationLoss: validationCount == 0 ? nil : { model in
            evaluate(model, validationX, validationY, rows: validationCount, extents: extents)
        })
    }

    /// Adam on `model`'s theta over `samples` training samples in shuffled
    /// batches (`gradient` gives a batch's loss, gradient and batchnorm
    /// statistics), with the schedule, validation and best-epoch keeping of the
    /// type's documentation. Shared by every shape of data.
    func optimize(_ start: Model, samples: Int, schedule: (batch: Int, epochs: Int), rng: inout SplitMix64, report: (EpochReport) -> Void,
                  gradient: (Model, ArraySlice<Int>) -> (Double, [Double], [Double]),
                  validationLoss: ((Model) -> Double)?) -> (model: Model, best: EpochReport?) {
        var model = start
        let graph = model.graph
        let (batch, epochs) = schedule
        let stepsPerEpoch = max(1, (samples + batch - 1) / batch)
        let totalSteps = max(1, stepsPerEpoch * epochs)
        let warmup = max(1, totalSteps / 20)
        var adam = Adam(count: graph.parameterCount)
        if options.entryScaledSteps { adam.stepScales = graph.stepScales }
        let statisticsRanges = graph.statisticsRanges
        var step = 0
        var best: (loss: Double, parameters: [Double], report: EpochReport)? = nil
        var indices = Array(0..<samples)
        let validationInterval = max(1, epochs / 500)
        for epoch in stride(from: 1, through: epochs, by: 1) {
            let start = Date()
            indices.shuffle(using: &rng)
            var epochLoss = 0.0
            var rate = options.learningRate
            for first in stride(from: 0, to: indices.count, by: batch) {
                let rows = indices[first..<min(first + batch, indices.count)]
                let (lossValue, gradient, statistics) = gradient(model, rows)
                let running = statisticsRanges.isEmpty ? [] : model.parameters
                epochLoss += lossValue * Double(rows.count)
                step += 1
                rate = step <= warmup ? options.learningRate * Double(step) / Double(warmup)
                    : options.learningRate * 0.5 * (1 + cos(Double.pi * Double(step - warmup) / Double(max(1, totalSteps - warmup))))
                adam.update(&model.parameters, gradient: gradient, learningRate: rate, weightDecay: options.weightDecay)
                // Batchnorm's running statistics move towards the batch's (never by Adam or weight decay).
                for range in statisticsRanges {
                    for i in range { model.parameters[i] = (1 - BatchNorm.momentum) * running[i] + BatchNorm.momentum * statistics[i] }
                }
            }
            // Many tiny epochs (small data sets) validate at most 500 times, and always at the end.
            let validates = validationLoss != nil && (epoch % validationInterval == 0 || epoch == epochs)
            let validation = validates ? validationLoss?(model) : nil
            let entry = EpochReport(epoch: epoch, epochs: epochs, trainLoss: epochLoss / Double(max(1, indices.count)),
                                    validationLoss: validation, learningRate: rate,
                                    seconds: Date().timeIntervalSince(start))
            report(entry)
            // A loss that is no longer finite has diverged: nothing after it can help.
            guard entry.trainLoss.isFinite, validation?.isFinite ?? true else { break }
            guard validates || validationLoss == nil else { continue }
            let score = validation ?? entry.trainLoss
            if best == nil || score < (best?.loss ?? .infinity) {
                best = (score, model.parameters, entry)
            }
        }
        if let best { model.parameters = best.parameters }
        return (model, best?.report)
    }

    /// Rows of the training data held out for validation (none with a separate validation set).
    public func heldOut(rows n: Int, separateValidation: Bool) -> Int {
        separateValidation || n < 2 ? 0 : min(n - 1, Int((Double(n) * options.validationFraction).rounded()))
    }

    /// Loss and gradient of one batch, its rows split over the cores; the
    /// parts are added in a fixed order, so the result does not depend on timing.
    /// Batchnorm: each part normalizes by its own statistics (ghost batches of
    /// batch / parts samples); the running statistics take their weighted mean.
    func parallelGradient<T>(_ executable: Executable<T>, _ x: [T], _ y: [Double], rows: Int,
                             extents: [Int] = []) -> (Double, [Double], [Double]) {
        let graph = executable.graph
        let parts = min(Trainer.threads, max(1, graph.domain == nil ? rows / 16 : rows))
        let positions = extents.reduce(1, *), outPositions = graph.outputPositions(extents)
        let inDim = graph.input.dimension * positions, outDim = graph.output.dimension
        let yDim = (options.loss == .crossEntropy ? 1 : outDim) * outPositions
        let results = ResultSlots<(Double, [Double], [Double])>(count: parts)
        let deferred = ResultSlots<[Int: LinearGradient<T>]>(count: parts)
        let large = executable.largeDenseBases  // else each part contracts its own, overlapped
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let first = rows * part / parts, last = rows * (part + 1) / parts
            let count = last - first
            var partLoss = 0.0
            let (_, gradient, statistics, _, dense) = executable.gradientAndStatistics(Array(x[(first * inDim)..<(last * inDim)]), batch: count,
                                                                                    extents: extents, deferDense: large) { output in
                let (value, dOutput) = lossAndGradient(output, Array(y[(first * yDim)..<(last * yDim)]), rows: count * outPositions,
                                                       outputs: outDim)
                // Each part's mean is over its own rows; weight it by its share of the batch.
                let share = Double(count) / Double(rows)
                partLoss = value * share
                return dOutput.map { $0 * share }
            }
            results.store(part, (partLoss, gradient, statistics.map { $0 * Double(count) / Double(rows) }))
            deferred.store(part, dense)
        }
        return Trainer.summed(results, deferred, parts: parts, parameters: graph.parameterCount)
    }

    /// `gradient` plus the parts' deferred dense gradients: each op's added over the parts
    /// (in part order) and contracted through its pair bases once, the ops spread over the
    /// cores. Contracting each part's alone read every basis once per core.
    static func contracted<T: BinaryFloatingPoint & SIMDScalar & Sendable>(_ deferred: ResultSlots<[Int: LinearGradient<T>]>, parts: Int, adding gradient: [Double]) -> [Double] {
        var merged: [Int: LinearGradient<T>] = [:]
        for part in 0..<parts {
            for (k, g) in deferred.value(part) ?? [:] {
                if merged[k] == nil { merged[k] = g } else { merged[k]?.add(g) }
            }
        }
        let ops = merged.keys.sorted(), gradients = merged
        guard !ops.isEmpty else { return gradient }
        let pieces = ResultSlots<[Double]>(count: ops.count)
        DispatchQueue.concurrentPerform(iterations: ops.count) { i in
            var piece = [Double](repeating: 0, count: gradient.count)
            gradients[ops[i]]?.accumulate(into: &piece)
            pieces.store(i, piece)
        }
        var total = gradient
        for i in ops.indices {
            guard let piece = pieces.value(i) else { continue }
            for e in total.indices { total[e] += piece[e] }
        }
        return total
    }

    /// The parts' losses, gradients (their deferred dense gradients contracted once: `contracted`)
    /// and batchnorm statistics, added in a fixed order.
    static func summed<T: BinaryFloatingPoint & SIMDScalar & Sendable>(_ results: ResultSlots<(Double, [Double], [Double])>,
                                                                      _ deferred: ResultSlots<[Int: LinearGradient<T>]>, parts: Int,
                                                                      parameters: Int) -> (Double, [Double], [Double]) {
        var loss = 0.0
        var total = [Double](repeating: 0, count: parameters), statistics = total
        for part in 0..<parts {
            guard let (l, g, s) = results.value(part) else { continue }
            loss += l
            for i in total.indices { total[i] += g[i] }
            for i in statistics.indices { statistics[i] += s[i] }
        }
        return (loss, contracted(deferred, parts: parts, adding: total), statistics)
    }

    /// Worker threads for a gradient (the machines have 2 cores).
    public static let threads = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))

    /// The loss of a model on data, in batches (the mean over samples and positions).
    public func evaluate(_ model: Model, _ x: [Double], _ y: [Double], rows: Int, extents: [Int] = []) -> Double {
        evaluation(model, x, y, rows: rows, extents: extents).loss
    }

    /// The loss and, for cross-entropy, the share of labels (one per sample, or per
    /// position on a grid) that the largest logit picks, from one forward pass.
    public func evaluation(_ model: Model, _ x: [Double], _ y: [Double], rows: Int, extents: [Int] = [])
        -> (loss: Double, accuracy: Double?) {
        let outPositions = model.graph.outputPositions(extents), k = model.graph.output.dimension
        return scored(model.outputs(x, rows: rows, extents: extents), y, rows: rows * outPositions, outputs: k)
    }

    /// The loss of `outputs` (rows x k) against `y` and, for cross-entropy, the share of rows the largest logit labels right.
    func scored(_ outputs: [Double], _ y: [Double], rows: Int, outputs k: Int) -> (loss: Double, accuracy: Double?) {
        let loss = lossAndGradient(outputs, y, rows: rows, outputs: k).loss
        guard options.loss == .crossEntropy else { return (loss, nil) }
        var correct = 0
        for (r, label) in y.enumerated() {
            let logits = outputs[(r * k)..<((r + 1) * k)]
            if let best = logits.indices.max(by: { logits[$0] < logits[$1] }), best - r * k == Int(label) { correct += 1 }
        }
        return (loss, Double(correct) / Double(max(1, y.count)))
    }

    /// Mean loss over the batch and its gradient with respect to the output.
    func lossAndGradient(_ output: [Double], _ target: [Double], rows: Int, outputs: Int) -> (loss: Double, gradient: [Double]) {
        var gradient = [Double](repeating: 0, count: output.count)
        var loss = 0.0
        switch options.loss {
        case .mse:
            // Mean over every output coordinate of every sample.
            let scale = 1.0 / Double(max(1, rows * outputs))
            for i in output.indices {
                let d = output[i] - target[i]
                loss += d * d * scale
                gradient[i] = 2 * d * scale
            }
        case .crossEntropy:
            for r in 0..<rows {
                let logits = output[(r * outputs)..<((r + 1) * outputs)]
                let top = logits.max() ?? 0
                let sum = logits.reduce(0.0) { $0 + exp($1 - top) }
                let label = min(max(Int(target[r]), 0), outputs - 1)
                loss += (log(sum) + top - output[r * outputs + label]) / Double(rows)
                for c in 0..<outputs {
                    gradient[r * outputs + c] = (exp(output[r * outputs + c] - top) / sum - (c == label ? 1 : 0)) / Double(rows)
                }
            }
        }
        return (loss, gradient)
    }
}

/// Adam (Kingma and Ba 2015) with the usual constants, and decoupled weight
/// decay (Loshchilov and Hutter 2019) when asked.
struct Adam {
    var m: [Double]
    var v: [Double]
    /// A factor on each coefficient's step (nil: 1 for all).
    var stepScales: [Double]? = nil
    var t = 0
    let beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8

    init(count: Int) {
        m = Array(repeating: 0, count: count)
        v = Array(repeating: 0, count: count)
    }

    mutating func update(_ theta: inout [Double], gradient: [Double], learningRate: Double, weightDecay: Double = 0) {
        t += 1
        let c1 = 1 - pow(beta1, Double(t)), c2 = 1 - pow(beta2, Double(t))
        let shrink = 1 - learningRate * weightDecay
        for i in theta.indices {
            theta[i] *= shrink
            m[i] = beta1 * m[i] + (1 - beta1) * gradient[i]
            v[i] = beta2 * v[i] + (1 - beta2) * gradient[i] * gradient[i]
            theta[i] -= learningRate * (stepScales?[i] ?? 1) * (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
        }
    }
}

/// One slot per worker; each worker writes only its own slot.
final class ResultSlots<Value>: @unchecked Sendable {
    private var slots: [Value?]
    private let lock = NSLock()

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func store(_ index: Int, _ value: Value) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    func value(_ index: Int) -> Value? {
        lock.lock()
        defer { lock.unlock() }
        return slots[index]
    }
}
