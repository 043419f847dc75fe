import Foundation

/// Comma-separated numbers, one sample per line; a first line that is not
/// numeric is taken as a header and skipped; blank lines are ignored.
public enum Csv {
    public static func read(_ text: String, name: String) throws -> Table {
        var rows: [[Double]] = []
        for (k, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let fields = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let numbers = fields.compactMap(Double.init)
            if numbers.count != fields.count {
                if rows.isEmpty && k == 0 { continue }  // a header
                let bad = fields.first { Double($0) == nil } ?? ""
                throw DataError("\(name):\(k + 1): '\(bad)' is not a number")
            }
            if let first = rows.first, first.count != numbers.count {
                throw DataError("\(name):\(k + 1): expected \(first.count) columns like the first row, found \(numbers.count)")
            }
            rows.append(numbers)
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
    /// Reads .npy or .csv by extension.
    public static func load(path: String) throws -> Table {
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
