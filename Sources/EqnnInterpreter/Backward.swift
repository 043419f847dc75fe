import EqnnIR

/// Backpropagation, written by hand per op, in the executable's precision;
/// the parameters' gradient is accumulated in double precision.
extension Executable {
    /// The output for `batch` samples (of `extents` positions on a grid) and a
    /// function from dL/d(output) to dL/d(theta).
    func gradient(_ input: [T], batch: Int, extents: [Int] = [], points: PointBatch? = nil, outputGradient: ([Double]) -> [Double])
        -> (output: [Double], gradient: [Double]) {
        let result = gradientAndStatistics(input, batch: batch, extents: extents, points: points, outputGradient: outputGradient)
        return (result.output, result.gradient)
    }

    /// The same, and the batch's statistics of every batchnorm op, laid out as
    /// their `statistics` slices of theta (zero elsewhere), for the running averages.
    /// On point clouds, with `positionGradient`, also dL/d(positions) (points x d).
    /// With `deferDense`, the dense ops' dW are returned by op instead of added to the
    /// gradient (the trainer adds the cores' and contracts them once: `Trainer.contracted`).
    func gradientAndStatistics(_ input: [T], batch: Int, extents: [Int] = [], points: PointBatch? = nil,
                               positionGradient: Bool = false, deferDense: Bool = false, outputGradient: ([Double]) -> [Double])
        -> (output: [Double], gradient: [Double], statistics: [Double], positions: [Double]?, deferred: [Int: LinearGradient<T>]) {
        let (result, tape, shapes, clouds, pairs) = run(input, batch: batch, extents: extents, points: points, tape: .backward)
        var dPositions: [Double]? = positionGradient ? points.map { [Double](repeating: 0, count: $0.positions.count) } : nil
        let output = result.map(Double.init)
        let e = graph.output.dimension
        let scaled = outputGradient(output)
        var dy = [T](repeating: 0, count: scaled.count)
        for r in 0..<(dy.count / max(1, e)) { for c in 0..<e { dy[r * e + c] = T(scaled[r * e + c] * normalizer.outputScale[c]) } }
        var dTheta = [Double](repeating: 0, count: graph.parameterCount)
        var statistics = [Double](repeating: 0, count: graph.parameterCount)
        var deferred: [Int: LinearGradient<T>]? = deferDense ? [:] : nil
        for k in stride(from: graph.ops.count - 1, through: 0, by: -1) {
            let rows = clouds[k]?.total ?? batch * shapes[k].reduce(1, *)
            switch graph.ops[k] {
            case .batchNorm(let n):
                let (mean, variance) = BatchNormKernels.statistics(n, tape[k], rows: rows)
                for (f, index) in n.indices().enumerated() {
                    if let m = index.mean { statistics[m] = mean[f] }
                    statistics[index.variance] = variance[f]
                }
                dy = BatchNormKernels.backward(n, tape[k], dy: dy, rows: rows, mean: mean, variance: variance,
                                               gamma: weights[k][0].map(Double.init), dTheta: &dTheta)
            case .convolution(let c):
                // The first op's dx would be the input's gradient, which nothing reads.
                dy = convolutionBackward(c, index: k, input: tape[k], dy: dy, samples: batch, extents: shapes[k], dTheta: &dTheta,
                                         deferred: &deferred, inputGradient: k > 0)
            case .pool(let p):
                if let cloud = clouds[k] {
                    dy = PointKernels.poolBackward(p, dy, cloud)
                } else {
                    dy = GridKernels.poolBackward(p, dy, samples: batch, extents: shapes[k])
                }
            case .message(let m):
                guard let cloud = clouds[k], let found = pairs[k] else { continue }  // the verified graph has points
                dy = MessageKernels.backward(m, tape[k], found, total: cloud.total, theta: parameters, dy: dy, dTheta: &dTheta,
                                             dPositions: &dPositions)
            default:
                backward(graph.ops[k], index: k, input: tape[k], output: tape[k + 1], dy: &dy, batch: rows, dTheta: &dTheta,
                         deferred: &deferred, inputGradient: k > 0)
            }
        }
        return (output, dTheta, statistics, dPositions, deferred ?? [:])
    }

