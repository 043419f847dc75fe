import EqnnIR

/// Backpropagation, written by hand per op, in double precision.
extension Executable where T == Double {
    /// The output for `batch` rows and a function from dL/d(output) to dL/d(theta).
    func gradient(_ input: [Double], batch: Int, outputGradient: ([Double]) -> [Double]) -> (output: [Double], gradient: [Double]) {
        let (output, tape) = run(input, batch: batch, keepTape: true)
        var dy = outputGradient(output)
        let e = graph.output.dimension
        for r in 0..<batch { for c in 0..<e { dy[r * e + c] *= normalizer.outputScale[c] } }
        var dTheta = [Double](repeating: 0, count: graph.parameterCount)
        for k in stride(from: graph.ops.count - 1, through: 0, by: -1) {
            dy = backward(graph.ops[k], index: k, input: tape[k], output: tape[k + 1], dy: dy, batch: batch, dTheta: &dTheta)
        }
        return (output, dTheta)
    }

    /// dL/d(input) of one op from dL/d(output); accumulates dL/d(theta).
    func backward(_ op: Op, index k: Int, input x: [Double], output y: [Double], dy: [Double], batch: Int,
                  dTheta: inout [Double]) -> [Double] {
        switch op {
        case .linear(let l):
            var dx = [Double](repeating: 0, count: batch * l.inputDimension)
            x.withUnsafeBufferPointer { xp in
                dy.withUnsafeBufferPointer { dyp in
                    dx.withUnsafeMutableBufferPointer { dxp in
                        guard let xa = xp.baseAddress, let dya = dyp.baseAddress, let dxa = dxp.baseAddress else { return }
                        if let plan = plans[k], !plan.dense {
                            let dm = StructuredKernels.linearBackward(l, plan, mixing: weights[k], x: xa, dy: dya, dx: dxa, batch: batch)
                            plan.accumulate(l, mixingGradients: dm, into: &dTheta)
                        } else {
                            denseBackward(l, weights: weights[k][0], x: xa, dy: dya, dx: dxa, batch: batch, dTheta: &dTheta)
                        }
                    }
                }
            }
            return dx
        case .bias(let b):
            let d = b.basis.rows
            var db = [Double](repeating: 0, count: d)
            for r in 0..<batch { for c in 0..<d { db[c] += dy[r * d + c] } }
            for j in 0..<b.basis.count {
                var sum = 0.0
                for e in b.basis.starts[j]..<b.basis.starts[j + 1] { sum += b.basis.values[e] * db[b.basis.entryRows[e]] }
                dTheta[b.parameters.offset + j] += sum
            }
            return dy
        case .bilinear(let b):
            var dx = dy
            let dm = x.withUnsafeBufferPointer { xp in
                dy.withUnsafeBufferPointer { dyp in
                    dx.withUnsafeMutableBufferPointer { dxp -> [[Double]] in
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
                        for s in 0..<sources { dTheta[base + i * sources + s] += g[(contracts ? s * a + i : i * sources + s) * copies + o] }
                    }
                }
            }
            return dx
        case .pointwise(let p):
            var dx = dy
            for i in dx.indices { dx[i] *= Scalar.derivative(p.function, x[i]) }
            return dx
        case .gate(let g):
            var dx = [Double](repeating: 0, count: batch * g.inputDimension)
            for r in 0..<batch {
                let xin = r * g.inputDimension, yout = r * g.outputDimension
                for c in g.scalars { dx[xin + c] = dy[yout + c] * Scalar.derivative(.silu, x[xin + c]) }
                for block in g.blocks {
                    let s = Scalar.sigmoid(x[xin + block.gate])
                    var dot = 0.0
                    for c in block.offset..<(block.offset + block.length) {
                        dx[xin + c] = dy[yout + c] * s
                        dot += dy[yout + c] * x[xin + c]
                    }
                    dx[xin + block.gate] = dot * s * (1 - s)
                }
            }
            return dx
        case .norm(let n):
            var dx = dy
            for r in 0..<batch {
                let base = r * n.dimension
                for c in n.scalars { dx[base + c] = dy[base + c] * Scalar.derivative(.silu, x[base + c]) }
                for block in n.blocks {
                    let range = (base + block.offset)..<(base + block.offset + block.length)
                    var squares = 0.0, dot = 0.0
                    for c in range {
                        squares += x[c] * x[c]
                        dot += x[c] * dy[c]
                    }
                    let norm = squares.squareRoot()
                    let s = Scalar.sigmoid(norm)
                    // d/dx [x s(|x|)] = s I + s' x x^T / |x|
                    let radial = norm > 0 ? s * (1 - s) * dot / norm : 0
                    for c in range { dx[c] = s * dy[c] + radial * x[c] }
                }
            }
            return dx
        }
    }

    /// dx = dy W and dtheta from dW^T = X^T dY, read through the pair bases.
    func denseBackward(_ l: Linear, weights wt: [Double], x: UnsafePointer<Double>, dy: UnsafePointer<Double>,
                       dx: UnsafeMutablePointer<Double>, batch: Int, dTheta: inout [Double]) {
        let rows = l.outputDimension, columns = l.inputDimension
        var dWt = [Double](repeating: 0, count: rows * columns)
        var w = [Double](repeating: 0, count: rows * columns)
        for i in 0..<columns { for o in 0..<rows { w[o * columns + i] = wt[i * rows + o] } }
        w.withUnsafeBufferPointer { wp in
            dWt.withUnsafeMutableBufferPointer { dwp in
                guard let wa = wp.baseAddress, let dwa = dwp.baseAddress else { return }
                // dx = dY W, dW^T = X^T dY.
                MatrixProduct.multiplyAdd(m: batch, n: columns, k: rows, a: dy, rowStride: rows, columnStride: 1,
                                          b: wa, ldb: columns, c: dx, ldc: columns)
                MatrixProduct.multiplyAdd(m: columns, n: rows, k: batch, a: x, rowStride: 1, columnStride: columns,
                                          b: dy, ldb: rows, c: dwa, ldc: rows)
            }
        }
        for block in l.blocks {
            let basis = l.bases[block.basis].matrices
            for o in 0..<block.output.copies {
                for i in 0..<block.input.copies {
                    let rowBase = block.output.offset + o * block.output.dimension
                    let columnBase = block.input.offset + i * block.input.dimension
                    for j in 0..<basis.count {
                        var sum = 0.0
                        for e in basis.starts[j]..<basis.starts[j + 1] {
                            sum += basis.values[e] * dWt[(columnBase + basis.entryColumns[e]) * rows + rowBase + basis.entryRows[e]]
                        }
                        dTheta[l.parameters.offset + l.parameter(block, output: o, input: i, basis: j)] += sum
                    }
                }
            }
        }
    }
}
