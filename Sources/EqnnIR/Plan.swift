/// How the back ends execute a linear op without expanding it (derived from
/// the IR, not serialized). Every pair basis matrix is split into operators
/// (BasisDecomposition); the pairs that write one output summand through the
/// same scatter form a stack, computed for a tile of n samples as
///
///     G[(t, q), row + i] = sum_c gather[q, c] x[t, input copy i, c]      (gather)
///     Y[(t, q), o]       = sum_k G[(t, q), k] M[k, o]                      (one matrix product)
///     y[t, output copy o, r] += sum_q scatter[r, q] Y[(t, q), o]          (scatter)
///
/// with M (depth x copies of S) the channel-mixing matrix: M[row + i, o] =
/// sum of weight * theta(o, i, j) over the basis matrices j that use the
/// operator. The matrix product over all samples of a tile and all gathered
/// coordinates at once is where the time goes, at matrix-product speed.
public struct LinearPlan: Sendable {
    public struct Input: Sendable {
        /// Index into the op's blocks (the input summand and the parameter layout).
        public var block: Int
        /// width x (dim R) entries.
        public var gather: [BasisEntry]
        /// First row of this input's copies in the stack's mixing matrix.
        public var row: Int
        /// The basis matrices j that use this operator, with their weights.
        public var bases: [Int]
        public var weights: [Double]
    }

    public struct Stack: Sendable {
        public var output: SummandExtent
        /// Values gathered per input copy and sample.
        public var width: Int
        /// (dim S) x width entries.
        public var scatter: [BasisEntry]
        public var inputs: [Input]
        /// Rows of the mixing matrix: the copies of all inputs.
        public var depth: Int

        /// The scatter writes value q to coordinate q (kernels copy instead of indexing).
        public var scattersInPlace: Bool { LinearPlan.isIdentity(scatter, width: width, dimension: output.dimension) }
    }

    /// Entries (q, q, 1) for every q < width = dimension.
    static func isIdentity(_ entries: [BasisEntry], width: Int, dimension: Int) -> Bool {
        width == dimension && entries.count == width && entries.enumerated().allSatisfy {
            $0.element.row == $0.offset && $0.element.column == $0.offset && $0.element.value == 1
        }
    }

    /// Whether an input of a stack gathers every coordinate in place (kernels copy instead of indexing).
    public func gathersInPlace(_ input: Input, _ linear: Linear) -> Bool {
        LinearPlan.isIdentity(input.gather, width: input.gather.count, dimension: linear.blocks[input.block].input.dimension)
    }

    public var stacks: [Stack]
    /// Multiply-adds per sample: structured (gathers, products, scatters) and dense.
    public var structuredWork: Int
    public var denseWork: Int
    /// The cost model's choice: expand W when the dense product is no more
    /// work than the structure (or the pair bases are dense) and fits `denseBudget`.
    public var dense: Bool

    /// The most entries of an expanded weight matrix (32 MiB in float64).
    public static let denseBudget = 1 << 22

    public init(_ linear: Linear, allowStructured: Bool = true) {
        var stacks: [Stack] = []
        var stackIndex: [StackKey: Int] = [:]
        // The distinct operators of every pair basis, with the basis matrices that use them.
        let decompositions: [[(BasisOperator, [Int], [Double])]] = linear.bases.map { pair in
            var order: [BasisOperator] = []
            var uses: [BasisOperator: ([Int], [Double])] = [:]
            for (j, terms) in pair.terms.enumerated() {
                for term in terms {
                    if uses[term.op] == nil { order.append(term.op) }
                    uses[term.op, default: ([], [])].0.append(j)
                    uses[term.op, default: ([], [])].1.append(term.weight)
                }
            }
            return order.map { ($0, uses[$0]?.0 ?? [], uses[$0]?.1 ?? []) }
        }
        for (b, block) in linear.blocks.enumerated() {
            for (op, bases, weights) in decompositions[block.basis] {
                let key = StackKey(output: block.output, width: op.width, scatter: op.scatter)
                if stackIndex[key] == nil {
                    stackIndex[key] = stacks.count
                    stacks.append(Stack(output: block.output, width: op.width, scatter: op.scatter, inputs: [], depth: 0))
                }
                guard let s = stackIndex[key] else { continue }
                stacks[s].inputs.append(Input(block: b, gather: op.gather, row: stacks[s].depth, bases: bases, weights: weights))
                stacks[s].depth += block.input.copies
            }
        }
        self.stacks = stacks
        structuredWork = stacks.reduce(0) { total, s in
            total + s.output.copies * (s.depth * s.width + s.scatter.count)
                + s.inputs.reduce(0) { $0 + linear.blocks[$1.block].input.copies * $1.gather.count }
        }
        denseWork = linear.denseEntries
        // Dense pair bases (steerable kernels) have no structure to exploit: every
        // basis matrix is a term over the whole block, and the stacks cost more than they count.
        let denseBases = linear.bases.contains { $0.dense != nil }
        dense = !allowStructured || ((denseBases || denseWork <= structuredWork) && denseWork <= LinearPlan.denseBudget)
    }

