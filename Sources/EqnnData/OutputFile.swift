import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where eqnnc writes what a user names: a regular file (or a new one) through
/// a temporary file renamed over it, so that no reader sees half a file and a
/// failed write leaves the old one; a symbolic link through to its target; a
/// device or a FIFO (`/dev/null`, `/dev/stdout`, a pipe) in place, never
/// replaced by a regular file.
public enum OutputFile {
    public static func write(_ data: Data, to path: String) throws {
        var info = stat()  // stat and open follow links (/dev/stdout -> /proc/self/fd/1 -> a pipe)
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            guard info.st_mode & S_IFMT != S_IFDIR else { throw DataError("cannot write '\(path)': it is a directory") }
            let fd = open(path, O_WRONLY)
            guard fd >= 0 else { throw DataError("cannot write '\(path)': \(String(cString: strerror(errno)))") }
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            do {
                try handle.write(contentsOf: data)
            } catch {
                throw DataError("cannot write '\(path)': \(error.localizedDescription)")
            }
            return
        }
        do {
            try data.write(to: URL(fileURLWithPath: resolved(path)), options: .atomic)
        } catch {
            throw DataError("cannot write '\(path)'")
        }
    }

    /// The path with every symbolic link followed (as far as it exists) and `.`/`..` removed.
    public static func resolved(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// Whether two paths name the same file: the same device and inode where
    /// both exist, else the same resolved path (outputs not yet written).
    public static func same(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        if stat(a, &sa) == 0, stat(b, &sb) == 0 { return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino }
        return resolved(a) == resolved(b)
    }
}
