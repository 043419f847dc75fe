public enum Severity: String, Sendable {
    case error, warning, note
}

/// A suggested edit: replace the text under `span` with `replacement`.
public struct FixIt: Sendable, Equatable {
    public var span: Span
    public var replacement: String
    public init(span: Span, replacement: String) {
        self.span = span
        self.replacement = replacement
    }
}

/// Diagnostics are data: rendered in one place (`DiagnosticRenderer`).
/// Messages are lowercase, name the rule and the thing; remedies go in notes.
public struct Diagnostic: Sendable {
    public var severity: Severity
    public var span: Span
    public var message: String
    public var notes: [String]
    public var fixIts: [FixIt]

    public init(_ severity: Severity, _ message: String, at span: Span,
                notes: [String] = [], fixIts: [FixIt] = []) {
        self.severity = severity
        self.span = span
        self.message = message
        self.notes = notes
        self.fixIts = fixIts
    }

    public static func error(_ message: String, at span: Span, notes: [String] = [], fixIts: [FixIt] = []) -> Diagnostic {
        Diagnostic(.error, message, at: span, notes: notes, fixIts: fixIts)
    }

    public static func warning(_ message: String, at span: Span, notes: [String] = [], fixIts: [FixIt] = []) -> Diagnostic {
        Diagnostic(.warning, message, at: span, notes: notes, fixIts: fixIts)
    }
}

/// Collects the diagnostics of one run, in the order they were found,
/// and stops collecting errors after a cap so a broken file cannot flood.
public struct DiagnosticBag: Sendable {
    public static let errorLimit = 50
    public private(set) var diagnostics: [Diagnostic] = []
    public private(set) var errorCount = 0
    public private(set) var droppedErrors = 0

    public init() {}

    public var hasErrors: Bool { errorCount > 0 }

    public mutating func add(_ diagnostic: Diagnostic) {
        if diagnostic.severity == .error {
            if errorCount >= DiagnosticBag.errorLimit {
                droppedErrors += 1
                return
            }
            errorCount += 1
        }
        diagnostics.append(diagnostic)
    }

    public mutating func add(contentsOf others: [Diagnostic]) {
        for diagnostic in others { add(diagnostic) }
    }

    /// Diagnostics in source order (stable for equal positions).
    public var sorted: [Diagnostic] {
        diagnostics.enumerated().sorted { a, b in
            (a.element.span.start, a.offset) < (b.element.span.start, b.offset)
        }.map(\.element)
    }
}
