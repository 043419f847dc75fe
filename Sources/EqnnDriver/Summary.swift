import EqnnDiagnostics
import EqnnSema
import EqnnSupport

/// The per-network table printed after a successful check.
enum Summary {
    static func text(_ network: CheckedNetwork) -> String {
        let linear = network.layers.count - 1
        let grid = network.domain
        let domain = grid.map { " on \($0.description)" } ?? network.points.map { " on \($0.description)" } ?? ""
        let kind = grid == nil ? "linear" : "convolution"
        var out = "\(network.name) over \(network.group.writtenAndCanonical)\(domain): equivariant, \(linear) \(kind) layer\(linear == 1 ? "" : "s")\n"
        // On a grid: the kernel of each layer, and the weights of a plain CNN with the same widths and kernels.
        // On points: each layer's messages (radius, degree) and its radial network's weights beside its linear map's.
        var rows: [[String]] = [["layer", "representation", "activation", "dim"] + (grid == nil ? [] : ["kernel"])
                                + (network.points == nil ? [] : ["message"])
                                + ["weights", grid == nil ? "dense weights" : "CNN weights", "bias"]]
        var hidden = 0
        for layer in network.layers {
            let label: String
            switch layer.role {
            case .input: label = "in"
            case .output: label = "out"
            case .hidden:
                hidden += 1
                label = "\(hidden)"
            }
            let rep = layer.rep.description + (layer.gates > 0 ? " (+\(layer.gates) gates)" : "")
            let weights = grouped(layer.weights) + (layer.hasBilinear ? " + \(grouped(layer.bilinearWeights)) bilinear" : "")
                + (layer.message.map { " + \(grouped($0.radialParameters)) radial" } ?? "")
            let message = network.points == nil ? [] : [layer.message.map { "r \($0.radius), degree \($0.degree)" } ?? ""]
            let counts = layer.role == .input ? ["", "", ""] : [weights, grouped(layer.denseWeights), grouped(layer.bias)]
            var activation = (layer.activation?.rawValue ?? "") + (layer.hasBilinear ? " + bilinear" : "")
                + (layer.batchNorm != nil ? " + batchnorm" : "")
            if let pool = layer.pool { activation += (activation.isEmpty ? "" : ", ") + pool.description }
            let kernel = grid.map { g in
                layer.kernel.map { k in [Array(repeating: "\(k)", count: g.dimension).joined(separator: "x") + (layer.band.map { " band \($0)" } ?? "")] } ?? [""]
            } ?? []
            rows.append([label, rep, activation, grouped(layer.dimension)] + kernel + message + counts)
        }
        out += table(rows, rightAligned: Set(3..<rows[0].count), indent: "  ")
        let parameters = network.totalParameters
        let dense = network.denseParameters
        let normalization = network.totalNormalization > 0 ? " + \(grouped(network.totalNormalization)) batchnorm" : ""
        out += "  total: \(counted(parameters, "parameter")) (\(counted(network.totalWeights, "weight")) + \(counted(network.totalBias, "bias", plural: "biases"))\(normalization)); "
        out += grid == nil ? "a dense MLP of the same widths has \(grouped(dense))"
                           : "a plain CNN of the same widths and kernels has \(grouped(dense))"
        // "x more" when the dense count is the larger (the usual case), "x fewer" when the radial networks of messages outweigh it.
        if parameters > 0 { out += dense >= parameters || dense == 0 ? ", \(ratio(dense, parameters))x more" : ", \(ratio(parameters, dense))x fewer" }
        out += "\n"
        if let points = network.points {
            out += "  on point clouds of any size: equivariant to \(network.group.written) acting on R^\(points.dimension) and on the fields, "
                + "to translations and to permutations of the points\n"
        }
        if let exactFor = network.domain?.exactFor {
            out += "  exact for \(exactFor) (the elements that map pixels to pixels); the other rotations up to the "
                + "sampling of the steerable kernels: 'eqnnc verify' measures each, layer by layer\n"
        }
        return out
    }

    static func json(_ network: CheckedNetwork) -> JSON {
        .object([
            ("name", .string(network.name)),
            ("group", .string(network.group.written)),
            ("group_canonical", .string(network.group.canonicalName)),
            ("domain", network.domain.map { .object([("dimension", .int($0.dimension)), ("padding", .string($0.padding.rawValue))]) }
                ?? network.points.map { .object([("points", .int($0.dimension))]) } ?? .null),
            // Rotation groups off the pixel lattice: the subgroup for which the sampled kernels are exact (GridDomain.exactFor).
            ("exact_for", network.domain?.exactFor.map(JSON.string) ?? .null),
            ("layers", .array(network.layers.map(layerJSON))),
            ("parameters", .int(network.totalParameters)),
            ("dense_parameters", .int(network.denseParameters)),
        ])
    }

    static func layerJSON(_ layer: CheckedLayer) -> JSON {
        var fields: [(String, JSON)] = [

                    ("role", .string(layer.role.rawValue)),
                    ("representation", .string(layer.rep.description)),
                    ("activation", layer.activation.map { .string($0.rawValue) } ?? .null),
                    ("dim", .int(layer.dimension)),
                    ("gates", .int(layer.gates)),
                    ("in_dim", .int(layer.inDimension)),
                    ("out_dim", .int(layer.outDimension)),
                    ("weights", .int(layer.weights)),
                    ("dense_weights", .int(layer.denseWeights)),
                    ("bias", .int(layer.bias)),
                    ("bilinear", .bool(layer.hasBilinear)),
                    ("bilinear_weights", .int(layer.bilinearWeights)),
                    ("batchnorm", layer.batchNorm.map { .int($0) } ?? .null),
        ]
        // Grid networks: dense_weights counts an unconstrained CNN kernel of this size.
        if let kernel = layer.kernel { fields.append(("kernel", .int(kernel))) }
        if let band = layer.band { fields.append(("band", .int(band))) }
        if let m = layer.message {
            fields.append(("message", .object([("radius", .double(m.radius)), ("degree", .int(m.degree)), ("radial_width", .int(m.hidden)),
                                               ("messages_dim", .int((try? m.messages.dimension()) ?? 0)),
                                               ("radial_weights", .int(m.radialParameters))])))
        }
        if let pool = layer.pool {
            switch pool {
            case .mean(let size): fields.append(("pool", .int(size)))
            case .global: fields.append(("pool", .string("global")))
            case .sum: fields.append(("pool", .string("sum")))
            }
        }
        return .object(fields)
    }

    /// "1 bias", "12,345 weights".
    /// Rows of cells as aligned columns, three spaces apart, one line each.
    static func table(_ rows: [[String]], rightAligned: Set<Int>, indent: String) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { c in rows.map { $0.indices.contains(c) ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            let cells = row.enumerated().map { c, cell in
                let padding = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? padding + cell : cell + padding
            }
            return indent + cells.joined(separator: "   ").trailingSpacesRemoved() + "\n"
        }.joined()
    }

    static func counted(_ n: Int, _ singular: String, plural: String? = nil) -> String {
        "\(grouped(n)) " + (n == 1 ? singular : plural ?? singular + "s")
    }

    /// 12345 -> "12,345".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (k, c) in digits.enumerated() {
            if k > 0 && (digits.count - k) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// a / b with one decimal.
    static func ratio(_ a: Int, _ b: Int) -> String {
        let tenths = (a * 10 + b / 2) / b
        return "\(tenths / 10).\(tenths % 10)"
    }
}

extension String {
    func trailingSpacesRemoved() -> String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
