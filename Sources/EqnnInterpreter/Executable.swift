import EqnnIR
import Foundation

/// A graph prepared to run: per linear op either the mixing matrices of its
/// structured plan or, where the cost model prefers it, the expanded dense
/// weights; built once per parameter vector (per forward pass or optimizer
/// step), never per sample, and proportional to the parameters otherwise.
public struct Executable<T: BinaryFloatingPoint & SIMDScalar & Sendable>: Sendable {
    public let graph: Graph
    let plans: [LinearPlan?]
    /// Per op: linear: the stacks' mixing matrices, or one entry, the dense W^T
    /// (in x out); bias: one entry, the dense bias; bilinear: the blocks' mixing matrices.
    let weights: [[[T]]]
    let normalizer: Normalizer
    /// theta itself, for the message ops' radial networks (read in double precision).
    let parameters: [Double]
    /// Whether the dense pair bases hold over a million entries in all (steerable kernels:
    /// megabytes each, read from memory at every training step, once to expand the weights
    /// and once to contract their gradient): then both run on the cores at once.
    let largeDenseBases: Bool

    public init(_ model: Model) {
        graph = model.graph
        normalizer = model.normalizer
        parameters = model.graph.points == nil ? [] : model.parameters
        plans = model.plans
        let ops = model.graph.ops
        largeDenseBases = ops.reduce(0) { $0 + ($1.linearMap?.bases.reduce(0) { $0 + ($1.dense?.count ?? 0) } ?? 0) } > 1 << 20
        weights = Executable.prepared(model, parallel: largeDenseBases)
    }

    /// Each op's weights (see `weights`), on the cores at once when asked (large bases).
    private static func prepared(_ model: Model, parallel: Bool) -> [[[T]]] {
        let ops = model.graph.ops
        guard Trainer.threads > 1, parallel else { return ops.indices.map { weights(model, op: $0) } }
        let slots = ResultSlots<[[T]]>(count: ops.count)
        DispatchQueue.concurrentPerform(iterations: ops.count) { k in slots.store(k, weights(model, op: k)) }
        return ops.indices.map { slots.value($0) ?? [] }
    }

    /// Op k's weights.
    private static func weights(_ model: Model, op k: Int) -> [[T]] {
        let op = model.graph.ops[k], plan = model.plans[k]
        if let l = op.linearMap {
            guard let plan = plan.structured else {
                let wt = DenseBases.expandedTransposed(l, model.parameters, as: T.self)
                guard case .convolution(let c) = op else { return [wt] }
                return [c.offsetMajorRows(wt)]
            }
            return plan.mixing(l, model.parameters, as: T.self)
        }
        switch op {
        case .bias(let b):
            return [b.basis.expanded(model.parameters, offset: b.parameters.offset, transposed: false, as: T.self)]
        case .bilinear(let b):
            return b.mixing(model.parameters, as: T.self)
        case .batchNorm(let n):
            return BatchNormKernels.running(n, model.parameters).map { $0.map { T($0) } }
        default:
            return []
        }
    }

    /// Whether op k is a convolution run in the dense form (offset-major neighbourhoods).
    func denseConvolution(_ k: Int) -> Bool { plans[k].structured == nil }

