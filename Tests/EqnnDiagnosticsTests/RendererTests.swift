import XCTest
@testable import EqnnDiagnostics

final class RendererTests: XCTestCase {
    let file = SourceFile(name: "m.eqnn", text: "group G = O(3)\nnetwork N over G {\n  layer\tV : relu\n}\n")

    func testLinesAndColumnsAreOneBased() {
        XCTAssertEqual(file.location(of: 0).line, 1)
        XCTAssertEqual(file.location(of: 0).column, 1)
        let offset = file.text.utf8.count - 2  // the closing brace
        XCTAssertEqual(file.location(of: offset).line, 4)
        XCTAssertEqual(file.location(of: offset).column, 1)
    }

    func testCaretUnderlinesTheSpanAndTabsAlign() throws {
        let range = try XCTUnwrap(file.text.range(of: "relu"))
        let start = file.text.utf8.distance(from: file.text.startIndex, to: range.lowerBound)
        let d = Diagnostic.error("bad", at: Span(start, start + 4), notes: ["why"],
                                 fixIts: [FixIt(span: Span(start, start + 4), replacement: "gated")])
        XCTAssertEqual(DiagnosticRenderer(file: file).render(d), """
        m.eqnn:3:13: error: bad
            layer V : relu
                      ^~~~
        note: why
        fix-it: replace 'relu' with 'gated'

        """)
    }

    func testColumnsCountCharactersNotBytes() {
        let unicode = SourceFile(name: "u", text: "# é\nrep é")
        let offset = unicode.text.utf8.count - 2
        XCTAssertEqual(unicode.location(of: offset).column, 5)
    }

    func testErrorCapDropsAndCounts() {
        var bag = DiagnosticBag()
        for _ in 0..<(DiagnosticBag.errorLimit + 3) { bag.add(.error("e", at: .none)) }
        bag.add(.warning("w", at: .none))
        XCTAssertEqual(bag.errorCount, DiagnosticBag.errorLimit)
        XCTAssertEqual(bag.droppedErrors, 3)
        XCTAssertEqual(bag.diagnostics.count, DiagnosticBag.errorLimit + 1)
        XCTAssertTrue(DiagnosticRenderer(file: file).render(bag).contains("3 more error(s) not shown"))
    }
}
