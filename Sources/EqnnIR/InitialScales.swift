/// A run of theta whose coefficients start as independent N(mean, std^2) draws
/// (a constant when std is 0: batchnorm's scales and running variances, 1).
public struct InitialScale: Sendable, Equatable {
    public var offset: Int
    public var count: Int
    public var standardDeviation: Double
    public var mean: Double

    public init(offset: Int, count: Int, standardDeviation: Double, mean: Double = 0) {
        self.offset = offset
        self.count = count
        self.standardDeviation = standardDeviation
        self.mean = mean
    }
}

extension Graph {
    /// How every back end initializes theta (docs/graph-ir.md, Initialization):
    /// runs in increasing offset order; coefficients outside every run (the
    /// biases) start at 0. Every basis matrix has unit Frobenius norm, so with
    /// theta_k ~ N(0, s^2) the expanded W = sum_k theta_k B_k has
    /// E |W|_F^2 = s^2 K for K basis matrices; s^2 = gain * out / K gives an
    /// average entry variance of gain / in (He or LeCun, times the op's gain).
    /// A bilinear coefficient starts at N(0, (0.1 / sqrt(f))^2), f the number
    /// of (block, source) products feeding its output summand, so W(h) h
    /// starts at about a tenth of h (as in emlp) and the layer near the identity.
    /// Batchnorm's scales and running variances start at 1, its shifts and running means at 0.
    /// A message op's radial network starts as a plain MLP's (He into silu, LeCun out).
    public var initialScales: [InitialScale] {
        var runs: [InitialScale] = []
        for op in ops {
            if let l = op.linearMap {
                let k = l.parameters.count
                guard k > 0 else { continue }
                runs.append(InitialScale(offset: l.parameters.offset, count: k,
                                         standardDeviation: (l.gain * Double(l.outputDimension) / Double(k)).squareRoot()))
                continue
            }
            if case .message(let m) = op {
                // The radial network as a plain MLP: He's variance into silu, LeCun's out of it; biases at 0.
                runs.append(InitialScale(offset: m.firstLayer, count: m.hidden * m.basisCount,
                                         standardDeviation: (2 / Double(m.basisCount)).squareRoot()))
                runs.append(InitialScale(offset: m.secondLayer, count: m.weights * m.hidden,
                                         standardDeviation: (1 / Double(m.hidden)).squareRoot()))
                continue
            }
            if case .batchNorm(let n) = op {
                runs.append(InitialScale(offset: n.parameters.offset, count: n.fields.count, standardDeviation: 0, mean: 1))
                runs.append(InitialScale(offset: n.statistics.offset + n.centredCount, count: n.fields.count, standardDeviation: 0, mean: 1))
                continue
            }
            guard case .bilinear(let b) = op else { continue }
            // Parameters run output summand by output summand: one scale for each.
            var k = 0
            while k < b.blocks.count {
                let row = b.blocks[k...].prefix { $0.output == b.blocks[k].output }
                let fanIn = row.reduce(0) { $0 + $1.input.copies * $1.sources.count }
                let first = row.map(\.firstParameter).min() ?? 0
                runs.append(InitialScale(offset: b.parameters.offset + first, count: b.blocks[k].output.copies * fanIn,
                                         standardDeviation: 0.1 / Double(max(1, fanIn)).squareRoot()))
                k += row.count
            }
        }
        return runs
    }
}

