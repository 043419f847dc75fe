import EqnnIR

/// The structured linear and bilinear kernels (LinearPlan, Bilinear.mixing):
/// gathers, one matrix product per stack over a tile of samples, scatters.
/// Buffers are bounded: a tile holds at most `workspace` values of G, cut
/// along the samples and, for one huge sample, along the stack's depth.
enum StructuredKernels {
    static let workspace = 1 << 18

    /// A row-major rows x columns matrix, transposed.
    static func transpose<T: BinaryFloatingPoint & SIMDScalar>(_ m: [T], rows: Int, columns: Int) -> [T] {
        var t = [T](repeating: 0, count: rows * columns)
        for r in 0..<rows { for c in 0..<columns { t[c * rows + r] = m[r * columns + c] } }
        return t
    }

    /// Samples per tile and rows of the depth per chunk for a stack.
    static func tiling(width: Int, depth: Int, batch: Int) -> (samples: Int, depth: Int) {
        let samples = samplesPerTile(batch: batch, valuesPerSample: width * depth)
        return (samples, max(1, min(depth, workspace / max(1, samples * width))))
    }

    /// As many samples as fit `workspace` values of the largest buffer, at least one.
    static func samplesPerTile(batch: Int, valuesPerSample: Int) -> Int {
        max(1, min(batch, workspace / max(1, valuesPerSample)))
    }

    /// G[(t, q), k - k0] = sum gather[q, c] x[t, copy i, c] for the rows k0 ..< k1 of the stack.
    static func gather<T: BinaryFloatingPoint>(_ stack: LinearPlan.Stack, _ blocks: [LinearBlock], x: UnsafePointer<T>, inputDimension: Int,
                                               samples: Range<Int>, rows: Range<Int>, into g: UnsafeMutablePointer<T>) {
        let kc = rows.count, m = stack.width
        g.update(repeating: 0, count: samples.count &* m &* kc)
        for input in stack.inputs {
            let block = blocks[input.block]
            let first = max(rows.lowerBound, input.row), last = min(rows.upperBound, input.row &+ block.input.copies)
            guard first < last else { continue }
            for (t, sample) in samples.enumerated() {
                let xt = x + (sample &* inputDimension &+ block.input.offset)
                let gt = g + t &* m &* kc
                for k in first..<last {
                    let xi = xt + (k &- input.row) &* block.input.dimension
                    let column = k &- rows.lowerBound
                    for e in input.gather { gt[e.row &* kc &+ column] += T(e.value) * xi[e.column] }
                }
            }
        }
    }