    /// Runs the network on `batch` samples of the input, split over the cores.
    /// Grid networks: each sample is a grid of `extents` positions (checked
    /// against the pools with `Graph.outputExtents` by the caller). Networks on
    /// point clouds: `points` gives each sample's points (the input has a row per point).
    public func forward(_ input: [T], batch: Int, extents: [Int] = [], points: PointBatch? = nil) -> [T] {
        let positions = extents.reduce(1, *)
        let parts = min(Trainer.threads, graph.domain == nil && points == nil ? batch / 32 : batch)
        guard parts > 1 else { return run(input, batch: batch, extents: extents, points: points, tape: .none).output }
        let d = graph.input.dimension * positions
        let results = ResultSlots<[T]>(count: parts)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let first = batch * part / parts, last = batch * (part + 1) / parts
            let rows = points.map { ($0.starts[first], $0.starts[last]) } ?? (first, last)
            results.store(part, run(Array(input[(rows.0 * d)..<(rows.1 * d)]), batch: last - first, extents: extents,
                                    points: points?.slice(first..<last), tape: .none).output)
        }
        return (0..<parts).flatMap { results.value($0) ?? [] }
    }

    /// The output and, per `tape`, every op's input (and the last op's output) with its
    /// extents and its points (nil once pooled), for backward. With a tape,
    /// batchnorm normalizes by the batch's statistics (training); without, by the running ones.
    func run(_ input: [T], batch: Int, extents: [Int] = [], points: PointBatch? = nil, tape keeping: Tape)
        -> (output: [T], tape: [[T]], shapes: [[Int]], clouds: [PointBatch?], pairs: [Int: MessageKernels.Pairs]) {
        let keepTape = keeping != .none
        var tape: [[T]] = [], shapes: [[Int]] = [], clouds: [PointBatch?] = [], pairs: [Int: MessageKernels.Pairs] = [:]
        var x = [T](repeating: 0, count: input.count)
        var extents = extents, points = points
        let counts = points?.counts
        let d = graph.input.dimension
        for r in 0..<(points?.total ?? batch * extents.reduce(1, *)) {
            for c in 0..<d {
                x[r * d + c] = T(normalizer.normalizedInput(Double(input[r * d + c]), coordinate: c))
            }
        }
        for (k, op) in graph.ops.enumerated() {
            // An entry that backward never reads is left empty, so the op may update x in place.
            if keepTape { tape.append(keeping == .all || backwardReads(entry: k) ? x : []); shapes.append(extents); clouds.append(points) }
            if keepTape, case .message(let m) = op, let cloud = points {
                // Its pairs' geometry and radial network, kept for backward.
                let found = MessageKernels.pairs(m, cloud, theta: parameters)
                pairs[k] = found
                x = MessageKernels.forward(m, x, found, total: cloud.total)
                continue
            }
            apply(op, index: k, &x, samples: batch, extents: &extents, points: &points, training: keepTape)
        }
        if keepTape { tape.append(x); shapes.append(extents); clouds.append(points) }
        let e = graph.output.dimension
        if graph.sumsPoints, let counts {
            for r in 0..<batch {
                for c in 0..<e { x[r * e + c] = T(normalizer.denormalizedOutput(Double(x[r * e + c]), coordinate: c, points: counts[r])) }
            }
            return (x, tape, shapes, clouds, pairs)
        }
        for r in 0..<(points?.total ?? batch * extents.reduce(1, *)) {
            for c in 0..<e { x[r * e + c] = T(normalizer.denormalizedOutput(Double(x[r * e + c]), coordinate: c)) }
        }
        return (x, tape, shapes, clouds, pairs)
    }

    /// y = W x for `rows` rows, by the op's plan or its dense weights.
    func applyLinear(_ l: Linear, index k: Int, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, rows: Int) {
        if let plan = plans[k].structured {
            StructuredKernels.linearForward(l, plan, mixing: weights[k], x: x, y: y, batch: rows)
        } else {
            weights[k][0].withUnsafeBufferPointer { wp in
                guard let wa = wp.baseAddress else { return }
                MatrixProduct.multiplyAdd(m: rows, n: l.outputDimension, k: l.inputDimension, a: x, rowStride: l.inputDimension,
                                          columnStride: 1, b: wa, ldb: l.outputDimension, c: y, ldc: l.outputDimension)
            }
        }
    }

    /// One op on `samples` samples of `extents` positions each (rows = samples x
    /// positions), or of `points` (rows = their points): x becomes its output, the
    /// extents and points those of its output (a pool's: pooled, and no points).
    func apply(_ op: Op, index k: Int, _ x: inout [T], samples: Int, extents: inout [Int], points: inout PointBatch?,
               training: Bool = false) {
        let rows = points?.total ?? samples * extents.reduce(1, *)
        switch op {
        case .convolution(let c):
            x = convolve(c, index: k, x, samples: samples, extents: extents)
        case .pool(let p):
            if let cloud = points {
                x = PointKernels.poolForward(p, x, cloud)
                extents = []
            } else {
                (x, extents) = GridKernels.poolForward(p, x, samples: samples, extents: extents)
            }
            points = nil
        case .message(let m):
            guard let points else { return }  // the verified graph has points
            x = MessageKernels.forward(m, x, points, theta: parameters)
        case .batchNorm(let n):
            let w = weights[k].map { $0.map(Double.init) }
            let (mean, variance) = training ? BatchNormKernels.statistics(n, x, rows: rows) : (w[2], w[3])
            x = BatchNormKernels.forward(n, x, rows: rows, gamma: w[0], beta: w[1], mean: mean, variance: variance)
        default:
            apply(op, index: k, &x, batch: rows)
        }
    }

    /// A convolution, tile by tile: gather the neighbourhoods, one linear map.
    func convolve(_ c: Convolution, index k: Int, _ x: [T], samples: Int, extents: [Int]) -> [T] {
        let grid = GridGeometry(extents, circular: graph.domain?.padding == .circular)
        let rows = samples * grid.positions, width = c.linear.inputDimension, tile = c.rowsPerTile
        var y = [T](repeating: 0, count: rows * c.linear.outputDimension)
        var columns = [T](repeating: 0, count: tile * width)
        let table = grid.neighbourTable(kernel: c.kernel)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                columns.withUnsafeMutableBufferPointer { cp in
                    guard let xa = xp.baseAddress, let ya = yp.baseAddress, let ca = cp.baseAddress else { return }
                    for first in stride(from: 0, to: rows, by: tile) {
                        let range = first..<min(rows, first + tile)
                        GridKernels.gatherNeighbourhoods(c, grid, table: table, x: xa, rows: range, into: ca, offsetMajor: denseConvolution(k))
                        applyLinear(c.linear, index: k, x: ca, y: ya + first * c.linear.outputDimension, rows: range.count)
                    }
                }
            }
        }
        return y
    }

    /// One op acting on each row alone, on x in place where it can (bias, pointwise:
    /// the caller keeps a copy when it needs the input).
    func apply(_ op: Op, index k: Int, _ x: inout [T], batch: Int) {
        switch op {
        case .convolution, .pool, .batchNorm, .message:
            return  // spatial or batch-wide: handled by apply(_:index:_:samples:extents:points:training:)
        case .linear(let l):
            var y = [T](repeating: 0, count: batch * l.outputDimension)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let xa = xp.baseAddress, let ya = yp.baseAddress else { return }
                    applyLinear(l, index: k, x: xa, y: ya, rows: batch)
                }
            }
            x = y
        case .bias:
            Elementwise.addRows(&x, weights[k][0])
        case .bilinear(let b):
            var y = x
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let xa = xp.baseAddress, let ya = yp.baseAddress else { return }
                    StructuredKernels.bilinearForward(b, mixing: weights[k], x: xa, y: ya, batch: batch)
                }
            }
            x = y
        case .pointwise(let p):
            Scalar.apply(p.function, &x)
        case .gate(let g):
            var y = [T](repeating: 0, count: batch * g.outputDimension)
            for r in 0..<batch {
                let xin = r * g.inputDimension, yout = r * g.outputDimension
                for c in g.scalars { y[yout + c] = T(Scalar.value(.silu, Double(x[xin + c]))) }
                for block in g.blocks {
                    let s = T(Scalar.sigmoid(Double(x[xin + block.gate])))
                    for c in block.offset..<(block.offset + block.length) { y[yout + c] = x[xin + c] * s }
                }
            }
            x = y
        case .norm(let n):
            var y = x
            for r in 0..<batch {
                let base = r * n.dimension
                for c in n.scalars { y[base + c] = T(Scalar.value(.silu, Double(x[base + c]))) }
                for block in n.blocks {
                    var squares = 0.0
                    for c in block.offset..<(block.offset + block.length) { squares += Double(x[base + c]) * Double(x[base + c]) }
                    let s = T(Scalar.sigmoid(squares.squareRoot()))
                    for c in block.offset..<(block.offset + block.length) { y[base + c] = x[base + c] * s }
                }
            }
            x = y
        }
    }

    /// Whether backward reads tape entry k: op k's input, or op k - 1's output
    /// (a relu's derivative reads its output); the last entry is the output.
    func backwardReads(entry k: Int) -> Bool {
        let ops = graph.ops
        if k == ops.count { return true }
        if k > 0, case .pointwise(let p) = ops[k - 1], p.function == .relu { return true }
        switch ops[k] {
        case .bias, .pool: return false
        case .pointwise(let p): return p.function != .relu
        default: return true
        }
    }
}

