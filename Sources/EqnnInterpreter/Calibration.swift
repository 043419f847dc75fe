import EqnnIR
import Foundation

/// Data-dependent initialization (in the manner of Mishkin and Matas's LSUV
/// and of Salimans and Kingma's weight-normalization init), run by `train`
/// before the first step: layer by layer, on a batch of training inputs,
///
/// - the bias after each linear op (or convolution) that feeds a pointwise
///   nonlinearity (relu, tanh, ...), and after the output op, is set to cancel
///   the mean of its outputs where a bias can: their projection on the
///   invariant subspace;
/// - the output op's coefficients are scaled down by one number where its
///   centred outputs have a mean square above 1 (the standardized target's);
///   on rotations off the pixel lattice (GridDomain.exactFor) the output op
///   starts at zero instead, and its bias where `classLabels` put it (below);
/// - there too, the steerable kernels start band-limited: the coefficients of
///   angular frequencies above 1 (and above the lowest of their pair basis) at
///   zero, the others as drawn (below).
///
/// The readout at zero: the network starts at its output bias, the mean of the
/// standardized targets (0) or for classes the log of their frequencies in the
/// training labels (`logPrior`, the prior of Lin et al.'s focal loss), and its
/// first steps fit a readout of the features (the zero-initialized head of
/// big_vision's ViTs). A random readout never leaves the trained weights:
/// where steerable kernels are exact only up to sampling, the features it
/// picks carry the sampling error into the outputs, and starting at zero
/// lowers the trained C8 and C16 networks' equivariance error by a quarter
/// and D16's by 8%, at the same accuracy (docs/benchmarks.md). Where the
/// network is exact that buys nothing, and it slowed a plain CNN (10.0%
/// test error on turned shapes against 4.9%, 4 seeds), so the readout there
/// stays drawn at random.
///
/// The band-limited start: a random draw puts as much on each frequency as on
/// any other, and what the loss does not use stays in the trained kernels; on
/// a 3x3 or 5x5 kernel frequency 2 is the one the sampling distorts most
/// (`band 1` layers lower the error, but cannot learn what needs frequency 2:
/// D16's test error 14.6%). Starting those coefficients at zero lets training
/// grow them where the loss asks for them, and lowered the trained C8, C16 and
/// D16 networks' equivariance error by 10%, 14% and 15% at the same accuracy
/// (10 seeds; docs/benchmarks.md), and was neutral on an O(2) network whose
/// task needs frequency 2 (a vector field of second derivatives). A pair
/// basis whose lowest frequency is higher (Scalar -> Irrep(2)) keeps its draw
/// at that frequency: a path whose kernels start at zero at both ends has no
/// gradient and would never learn.
///
/// Hidden ops keep the scale of their random draw: rescaling them to unit
/// variance undid the smaller first layer of docs/graph-ir.md (FWW21 inertia:
/// test MSE 1.5 against 0.074 centred only). Gated, norm and identity layers
/// are left as drawn: their regime does not hinge on an offset the way a
/// relu's does, and centring them cost FWW21's O(5) network 10% to 70%
/// (three seeds); on bench/gcnn.py's regression, centring the relu layers
/// too gives 0.051 after 6 epochs where the output alone gives 0.090.
/// Scaling the relu layers to unit variance as well (LSUV) changed nothing
/// there, nor on the rotated-shapes task (7.1% test error against 6.7%).
///
/// Why: on permutation fields (Regular) the mean that relu leaves is carried
/// by the invariant parts of every kernel basis, which sum the group's channels
/// coherently: a Regular -> Scalar map amplifies it |G| times more than it does
/// the fluctuations (a dense layer with He's variance: 1 time). The network
/// then starts with a constant offset of several standard deviations of the
/// target, which Adam's bounded steps remove only over thousands of steps.
/// Both changes keep theta in the equivariant space: the bias stays in the
/// invariant subspace, and every coefficient of an op is scaled alike.
public enum Calibration {
    /// theta after calibration on `rows` samples of `x` (normalized as the model does);
    /// `classLabels`: the training labels (class indices) when the loss is cross-entropy; a
    /// readout at zero then starts at their log frequencies, else at 0 (the standardized mean).
    public static func calibrated(_ model: Model, x: [Double], rows: Int, extents: [Int] = [], points: PointBatch? = nil,
                                  classLabels: [Double]? = nil) -> [Double] {
        var model = model
        let ops = model.graph.ops
        let outputOp = ops.lastIndex { $0.linearMap != nil }
        // Rotations off the pixel lattice: band-limited kernels and the readout at zero.
        let offLattice = model.graph.domain?.exactFor != nil
        if offLattice {
            for op in ops { if let linear = op.linearMap { startBandLimited(linear, &model.parameters) } }
        }
        if offLattice, let k = outputOp, let output = ops[k].linearMap {
            let weights = output.parameters
            for j in weights.offset..<(weights.offset + weights.count) { model.parameters[j] = 0 }
            if k + 1 < ops.count, case .bias(let bias) = ops[k + 1] {
                let start = classLabels.map { logPrior(labels: $0, classes: output.outputDimension) }
                let coefficients = start.map { bias.basis.coefficients(nearest: $0) } ?? [Double](repeating: 0, count: bias.parameters.count)
                for (j, c) in coefficients.enumerated() { model.parameters[bias.parameters.offset + j] = c }
            }
        }
        for (k, op) in ops.enumerated() {
            guard let linear = op.linearMap, (k == outputOp && !offLattice) || feedsPointwiseNonlinearity(ops, after: k) else { continue }
            // Outputs of op k (the input of op k + 1) with the bias that follows at zero.
            let bias: Bias? = k + 1 < ops.count ? { if case .bias(let b) = ops[k + 1] { return b } else { return nil } }() : nil
            if let bias { for j in 0..<bias.parameters.count { model.parameters[bias.parameters.offset + j] = 0 } }
            let tape = Executable<Double>(model).run(x, batch: rows, extents: extents, points: points, tape: .all).tape
            let z = tape[k + 1], d = linear.outputDimension
            let count = z.count / max(1, d)
            guard count > 0 else { continue }
            var mean = [Double](repeating: 0, count: d)
            for r in 0..<count { for c in 0..<d { mean[c] += z[r * d + c] } }
            for c in 0..<d { mean[c] /= Double(count) }
            let shift = bias.map { invariantProjection(mean, $0) } ?? [Double](repeating: 0, count: d)
            var squares = 0.0
            for r in 0..<count { for c in 0..<d { let v = z[r * d + c] - shift[c]; squares += v * v } }
            let meanSquare = squares / Double(count * d)
            guard meanSquare.isFinite, meanSquare > 1e-24 else { continue }
            let scale = k == outputOp && meanSquare > 1 ? 1 / meanSquare.squareRoot() : 1
            let slice = linear.parameters
            for j in slice.offset..<(slice.offset + slice.count) { model.parameters[j] *= scale }
            if let bias {
                // The coefficients of the bias that best cancel the (scaled) mean.
                let coefficients = bias.basis.coefficients(nearest: mean.map { -$0 * scale })
                for (j, c) in coefficients.enumerated() { model.parameters[bias.parameters.offset + j] = c }
            }
        }
        return model.parameters
    }

