import EqnnDiagnostics

/// Recursive descent over the grammar in grammar/eqnn.ebnf; each parse
/// function carries its production above it. Errors recover in panic mode:
/// skip to the next declaration (or network item), report, go on.
public struct Parser {
    private var tokens: [Token]
    private var index = 0
    private let file: SourceFile
    public private(set) var diagnostics: [Diagnostic] = []
    /// Nesting of group and representation expressions, bounded so that deep
    /// parentheses are a located error and never exhaust the stack (here or
    /// in the recursive stages after the parser).
    private var depth = 0
    public static let maxDepth = 256

    /// Thrown inside a declaration to unwind to the recovery point.
    private struct Abort: Error {}

    public init(_ file: SourceFile) {
        self.file = file
        let lexed = Lexer.tokenize(file)
        tokens = lexed.tokens.filter { $0.kind != .invalid }
        diagnostics = lexed.diagnostics
    }

    public static func parse(_ file: SourceFile) -> (ast: SourceAST, diagnostics: [Diagnostic]) {
        var parser = Parser(file)
        let ast = parser.parseFile()
        return (ast, parser.diagnostics)
    }

    /// Parses a standalone group expression (for `eqnnc hom`).
    public static func parseGroup(_ file: SourceFile) -> (GroupExpr?, [Diagnostic]) {
        var parser = Parser(file)
        let expr = try? parser.groupExpr()
        if expr != nil { parser.expectEnd() }
        return (expr, parser.diagnostics)
    }

    /// Parses a standalone representation expression (for `eqnnc hom`).
    public static func parseRep(_ file: SourceFile) -> (RepExpr?, [Diagnostic]) {
        var parser = Parser(file)
        let expr = try? parser.repExpr()
        if expr != nil { parser.expectEnd() }
        return (expr, parser.diagnostics)
    }

    // MARK: Token helpers

    private var current: Token { tokens[min(index, tokens.count - 1)] }
    private func peek(_ offset: Int) -> Token { tokens[min(index + offset, tokens.count - 1)] }