/// Which op inputs `Executable.run` keeps: none (inference), all of them, or
/// those that backward reads (training: the others are updated in place).
enum Tape { case none, all, backward }

/// Non-generic entry points: code in other modules that called the generic
/// Executable would run it unspecialized, two orders of magnitude slower.
extension Model {
    /// The outputs for `batch` samples (of `extents` positions on a grid), in
    /// double precision (weights expanded once per call).
    public func forward(_ input: [Double], batch: Int, extents: [Int] = [], points: PointBatch? = nil) -> [Double] {
        Executable<Double>(self).forward(input, batch: batch, extents: extents, points: points)
    }

    /// The outputs for any number of samples: the weights expanded once, the
    /// samples run in batches of about 1024 positions' worth (at least one
    /// sample) to bound the memory of intermediate values; point clouds in
    /// batches of about 65,536 points.
    public func outputs(_ input: [Double], rows: Int, extents: [Int] = [], points: PointBatch? = nil) -> [Double] {
        let executable = Executable<Double>(self)
        let positions = extents.reduce(1, *)
        let d = graph.input.dimension * positions
        if let points {
            var out: [Double] = [], first = 0
            while first < rows {
                var last = first + 1
                while last < rows, points.starts[last + 1] - points.starts[first] <= 65536 { last += 1 }
                let (from, to) = (points.starts[first] * d, points.starts[last] * d)
                out += executable.forward(Array(input[from..<to]), batch: last - first, points: points.slice(first..<last))
                first = last
            }
            return out
        }
        let chunk = samplesPerChunk(positions: positions)
        var out: [Double] = []
        for first in stride(from: 0, to: rows, by: chunk) {
            let count = min(chunk, rows - first)
            out += executable.forward(Array(input[(first * d)..<((first + count) * d)]), batch: count, extents: extents)
        }
        return out
    }

    /// Samples `outputs` runs at once: 1,024 rows, or about 65,536 positions on a grid (at least one sample).
    public func samplesPerChunk(positions: Int) -> Int {
        max(1, graph.domain == nil ? 1024 : 65536 / max(1, positions))
    }

    /// The same in single precision.
    public func forwardSingle(_ input: [Float], batch: Int, extents: [Int] = [], points: PointBatch? = nil) -> [Float] {
        Executable<Float>(self).forward(input, batch: batch, extents: extents, points: points)
    }
}