    /// The highest angular frequency of sampled steerable kernels whose coefficients
    /// keep their random draw; those of higher frequencies start at zero.
    public static let startingBand = 1

    /// Sets to zero every coefficient of `linear` on a basis matrix whose angular
    /// frequency is above `startingBand` and above the lowest of its pair basis,
    /// which keeps its draw: a pair whose kernels all turn faster (Scalar -> Irrep(2))
    /// starts as drawn, since a path through zero kernels at both ends never learns.
    static func startBandLimited(_ linear: Linear, _ theta: inout [Double]) {
        for block in linear.blocks {
            guard let frequencies = linear.bases[block.basis].frequencies, let lowest = frequencies.min() else { continue }
            let band = max(startingBand, lowest)
            for o in 0..<block.output.copies {
                for i in 0..<block.input.copies {
                    for (j, f) in frequencies.enumerated() where f > band {
                        theta[linear.parameters.offset + linear.parameter(block, output: o, input: i, basis: j)] = 0
                    }
                }
            }
        }
    }

    /// Whether op k's outputs reach a pointwise nonlinearity through a bias (and a bilinear term) only.
    static func feedsPointwiseNonlinearity(_ ops: [Op], after k: Int) -> Bool {
        for op in ops[(k + 1)...] {
            switch op {
            case .bias, .bilinear: continue
            case .pointwise(let p): return p.function != .identity
            default: return false
            }
        }
        return false
    }

    /// The vector of span(b) nearest to `v`.
    static func invariantProjection(_ v: [Double], _ bias: Bias) -> [Double] {
        let c = bias.basis.coefficients(nearest: v)
        var out = [Double](repeating: 0, count: v.count)
        for (j, cj) in c.enumerated() {
            for e in bias.basis.starts[j]..<bias.basis.starts[j + 1] { out[bias.basis.entryRows[e]] += cj * bias.basis.values[e] }
        }
        return out
    }

    /// The log of each class's frequency among `labels` (class indices, any layout;
    /// one added to every count, so that an absent class stays finite), centred:
    /// the logits that predict the training labels' class frequencies.
    public static func logPrior(labels: [Double], classes: Int) -> [Double] {
        guard classes > 0 else { return [] }
        var counts = [Double](repeating: 1, count: classes)
        for label in labels where label.isFinite && label >= 0 && label < Double(classes) { counts[Int(label)] += 1 }
        let logs = counts.map { log($0) }
        let mean = logs.reduce(0, +) / Double(classes)
        return logs.map { $0 - mean }
    }
}