    private mutating func advance() -> Token {
        let token = current
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func at(_ p: Punct) -> Bool { current.kind == .punct(p) }
    private func at(_ k: Keyword) -> Bool { current.kind == .keyword(k) }
    private func atIdentifier(_ text: String) -> Bool { current.kind == .identifier && current.text == text }

    private mutating func accept(_ p: Punct) -> Bool {
        if at(p) { _ = advance(); return true }
        return false
    }

    private mutating func expect(_ p: Punct, _ context: String) throws -> Token {
        if at(p) { return advance() }
        throw error("expected '\(p.rawValue)' \(context), found \(current.quoted)")
    }

    private mutating func expectIdentifier(_ what: String) throws -> Identifier {
        guard current.kind == .identifier else {
            if case .keyword(let k) = current.kind {
                // A keyword on the same line was meant as a name; on a later line, something is missing.
                let sameLine = errorSpan == current.span
                throw error("expected \(what), found keyword '\(k.rawValue)'",
                            notes: sameLine ? ["'\(k.rawValue)' is reserved; choose another name"] : [])
            }
            throw error("expected \(what), found \(current.quoted)")
        }
        let t = advance()
        return Identifier(text: t.text, span: t.span)
    }

    private mutating func expectInteger(_ what: String) throws -> IntLiteral {
        guard current.kind == .integer else { throw error("expected \(what), found \(current.quoted)") }
        let t = advance()
        if Int(t.text) == nil {
            diagnostics.append(.error("integer '\(t.text)' is too large", at: t.span))
        }
        return IntLiteral(value: Int(t.text), span: t.span)
    }

    private mutating func error(_ message: String, notes: [String] = []) -> Abort {
        diagnostics.append(.error(message, at: errorSpan, notes: notes))
        return Abort()
    }

    /// Where a missing token is reported: at the found token, unless that is
    /// on a later line than the previous token; then just after the previous
    /// token, where the missing text belongs.
    private var errorSpan: Span {
        guard index > 0 else { return current.span }
        let previous = tokens[index - 1].span
        if file.location(of: previous.end).line < file.location(of: current.span.start).line {
            return Span(previous.end, previous.end)
        }
        return current.span
    }

    private mutating func expectEnd() {
        if current.kind != .endOfFile {
            diagnostics.append(.error("unexpected \(current.quoted) after the expression", at: current.span))
        }
    }

    /// Skips tokens until one of the stopping points; callers make sure the
    /// loop around it makes progress.
    private mutating func synchronize(to keywords: Set<String>, stopAtBrace: Bool) {
        while current.kind != .endOfFile {
            if case .keyword(let k) = current.kind, keywords.contains(k.rawValue) { return }
            if stopAtBrace && at(.rightBrace) { return }
            _ = advance()
        }
    }

    // MARK: Declarations

    // file = { declaration } ;
    mutating func parseFile() -> SourceAST {
        var declarations: [Declaration] = []
        var incomplete: [Identifier] = []
        while current.kind != .endOfFile {
            let before = index
            do {
                declarations.append(try declaration())
            } catch {
                // Remember the name so that its uses do not report it as unknown.
                let keyword = tokens[before].kind, name = tokens[min(before + 1, tokens.count - 1)]
                if index - before >= 2, keyword == .keyword(.group) || keyword == .keyword(.rep), name.kind == .identifier {
                    incomplete.append(Identifier(text: name.text, span: name.span))
                }
                synchronize(to: ["group", "rep", "network"], stopAtBrace: false)
            }
            if index == before { _ = advance() }
        }
        return SourceAST(declarations: declarations, incomplete: incomplete)
    }

    // declaration = group_decl | rep_decl | network_decl ;
    private mutating func declaration() throws -> Declaration {
        switch current.kind {
        case .keyword(.group): return .group(try groupDecl())
        case .keyword(.rep): return .rep(try repDecl())
        case .keyword(.network): return .network(try networkDecl())
        default:
            // At the token itself: what came before is a complete declaration, nothing is missing there.
            diagnostics.append(.error("expected a declaration ('group', 'rep' or 'network'), found \(current.quoted)", at: current.span))
            throw Abort()
        }
    }

    // group_decl = "group" IDENT "=" group_expr ;
    private mutating func groupDecl() throws -> GroupDecl {
        _ = advance()
        let name = try expectIdentifier("a group name")
        _ = try expect(.equals, "after the group name")
        return GroupDecl(name: name, value: try groupExpr())
    }

    // rep_decl = "rep" IDENT "=" rep_expr ;
    private mutating func repDecl() throws -> RepDecl {
        _ = advance()
        let name = try expectIdentifier("a representation name")
        _ = try expect(.equals, "after the representation name")
        return RepDecl(name: name, value: try repExpr())
    }

    // network_decl = "network" IDENT "over" group_expr [ domain ] "{" { network_item } "}" ;
    private mutating func networkDecl() throws -> NetworkDecl {
        let keyword = advance().span
        let name = try expectIdentifier("a network name")
        guard at(.over) else {
            throw error("expected 'over' and the network's group after '\(name.text)', found \(current.quoted)",
                        notes: ["write 'network \(name.text) over G { ... }'"])
        }
        _ = advance()
        let group = try groupExpr()
        let domain = atIdentifier("on") ? try self.domain() : nil
        _ = try expect(.leftBrace, "to open the network body")
        var layers: [LayerDecl] = []
        while !at(.rightBrace) && current.kind != .endOfFile {
            let before = index
            do {
                layers.append(try networkItem())
            } catch {
                if index == before { _ = advance() }
                synchronize(to: ["input", "layer", "output", "network", "group", "rep"], stopAtBrace: true)
                if at(.network) || at(.group) || at(.rep) { break }
            }
            if index == before { _ = advance() }
        }
        guard at(.rightBrace) else {
            let line = file.location(of: keyword.start).line
            diagnostics.append(.error("expected '}' to close network '\(name.text)', found \(current.quoted)",
                                      at: errorSpan, notes: ["the body of network '\(name.text)' opens on line \(line)"]))
            return NetworkDecl(name: name, group: group, layers: layers, keyword: keyword, closingBrace: current.span, domain: domain)
        }
        let close = advance().span
        return NetworkDecl(name: name, group: group, layers: layers, keyword: keyword, closingBrace: close, domain: domain)
    }

    // domain = "on" ( "grid" | "torus" | "points" ) "(" INT ")" ;
    private mutating func domain() throws -> DomainDecl {
        let on = advance().span
        let word = try expectIdentifier("'grid', 'torus' or 'points' after 'on'")
        guard let kind = DomainDecl.Kind(rawValue: word.text) else {
            diagnostics.append(.error("unknown domain '\(word.text)'", at: word.span,
                                      notes: ["a network lives 'on grid(d)' (zero padding) or 'on torus(d)' (circular padding), or 'on points(d)' (point clouds in R^d)"]))
            throw Abort()
        }
        _ = try expect(.leftParen, "after '\(kind.rawValue)'")
        let what = kind == .points ? "the dimension of the points' space" : "the number of grid dimensions"
        let dimension = try expectInteger(what)
        let close = try expect(.rightParen, "after \(what)")
        return DomainDecl(kind: kind, dimension: dimension, span: on.merged(with: close.span))
    }

    // network_item = ( "input" | "layer" | "output" ) rep_expr [ ":" activation { "+" IDENT } ] { layer_option } ;
    private mutating func networkItem() throws -> LayerDecl {
        let role: LayerKeyword
        switch current.kind {
        case .keyword(.input): role = .input
        case .keyword(.layer): role = .hidden
        case .keyword(.output): role = .output
        default:
            throw error("expected 'input', 'layer', 'output' or '}' in the network body, found \(current.quoted)")
        }
        let keyword = advance().span
        let rep = try repExpr()
        var activation: Identifier? = nil
        var modifiers: [Identifier] = []
        let optionAhead = atLayerOption
        if optionAhead {
            if role == .hidden {
                diagnostics.append(.error("expected ':' and an activation before '\(current.text)'", at: errorSpan,
                                          notes: ["a hidden layer reads 'layer REP : ACTIVATION kernel K', e.g. 'layer 8*Regular : relu kernel 3'"]))
            }
        } else if accept(.colon) {
            activation = try expectIdentifier("an activation after ':'")
            while accept(.plus) { modifiers.append(try expectIdentifier("a layer feature such as 'bilinear' after '+'")) }
        } else if role == .hidden {
            if current.kind == .identifier {
                diagnostics.append(.error("expected ':' before the activation '\(current.text)'", at: current.span,
                                          fixIts: [FixIt(span: Span(current.span.start, current.span.start), replacement: ": ")]))
                let t = advance()
                activation = Identifier(text: t.text, span: t.span)
            } else {
                diagnostics.append(.error("expected ':' and an activation after the layer's representation, found \(current.quoted)",
                                          at: errorSpan,
                                          notes: ["a hidden layer reads 'layer REP : ACTIVATION', e.g. 'layer 16*V : gated'"]))
            }
        }
        var layer = LayerDecl(role: role, keyword: keyword, rep: rep, activation: activation, modifiers: modifiers)
        try layerOptions(&layer)
        return layer
    }

    private var atLayerOption: Bool { ["kernel", "pool", "band", "message", "degree", "radial"].contains { atIdentifier($0) } }

    // layer_option = "kernel" INT | "pool" ( INT | "global" | "mean" | "sum" ) | "band" INT
    //              | "message" ( INT | DECIMAL ) | "degree" INT | "radial" INT ;
    private mutating func layerOptions(_ layer: inout LayerDecl) throws {
        while atLayerOption {
            let word = advance()
            if word.text == "kernel" {
                let size = try expectInteger("the kernel size after 'kernel'")
                if layer.kernel != nil { diagnostics.append(.error("'kernel' is given twice", at: word.span.merged(with: size.span))) }
                layer.kernel = size
            } else if word.text == "band" {
                let limit = try expectInteger("the highest angular frequency after 'band'")
                if layer.band != nil { diagnostics.append(.error("'band' is given twice", at: word.span.merged(with: limit.span))) }
                layer.band = limit
            } else if word.text == "message" {
                guard current.kind == .integer || current.kind == .decimal else {
                    throw error("expected the radius of the neighbourhood after 'message', found \(current.quoted)",
                                notes: ["a message layer reads 'message 4.0': the neighbours within distance 4.0 send messages"])
                }
                let radius = try number()
                if layer.message != nil { diagnostics.append(.error("'message' is given twice", at: word.span.merged(with: radius.span))) }
                layer.message = radius
            } else if word.text == "degree" {
                let degree = try expectInteger("the highest power of the direction after 'degree'")
                if layer.degree != nil { diagnostics.append(.error("'degree' is given twice", at: word.span.merged(with: degree.span))) }
                layer.degree = degree
            } else if word.text == "radial" {
                let width = try expectInteger("the radial network's width after 'radial'")
                if layer.radial != nil { diagnostics.append(.error("'radial' is given twice", at: word.span.merged(with: width.span))) }
                layer.radial = width
            } else {
                let pool: PoolDecl
                if atIdentifier("global") || atIdentifier("mean") {
                    pool = PoolDecl(size: nil, span: word.span.merged(with: advance().span))
                } else if atIdentifier("sum") {
                    pool = PoolDecl(size: nil, sums: true, span: word.span.merged(with: advance().span))
                } else {
                    guard current.kind == .integer else {
                        throw error("expected a pooling size, 'global', 'mean' or 'sum' after 'pool', found \(current.quoted)")
                    }
                    let size = try expectInteger("a pooling size")
                    pool = PoolDecl(size: size, span: word.span.merged(with: size.span))
                }
                if layer.pool != nil { diagnostics.append(.error("'pool' is given twice", at: pool.span)) }
                layer.pool = pool
            }
        }
    }

    // MARK: Groups

    /// Enters one level of nesting, or reports the limit.
    private mutating func nest() throws {
        depth += 1
        if depth > Parser.maxDepth {
            depth -= 1
            diagnostics.append(.error("expressions nest deeper than \(Parser.maxDepth) levels", at: current.span,
                                      notes: ["name the inner parts with 'rep' or 'group' declarations"]))
            throw Abort()
        }
    }

    // group_expr = group_atom { "x" group_atom } ;
    mutating func groupExpr() throws -> GroupExpr {
        try nest()
        defer { depth -= 1 }
        var factors = [try groupAtom()]
        while atIdentifier("x") {
            _ = advance()
            factors.append(try groupAtom())
        }
        if factors.count == 1 { return factors[0] }
        let span = factors[0].span.merged(with: factors[factors.count - 1].span)
        return GroupExpr(kind: .product(factors), span: span)
    }

    // group_atom = IDENT [ "(" INT { "," INT } ")" ]
    //            | "permutations" "(" INT ")" "{" [ permutation { "," permutation } ] "}"
    //            | "matrices" "(" INT ")" "{" [ generator_list ] "}"
    //            | "(" group_expr ")" ;
    private mutating func groupAtom() throws -> GroupExpr {
        if accept(.leftParen) {
            let inner = try groupExpr()
            _ = try expect(.rightParen, "to close the group expression")
            return inner
        }
        let name = try expectIdentifier("a group (like S(5), O(3) or a declared name)")
        if name.text == "permutations" && at(.leftParen) { return try permutationGroup(name) }
        if name.text == "matrices" && at(.leftParen) { return try matrixGroup(name) }
        guard accept(.leftParen) else { return GroupExpr(kind: .named(name, arguments: nil), span: name.span) }
        var arguments = [try expectInteger("a size in \(name.text)(...)")]
        while accept(.comma) { arguments.append(try expectInteger("a size in \(name.text)(...)")) }
        let close = try expect(.rightParen, "after the arguments of \(name.text)")
        return GroupExpr(kind: .named(name, arguments: arguments), span: name.span.merged(with: close.span))
    }

    private mutating func permutationGroup(_ name: Identifier) throws -> GroupExpr {
        _ = advance()
        let degree = try expectInteger("the number of points permuted")
        _ = try expect(.rightParen, "after the number of points")
        _ = try expect(.leftBrace, "to open the list of generating permutations")
        var generators: [PermutationLiteral] = []
        if !at(.rightBrace) {
            generators.append(try permutation())
            while accept(.comma) { generators.append(try permutation()) }
        }
        let close = try expect(.rightBrace, "to close the list of generators")
        return GroupExpr(kind: .permutations(degree: degree, generators: generators), span: name.span.merged(with: close.span))
    }

    // permutation = cycle { cycle } ;   cycle = "(" { INT [ "," ] } ")" ;
    private mutating func permutation() throws -> PermutationLiteral {
        guard at(.leftParen) else { throw error("expected a permutation in cycle notation like (1 2 3), found \(current.quoted)") }
        var cycles: [[IntLiteral]] = []
        let start = current.span
        var end = start
        while at(.leftParen) {
            _ = advance()
            var points: [IntLiteral] = []
            while current.kind == .integer {
                points.append(try expectInteger("a point"))
                _ = accept(.comma)
            }
            end = try expect(.rightParen, "to close the cycle").span
            cycles.append(points)
        }
        return PermutationLiteral(cycles: cycles, span: start.merged(with: end))
    }

    // generator_list = generator { "," generator } ;
    // generator = ( "discrete" | "algebra" ) ":" matrix { "," matrix } ;
    private mutating func matrixGroup(_ name: Identifier) throws -> GroupExpr {
        _ = advance()
        let dimension = try expectInteger("the dimension of the matrices")
        _ = try expect(.rightParen, "after the dimension")
        _ = try expect(.leftBrace, "to open the list of generators")
        var generators: [MatrixGenerator] = []
        while !at(.rightBrace) {
            let roleName = try expectIdentifier("'discrete:' or 'algebra:'")
            guard let role = MatrixRole(rawValue: roleName.text) else {
                diagnostics.append(.error("unknown generator kind '\(roleName.text)'", at: roleName.span,
                                          notes: ["use 'discrete:' for group elements or 'algebra:' for Lie-algebra elements"]))
                throw Abort()
            }
            _ = try expect(.colon, "after '\(role.rawValue)'")
            generators.append(MatrixGenerator(role: role, matrix: try matrix()))
            while accept(.comma) {
                if at(.leftBracket) {
                    generators.append(MatrixGenerator(role: role, matrix: try matrix()))
                } else {
                    break
                }
            }
        }
        let close = try expect(.rightBrace, "to close the list of generators")
        return GroupExpr(kind: .matrices(dimension: dimension, generators: generators), span: name.span.merged(with: close.span))
    }

    // matrix = "[" row { "," row } "]" ;   row = "[" number { "," number } "]" ;
    private mutating func matrix() throws -> MatrixLiteral {
        let open = try expect(.leftBracket, "to start a matrix like [[0, 1], [1, 0]]")
        var rows: [[NumberLiteral]] = []
        repeat {
            _ = try expect(.leftBracket, "to start a matrix row")
            var row = [try number()]
            while accept(.comma) { row.append(try number()) }
            _ = try expect(.rightBracket, "to end the matrix row")
            rows.append(row)
        } while accept(.comma)
        let close = try expect(.rightBracket, "to end the matrix")
        return MatrixLiteral(rows: rows, span: open.span.merged(with: close.span))
    }

    // number = [ "-" ] ( INT | DECIMAL ) [ "/" INT ] ;
    private mutating func number() throws -> NumberLiteral {
        let start = current.span
        var text = ""
        if accept(.minus) { text = "-" }
        guard current.kind == .integer || current.kind == .decimal else {
            throw error("expected a number, found \(current.quoted)")
        }
        var end = advance()
        text += end.text
        if accept(.slash) {
            guard current.kind == .integer else { throw error("expected an integer denominator, found \(current.quoted)") }
            end = advance()
            text += "/" + end.text
        }
        return NumberLiteral(text: text, span: start.merged(with: end.span))
    }

    // MARK: Representations

    // rep_expr = rep_term { "+" rep_term } ;
    mutating func repExpr() throws -> RepExpr {
        try nest()
        defer { depth -= 1 }
        var terms = [try repTerm()]
        while accept(.plus) { terms.append(try repTerm()) }
        if terms.count == 1 { return terms[0] }
        return RepExpr(kind: .sum(terms), span: terms[0].span.merged(with: terms[terms.count - 1].span))
    }

    // rep_term = rep_factor { "*" rep_factor } ;
    private mutating func repTerm() throws -> RepExpr {
        var factors = [try repFactor()]
        while accept(.star) { factors.append(try repFactor()) }
        if factors.count == 1 { return factors[0] }
        return RepExpr(kind: .product(factors), span: factors[0].span.merged(with: factors[factors.count - 1].span))
    }

    // rep_factor = rep_primary [ "^" INT ] ;
    private mutating func repFactor() throws -> RepExpr {
        let base = try repPrimary()
        guard accept(.caret) else { return base }
        let exponent = try expectInteger("an exponent after '^'")
        return RepExpr(kind: .power(base, exponent), span: base.span.merged(with: exponent.span))
    }

    // rep_primary = INT | "dual" "(" rep_expr ")" | IDENT [ "(" group_expr ")" ] | IDENT "(" INT ")"
    //             | "(" rep_expr ")" ;
    private mutating func repPrimary() throws -> RepExpr {
        if current.kind == .integer {
            let k = try expectInteger("a multiplicity")
            return RepExpr(kind: .multiplicity(k), span: k.span)
        }
        if at(.leftParen) {
            let open = advance()
            let inner = try repExpr()
            let close = try expect(.rightParen, "to close the parenthesis")
            return RepExpr(kind: .parenthesized(inner), span: open.span.merged(with: close.span))
        }
        guard current.kind == .identifier else {
            throw error("expected a representation (like Scalar, V, 3*V or V^2), found \(current.quoted)")
        }
        let name = try expectIdentifier("a representation")
        if name.text == "dual" && at(.leftParen) {
            _ = advance()
            let inner = try repExpr()
            let close = try expect(.rightParen, "to close dual(...)")
            return RepExpr(kind: .dual(inner), span: name.span.merged(with: close.span))
        }
        guard accept(.leftParen) else { return RepExpr(kind: .name(name, argument: nil), span: name.span) }
        if current.kind == .integer {
            let index = try expectInteger("an index")
            let close = try expect(.rightParen, "after the index in \(name.text)(...)")
            return RepExpr(kind: .indexed(name, index), span: name.span.merged(with: close.span))
        }
        let group = try groupExpr()
        let close = try expect(.rightParen, "after the group in \(name.text)(...)")
        return RepExpr(kind: .name(name, argument: group), span: name.span.merged(with: close.span))
    }
}