    /// Adds op k's gradient to dTheta, or keeps it in `deferred` (when given) if it is dense.
    func finish(_ gradient: LinearGradient<T>, op k: Int, into dTheta: inout [Double], deferred: inout [Int: LinearGradient<T>]?) {
        if deferred != nil, gradient.isDense {
            deferred?[k] = gradient
        } else {
            gradient.accumulate(into: &dTheta)
        }
    }

    /// A convolution's backward, tile by tile as forward: the neighbourhoods
    /// gathered again, the linear map's backward, the gradient scattered back.
    /// Without `inputGradient`, dx is neither computed nor returned (empty).
    func convolutionBackward(_ c: Convolution, index k: Int, input x: [T], dy: [T], samples: Int, extents: [Int],
                             dTheta: inout [Double], deferred: inout [Int: LinearGradient<T>]?, inputGradient: Bool = true) -> [T] {
        let grid = GridGeometry(extents, circular: graph.domain?.padding == .circular)
        let rows = samples * grid.positions, width = c.linear.inputDimension, tile = c.rowsPerTile
        var dx = [T](repeating: 0, count: inputGradient ? rows * c.channels : 0)
        var columns = [T](repeating: 0, count: tile * width)
        var dColumns = [T](repeating: 0, count: inputGradient ? tile * width : 0)
        let offsetMajor = denseConvolution(k), table = grid.neighbourTable(kernel: c.kernel)
        var gradient = LinearGradient(c.linear, plan: plans[k], weights: weights[k],
                                      column: { offsetMajor ? c.offsetMajorColumn($0) : $0 })
        x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { dyp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    columns.withUnsafeMutableBufferPointer { cp in
                        dColumns.withUnsafeMutableBufferPointer { dcp in
                            guard let xa = xp.baseAddress, let dya = dyp.baseAddress, let ca = cp.baseAddress else { return }
                            let dxa = inputGradient ? dxp.baseAddress : nil, dca = inputGradient ? dcp.baseAddress : nil  // an empty array's may not be nil
                            for first in stride(from: 0, to: rows, by: tile) {
                                let range = first..<min(rows, first + tile)
                                GridKernels.gatherNeighbourhoods(c, grid, table: table, x: xa, rows: range, into: ca, offsetMajor: offsetMajor)
                                dca?.update(repeating: 0, count: range.count * width)
                                gradient.add(x: ca, dy: dya + first * c.linear.outputDimension, dx: dca, rows: range.count)
                                if let dca, let dxa {
                                    GridKernels.scatterNeighbourhoods(c, grid, table: table, columns: dca, rows: range, into: dxa,
                                                                      offsetMajor: offsetMajor)
                                }
                            }
                        }
                    }
                }
            }
        }
        finish(gradient, op: k, into: &dTheta, deferred: &deferred)
        return dx
    }

    /// dy becomes dL/d(input) of one op acting on each row alone (empty without
    /// `inputGradient` where that saves work); accumulates dL/d(theta).
    func backward(_ op: Op, index k: Int, input x: [T], output y: [T], dy: inout [T], batch: Int,
                  dTheta: inout [Double], deferred: inout [Int: LinearGradient<T>]?, inputGradient: Bool = true) {
        switch op {
        case .convolution, .pool, .batchNorm, .message:
            return  // spatial or batch-wide: handled in gradientAndStatistics
        case .linear(let l):
            var dx = [T](repeating: 0, count: inputGradient ? batch * l.inputDimension : 0)
            var gradient = LinearGradient(l, plan: plans[k], weights: weights[k])
            x.withUnsafeBufferPointer { xp in
                dy.withUnsafeBufferPointer { dyp in
                    dx.withUnsafeMutableBufferPointer { dxp in
                        guard let xa = xp.baseAddress, let dya = dyp.baseAddress else { return }
                        gradient.add(x: xa, dy: dya, dx: inputGradient ? dxp.baseAddress : nil, rows: batch)
                    }
                }
            }
            finish(gradient, op: k, into: &dTheta, deferred: &deferred)
            dy = dx
        case .bias(let b):
            let db = Elementwise.columnSums(dy, columns: b.basis.rows)
            for j in 0..<b.basis.count {
                var sum = 0.0
                for e in b.basis.starts[j]..<b.basis.starts[j + 1] { sum += b.basis.values[e] * db[b.basis.entryRows[e]] }
                dTheta[b.parameters.offset + j] += sum
            }
        case .bilinear(let b):
            var dx = dy
            let dm = x.withUnsafeBufferPointer { xp in
                dy.withUnsafeBufferPointer { dyp in
                    dx.withUnsafeMutableBufferPointer { dxp -> [[T]] in
                        guard let xa = xp.baseAddress, let dya = dyp.baseAddress, let dxa = dxp.baseAddress else { return [] }
                        return StructuredKernels.bilinearBackward(b, mixing: weights[k], x: xa, dy: dya, dx: dxa, batch: batch)
                    }
                }
            }
            for (block, g) in zip(b.blocks, dm) {
                let a = block.input.copies, copies = block.output.copies, sources = block.sources.count
                let contracts = block.contractsFirst
                for o in 0..<copies {
                    let base = b.parameters.offset + block.firstParameter + o * block.outputStride
                    for i in 0..<a {
                        for s in 0..<sources { dTheta[base + i * sources + s] += Double(g[(contracts ? s * a + i : i * sources + s) * copies + o]) }
                    }
                }
            }
            dy = dx
        case .pointwise(let p):
            Scalar.backward(p.function, x: x, y: y, dy: &dy)
        case .gate(let g):
            var dx = [T](repeating: 0, count: batch * g.inputDimension)
            for r in 0..<batch {
                let xin = r * g.inputDimension, yout = r * g.outputDimension
                for c in g.scalars { dx[xin + c] = dy[yout + c] * T(Scalar.derivative(.silu, Double(x[xin + c]))) }
                for block in g.blocks {
                    let s = T(Scalar.sigmoid(Double(x[xin + block.gate])))
                    var dot: T = 0
                    for c in block.offset..<(block.offset + block.length) {
                        dx[xin + c] = dy[yout + c] * s
                        dot += dy[yout + c] * x[xin + c]
                    }
                    dx[xin + block.gate] = dot * s * (1 - s)
                }
            }
            dy = dx
        case .norm(let n):
            var dx = dy
            for r in 0..<batch {
                let base = r * n.dimension
                for c in n.scalars { dx[base + c] = dy[base + c] * T(Scalar.derivative(.silu, Double(x[base + c]))) }
                for block in n.blocks {
                    let range = (base + block.offset)..<(base + block.offset + block.length)
                    var squares: T = 0, dot: T = 0
                    for c in range {
                        squares += x[c] * x[c]
                        dot += x[c] * dy[c]
                    }
                    let norm = squares.squareRoot()
                    let s = T(Scalar.sigmoid(Double(norm)))
                    // d/dx [x s(|x|)] = s I + s' x x^T / |x|
                    let radial = norm > 0 ? s * (1 - s) * dot / norm : 0
                    for c in range { dx[c] = s * dy[c] + radial * x[c] }
                }
            }
            dy = dx
        }
    }
}

extension Model {
    /// Point clouds: the outputs, and the gradient of sum_k w_k y_k with respect
    /// to every point's position (points x d), in double precision. With w = 1 on
    /// a pooled energy this is minus the forces.
    public func positionGradient(_ input: [Double], batch: Int, points: PointBatch, outputWeights: [Double])
        -> (output: [Double], positions: [Double]) {
        let result = Executable<Double>(self).gradientAndStatistics(input, batch: batch, points: points, positionGradient: true) { _ in
            outputWeights
        }
        return (result.output, result.positions ?? [])
    }
}
