import Foundation

/// The checkout the tests run in: its examples, golden files and bench models.
public enum Repository {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The `.eqnn` files of a folder of the repository, sorted by name.
    public static func inputs(in folder: String) -> [URL] {
        let directory = root.appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".eqnn") }.sorted().map { directory.appendingPathComponent($0) }
    }

    /// The first place the two differ, with the lines that follow on each side.
    public static func lineDiff(_ expected: String, _ actual: String) -> String {
        let e = expected.components(separatedBy: "\n"), a = actual.components(separatedBy: "\n")
        guard let k = (0..<max(e.count, a.count)).first(where: { $0 >= e.count || $0 >= a.count || e[$0] != a[$0] }) else {
            return ""
        }
        let expectedTail = e.dropFirst(k).prefix(6).map { "- " + $0 }
        let actualTail = a.dropFirst(k).prefix(6).map { "+ " + $0 }
        return "first difference at line \(k + 1):\n" + (expectedTail + actualTail).joined(separator: "\n")
    }
}
