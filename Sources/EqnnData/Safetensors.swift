import EqnnSupport
import Foundation

/// The safetensors format: an 8-byte little-endian header length, a JSON
/// header {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}},
/// then the raw little-endian data. PyTorch, JAX and NumPy read it.
public enum Safetensors {
    public struct Tensor: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var values: [Double]
        public init(name: String, shape: [Int], values: [Double]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// Writes float64 tensors in the given order, with string metadata.
    public static func write(_ tensors: [Tensor], metadata: [(String, String)]) -> Data {
        var offset = 0
        var entries: [String] = []
        entries.append("\"__metadata__\":{" + metadata.map { "\(JSON.quote($0.0)):\(JSON.quote($0.1))" }.joined(separator: ",") + "}")
        for t in tensors {
            let size = t.values.count * 8
            entries.append("\(JSON.quote(t.name)):{\"dtype\":\"F64\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + size)]}")
            offset += size
        }
        var header = "{" + entries.joined(separator: ",") + "}"
        header += String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)  // align the data
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8))
        for t in tensors {
            for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    /// Reads every tensor (F64, F32, F16 or BF16 become doubles) and the metadata.
    public static func read(_ data: Data, name: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw DataError("\(name): truncated safetensors file (\(bytes.count) bytes)") }
        var length: UInt64 = 0
        for k in 0..<8 { length |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        guard length <= UInt64(bytes.count - 8) else {
            throw DataError("\(name): corrupt safetensors file: header of \(length) bytes in a file of \(bytes.count)")
        }
        let headerEnd = 8 + Int(length)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) as? [String: Any] else {
            throw DataError("\(name): corrupt safetensors file: the header is not a JSON object")
        }
        // JSONSerialization keeps the last of two equal keys: the format forbids them.
        var seen = Set<String>()
        for key in topLevelKeys(bytes[8..<headerEnd]) where !seen.insert(key).inserted {
            throw DataError("\(name): corrupt safetensors file: '\(key)' is named twice in the header")
        }
        var metadata: [String: String] = [:]
        var tensors: [String: Tensor] = [:]
        var ranges: [(start: Int, end: Int, key: String)] = []
        let dataSize = bytes.count - headerEnd
        for (key, value) in object {
            if key == "__metadata__" {
                for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = v as? String ?? "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw DataError("\(name): corrupt safetensors entry '\(key)'")
            }
            let width: Int
            switch dtype {
            case "F64": width = 8
            case "F32": width = 4
            case "F16", "BF16": width = 2
            default: throw DataError("\(name): tensor '\(key)' has dtype \(dtype); eqnnc reads F64, F32, F16 and BF16")
            }
            var count = 1
            for n in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: n)
                guard n >= 0, !overflow, product <= dataSize else {
                    throw DataError("\(name): tensor '\(key)' has an impossible shape \(shape)")
                }
                count = product
            }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize, offsets[1] - offsets[0] == count * width else {
                throw DataError("\(name): tensor '\(key)' does not fit the file (truncated or corrupt): offsets \(offsets), shape \(shape), \(dataSize) data bytes")
            }
            ranges.append((offsets[0], offsets[1], key))
            var values = [Double](repeating: 0, count: count)
            bytes.withUnsafeBytes { raw in
                for k in 0..<count {
                    let at = headerEnd + offsets[0] + k * width
                    switch dtype {
                    case "F64": values[k] = Double(bitPattern: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian)
                    case "F32": values[k] = Double(Float(bitPattern: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian))
                    case "F16":
                        #if arch(arm64)
                        values[k] = Double(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian))
                        #else
                        values[k] = halfToDouble(raw.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian)
                        #endif
                    default:
                        let bits = UInt32(raw.loadUnaligned(fromByteOffset: at, as: UInt16.self).littleEndian) << 16
                        values[k] = Double(Float(bitPattern: bits))
                    }
                }
            }
            tensors[key] = Tensor(name: key, shape: shape, values: values)
        }
        // The format: the tensors' byte ranges tile the data, no overlaps, no holes.
        var end = 0
        for r in ranges.sorted(by: { ($0.start, $0.end) < ($1.start, $1.end) }) {
            if r.start < end {
                throw DataError("\(name): corrupt safetensors file: the bytes of tensor '\(r.key)' (\(r.start)..<\(r.end)) overlap another tensor's")
            }
            if r.start > end {
                throw DataError("\(name): corrupt safetensors file: data bytes \(end)..<\(r.start) belong to no tensor")
            }
            end = r.end
        }
        if end != dataSize { throw DataError("\(name): corrupt safetensors file: data bytes \(end)..<\(dataSize) belong to no tensor") }
        return (tensors, metadata)
    }

    /// The keys of the header's top-level object, in order, duplicates kept
    /// (the header already parsed as a JSON object).
    static func topLevelKeys(_ header: ArraySlice<UInt8>) -> [String] {
        var keys: [String] = []
        var depth = 0, k = header.startIndex, expectKey = false
        while k < header.endIndex {
            let c = header[k]
            if c == UInt8(ascii: "\"") {
                var end = k + 1
                while end < header.endIndex, header[end] != UInt8(ascii: "\"") { end += header[end] == UInt8(ascii: "\\") ? 2 : 1 }
                if depth == 1, expectKey, end < header.endIndex,
                   let key = try? JSONSerialization.jsonObject(with: Data(header[k...end]), options: .fragmentsAllowed) as? String {
                    keys.append(key)
                }
                expectKey = false
                k = end + 1
                continue
            }
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectKey = c == UInt8(ascii: "{") && depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): expectKey = depth == 1
            default: break
            }
            k += 1
        }
        return keys
    }

    static func halfToDouble(_ h: UInt16) -> Double {
        let sign = (h >> 15) & 1 == 1 ? -1.0 : 1.0
        let exponent = Int((h >> 10) & 0x1F), fraction = Double(h & 0x3FF)
        if exponent == 0 { return sign * fraction * pow(2, -24) }
        if exponent == 31 { return fraction == 0 ? sign * .infinity : .nan }
        return sign * (1 + fraction / 1024) * pow(2, Double(exponent - 15))
    }
}
