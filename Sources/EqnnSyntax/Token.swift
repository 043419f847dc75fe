import EqnnDiagnostics

public enum TokenKind: Equatable, Sendable {
    case identifier
    case integer
    case decimal       // 0.5, 1e-3
    case keyword(Keyword)
    case punct(Punct)
    case endOfFile
    case invalid

    public var description: String {
        switch self {
        case .identifier: return "identifier"
        case .integer: return "integer"
        case .decimal: return "number"
        case .keyword(let k): return "'\(k.rawValue)'"
        case .punct(let p): return "'\(p.rawValue)'"
        case .endOfFile: return "end of file"
        case .invalid: return "invalid character"
        }
    }
}

/// Words that start declarations and network items. Everything else
/// (S, V, relu, x, dual, permutations, ...) is an identifier with meaning
/// given by context, so that users may still name things freely.
public enum Keyword: String, CaseIterable, Sendable {
    case group, rep, network, over, input, layer, output
}

public enum Punct: String, CaseIterable, Sendable {
    case equals = "=", leftBrace = "{", rightBrace = "}", leftParen = "(", rightParen = ")"
    case leftBracket = "[", rightBracket = "]", comma = ",", colon = ":", plus = "+", star = "*"
    case caret = "^", minus = "-", slash = "/"
}

public struct Token: Equatable, Sendable {
    public var kind: TokenKind
    public var text: String
    public var span: Span

    /// How the token reads in "expected X, found Y".
    public var quoted: String {
        switch kind {
        case .endOfFile: return "end of file"
        default: return "'\(text)'"
        }
    }
}
