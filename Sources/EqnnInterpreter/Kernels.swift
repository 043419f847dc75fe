import EqnnIR

/// The hot loops, on whole buffers with unsafe pointers and wrapping index
/// arithmetic (so the compiler vectorizes them).
enum Kernels {
    /// Y[b, :] = X[b, :] * Wt  for b < batch, with Wt stored (in x out) row-major.
    static func multiply<T: BinaryFloatingPoint>(_ x: UnsafePointer<T>, _ wt: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>,
                                                 batch: Int, input: Int, output: Int) {
        for b in 0..<batch {
            let row = y + b &* output
            row.update(repeating: 0, count: output)
            let xb = x + b &* input
            for i in 0..<input {
                let xi = xb[i]
                if xi == 0 { continue }
                let w = wt + i &* output
                for o in 0..<output { row[o] += xi * w[o] }
            }
        }
    }

    /// dst[k] += a * src[k] for k < n.
    @inline(__always)
    static func axpy(_ a: Double, _ src: UnsafePointer<Double>, _ dst: UnsafeMutablePointer<Double>, _ n: Int) {
        for k in 0..<n { dst[k] += a * src[k] }
    }

    /// y += W(x) x for the bilinear op: per block, M = sum_s theta_s X_s
    /// (the sources read as out x in matrices), then y_out += M x_in.
    static func bilinearForward<T: BinaryFloatingPoint>(_ op: Bilinear, theta: [T], x: [T], y: inout [T], batch: Int) {
        let largest = op.blocks.reduce(0) { max($0, $1.outputLength * $1.inputLength) }
        var m = [T](repeating: 0, count: largest)
        let d = op.dimension
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                m.withUnsafeMutableBufferPointer { mp in
                    guard let xa = xp.baseAddress, let ya = yp.baseAddress, let ma = mp.baseAddress else { return }
                    for r in 0..<batch {
                        let row = xa + r &* d
                        for block in op.blocks {
                            let size = block.outputLength &* block.inputLength
                            ma.update(repeating: 0, count: size)
                            for (s, source) in block.sources.enumerated() {
                                let t = theta[block.firstParameter &+ s]
                                let src = row + source
                                for e in 0..<size { ma[e] += t * src[e] }
                            }
                            let input = row + block.inputOffset
                            let out = ya + (r &* d &+ block.outputOffset)
                            for o in 0..<block.outputLength {
                                let mrow = ma + o &* block.inputLength
                                var sum: T = 0
                                for c in 0..<block.inputLength { sum += mrow[c] * input[c] }
                                out[o] += sum
                            }
                        }
                    }
                }
            }
        }
    }

    /// Backward of y = x + W(x) x: with G = dy_out x_in^T per block,
    /// dtheta_s = <X_s, G>, dX_s += theta_s G, dx_in += M^T dy_out.
    static func bilinearBackward(_ op: Bilinear, theta: [Double], x: [Double], dy: [Double], dx: inout [Double], batch: Int,
                                 dTheta: inout [Double], offset: Int) {
        let largest = op.blocks.reduce(0) { max($0, $1.outputLength * $1.inputLength) }
        var m = [Double](repeating: 0, count: largest)
        var g = [Double](repeating: 0, count: largest)
        let d = op.dimension
        x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { dyp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    m.withUnsafeMutableBufferPointer { mp in
                        g.withUnsafeMutableBufferPointer { gp in
                            dTheta.withUnsafeMutableBufferPointer { tp in
                                guard let xa = xp.baseAddress, let dya = dyp.baseAddress, let dxa = dxp.baseAddress,
                                      let ma = mp.baseAddress, let ga = gp.baseAddress, let ta = tp.baseAddress else { return }
                                for r in 0..<batch {
                                    let row = xa + r &* d, drow = dxa + r &* d
                                    for block in op.blocks {
                                        let gy = dya + (r &* d &+ block.outputOffset)
                                        let input = row + block.inputOffset
                                        let size = block.outputLength &* block.inputLength
                                        ma.update(repeating: 0, count: size)
                                        for (s, source) in block.sources.enumerated() {
                                            let t = theta[block.firstParameter &+ s]
                                            let src = row + source
                                            for e in 0..<size { ma[e] += t * src[e] }
                                        }
                                        for o in 0..<block.outputLength {
                                            let go = gy[o]
                                            let grow = ga + o &* block.inputLength, mrow = ma + o &* block.inputLength
                                            for c in 0..<block.inputLength {
                                                grow[c] = go * input[c]
                                                drow[block.inputOffset &+ c] += go * mrow[c]
                                            }
                                        }
                                        for (s, source) in block.sources.enumerated() {
                                            let t = theta[block.firstParameter &+ s]
                                            let src = row + source, dsrc = drow + source
                                            var dt = 0.0
                                            for e in 0..<size {
                                                dt += src[e] * ga[e]
                                                dsrc[e] += t * ga[e]
                                            }
                                            ta[offset &+ block.firstParameter &+ s] += dt
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
