import EqnnGroups
import EqnnIR

/// A message layer on point clouds, as checked: `message R` (the radius),
/// `degree L` and `radial H`. Its linear map reads the layer before and the
/// summed messages (`messages`, a representation of its own), so that it
/// mixes both: h'_i = W [h_i ; m_i] + bias, then the activation.
public struct CheckedMessage: Sendable {
    /// The group factor that moves the positions.
    public var factor: Int
    public var radius: Double
    public var degree: Int
    public var hidden: Int
    /// The representation of m_i: per input summand (a copies of atom R), per
    /// output atom S, per path from R to S, a copies of S.
    public var messages: Rep
    /// The radial network's outputs (one per path and input copy) and its parameters.
    public var radialOutputs: Int
    public var radialParameters: Int
    /// The paths as the message op runs them (planned once, here; Lowering stores them).
    public var blocks: [MessageBlock]
    /// For each input atom, the output atoms some path reaches: what the checker's dataflow follows.
    public var reaches: [Atom: Set<Atom>]

    /// What the layer's linear map reads: the layer before, then the messages.
    public func reads(_ previous: Rep) -> Rep {
        Rep(group: previous.group, summands: previous.summands + messages.summands)
    }
}

public enum MessageLayers {
    /// The highest `degree` (u^(x)4 has d^4 coordinates).
    public static let maxDegree = EquivariantSolver.maxMessageDegree
    public static let defaultDegree = 2
    /// The largest representation of the summed messages.
    public static let maxMessageDimension = 1 << 16

    /// The paths of a message layer from `previous` to the atoms of `output`
    /// (with its gates), laid out as `CheckedMessage.messages` describes: the
    /// representation of the messages, its blocks (offsets counted from
    /// `previous`'s dimension on, as the message op writes them after x) and
    /// the radial network's outputs.
    public static func plan(_ group: Group, positions factor: Int, from previous: Rep, to output: Rep, degree: Int,
                            solver: EquivariantSolver) throws -> (messages: Rep, blocks: [MessageBlock], weights: Int, reaches: [Atom: Set<Atom>]) {
        let channels = try previous.dimension()
        var summands: [Summand] = [], blocks: [MessageBlock] = []
        var reaches: [Atom: Set<Atom>] = [:]
        var offset = channels, weights = 0, inputOffset = 0
        for summand in previous.summands {
            let a = summand.multiplicity, inputDimension = try previous.dimension(of: summand.atom)
            for (b, _) in output.distinctAtoms {
                let outputDimension = try output.dimension(of: b)
                for path in try solver.messagePaths(group, positions: factor, from: summand.atom, to: b, degree: degree) {
                    reaches[summand.atom, default: []].insert(b)
                    summands.append(Summand(multiplicity: a, atom: b))
                    blocks.append(MessageBlock(input: SummandExtent(offset: inputOffset, copies: a, dimension: inputDimension),
                                               output: SummandExtent(offset: offset, copies: a, dimension: outputDimension),
                                               degree: path.degree, matrix: path.matrix, firstWeight: weights))
                    offset += a * outputDimension
                    weights += a
                    guard offset - channels <= maxMessageDimension else {
                        throw SolverError.tooLarge(what: "the summed messages' dimension", size: offset - channels, limit: maxMessageDimension)
                    }
                }
            }
            inputOffset += a * inputDimension
        }
        return (Rep(group: group, summands: summands), blocks, weights, reaches)
    }
}
