import Foundation

/// NumPy's .npy format (versions 1 to 3): little-endian float32/float64
/// (and integer labels), C order, 1-D (one column), 2-D (rows are samples),
/// or up to 5-D: (samples, grid extents..., channels).
public enum Npy {
    public static func read(_ data: Data, name: String) throws -> Table {
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw DataError("\(name): not a .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw DataError("\(name): truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw DataError("\(name): unsupported .npy version \(major)")
        }
        guard headerStart + headerLength <= bytes.count else { throw DataError("\(name): truncated .npy header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = field(header, "descr"), let order = field(header, "fortran_order"), let shapeText = field(header, "shape") else {
            throw DataError("\(name): .npy header lacks descr, fortran_order or shape: \(header)")
        }
        guard order == "False" else { throw DataError("\(name): Fortran-order arrays are not supported; save with np.ascontiguousarray") }
        let shape = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "()")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.compactMap { Int($0) }
        let rows: Int, columns: Int
        var extents: [Int] = []
        switch shape.count {
        case 1: (rows, columns) = (shape[0], 1)
        case 2...5:
            (rows, columns) = (shape[0], shape[shape.count - 1])
            extents = Array(shape[1..<(shape.count - 1)])
        default: throw DataError("\(name): expected an array of 1 to 5 dimensions (samples first), found shape \(shapeText)")
        }
        let type = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        let width: Int
        switch type {
        case "<f8", "<i8", "<u8": width = 8
        case "<f4", "<i4", "<u4": width = 4
        case "|u1", "|i1", "|b1": width = 1
        default: throw DataError("\(name): unsupported dtype \(type); use float32 or float64 (little-endian)")
        }
        var count = 1, overflow = false
        for n in shape {
            let (product, over) = count.multipliedReportingOverflow(by: n)
            count = product
            overflow = overflow || over || n < 0
        }
        let start = headerStart + headerLength
        guard !overflow else { throw DataError("\(name): the shape \(shapeText) has more elements than memory can hold") }
        guard count <= (bytes.count - start) / width else {
            throw DataError("\(name): truncated: shape \(shapeText) needs \(count) values of \(width) bytes, found \(bytes.count - start) bytes")
        }
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            for k in 0..<count {
                let offset = start + k * width
                switch type {
                case "<f8": values[k] = Double(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian)
                case "<f4": values[k] = Double(Float(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian))
                case "<i8": values[k] = Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self)))
                case "<u8": values[k] = Double(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                case "<i4": values[k] = Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                case "<u4": values[k] = Double(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                case "|i1": values[k] = Double(Int8(bitPattern: raw[offset]))
                default: values[k] = Double(raw[offset])
                }
            }
        }
        return Table(rows: rows, columns: columns, values: values, extents: extents)
    }

    /// The value of `'key': value` in the header dictionary.
    static func field(_ header: String, _ key: String) -> String? {
        guard let keyRange = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\"") else { return nil }
        var rest = header[keyRange.upperBound...].drop { $0 == " " || $0 == ":" }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        rest = rest.prefix { $0 != "," && $0 != "}" }
        return rest.trimmingCharacters(in: .whitespaces)
    }

    /// A version 1.0 file of float64 (or float32) values.
    public static func write(_ table: Table, float32: Bool = false) -> Data {
        var header = "{'descr': '\(float32 ? "<f4" : "<f8")', 'fortran_order': False, 'shape': \(table.shapeText), }"
        // Pad with spaces so that the data starts at a multiple of 64 bytes; end with a newline.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.reserveCapacity(data.count + table.values.count * 8)
        for v in table.values {
            if float32 {
                withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { data.append(contentsOf: $0) }
            } else {
                withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            }
        }
        return data
    }
}