    /// y[t, :] += W x[t, :] for the structured linear op (y is not cleared).
    static func linearForward<T: BinaryFloatingPoint & SIMDScalar>(_ linear: Linear, _ plan: LinearPlan, mixing: [[T]],
                                                                   x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, batch: Int) {
        let inDim = linear.inputDimension, outDim = linear.outputDimension
        for (s, stack) in plan.stacks.enumerated() {
            let b = stack.output.copies, m = stack.width
            let (tile, chunk) = tiling(width: m, depth: stack.depth, batch: batch)
            var g = [T](repeating: 0, count: tile * m * chunk)
            var out = [T](repeating: 0, count: tile * m * b)
            mixing[s].withUnsafeBufferPointer { mp in
                g.withUnsafeMutableBufferPointer { gp in
                    out.withUnsafeMutableBufferPointer { op in
                        guard let mb = mp.baseAddress, let ga = gp.baseAddress, let oa = op.baseAddress else { return }
                        for first in stride(from: 0, to: batch, by: tile) {
                            let samples = first..<min(batch, first + tile)
                            oa.update(repeating: 0, count: samples.count &* m &* b)
                            for k0 in stride(from: 0, to: stack.depth, by: chunk) {
                                let rows = k0..<min(stack.depth, k0 + chunk)
                                gather(stack, linear.blocks, x: x, inputDimension: inDim, samples: samples, rows: rows, into: ga)
                                MatrixProduct.multiplyAdd(m: samples.count &* m, n: b, k: rows.count, a: UnsafePointer(ga), rowStride: rows.count,
                                                          columnStride: 1, b: mb + k0 &* b, ldb: b, c: oa, ldc: b)
                            }
                            for (t, sample) in samples.enumerated() {
                                let yt = y + (sample &* outDim &+ stack.output.offset)
                                let ot = oa + t &* m &* b
                                for o in 0..<b {
                                    let yo = yt + o &* stack.output.dimension
                                    for e in stack.scatter { yo[e.row] += T(e.value) * ot[e.column &* b &+ o] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The backward of linearForward: dx += W^T dy and the mixing matrices' gradients dM += G^T dY.
    static func linearBackward<T: BinaryFloatingPoint & SIMDScalar>(_ linear: Linear, _ plan: LinearPlan, mixing: [[T]], x: UnsafePointer<T>,
                               dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, batch: Int) -> [[T]] {
        let inDim = linear.inputDimension, outDim = linear.outputDimension
        var gradients: [[T]] = []
        for (s, stack) in plan.stacks.enumerated() {
            let b = stack.output.copies, m = stack.width, depth = stack.depth
            // M^T (b x depth), so that dG = dY M^T reads contiguous rows.
            let transposed = transpose(mixing[s], rows: depth, columns: b)
            var dm = [T](repeating: 0, count: depth * b)
            let (tile, chunk) = tiling(width: m, depth: depth, batch: batch)
            var g = [T](repeating: 0, count: tile * m * chunk), dg = g
            var dout = [T](repeating: 0, count: tile * m * b)
            transposed.withUnsafeBufferPointer { mtp in
                dm.withUnsafeMutableBufferPointer { dmp in
                    g.withUnsafeMutableBufferPointer { gp in
                        dg.withUnsafeMutableBufferPointer { dgp in
                            dout.withUnsafeMutableBufferPointer { dop in
                                guard let mt = mtp.baseAddress, let dma = dmp.baseAddress, let ga = gp.baseAddress,
                                      let dga = dgp.baseAddress, let doa = dop.baseAddress else { return }
                                for first in stride(from: 0, to: batch, by: tile) {
                                    let samples = first..<min(batch, first + tile)
                                    let rowsOfY = samples.count &* m
                                    // dY[(t, q), o] = sum_r scatter[r, q] dy[t, copy o, r]
                                    doa.update(repeating: 0, count: rowsOfY &* b)
                                    for (t, sample) in samples.enumerated() {
                                        let dyt = dy + (sample &* outDim &+ stack.output.offset)
                                        let dt = doa + t &* m &* b
                                        for o in 0..<b {
                                            let dyo = dyt + o &* stack.output.dimension
                                            for e in stack.scatter { dt[e.column &* b &+ o] += T(e.value) * dyo[e.row] }
                                        }
                                    }
                                    for k0 in stride(from: 0, to: depth, by: chunk) {
                                        let rows = k0..<min(depth, k0 + chunk)
                                        let kc = rows.count
                                        gather(stack, linear.blocks, x: x, inputDimension: inDim, samples: samples, rows: rows, into: ga)
                                        // dM[rows] += G^T dY
                                        MatrixProduct.multiplyAdd(m: kc, n: b, k: rowsOfY, a: UnsafePointer(ga), rowStride: 1, columnStride: kc,
                                                                  b: UnsafePointer(doa), ldb: b, c: dma + k0 &* b, ldc: b)
                                        // dG = dY M^T[:, rows]
                                        dga.update(repeating: 0, count: rowsOfY &* kc)
                                        MatrixProduct.multiplyAdd(m: rowsOfY, n: kc, k: b, a: UnsafePointer(doa), rowStride: b, columnStride: 1,
                                                                  b: mt + k0, ldb: depth, c: dga, ldc: kc)
                                        scatterGather(stack, linear.blocks, dg: dga, rows: rows, samples: samples, dx: dx, inputDimension: inDim)
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

    /// The transpose of `gather`: dx[t, copy i, c] += sum_q gather[q, c] dG[(t, q), k - k0].
    static func scatterGather<T: BinaryFloatingPoint & SIMDScalar>(_ stack: LinearPlan.Stack, _ blocks: [LinearBlock], dg: UnsafePointer<T>, rows: Range<Int>,
                              samples: Range<Int>, dx: UnsafeMutablePointer<T>, inputDimension: Int) {
        let kc = rows.count, m = stack.width
        for input in stack.inputs {
            let block = blocks[input.block]
            let first = max(rows.lowerBound, input.row), last = min(rows.upperBound, input.row &+ block.input.copies)
            guard first < last else { continue }
            for (t, sample) in samples.enumerated() {
                let dxt = dx + (sample &* inputDimension &+ block.input.offset)
                let gt = dg + t &* m &* kc
                for k in first..<last {
                    let dxi = dxt + (k &- input.row) &* block.input.dimension
                    let column = k &- rows.lowerBound
                    for e in input.gather { dxi[e.column] += T(e.value) * gt[e.row &* kc &+ column] }
                }
            }
        }
    }

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
