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

    /// y += W(x) x for the bilinear op, group by group (see BilinearGroup):
    /// z_s = sum_i theta[i, s] x_i, then y_out += X_s z_s for every source s.
    static func bilinearForward<T: BinaryFloatingPoint>(_ groups: [BilinearGroup], dimension d: Int, theta: [T], x: [T], y: inout [T], batch: Int) {
        let largest = groups.reduce(0) { max($0, $1.inputLength) }
        var z = [T](repeating: 0, count: largest)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                z.withUnsafeMutableBufferPointer { zp in
                    guard let xa = xp.baseAddress, let ya = yp.baseAddress, let za = zp.baseAddress else { return }
                    for r in 0..<batch {
                        let row = xa + r &* d
                        for group in groups {
                            let n = group.inputLength
                            let out = ya + (r &* d &+ group.outputOffset)
                            for (s, source) in group.sources.enumerated() {
                                combine(group, source: s, theta: theta, row: row, into: za)
                                let xs = row + source
                                for o in 0..<group.outputLength {
                                    let xrow = xs + o &* n
                                    var sum: T = 0
                                    for c in 0..<n { sum += xrow[c] * za[c] }
                                    out[o] += sum
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// z = sum_i theta[i, s] x_i over the inputs of a bilinear group.
    @inline(__always)
    static func combine<T: BinaryFloatingPoint>(_ group: BilinearGroup, source s: Int, theta: [T], row: UnsafePointer<T>,
                                                into z: UnsafeMutablePointer<T>) {
        let n = group.inputLength
        z.update(repeating: 0, count: n)
        for input in group.inputs {
            let t = theta[input.firstParameter &+ s]
            let xi = row + input.offset
            for c in 0..<n { z[c] += t * xi[c] }
        }
    }

    /// Backward of y = x + sum_s X_s z_s, z_s = sum_i theta[i, s] x_i, with g = dy_out:
    /// dz_s = X_s^T g, dX_s += g z_s^T, dtheta[i, s] = <dz_s, x_i>, dx_i += theta[i, s] dz_s.
    static func bilinearBackward(_ groups: [BilinearGroup], dimension d: Int, theta: [Double], x: [Double], dy: [Double],
                                 dx: inout [Double], batch: Int, dTheta: inout [Double], offset: Int) {
        let largest = groups.reduce(0) { max($0, $1.inputLength) }
        var z = [Double](repeating: 0, count: largest), dz = [Double](repeating: 0, count: largest)
        x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { dyp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    z.withUnsafeMutableBufferPointer { zp in
                        dz.withUnsafeMutableBufferPointer { dzp in
                            dTheta.withUnsafeMutableBufferPointer { tp in
                                guard let xa = xp.baseAddress, let dya = dyp.baseAddress, let dxa = dxp.baseAddress,
                                      let za = zp.baseAddress, let dza = dzp.baseAddress, let ta = tp.baseAddress else { return }
                                for r in 0..<batch {
                                    let row = xa + r &* d, drow = dxa + r &* d
                                    for group in groups {
                                        let n = group.inputLength
                                        let g = dya + (r &* d &+ group.outputOffset)
                                        for (s, source) in group.sources.enumerated() {
                                            combine(group, source: s, theta: theta, row: UnsafePointer(row), into: za)
                                            dza.update(repeating: 0, count: n)
                                            let xs = row + source, dxs = drow + source
                                            for o in 0..<group.outputLength {
                                                let go = g[o]
                                                if go == 0 { continue }
                                                let xrow = xs + o &* n, dxrow = dxs + o &* n
                                                for c in 0..<n {
                                                    dza[c] += go * xrow[c]
                                                    dxrow[c] += go * za[c]
                                                }
                                            }
                                            for input in group.inputs {
                                                let t = theta[input.firstParameter &+ s]
                                                let xi = row + input.offset, dxi = drow + input.offset
                                                var dt = 0.0
                                                for c in 0..<n {
                                                    dt += dza[c] * xi[c]
                                                    dxi[c] += t * dza[c]
                                                }
                                                ta[offset &+ input.firstParameter &+ s] += dt
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
}
