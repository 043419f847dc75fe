import EqnnIR

/// The structured linear kernels (LinearPlan): gathers, one matrix product
/// per stack over a tile of samples, scatters; the bilinear ones beside them
/// (BilinearKernels.swift) share the tiling.
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
}
