/// Names the back ends derive from the network's.
public enum Naming {
    /// snake_case of a network name ("CenterOfMass" -> "center_of_mass"): the
    /// stem of generated files and names, a valid C and Python identifier.
    public static func snakeCase(_ name: String) -> String {
        var out = ""
        let chars = Array(name)
        for (k, c) in chars.enumerated() {
            if c.isUppercase {
                let previous = k > 0 ? chars[k - 1] : " "
                let next = k + 1 < chars.count ? chars[k + 1] : " "
                if k > 0 && (previous.isLowercase || previous.isNumber || (previous.isUppercase && next.isLowercase)) { out += "_" }
                out += c.lowercased()
            } else if c.isLetter || c.isNumber {
                out.append(c)
            } else {
                out += "_"
            }
        }
        if let first = out.first, first.isNumber { out = "n_" + out }
        // Every generated name is this prefix plus "_..."; C reserves names that begin with "_".
        var collapsed = ""
        for c in out where !(c == "_" && collapsed.last == "_") { collapsed.append(c) }
        out = collapsed
        if out.isEmpty || out == "_" { return "network" }
        if out.hasPrefix("_") { out = "n" + out }
        return out
    }
}