    private struct StackKey: Hashable {
        var output: SummandExtent
        var width: Int
        var scatter: [BasisEntry]
    }

    /// Every stack's mixing matrix M (depth x copies, row-major) from theta.
    @inlinable
    public func mixing<T: BinaryFloatingPoint>(_ linear: Linear, _ theta: [Double], as: T.Type = Double.self) -> [[T]] {
        stacks.map { stack in
            let b = stack.output.copies
            var m = [T](repeating: 0, count: stack.depth * b)
            theta.withUnsafeBufferPointer { t in
                m.withUnsafeMutableBufferPointer { m in
                for input in stack.inputs {
                    let block = linear.blocks[input.block]
                    let count = linear.bases[block.basis].count
                    for i in 0..<block.input.copies {
                        let row = (input.row + i) * b
                        for o in 0..<b {
                            let base = linear.parameters.offset + block.firstParameter + o * block.outputStride + i * count
                            var sum = 0.0
                            for (j, w) in zip(input.bases, input.weights) { sum += w * t[base + j] }
                            m[row + o] = T(sum)
                        }
                    }
                }
                }
            }
            return m
        }
    }

    /// The gradient of theta from the gradients of the mixing matrices (the transpose of `mixing`).
    public func accumulate<G: BinaryFloatingPoint>(_ linear: Linear, mixingGradients: [[G]], into dTheta: inout [Double]) {
        for (stack, dm) in zip(stacks, mixingGradients) {
            let b = stack.output.copies
            for input in stack.inputs {
                let block = linear.blocks[input.block]
                for i in 0..<block.input.copies {
                    for o in 0..<b {
                        let g = Double(dm[(input.row + i) * b + o])
                        for (j, w) in zip(input.bases, input.weights) {
                            dTheta[linear.parameters.offset + linear.parameter(block, output: o, input: i, basis: j)] += w * g
                        }
                    }
                }
            }
        }
    }
}

/// How the back ends execute a bilinear block (S sources, a input copies, b
/// output copies) for a tile of samples, in whichever order costs less:
///
/// mixing first (`contractsFirst` false), M (a x S b) with M[i, s b + o] = theta(o, i, s):
///     Z[(t, c), s b + o] = sum_i x[t, input copy i, c] M[i, s b + o]         (one matrix product)
///     y[t, copy o, r] += sum_s sum_c x[t, source s, r dim R + c] Z[(t, c), s b + o]
///
/// contracting first, M (S a x b) with M[s a + i, o] = theta(o, i, s):
///     P[(t, r), s a + i] = sum_c x[t, source s, r dim R + c] x[t, input copy i, c]
///     y[t, copy o, r] += sum_k P[(t, r), k] M[k, o]                            (one matrix product)
///
/// The input-dependent matrix W(x) is never formed.
extension BilinearBlock {
    var mixingFirstWork: Int {
        let products = sources.count * output.copies
        return products * input.copies * input.dimension + products * output.dimension * input.dimension
    }

    var contractingFirstWork: Int {
        let pairs = sources.count * input.copies
        return pairs * output.dimension * input.dimension + pairs * output.copies * output.dimension
    }

    /// Whether contracting sources with inputs first is less work (it is when dim S < dim R).
    public var contractsFirst: Bool { contractingFirstWork < mixingFirstWork }

    /// Multiply-adds per sample, in the order chosen.
    public var work: Int { min(mixingFirstWork, contractingFirstWork) }
}

extension Bilinear {
    /// Every block's mixing matrix M, row-major, in the layout of the block's order.
    @inlinable
    public func mixing<T: BinaryFloatingPoint>(_ theta: [Double], as: T.Type = Double.self) -> [[T]] {
        blocks.map { block in
            let a = block.input.copies, b = block.output.copies, sources = block.sources.count
            let contracts = block.contractsFirst
            var m = [T](repeating: 0, count: a * sources * b)
            theta.withUnsafeBufferPointer { t in
                m.withUnsafeMutableBufferPointer { m in
                // Rows of M in order, so the writes are contiguous.
                let first = parameters.offset + block.firstParameter, stride = block.outputStride
                for i in 0..<a {
                    for s in 0..<sources {
                        let row = (contracts ? s * a + i : i * sources + s) * b
                        let column = first + i * sources + s
                        for o in 0..<b { m[row + o] = T(t[column + o * stride]) }
                    }
                }
                }
            }
            return m
        }
    }

    /// Multiply-adds per sample.
    public var work: Int { blocks.reduce(0) { $0 + $1.work } }
}

extension Optional where Wrapped == LinearPlan {
    /// The plan when the op runs structured; nil when it runs dense (no plan, or
    /// the cost model chose the dense form): what every back end branches on.
    public var structured: LinearPlan? {
        guard let plan = self, !plan.dense else { return nil }
        return plan
    }
}
