import Foundation

/// Comma-separated numbers, one sample per line; blank lines are ignored and
/// a UTF-8 byte-order mark is dropped. The first line is a header exactly
/// when none of its fields is a number (a line of names); any other field
/// that is not a number is an error that names its line and column.
public enum Csv {
    public static func read(_ text: String, name: String) throws -> Table {
        var text = text
        return try text.withUTF8 { try read(bytes: $0, name: name) }
    }

    /// The same on the text's bytes: one pass, each field parsed in place (about
    /// as fast as NumPy's reader; splitting into Strings ran at 3 MB/s).
    static func read(bytes: UnsafeBufferPointer<UInt8>, name: String) throws -> Table {
        let newline = UInt8(ascii: "\n"), carriage = UInt8(ascii: "\r"), comma = UInt8(ascii: ",")
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        func isBreak(_ b: UInt8) -> Bool { b == newline || b == carriage || b == 0x0B || b == 0x0C }
        var values: [Double] = [], columns = -1, rows = 0
        var fields: [Range<Int>] = [], numbers: [Double?] = []
        var buffer = [CChar](repeating: 0, count: 64)
        var k = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0, line = 0
        var seenLine = false
        while k < bytes.count {
            var end = k
            while end < bytes.count, !isBreak(bytes[end]) { end += 1 }
            line += 1
            defer { k = end + (end + 1 < bytes.count && bytes[end] == carriage && bytes[end + 1] == newline ? 2 : 1) }
            var first = k, last = end
            while first < last, isSpace(bytes[first]) { first += 1 }
            while last > first, isSpace(bytes[last - 1]) { last -= 1 }
            if first == last { continue }
            fields.removeAll(keepingCapacity: true)
            numbers.removeAll(keepingCapacity: true)
            var start = first
            while true {
                var stop = start
                while stop < last, bytes[stop] != comma { stop += 1 }
                var a = start, b = stop
                while a < b, isSpace(bytes[a]) { a += 1 }
                while b > a, isSpace(bytes[b - 1]) { b -= 1 }
                fields.append(a..<b)
                numbers.append(number(bytes, a..<b, &buffer))
                if stop == last { break }
                start = stop + 1
            }
            defer { seenLine = true }
            if !seenLine && numbers.allSatisfy({ $0 == nil }) { continue }  // a header: names only
            if let column = numbers.firstIndex(where: { $0 == nil }) {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[fields[column]]), as: UTF8.self)
                throw DataError("\(name):\(line): column \(column + 1): '\(text)' is not a number"
                                + (!seenLine ? " (a header line has no numbers at all)" : ""))
            }
            if columns >= 0, columns != numbers.count {
                throw DataError("\(name):\(line): expected \(columns) columns like the first row, found \(numbers.count)")
            }
            columns = numbers.count
            for case let v? in numbers { values.append(v) }
            rows += 1
        }
        return Table(rows: rows, columns: max(0, columns), values: values)
    }

    /// The field's bytes as a number, as Double(String) reads it (decimal, exponent,
    /// hexadecimal, inf, nan), or nil.
    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ field: Range<Int>, _ buffer: inout [CChar]) -> Double? {
        guard !field.isEmpty else { return nil }
        guard field.count < 64 else { return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[field]), as: UTF8.self)) }
        for (i, b) in bytes[field].enumerated() { buffer[i] = CChar(bitPattern: b) }
        buffer[field.count] = 0
        return buffer.withUnsafeBufferPointer { p -> Double? in
            guard let base = p.baseAddress else { return nil }
            var stop: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(base, &stop)
            guard let stop, stop - UnsafeMutablePointer(mutating: base) == field.count else { return nil }
            return v
        }
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
        try OutputFile.write(data, to: path)
    }
}
