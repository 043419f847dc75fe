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
            let rows = l.basis.rows, columns = l.basis.columns
            var dx = [Double](repeating: 0, count: batch * columns)
            var dWt = [Double](repeating: 0, count: rows * columns)
            x.withUnsafeBufferPointer { xp in
                dy.withUnsafeBufferPointer { dyp in
                    dense[k].withUnsafeBufferPointer { wtp in
                        dx.withUnsafeMutableBufferPointer { dxp in
                            dWt.withUnsafeMutableBufferPointer { dwp in
                                guard let xa = xp.baseAddress, let da = dyp.baseAddress, let wa = wtp.baseAddress,
                                      let dxa = dxp.baseAddress, let dwa = dwp.baseAddress else { return }
                                for b in 0..<batch {
                                    let dyb = da + b &* rows
                                    for i in 0..<columns {
                                        let w = wa + i &* rows
                                        var sum = 0.0
                                        for o in 0..<rows { sum += dyb[o] * w[o] }
                                        dxa[b &* columns &+ i] = sum
                                        let xi = xa[b &* columns &+ i]
                                        if xi != 0 { Kernels.axpy(xi, dyb, dwa + i &* rows, rows) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for j in 0..<l.basis.count {
                var sum = 0.0
                for e in l.basis.starts[j]..<l.basis.starts[j + 1] {
                    sum += l.basis.values[e] * dWt[l.basis.entryColumns[e] * rows + l.basis.entryRows[e]]
                }
                dTheta[l.parameters.offset + j] += sum
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
            Kernels.bilinearBackward(bilinearGroups[k], dimension: b.dimension, theta: bilinearParameters[k], x: x, dy: dy,
                                     dx: &dx, batch: batch, dTheta: &dTheta, offset: b.parameters.offset)
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
}
