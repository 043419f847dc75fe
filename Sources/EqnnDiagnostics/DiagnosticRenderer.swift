/// Renders diagnostics as
///
///     file:line:col: error: message
///       source line
///       ^~~~
///     note: why
///     fix-it: replace 'x' with 'y'
///
/// so that editors can jump to the headline.
public struct DiagnosticRenderer: Sendable {
    public let file: SourceFile

    public init(file: SourceFile) {
        self.file = file
    }

    public func render(_ diagnostic: Diagnostic) -> String {
        let (line, column) = file.location(of: diagnostic.span.start)
        var out = "\(file.name):\(line):\(column): \(diagnostic.severity.rawValue): \(diagnostic.message)\n"
        let source = file.lineText(line).replacingTabs()
        out += "  \(source)\n"
        out += "  " + caretLine(column: column, span: diagnostic.span, line: line) + "\n"
        for note in diagnostic.notes {
            out += "note: \(note)\n"
        }
        for fix in diagnostic.fixIts {
            let old = file.text(of: fix.span)
            if old.isEmpty {
                out += "fix-it: insert '\(fix.replacement)'\n"
            } else {
                out += "fix-it: replace '\(old)' with '\(fix.replacement)'\n"
            }
        }
        return out
    }

    public func render(_ bag: DiagnosticBag) -> String {
        var out = bag.sorted.map(render).joined()
        if bag.droppedErrors > 0 {
            out += "note: \(bag.droppedErrors) more error(s) not shown (limit \(DiagnosticBag.errorLimit))\n"
        }
        return out
    }

    private func caretLine(column: Int, span: Span, line: Int) -> String {
        // Underline to the end of the span, but never past the end of this line.
        let (endLine, endColumn) = file.location(of: span.end)
        let lastColumn = endLine == line ? endColumn : file.lineText(line).count + 1
        let width = max(1, lastColumn - column)
        return String(repeating: " ", count: column - 1) + "^" + String(repeating: "~", count: width - 1)
    }
}

extension String {
    /// Tabs become one space each so that columns line up with carets.
    func replacingTabs() -> String {
        String(map { $0 == "\t" ? " " : $0 })
    }
}
