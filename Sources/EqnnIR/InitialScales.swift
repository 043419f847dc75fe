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
    /// A factor on each coefficient's optimizer step: sqrt(nnz) for a coefficient of a
    /// linear op's or a bias's basis matrix with nnz entries, 1 for the rest. A basis
    /// matrix has unit Frobenius norm, so its nnz entries have a root mean square of
    /// 1 / sqrt(nnz): a step of lr in its coefficient moves them by lr / sqrt(nnz),
    /// where Adam moves each weight of a plain network by lr. An orbit indicator of a
    /// Regular -> Regular kernel of p4m spans 8 to 72 entries, a frequency-aligned or
    /// steerable basis matrix its whole block (hundreds): without the factor a
    /// learning rate of 3e-3 would act like one of 1e-3 or far less.
    /// The factor makes every entry move by about lr, whatever the group.
    public var stepScales: [Double] {
        var scales = [Double](repeating: 1, count: parameterCount)
        for op in ops {
            if let l = op.linearMap {
                for block in l.blocks {
                    let basis = l.bases[block.basis].matrices
                    for o in 0..<block.output.copies {
                        for i in 0..<block.input.copies {
                            for j in 0..<basis.count {
                                let nnz = basis.starts[j + 1] - basis.starts[j]
                                scales[l.parameters.offset + l.parameter(block, output: o, input: i, basis: j)] = Double(max(1, nnz)).squareRoot()
                            }
                        }
                    }
                }
            } else if case .bias(let b) = op {
                for k in 0..<b.basis.count {
                    scales[b.parameters.offset + k] = Double(max(1, b.basis.starts[k + 1] - b.basis.starts[k])).squareRoot()
                }
            }
        }
        return scales
    }
}
