import EqnnIR

/// The bilinear kernels (Bilinear.mixing): W(x) x per block, by products Z of
/// the source copies with the mixing matrix, or contracting first where that is
/// smaller; tiles bounded like the linear ones (StructuredKernels.workspace).
extension StructuredKernels {
    /// Z[(t, c), s b + o] = sum_i x[t, copy i, c] M[i, s b + o] for one bilinear block and a tile.
    static func bilinearProducts<T: BinaryFloatingPoint & SIMDScalar>(_ block: BilinearBlock, mixing: UnsafePointer<T>, x: UnsafePointer<T>,
                                                                      dimension d: Int, samples: Range<Int>, g: UnsafeMutablePointer<T>,
                                                                      z: UnsafeMutablePointer<T>) {
        let a = block.input.copies, n = block.input.dimension, width = block.sources.count &* block.output.copies
        for (t, sample) in samples.enumerated() {
            let xt = x + (sample &* d &+ block.input.offset)
            for i in 0..<a { for c in 0..<n { g[(t &* n &+ c) &* a &+ i] = xt[i &* n &+ c] } }
        }
        z.update(repeating: 0, count: samples.count &* n &* width)
        MatrixProduct.multiplyAdd(m: samples.count &* n, n: width, k: a, a: UnsafePointer(g), rowStride: a, columnStride: 1,
                                  b: mixing, ldb: width, c: z, ldc: width)
    }

    static func bilinearTile(_ block: BilinearBlock, batch: Int) -> Int {
        samplesPerTile(batch: batch, valuesPerSample: block.input.dimension * max(block.input.copies, block.sources.count * block.output.copies))
    }

