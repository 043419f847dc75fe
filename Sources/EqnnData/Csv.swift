import Foundation

/// Comma-separated numbers, one sample per line; blank lines are ignored and
/// a UTF-8 byte-order mark is dropped. The first line is a header exactly
/// when none of its fields is a number (a line of names); any other field
/// that is not a number is an error that names its line and column.
public enum Csv {
    public static func read(_ text: String, name: String) throws -> Table {
        var rows: [[Double]] = []
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        var seenLine = false
        for (k, line) in body.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let numbers = fields.map { Double($0) }
            defer { seenLine = true }
            if !seenLine && numbers.allSatisfy({ $0 == nil }) { continue }  // a header: names only
            if let column = numbers.firstIndex(where: { $0 == nil }) {
                throw DataError("\(name):\(k + 1): column \(column + 1): '\(fields[column])' is not a number"
                                + (!seenLine ? " (a header line has no numbers at all)" : ""))
            }
            let values = numbers.compactMap { $0 }
            if let first = rows.first, first.count != values.count {
                throw DataError("\(name):\(k + 1): expected \(first.count) columns like the first row, found \(values.count)")
            }
            rows.append(values)
        }
        return Table(rows: rows.count, columns: rows.first?.count ?? 0, values: rows.flatMap { $0 })
    }

    public static func write(_ table: Table) -> String {
        var out = ""
        for r in 0..<table.rows {
            out += (0..<table.columns).map { "\(table.values[r * table.columns + $0])" }.joined(separator: ",") + "\n"
        }
        return out
    }
}

extension Table {
    /// Reads .npy or .csv by extension; "-" reads standard input (.npy when it
    /// starts with the .npy magic, CSV otherwise).
    public static func load(path: String) throws -> Table {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            if data.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) { return try Npy.read(data, name: "<stdin>") }
            return try Csv.read(String(decoding: data, as: UTF8.self), name: "<stdin>")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError("cannot read '\(path)': \(FileManager.default.fileExists(atPath: path) ? "not a readable file" : "no such file")")
        }
        if path.lowercased().hasSuffix(".csv") {
            return try Csv.read(String(decoding: data, as: UTF8.self), name: path)
        }
        return try Npy.read(data, name: path)
    }

    /// Writes .npy (float64) or .csv by extension.
    public func save(path: String) throws {
        let data = path.lowercased().hasSuffix(".csv") ? Data(Csv.write(self).utf8) : Npy.write(self)
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw DataError("cannot write '\(path)'")
        }
    }
}
