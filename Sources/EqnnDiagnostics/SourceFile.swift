/// A named text held in memory; spans index into its UTF-8 bytes.
/// Lines and columns are computed only when a diagnostic is rendered.
public struct SourceFile: Sendable {
    public let name: String
    public let text: String
    public let bytes: [UInt8]
    private let lineStarts: [Int]

    public init(name: String, text: String) {
        self.name = name
        self.text = text
        self.bytes = Array(text.utf8)
        var starts = [0]
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            starts.append(offset + 1)
        }
        self.lineStarts = starts
    }

    /// 1-based line and column (columns count characters, not bytes).
    public func location(of offset: Int) -> (line: Int, column: Int) {
        let clamped = max(0, min(offset, bytes.count))
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= clamped { low = mid } else { high = mid - 1 }
        }
        let start = lineStarts[low]
        let prefix = String(decoding: bytes[start..<clamped], as: UTF8.self)
        return (low + 1, prefix.count + 1)
    }

    /// The text of a 1-based line, without its newline.
    public func lineText(_ line: Int) -> String {
        guard line >= 1, line <= lineStarts.count else { return "" }
        let start = lineStarts[line - 1]
        var end = line < lineStarts.count ? lineStarts[line] - 1 : bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: bytes[start..<max(start, end)], as: UTF8.self)
    }

    public func text(of span: Span) -> String {
        let lower = max(0, min(span.start, bytes.count))
        let upper = max(lower, min(span.end, bytes.count))
        return String(decoding: bytes[lower..<upper], as: UTF8.self)
    }
}

/// A half-open byte range [start, end) in one source file.
public struct Span: Sendable, Hashable {
    public var start: Int
    public var end: Int
    public init(_ start: Int, _ end: Int) {
        self.start = start
        self.end = max(start, end)
    }
    public static let none = Span(0, 0)
    /// The smallest span covering both.
    public func merged(with other: Span) -> Span {
        Span(min(start, other.start), max(end, other.end))
    }
}
