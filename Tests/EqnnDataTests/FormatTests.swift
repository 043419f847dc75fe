import EqnnSupport
import Foundation
import XCTest
@testable import EqnnData

final class FormatTests: XCTestCase {
    func testNpyRoundTripBothPrecisions() throws {
        let table = Table(rows: 2, columns: 3, values: [1, -2.5, 3e-3, 4, 5, 6])
        XCTAssertEqual(try Npy.read(Npy.write(table), name: "t"), table)
        let single = try Npy.read(Npy.write(table, float32: true), name: "t")
        XCTAssertEqual(single.rows, 2)
        for (a, b) in zip(single.values, table.values) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // The header is padded so that data starts at a multiple of 64 bytes, as NumPy does.
        XCTAssertEqual((Npy.write(table).count - 6 * 8) % 64, 0)
    }

    func testNpyWrittenByNumPy() throws {
        // np.save of np.array([[1.5], [2.0]], dtype='<f4') (version 1.0 header, written out by hand).
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }"
        header += String(repeating: " ", count: 128 - 10 - header.count - 1) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)])
        data.append(contentsOf: Array(header.utf8))
        for v in [Float(1.5), Float(2)] { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        XCTAssertEqual(try Npy.read(data, name: "n"), Table(rows: 2, columns: 1, values: [1.5, 2]))
    }

    func testNpyErrorsSayWhat() {
        XCTAssertThrowsError(try Npy.read(Data("hello".utf8), name: "x.npy")) { error in
            XCTAssertTrue("\(error)".contains("not a .npy file"))
        }
        let full = Npy.write(Table(rows: 4, columns: 2, values: Array(repeating: 1, count: 8)))
        XCTAssertThrowsError(try Npy.read(full.prefix(full.count - 5), name: "x.npy")) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        var fortran = "{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1), }"
        fortran += String(repeating: " ", count: 128 - 10 - fortran.count - 1) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(fortran.count), 0])
        data.append(contentsOf: Array(fortran.utf8) + Array(repeating: 0, count: 8))
        XCTAssertThrowsError(try Npy.read(data, name: "f.npy"))
    }

    /// A .npy header whose shape product overflows is an error, not a trap.
    func testNpyShapeOverflowIsAnError() {
        for shape in ["(4611686018427387904, 4)", "(3037000500, 3037000500, 2)", "(-1, 4)", "(2, 9223372036854775807)"] {
            var data = Npy.write(Table(rows: 1, columns: 1, values: [1]))
            let header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }"
            var bytes = [UInt8](data.prefix(8))
            let padded = header + String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
            bytes += [UInt8(padded.utf8.count & 0xFF), UInt8(padded.utf8.count >> 8)] + Array(padded.utf8) + [UInt8](repeating: 0, count: 8)
            data = Data(bytes)
            XCTAssertThrowsError(try Npy.read(data, name: "o.npy"), shape)
        }
    }

    /// A first row with one typo is an error, not a header that drops a sample;
    /// a byte-order mark is no header either.
    func testCsvHeaderRuleAndByteOrderMark() throws {
        XCTAssertThrowsError(try Csv.read("1,2o\n3,4\n", name: "t.csv")) { error in
            XCTAssertEqual("\(error)", "t.csv:1: column 2: '2o' is not a number (a header line has no numbers at all)")
        }
        XCTAssertEqual(try Csv.read("\u{FEFF}1,2\n3,4\n", name: "b.csv"), Table(rows: 2, columns: 2, values: [1, 2, 3, 4]))
        XCTAssertEqual(try Csv.read("\u{FEFF}x,y\n3,4\n", name: "b.csv"), Table(rows: 1, columns: 2, values: [3, 4]))
        XCTAssertThrowsError(try Csv.read("x,y\n3,4\n5,six\n", name: "t.csv")) { error in
            XCTAssertEqual("\(error)", "t.csv:3: column 2: 'six' is not a number")
        }
    }

    /// The byte reader reads each field as Double(String) does, with CRLF and tab-padded fields.
    func testCsvFieldsReadAsSwiftReadsThem() throws {
        let fields = [" 1.5", "-2e3 ", "\t0x1p3", "+4", "7.", ".25", "1e-310", "123456789012345678901234567890"]
        let text = "a,b\r\n" + fields.joined(separator: ",") + "\r\n\r\n" + fields.reversed().joined(separator: ",") + "\n"
        let table = try Csv.read(text, name: "f.csv")
        let expected = fields.map { Double($0.trimmingCharacters(in: .whitespaces)) }
        XCTAssertEqual(table.rows, 2)
        XCTAssertEqual(table.values.map(Optional.init), expected + expected.reversed())
        XCTAssertThrowsError(try Csv.read("1,2\n3,,4\n", name: "e.csv")) { error in
            XCTAssertEqual("\(error)", "e.csv:2: column 2: '' is not a number")
        }
        XCTAssertThrowsError(try Csv.read("1,2\r\n3,1e\r\n", name: "e.csv")) { error in
            XCTAssertEqual("\(error)", "e.csv:2: column 2: '1e' is not a number")
        }
    }

    func testCsvWithHeaderAndErrors() throws {
        XCTAssertEqual(try Csv.read("a,b\n1,2\n\n3,4.5\n", name: "c"), Table(rows: 2, columns: 2, values: [1, 2, 3, 4.5]))
        XCTAssertThrowsError(try Csv.read("1,2\n3\n", name: "c.csv")) { error in
            XCTAssertEqual("\(error)", "c.csv:2: expected 2 columns like the first row, found 1")
        }
        XCTAssertThrowsError(try Csv.read("1,2\n3,x\n", name: "c.csv"))
    }

    func testSafetensorsRoundTrip() throws {
        let tensors = [Safetensors.Tensor(name: "layer1.weight", shape: [3], values: [1, 2, 3]),
                       Safetensors.Tensor(name: "b", shape: [2, 1], values: [-1, 0.5])]
        let data = Safetensors.write(tensors, metadata: [("network", "N \"quoted\""), ("k", "v")])
        let (read, metadata) = try Safetensors.read(data, name: "w")
        XCTAssertEqual(read["layer1.weight"], tensors[0])
        XCTAssertEqual(read["b"], tensors[1])
        XCTAssertEqual(metadata["network"], "N \"quoted\"")
        // The header is valid JSON that other readers accept, and data is 8-byte aligned.
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual((8 + length) % 8, 0)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))))
    }

    func testCorruptSafetensorsAreClearErrors() {
        let data = Safetensors.write([Safetensors.Tensor(name: "w", shape: [4], values: [1, 2, 3, 4])], metadata: [])
        XCTAssertThrowsError(try Safetensors.read(data.prefix(data.count - 8), name: "w.st")) { error in
            XCTAssertTrue("\(error)".contains("truncated or corrupt"), "\(error)")
        }
        XCTAssertThrowsError(try Safetensors.read(Data([1, 2, 3]), name: "w.st"))
        var huge = data
        huge[7] = 0x7F  // header length beyond the file
        XCTAssertThrowsError(try Safetensors.read(huge, name: "w.st"))
        var garbage = data
        garbage[9] = UInt8(ascii: "#")  // header no longer JSON
        XCTAssertThrowsError(try Safetensors.read(garbage, name: "w.st"))
    }

    func testDatasetsMatchTheirFormulas() {
        let (x, y) = Dataset.o5.generate(samples: 3, seed: 9)
        for r in 0..<3 {
            let a = Array(x.values[(r * 10)..<(r * 10 + 5)]), b = Array(x.values[(r * 10 + 5)..<(r * 10 + 10)])
            let na = sqrt(a.reduce(0) { $0 + $1 * $1 }), nb = sqrt(b.reduce(0) { $0 + $1 * $1 })
            let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(y.values[r], sin(na) - pow(nb, 3) / 2 + dot / (na * nb), accuracy: 1e-12)
        }
        // The inertia tensor is symmetric with trace 2 sum_i m_i |x_i|^2.
        let (xi, yi) = Dataset.inertia.generate(samples: 2, seed: 1)
        for r in 0..<2 {
            let t = Array(yi.values[(r * 9)..<(r * 9 + 9)])
            XCTAssertEqual(t[1], t[3], accuracy: 1e-12)
            var expected = 0.0
            for i in 0..<5 {
                let m = xi.values[r * 20 + i]
                XCTAssertGreaterThan(m, 0)
                let p = Array(xi.values[(r * 20 + 5 + 3 * i)..<(r * 20 + 8 + 3 * i)])
                expected += 2 * m * p.reduce(0) { $0 + $1 * $1 }
            }
            XCTAssertEqual(t[0] + t[4] + t[8], expected, accuracy: 1e-9)
        }
        // Deterministic for a seed.
        XCTAssertEqual(Dataset.lorentz.generate(samples: 4, seed: 5).y, Dataset.lorentz.generate(samples: 4, seed: 5).y)
    }
}

