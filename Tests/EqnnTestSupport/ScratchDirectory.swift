import Foundation
import XCTest

/// Command tests that write files: a fresh directory per test, removed after it.
open class ScratchDirectoryTestCase: XCTestCase {
    public var directory: URL!

    override open func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("eqnnc-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override open func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Runs `python -c script`; a failure fails the test with Python's message (and throws).
    public func runPython(_ python: String, _ script: String, _ name: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            XCTFail("\(name): \(python) failed: \(String(decoding: message.suffix(2000), as: UTF8.self))")
            throw CocoaError(.featureUnsupported)
        }
    }

    public func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }
}