extension Graph {
    /// A factor on each coefficient's optimizer step, so that Adam's steps (about lr in every
    /// coefficient, with the gradient's sign) move every weight of the network by about the
    /// same amount, `weightStep` lr:
    ///
    /// - Within a basis, s_j = 1 / sqrt(c_j), with c_j = sum_e B_j[e]^2 c[e] and
    ///   c[e] = sum_i B_i[e]^2 how much of the basis's unit-norm matrices lies on weight e.
    ///   With random signs weight e moves by lr sqrt(sum_j s_j^2 B_j[e]^2): about lr.
    ///   Disjoint matrices (orbit indicators, a bias's constant fields) get sqrt(nnz), a
    ///   unit-norm matrix spreading its coefficient over nnz weights of root mean square
    ///   1 / sqrt(nnz); overlapping ones (frequency-aligned and steerable kernels, each
    ///   spanning its whole block) about sqrt(weights / matrices) of their block.
    /// - Every factor of the network is then multiplied by `weightStep`, and so is the 1 of
    ///   every other parameter (radial networks, bilinear and batchnorm coefficients: plain
    ///   weights, which Adam moves by lr).
    ///
    /// sqrt(nnz) alone, the rule before, moved the weights of overlapping matrices by lr
    /// sqrt(o), o matrices over each (about 6 lr in a C(8) network's kernels, 9 in D(16)'s),
    /// and those of the disjoint output op by lr: trained so, the steerable networks of
    /// bench/steerable.py grew large hidden features and measured 5% to 20% less equivariant
    /// (docs/benchmarks.md, where the ablations are). Without any factor a learning rate of
    /// 3e-3 acts like one of 1e-3 or far less.
    public var stepScales: [Double] {
        var scales = [Double](repeating: 1, count: parameterCount)
        var overlap = 1.0
        for op in ops {
            if let l = op.linearMap {
                let perBasis = l.bases.map { Graph.stepScales(of: $0.matrices) }
                for block in l.blocks {
                    let (factors, basisOverlap) = perBasis[block.basis]
                    overlap = max(overlap, basisOverlap)
                    for o in 0..<block.output.copies {
                        for i in 0..<block.input.copies {
                            for (j, s) in factors.enumerated() { scales[l.parameters.offset + l.parameter(block, output: o, input: i, basis: j)] = s }
                        }
                    }
                }
            } else if case .bias(let b) = op {
                let (factors, basisOverlap) = Graph.stepScales(of: b.basis)
                overlap = max(overlap, basisOverlap)
                for (k, s) in factors.enumerated() { scales[b.parameters.offset + k] = s }
            }
        }
        let step = Graph.weightStep(overlap: overlap)
        return scales.map { $0 * step }
    }

    /// How far, in units of lr, each step moves the weights: sqrt of the largest overlap o
    /// of the network's bases (the step that sqrt(nnz) gave its most overlapped kernel, 1
    /// where no matrices overlap, as in a plain network), at most 3. Measured on
    /// bench/steerable.py (docs/benchmarks.md): 1 lr everywhere left D(16)'s network at 17%
    /// test error after 30 epochs (0.9% before); 3 lr trains it to 1.3% (5 seeds) and lowers
    /// the equivariance error of C(8), C(16) and D(16).
    public static func weightStep(overlap: Double) -> Double {
        overlap < 1 + 1e-9 ? 1 : min(3, overlap.squareRoot())  // disjoint matrices: 1 exactly, not 1 + rounding
    }

    /// The factors s_j of `stepScales` for the matrices of one basis, before `weightStep`,
    /// and the basis's overlap: how many of its matrices lie on a weight, nnz_j c_j averaged
    /// over its matrices (1 where they are disjoint, about their number where each spans the block).
    public static func stepScales(of basis: SparseBasis) -> (factors: [Double], overlap: Double) {
        // c[e] by weight: the entries' distinct positions numbered in order (a sparse basis
        // of a large map may cover few of its rows x columns positions).
        var slot = [Int: Int](minimumCapacity: basis.entryCount)
        var cover: [Double] = []
        let slots = (0..<basis.entryCount).map { e -> Int in
            let key = basis.entryRows[e] * basis.columns + basis.entryColumns[e]
            let k = slot[key] ?? { cover.append(0); slot[key] = cover.count - 1; return cover.count - 1 }()
            cover[k] += basis.values[e] * basis.values[e]
            return k
        }
        var overlap = 0.0
        let factors = (0..<basis.count).map { j -> Double in
            var c = 0.0
            for e in basis.starts[j]..<basis.starts[j + 1] { c += basis.values[e] * basis.values[e] * cover[slots[e]] }
            overlap += Double(basis.starts[j + 1] - basis.starts[j]) * c / Double(basis.count)
            return c > 0 ? 1 / c.squareRoot() : 1
        }
        return (factors, max(1, overlap))
    }
}