final class HostileInputTests: XCTestCase {
    func npy(shape: String) -> Data {
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }"
        header += String(repeating: " ", count: 128 - 10 - header.count - 1) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.count), 0])
        data.append(contentsOf: Array(header.utf8) + Array(repeating: 0, count: 16))
        return data
    }

    func testImpossibleShapesAreErrors() {
        XCTAssertThrowsError(try Npy.read(npy(shape: "(9223372036854775807, 2)"), name: "x"))
        XCTAssertThrowsError(try Npy.read(npy(shape: "(-3, 2)"), name: "x"))
        XCTAssertThrowsError(try Npy.read(npy(shape: "(2, 2, 2)"), name: "x"))
        XCTAssertNoThrow(try Npy.read(npy(shape: "(2,)"), name: "x"))
    }

    /// The format forbids a name used twice and tensors sharing bytes (JSON parsers keep
    /// the last key; a reader that allowed it would load weights other tools do not see).
    func testSafetensorsWithRepeatedNamesOrSharedBytesAreErrors() throws {
        func file(_ header: String, dataBytes: Int) -> Data {
            var data = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: Array(header.utf8) + Array(repeating: 0, count: dataBytes))
            return data
        }
        let twice = #"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"__metadata__":{"w":"x"},"w":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#
        XCTAssertThrowsError(try Safetensors.read(file(twice, dataBytes: 16), name: "w.st")) { error in
            XCTAssertTrue("\(error)".contains("'w' is named twice"), "\(error)")
        }
        let overlap = #"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#
        XCTAssertThrowsError(try Safetensors.read(file(overlap, dataBytes: 16), name: "w.st")) { error in
            XCTAssertTrue("\(error)".contains("overlap"), "\(error)")
        }
        let hole = #"{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[1],"data_offsets":[16,24]}}"#
        XCTAssertThrowsError(try Safetensors.read(file(hole, dataBytes: 24), name: "w.st")) { error in
            XCTAssertTrue("\(error)".contains("belong to no tensor"), "\(error)")
        }
        // The same names in nested objects, and escaped names, are not repeats; a valid file still reads.
        let fine = #"{"__metadata__":{"a":"1","b":"2"},"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"a\"b":{"dtype":"F64","shape":[0],"data_offsets":[8,8]}}"#
        XCTAssertEqual(try Safetensors.read(file(fine, dataBytes: 8), name: "w.st").tensors.count, 2)
    }

    func testImpossibleSafetensorsShapes() {
        let header = #"{"w":{"dtype":"F64","shape":[-1,-8],"data_offsets":[0,8]}}"#
        var data = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(header.utf8) + Array(repeating: 0, count: 8))
        XCTAssertThrowsError(try Safetensors.read(data, name: "w"))
    }
}
