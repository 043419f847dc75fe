import EqnnIR

/// The gradient of one linear op, summed over the pieces it runs on (the
/// tiles of a convolution, or a whole batch) and turned into dtheta once:
/// the dense form transposes W once per op and contracts dW through the pair
/// bases once per op, not once per tile.
struct LinearGradient<T: BinaryFloatingPoint & SIMDScalar & Sendable>: Sendable {
    let linear: Linear
    let plan: LinearPlan?
    let mixing: [[T]]
    /// Dense form: W (out x in) and the sum of dW^T (in x out).
    private var w: [T] = []
    private var dWt: [T] = []
    /// Dense form: where the IR's input column j sits in W's columns (a convolution's may be reordered).
    let column: @Sendable (Int) -> Int
    /// Structured form: the sums of the stacks' mixing gradients.
    private var dMixing: [[T]] = []

    /// `weights` is the executable's entry for the op: the mixing matrices, or one entry, W^T (in x out).
    init(_ linear: Linear, plan: LinearPlan?, weights: [[T]], column: @escaping @Sendable (Int) -> Int = { $0 }) {
        self.linear = linear
        self.column = column
        self.plan = plan.structured
        mixing = weights
        guard self.plan == nil, let wt = weights.first else { return }
        let rows = linear.outputDimension, columns = linear.inputDimension
        w = [T](repeating: 0, count: rows * columns)
        for i in 0..<columns { for o in 0..<rows { w[o * columns + i] = wt[i * rows + o] } }
        dWt = [T](repeating: 0, count: rows * columns)
    }

    /// dx += dy W for `rows` rows of x and dy (unless dx is nil), and their share of dW.
    mutating func add(x: UnsafePointer<T>, dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>?, rows: Int) {
        if let plan {
            // The structured kernels interleave dx with dM: a scratch dx when the caller wants none.
            var scratch = [T](repeating: 0, count: dx == nil ? rows * linear.inputDimension : 0)
            let dm = scratch.withUnsafeMutableBufferPointer { s -> [[T]] in
                guard let target = dx ?? s.baseAddress else { return [] }
                return StructuredKernels.linearBackward(linear, plan, mixing: mixing, x: x, dy: dy, dx: target, batch: rows)
            }
            if dMixing.isEmpty { dMixing = dm } else { for s in dm.indices { for e in dm[s].indices { dMixing[s][e] += dm[s][e] } } }
            return
        }
        let outputs = linear.outputDimension, inputs = linear.inputDimension
        w.withUnsafeBufferPointer { wp in
            dWt.withUnsafeMutableBufferPointer { dwp in
                guard let wa = wp.baseAddress, let dwa = dwp.baseAddress else { return }
                // dx = dY W, dW^T += X^T dY.
                if let dx {
                    MatrixProduct.multiplyAdd(m: rows, n: inputs, k: outputs, a: dy, rowStride: outputs, columnStride: 1,
                                              b: wa, ldb: inputs, c: dx, ldc: inputs)
                }
                MatrixProduct.multiplyAdd(m: inputs, n: outputs, k: rows, a: x, rowStride: 1, columnStride: inputs,
                                          b: dy, ldb: outputs, c: dwa, ldc: outputs)
            }
        }
    }

    /// The dense form, whose turning into dtheta reads the pair bases (for steerable kernels,
    /// megabytes): training adds the cores' dW first and contracts once (`Trainer.contracted`).
    var isDense: Bool { plan == nil }

    /// Adds another piece's gradient of the same op (the same weights).
    mutating func add(_ other: LinearGradient) {
        if isDense {
            for e in dWt.indices { dWt[e] += other.dWt[e] }
            return
        }
        if dMixing.isEmpty { dMixing = other.dMixing; return }
        for s in other.dMixing.indices { for e in other.dMixing[s].indices { dMixing[s][e] += other.dMixing[s][e] } }
    }

    /// Adds dL/dtheta of the op's coefficients: the mixing gradients through the plan, or dW through the pair bases.
    func accumulate(into dTheta: inout [Double]) {
        if let plan {
            if !dMixing.isEmpty { plan.accumulate(linear, mixingGradients: dMixing, into: &dTheta) }
            return
        }
        let rows = linear.outputDimension
        // Where each IR column starts in dW^T, once (steerable bases touch every entry of their block).
        let start = (0..<linear.inputDimension).map { column($0) * rows }
        dWt.withUnsafeBufferPointer { dw in
            for block in linear.blocks {
                if linear.bases[block.basis].dense != nil {
                    DenseBases.accumulate(linear, block, dWt: dw, start: start, into: &dTheta)
                    continue
                }
                let basis = linear.bases[block.basis].matrices
                for o in 0..<block.output.copies {
                    for i in 0..<block.input.copies {
                        let rowBase = block.output.offset + o * block.output.dimension
                        let columnBase = block.input.offset + i * block.input.dimension
                        for j in 0..<basis.count {
                            var sum = 0.0
                            for e in basis.starts[j]..<basis.starts[j + 1] {
                                sum += basis.values[e] * Double(dw[start[columnBase + basis.entryColumns[e]] + rowBase + basis.entryRows[e]])
                            }
                            dTheta[linear.parameters.offset + linear.parameter(block, output: o, input: i, basis: j)] += sum
                        }
                    }
                }
            }
        }
    }
}
