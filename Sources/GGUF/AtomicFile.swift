// AtomicFile.swift — write-to-temporary-then-rename, so a file is either the old one or the complete new one.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let posixWrite = Glibc.write
#else
private let posixWrite = Darwin.write
#endif

enum AtomicFile {
  /// An open file descriptor that writes whole buffers (retrying short writes).
  struct Handle {
    let fd: Int32
    let url: URL

    func write(_ bytes: UnsafeRawBufferPointer) throws {
      var done = 0
      while done < bytes.count {
        let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
          if errno == EINTR { continue }
          throw GGUFError(.io, file: url, field: "write", message: String(cString: strerror(errno)))
        }
        done += n
      }
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
  }

  /// Creates `.<name>.tmp-<pid>-<random>` next to `url`, lets `body` fill it, fsyncs and renames it over `url`.
  /// On any error the temporary file is removed and `url` is left as it was.
  static func write(to url: URL, _ body: (Handle) throws -> Void) throws {
    let folder = url.deletingLastPathComponent()
    let temporary = folder.appendingPathComponent(
      ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw GGUFError(.io, file: url, field: "write", message: "cannot create \(temporary.lastPathComponent) in "
                        + "\(folder.path): \(String(cString: strerror(errno)))")
    }
    var closed = false
    do {
      try body(Handle(fd: fd, url: url))
      guard fsync(fd) == 0 else {
        throw GGUFError(.io, file: url, field: "fsync", message: String(cString: strerror(errno)))
      }
      closed = true
      guard close(fd) == 0 else {
        throw GGUFError(.io, file: url, field: "close", message: String(cString: strerror(errno)))
      }
      guard rename(temporary.path, url.path) == 0 else {
        throw GGUFError(.io, file: url, field: "rename", message: String(cString: strerror(errno)))
      }
    } catch {
      if !closed { close(fd) }
      unlink(temporary.path)
      throw error
    }
  }
}
