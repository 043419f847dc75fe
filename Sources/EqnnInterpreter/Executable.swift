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

    public init(_ model: Model) {
        graph = model.graph
        normalizer = model.normalizer
        plans = model.plans
        weights = zip(model.graph.ops, model.plans).map { op, plan in
            switch op {
            case .linear(let l):
                guard let plan, !plan.dense else { return [l.expanded(model.parameters, transposed: true, as: T.self)] }
                return plan.mixing(l, model.parameters, as: T.self)
            case .bias(let b):
                return [b.basis.expanded(model.parameters, offset: b.parameters.offset, transposed: false, as: T.self)]
            case .bilinear(let b):
                return b.mixing(model.parameters, as: T.self)
            default:
                return []
            }
        }
    }

    /// Runs the network on `batch` rows of the input, the rows split over the cores.
    public func forward(_ input: [T], batch: Int) -> [T] {
        let parts = min(Trainer.threads, batch / 32)
        guard parts > 1 else { return run(input, batch: batch, keepTape: false).output }
        let d = graph.input.dimension
        let results = ResultSlots<[T]>(count: parts)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let first = batch * part / parts, last = batch * (part + 1) / parts
            results.store(part, run(Array(input[(first * d)..<(last * d)]), batch: last - first, keepTape: false).output)
        }
        return (0..<parts).flatMap { results.value($0) ?? [] }
    }

    /// The output and every op's input (and the last op's output), for backward.
    func run(_ input: [T], batch: Int, keepTape: Bool) -> (output: [T], tape: [[T]]) {
        var tape: [[T]] = []
        var x = [T](repeating: 0, count: input.count)
        let d = graph.input.dimension
        for r in 0..<batch {
            for c in 0..<d {
                x[r * d + c] = T((Double(input[r * d + c]) - normalizer.inputShift[c]) / normalizer.inputScale[c])
            }
        }
        for (k, op) in graph.ops.enumerated() {
            if keepTape { tape.append(x) }
            x = apply(op, index: k, x, batch: batch)
        }
        if keepTape { tape.append(x) }
        let e = graph.output.dimension
        for r in 0..<batch {
            for c in 0..<e { x[r * e + c] = T(Double(x[r * e + c]) * normalizer.outputScale[c] + normalizer.outputShift[c]) }
        }
        return (x, tape)
    }

    func apply(_ op: Op, index k: Int, _ x: [T], batch: Int) -> [T] {
        switch op {
        case .linear(let l):
            var y = [T](repeating: 0, count: batch * l.outputDimension)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let xa = xp.baseAddress, let ya = yp.baseAddress else { return }
                    if let plan = plans[k], !plan.dense {
                        StructuredKernels.linearForward(l, plan, mixing: weights[k], x: xa, y: ya, batch: batch)
                    } else {
                        weights[k][0].withUnsafeBufferPointer { wp in
                            guard let wa = wp.baseAddress else { return }
                            MatrixProduct.multiplyAdd(m: batch, n: l.outputDimension, k: l.inputDimension, a: xa, rowStride: l.inputDimension,
                                                      columnStride: 1, b: wa, ldb: l.outputDimension, c: ya, ldc: l.outputDimension)
                        }
                    }
                }
            }
            return y
        case .bias(let b):
            var y = x
            let d = b.basis.rows
            let bias = weights[k][0]
            for r in 0..<batch { for c in 0..<d { y[r * d + c] += bias[c] } }
            return y
        case .bilinear(let b):
            var y = x
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let xa = xp.baseAddress, let ya = yp.baseAddress else { return }
                    StructuredKernels.bilinearForward(b, mixing: weights[k], x: xa, y: ya, batch: batch)
                }
            }
            return y
        case .pointwise(let p):
            return x.map { T(Scalar.value(p.function, Double($0))) }
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
            return y
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
            return y
        }
    }
}

/// Non-generic entry points: code in other modules that called the generic
/// Executable would run it unspecialized, two orders of magnitude slower.
extension Model {
    /// The outputs for `batch` rows, in double precision (weights expanded once per call).
    public func forward(_ input: [Double], batch: Int) -> [Double] {
        Executable<Double>(self).forward(input, batch: batch)
    }

    /// The outputs for any number of rows: the weights expanded once, the rows
    /// run in batches of 1024 to bound the memory of intermediate values.
    public func outputs(_ input: [Double], rows: Int) -> [Double] {
        let executable = Executable<Double>(self)
        let d = graph.input.dimension
        var out: [Double] = []
        out.reserveCapacity(rows * graph.output.dimension)
        for first in stride(from: 0, to: rows, by: 1024) {
            let count = min(1024, rows - first)
            out += executable.forward(Array(input[(first * d)..<((first + count) * d)]), batch: count)
        }
        return out
    }

    /// The same in single precision.
    public func forwardSingle(_ input: [Float], batch: Int) -> [Float] {
        Executable<Float>(self).forward(input, batch: batch)
    }
}