    /// y += W(x) x, block by block (y starts as a copy of x).
    static func bilinearForward<T: BinaryFloatingPoint & SIMDScalar>(_ op: Bilinear, mixing: [[T]], x: UnsafePointer<T>,
                                                                     y: UnsafeMutablePointer<T>, batch: Int) {
        let d = op.dimension
        for (k, block) in op.blocks.enumerated() {
            if block.contractsFirst {
                mixing[k].withUnsafeBufferPointer { mp in
                    guard let ma = mp.baseAddress else { return }
                    contractForward(block, mixing: ma, x: x, y: y, dimension: d, batch: batch)
                }
                continue
            }
            let b = block.output.copies, n = block.input.dimension, width = block.sources.count &* b
            let tile = bilinearTile(block, batch: batch)
            let rows = block.output.dimension
            var g = [T](repeating: 0, count: tile * n * block.input.copies), z = [T](repeating: 0, count: tile * n * width)
            // One sample's sums with the output copies contiguous (acc[r * b + o]), so that the
            // innermost loop runs along them; added to y, copy-major, at the end of the sample.
            var acc = [T](repeating: 0, count: rows * b)
            mixing[k].withUnsafeBufferPointer { mp in
                g.withUnsafeMutableBufferPointer { gp in
                    z.withUnsafeMutableBufferPointer { zp in
                        acc.withUnsafeMutableBufferPointer { ap in
                            guard let ma = mp.baseAddress, let ga = gp.baseAddress, let za = zp.baseAddress, let aa = ap.baseAddress else { return }
                            for first in stride(from: 0, to: batch, by: tile) {
                                let samples = first..<min(batch, first + tile)
                                bilinearProducts(block, mixing: ma, x: x, dimension: d, samples: samples, g: ga, z: za)
                                for (t, sample) in samples.enumerated() {
                                    let row = x + sample &* d, out = y + (sample &* d &+ block.output.offset)
                                    aa.update(repeating: 0, count: rows &* b)
                                    for (s, source) in block.sources.enumerated() {
                                        for c in 0..<n {
                                            let zc = za + ((t &* n &+ c) &* width &+ s &* b)
                                            for r in 0..<rows {
                                                let xv = row[source &+ r &* n &+ c]
                                                let ar = aa + r &* b
                                                for o in 0..<b { ar[o] += xv * zc[o] }
                                            }
                                        }
                                    }
                                    for o in 0..<b { for r in 0..<rows { out[o &* rows &+ r] += aa[r &* b &+ o] } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The backward of bilinearForward: dx += (d/dx) and the blocks' mixing gradients.
    static func bilinearBackward<T: BinaryFloatingPoint & SIMDScalar>(_ op: Bilinear, mixing: [[T]], x: UnsafePointer<T>, dy: UnsafePointer<T>,
                                 dx: UnsafeMutablePointer<T>, batch: Int) -> [[T]] {
        let d = op.dimension
        var gradients: [[T]] = []
        for (k, block) in op.blocks.enumerated() {
            if block.contractsFirst {
                gradients.append(contractBackward(block, mixing: mixing[k], x: x, dy: dy, dx: dx, dimension: d, batch: batch))
                continue
            }
            let a = block.input.copies, b = block.output.copies, n = block.input.dimension, width = block.sources.count &* b
            let tile = bilinearTile(block, batch: batch)
            let transposed = transpose(mixing[k], rows: a, columns: width)
            var dm = [T](repeating: 0, count: a * width)
            var g = [T](repeating: 0, count: tile * n * a), dg = g
            var z = [T](repeating: 0, count: tile * n * width), dz = z
            let dyT = UnsafeMutablePointer<T>.allocate(capacity: max(1, block.output.dimension * b))
            defer { dyT.deallocate() }
            mixing[k].withUnsafeBufferPointer { mp in
                transposed.withUnsafeBufferPointer { mtp in
                    dm.withUnsafeMutableBufferPointer { dmp in
                        g.withUnsafeMutableBufferPointer { gp in
                            dg.withUnsafeMutableBufferPointer { dgp in
                                z.withUnsafeMutableBufferPointer { zp in
                                    dz.withUnsafeMutableBufferPointer { dzp in
                                        guard let ma = mp.baseAddress, let mt = mtp.baseAddress, let dma = dmp.baseAddress,
                                              let ga = gp.baseAddress, let dga = dgp.baseAddress, let za = zp.baseAddress,
                                              let dza = dzp.baseAddress else { return }
                                        for first in stride(from: 0, to: batch, by: tile) {
                                            let samples = first..<min(batch, first + tile)
                                            let rowsOfZ = samples.count &* n
                                            bilinearProducts(block, mixing: ma, x: x, dimension: d, samples: samples, g: ga, z: za)
                                            dza.update(repeating: 0, count: rowsOfZ &* width)
                                            let rows = block.output.dimension
                                            for (t, sample) in samples.enumerated() {
                                                let row = x + sample &* d, drow = dx + sample &* d
                                                let dout = dy + (sample &* d &+ block.output.offset)
                                                // dy of this block with the output copies contiguous: dyT[r * b + o].
                                                for o in 0..<b { for r in 0..<rows { dyT[r &* b &+ o] = dout[o &* rows &+ r] } }
                                                for (s, source) in block.sources.enumerated() {
                                                    for c in 0..<n {
                                                        let zc = za + ((t &* n &+ c) &* width &+ s &* b)
                                                        let dzc = dza + ((t &* n &+ c) &* width &+ s &* b)
                                                        for r in 0..<rows {
                                                            let at = source &+ r &* n &+ c
                                                            let xv = row[at]
                                                            let dr = dyT + r &* b
                                                            var sum: T = 0
                                                            for o in 0..<b {
                                                                let go = dr[o]
                                                                dzc[o] += go * xv
                                                                sum += go * zc[o]
                                                            }
                                                            drow[at] += sum
                                                        }
                                                    }
                                                }
                                            }
                                            // dM += G^T dZ, dG = dZ M^T, dx[copy i, c] += dG[(t, c), i]
                                            MatrixProduct.multiplyAdd(m: a, n: width, k: rowsOfZ, a: UnsafePointer(ga), rowStride: 1, columnStride: a,
                                                                      b: UnsafePointer(dza), ldb: width, c: dma, ldc: width)
                                            dga.update(repeating: 0, count: rowsOfZ &* a)
                                            MatrixProduct.multiplyAdd(m: rowsOfZ, n: a, k: width, a: UnsafePointer(dza), rowStride: width,
                                                                      columnStride: 1, b: mt, ldb: a, c: dga, ldc: a)
                                            for (t, sample) in samples.enumerated() {
                                                let dxt = dx + (sample &* d &+ block.input.offset)
                                                for i in 0..<a { for c in 0..<n { dxt[i &* n &+ c] += dga[(t &* n &+ c) &* a &+ i] } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            gradients.append(dm)
        }
        return gradients
    }

    /// P[(t, r), s a + i] = sum_c x[t, source s, r dim R + c] x[t, input copy i, c] for a tile.
    static func contractions<T: BinaryFloatingPoint>(_ block: BilinearBlock, x: UnsafePointer<T>, dimension d: Int, samples: Range<Int>,
                                                     into p: UnsafeMutablePointer<T>) {
        let a = block.input.copies, n = block.input.dimension, rows = block.output.dimension
        let width = block.sources.count &* a
        for (t, sample) in samples.enumerated() {
            let row = x + sample &* d, inputs = x + (sample &* d &+ block.input.offset)
            for r in 0..<rows {
                let pr = p + (t &* rows &+ r) &* width
                for (s, source) in block.sources.enumerated() {
                    let xs = row + (source &+ r &* n)
                    for i in 0..<a {
                        let xi = inputs + i &* n
                        var sum: T = 0
                        for c in 0..<n { sum += xs[c] * xi[c] }
                        pr[s &* a &+ i] = sum
                    }
                }
            }
        }
    }

    static func contractTile(_ block: BilinearBlock, batch: Int) -> Int {
        samplesPerTile(batch: batch, valuesPerSample: block.output.dimension * max(block.sources.count * block.input.copies, block.output.copies))
    }

    /// y[t, copy o, r] += sum_k P[(t, r), k] M[k, o] (contracting first).
    static func contractForward<T: BinaryFloatingPoint & SIMDScalar>(_ block: BilinearBlock, mixing: UnsafePointer<T>, x: UnsafePointer<T>,
                                                                     y: UnsafeMutablePointer<T>, dimension d: Int, batch: Int) {
        let b = block.output.copies, rows = block.output.dimension, width = block.sources.count * block.input.copies
        let tile = contractTile(block, batch: batch)
        var p = [T](repeating: 0, count: tile * rows * width), z = [T](repeating: 0, count: tile * rows * b)
        p.withUnsafeMutableBufferPointer { pp in
            z.withUnsafeMutableBufferPointer { zp in
                guard let pa = pp.baseAddress, let za = zp.baseAddress else { return }
                for first in stride(from: 0, to: batch, by: tile) {
                    let samples = first..<min(batch, first + tile)
                    contractions(block, x: x, dimension: d, samples: samples, into: pa)
                    za.update(repeating: 0, count: samples.count &* rows &* b)
                    MatrixProduct.multiplyAdd(m: samples.count &* rows, n: b, k: width, a: UnsafePointer(pa), rowStride: width, columnStride: 1,
                                              b: mixing, ldb: b, c: za, ldc: b)
                    for (t, sample) in samples.enumerated() {
                        let out = y + (sample &* d &+ block.output.offset)
                        for r in 0..<rows {
                            let zr = za + (t &* rows &+ r) &* b
                            for o in 0..<b { out[o &* rows &+ r] += zr[o] }
                        }
                    }
                }
            }
        }
    }

    /// The backward of contractForward: dx += and the mixing gradient dM = P^T dY.
    static func contractBackward<T: BinaryFloatingPoint & SIMDScalar>(_ block: BilinearBlock, mixing: [T], x: UnsafePointer<T>, dy: UnsafePointer<T>,
                                 dx: UnsafeMutablePointer<T>, dimension d: Int, batch: Int) -> [T] {
        let a = block.input.copies, n = block.input.dimension
        let b = block.output.copies, rows = block.output.dimension, width = block.sources.count * a
        let tile = contractTile(block, batch: batch)
        let transposed = transpose(mixing, rows: width, columns: b)
        var dm = [T](repeating: 0, count: width * b)
        var p = [T](repeating: 0, count: tile * rows * width), dp = p
        var dz = [T](repeating: 0, count: tile * rows * b)
        transposed.withUnsafeBufferPointer { mtp in
            dm.withUnsafeMutableBufferPointer { dmp in
                p.withUnsafeMutableBufferPointer { pp in
                    dp.withUnsafeMutableBufferPointer { dpp in
                        dz.withUnsafeMutableBufferPointer { dzp in
                            guard let mt = mtp.baseAddress, let dma = dmp.baseAddress, let pa = pp.baseAddress,
                                  let dpa = dpp.baseAddress, let dza = dzp.baseAddress else { return }
                            for first in stride(from: 0, to: batch, by: tile) {
                                let samples = first..<min(batch, first + tile)
                                let rowsOfP = samples.count &* rows
                                contractions(block, x: x, dimension: d, samples: samples, into: pa)
                                for (t, sample) in samples.enumerated() {
                                    let dout = dy + (sample &* d &+ block.output.offset)
                                    for r in 0..<rows { for o in 0..<b { dza[(t &* rows &+ r) &* b &+ o] = dout[o &* rows &+ r] } }
                                }
                                MatrixProduct.multiplyAdd(m: width, n: b, k: rowsOfP, a: UnsafePointer(pa), rowStride: 1, columnStride: width,
                                                          b: UnsafePointer(dza), ldb: b, c: dma, ldc: b)
                                dpa.update(repeating: 0, count: rowsOfP &* width)
                                MatrixProduct.multiplyAdd(m: rowsOfP, n: width, k: b, a: UnsafePointer(dza), rowStride: b, columnStride: 1,
                                                          b: mt, ldb: width, c: dpa, ldc: width)
                                for (t, sample) in samples.enumerated() {
                                    let row = x + sample &* d, drow = dx + sample &* d
                                    for r in 0..<rows {
                                        let pr = dpa + (t &* rows &+ r) &* width
                                        for (s, source) in block.sources.enumerated() {
                                            let at = source &+ r &* n
                                            for i in 0..<a {
                                                let g = pr[s &* a &+ i]
                                                let input = block.input.offset &+ i &* n
                                                for c in 0..<n {
                                                    drow[at &+ c] += g * row[input &+ c]
                                                    drow[input &+ c] += g * row[at &+ c]
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
        return dm
    }
}
