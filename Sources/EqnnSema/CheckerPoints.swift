import EqnnDiagnostics
import EqnnGroups
import EqnnIR
import EqnnSyntax

/// Point clouds: the space the points live in, and each layer's `message`.
extension Checker {
    /// The largest dimension of the points' space (neighbours are found by cells up to 3).
    static let maxPointDimension = 8
    /// The widest radial network.
    static let maxRadialWidth = 1024

    /// `on points(d)`: the group's first factor whose V is d x d and orthogonal
    /// moves the positions (distances must be invariant for the radial network).
    mutating func checkPointDomain(_ domain: DomainDecl, _ group: Group, _ groupExpr: GroupExpr) -> PointDomain? {
        guard let d = domain.dimension.value else { return nil }
        guard (1...Checker.maxPointDimension).contains(d) else {
            bag.add(.error("points live in R^1 to R^\(Checker.maxPointDimension), not R^\(d)", at: domain.dimension.span))
            return nil
        }
        if let f = group.factors.firstIndex(where: { $0.dimension == d && $0.isOrthogonal }) {
            return PointDomain(dimension: d, factor: f)
        }
        let acting = group.factors.indices.map { "\(group.factorName($0)) acts on R^\(group.factors[$0].dimension)" }
        bag.add(.error("no factor of \(group) turns points of R^\(d) while keeping their distances", at: groupExpr.span,
                       notes: [acting.joined(separator: ", "),
                               "the positions move by a factor's V, which must be \(d) x \(d) and orthogonal: O(\(d)), SO(\(d)), or a matrices(\(d)) group of orthogonal matrices; for example 'network N over O(3) on points(3)'"]))
        return nil
    }

    /// A layer's `message R`, `degree L` and `radial H`: on points only, not on
    /// the input, not after the points were pooled; nil without `message`.
    mutating func checkMessage(_ layer: LayerDecl, onPoints: Bool, pooled: Span?) -> (radius: Double, degree: Int, hidden: Int)? {
        for (literal, word) in [(layer.degree, "degree"), (layer.radial, "radial")] where layer.message == nil {
            if let literal { bag.add(.error("'\(word)' belongs to a message layer, and this layer has no 'message'", at: literal.span)) }
        }
        guard let literal = layer.message else { return nil }
        guard onPoints else {
            bag.add(.error("'message' needs a network on points", at: literal.span,
                           notes: ["write 'network N over O(3) on points(3) { ... }' for point clouds in R^3"]))
            return nil
        }
        guard layer.role != .input else {
            bag.add(.error("the input layer takes no messages", at: literal.span,
                           notes: ["messages feed the layer that reads the one before; put 'message' on the next layer"]))
            return nil
        }
        if let pooled {
            let line = file.map { "on line \($0.location(of: pooled.start).line)" } ?? "earlier"
            bag.add(.error("no points are left to send messages after the pool \(line)", at: literal.span))
            return nil
        }
        guard let radius = Double(literal.text), radius.isFinite, radius > 0, !literal.text.contains("/") else {
            bag.add(.error("a message radius is a positive number, found '\(literal.text)'", at: literal.span))
            return nil
        }
        var degree = MessageLayers.defaultDegree, hidden = Message.defaultHidden
        if let literal = layer.degree, let value = literal.value {
            guard value <= MessageLayers.maxDegree else {
                bag.add(.error("degree \(value) is too high", at: literal.span,
                               notes: ["the limit is \(MessageLayers.maxDegree): a message reads the direction to its neighbour up to that power"]))
                return nil
            }
            degree = value
        }
        if let literal = layer.radial, let value = literal.value {
            guard (1...Checker.maxRadialWidth).contains(value) else {
                bag.add(.error("the radial network's width is 1 to \(Checker.maxRadialWidth), found \(value)", at: literal.span))
                return nil
            }
            hidden = value
        }
        return (radius, degree, hidden)
    }

    /// The layer's messages from `previous`, and its parameters counted on the
    /// layer before and the messages together.
    mutating func planMessage(_ layer: inout CheckedLayer, _ options: (radius: Double, degree: Int, hidden: Int), from previous: Rep,
                              points: PointDomain, _ group: Group, _ maps: LayerMaps) {
        let output = layer.rep.appendingScalars(layer.gates)
        do {
            let plan = try MessageLayers.plan(group, positions: points.factor, from: previous, to: output, degree: options.degree, solver: solver)
            let message = CheckedMessage(factor: points.factor, radius: options.radius, degree: options.degree, hidden: options.hidden, messages: plan.messages,
                                         radialOutputs: plan.weights,
                                         radialParameters: Message.parameterCount(basisCount: Message.defaultBasisCount,
                                                                                   hidden: options.hidden, weights: plan.weights),
                                         blocks: plan.blocks, reaches: plan.reaches)
            layer.message = message
            layer.inDimension += try plan.messages.dimension()
            countParameters(&layer, from: message.reads(previous), offsets: nil, group, maps)
        } catch SolverError.tooLarge(let quantity, let size, let limit) {
            bag.add(.error("the messages are too large: \(quantity) is \(size)", at: layer.span,
                           notes: ["the limit is \(limit); use a lower 'degree' or fewer, smaller summands"]))
        } catch SolverError.inexact {
            bag.add(.error("message layers take fields built from V (Scalar, V, V^2, Det, ...), not Irrep(k) or Mirror", at: layer.span,
                           notes: ["a message's paths are solved exactly, and the matrices of Irrep(k) and Mirror are irrational; on the plane, V of SO(2) is Irrep(1), and V^k holds the frequencies up to k"]))
        } catch {
            bag.add(.error("could not solve this layer's messages exactly: \(error)", at: layer.span))
        }
    }
}
