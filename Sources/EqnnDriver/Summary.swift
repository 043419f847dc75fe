import EqnnDiagnostics
import EqnnSema

/// The per-network table printed after a successful check.
enum Summary {
    static func text(_ network: CheckedNetwork) -> String {
        let linear = network.layers.count - 1
        var out = "\(network.name) over \(network.group.writtenAndCanonical): equivariant, \(linear) linear layer\(linear == 1 ? "" : "s")\n"
        var rows: [[String]] = [["layer", "representation", "activation", "dim", "weights", "dense weights", "bias"]]
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
            let counts = layer.role == .input ? ["", "", ""] : [weights, grouped(layer.denseWeights), grouped(layer.bias)]
            let activation = (layer.activation?.rawValue ?? "") + (layer.hasBilinear ? " + bilinear" : "")
            rows.append([label, rep, activation, grouped(layer.dimension)] + counts)
        }
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        let rightAligned: Set<Int> = [3, 4, 5, 6]
        for row in rows {
            let cells = row.enumerated().map { c, cell in
                let padding = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? padding + cell : cell + padding
            }
            out += "  " + cells.joined(separator: "   ").trailingSpacesRemoved() + "\n"
        }
        let parameters = network.totalParameters
        let dense = network.denseParameters
        out += "  total: \(counted(parameters, "parameter")) (\(counted(network.totalWeights, "weight")) + \(counted(network.totalBias, "bias", plural: "biases"))); "
        out += "a dense MLP of the same widths has \(grouped(dense))"
        if parameters > 0 { out += ", \(ratio(dense, parameters))x more" }
        return out + "\n"
    }

    static func json(_ network: CheckedNetwork) -> JSON {
        .object([
            ("name", .string(network.name)),
            ("group", .string(network.group.written)),
            ("group_canonical", .string(network.group.canonicalName)),
            ("layers", .array(network.layers.map { layer in
                .object([
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
                ])
            })),
            ("parameters", .int(network.totalParameters)),
            ("dense_parameters", .int(network.denseParameters)),
        ])
    }

    /// "1 bias", "12,345 weights".
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
