import EqnnDiagnostics

/// Turns source text into tokens. Comments run from '#' to the end of the
/// line; newlines are whitespace (every item starts with a keyword).
public struct Lexer {
    private let bytes: [UInt8]
    private var position = 0
    public private(set) var diagnostics: [Diagnostic] = []

    public init(_ file: SourceFile) {
        bytes = file.bytes
    }

    public static func tokenize(_ file: SourceFile) -> (tokens: [Token], diagnostics: [Diagnostic]) {
        var lexer = Lexer(file)
        var tokens: [Token] = []
        while true {
            let token = lexer.next()
            tokens.append(token)
            if token.kind == .endOfFile { break }
        }
        return (tokens, lexer.diagnostics)
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    private static func isIdentifierStart(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    public mutating func next() -> Token {
        skipTrivia()
        let start = position
        guard let c = peek() else {
            return Token(kind: .endOfFile, text: "", span: Span(start, start))
        }
        if Lexer.isIdentifierStart(c) {
            while let d = peek(), Lexer.isIdentifierStart(d) || Lexer.isDigit(d) { position += 1 }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            let kind: TokenKind = Keyword(rawValue: text).map { .keyword($0) } ?? .identifier
            return Token(kind: kind, text: text, span: Span(start, position))
        }
        if Lexer.isDigit(c) || (c == UInt8(ascii: ".") && peek(1).map(Lexer.isDigit) == true) {
            return number(from: start)
        }
        position += 1
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if let p = Punct(rawValue: text) {
            return Token(kind: .punct(p), text: text, span: Span(start, position))
        }
        // One invalid token per run of unexpected bytes (a multi-byte character stays whole).
        while let d = peek(), d >= 0x80, d < 0xC0 { position += 1 }
        let bad = String(decoding: bytes[start..<position], as: UTF8.self)
        diagnostics.append(.error("unexpected character '\(bad)'", at: Span(start, position),
                                  notes: ["eqnn uses ASCII names, numbers and the symbols = { } ( ) [ ] , : + * ^ - /; comments start with '#'"]))
        return Token(kind: .invalid, text: bad, span: Span(start, position))
    }

    private mutating func number(from start: Int) -> Token {
        var isDecimal = false
        while let d = peek(), Lexer.isDigit(d) { position += 1 }
        if peek() == UInt8(ascii: "."), let d = peek(1), Lexer.isDigit(d) {
            isDecimal = true
            position += 1
            while let d = peek(), Lexer.isDigit(d) { position += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            let signed = peek(1) == UInt8(ascii: "-") || peek(1) == UInt8(ascii: "+")
            if let d = peek(signed ? 2 : 1), Lexer.isDigit(d) {
                isDecimal = true
                position += signed ? 2 : 1
                while let d = peek(), Lexer.isDigit(d) { position += 1 }
            }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        return Token(kind: isDecimal ? .decimal : .integer, text: text, span: Span(start, position))
    }

    private mutating func skipTrivia() {
        while let c = peek() {
            if c == UInt8(ascii: "#") {
                while let d = peek(), d != UInt8(ascii: "\n") { position += 1 }
            } else if c == 32 || c == 9 || c == 10 || c == 13 {
                position += 1
            } else {
                return
            }
        }
    }
}
