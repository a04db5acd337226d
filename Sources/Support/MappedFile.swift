// MappedFile.swift — a read-only view of a whole file through mmap, unmapped when the last reference goes; and
// FileError, what Support's file operations throw (each module wraps it in its own error naming the file).
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file operation failed: which file, which step ("open", "mmap", "fsync", …) and why.
public struct FileError: Error, Equatable, CustomStringConvertible, Sendable {
  public let path: String
  /// The step that failed: "open", "stat", "mmap", "create", "write", "fsync", "close", "rename", …
  public let operation: String
  public let reason: String

  /// The failure of `operation` on `path`, with errno's text.
  static func system(_ operation: String, _ path: String) -> FileError {
    FileError(path: path, operation: operation, reason: String(cString: strerror(errno)))
  }

  public var description: String { "\(path): \(operation) failed: \(reason)" }
}

/// A file mapped into memory, private and copy-on-write: the file itself is never modified.
///
/// Pass the instance as the `owner` of anything that borrows its bytes (for example a zero-copy tensor) so the
/// mapping outlives the borrower.
public final class MappedFile: @unchecked Sendable {
  public let url: URL
  /// The mapped bytes; empty (with a nil base address) for an empty file.
  public let bytes: UnsafeRawBufferPointer
  public var count: Int { bytes.count }
  private let mapping: UnsafeMutableRawPointer?
  private let isAllocated: Bool

  /// Maps the regular file at `url`. Throws `FileError` ("open", "stat", "mmap").
  public init(url: URL) throws {
    self.url = url
    let fd = open(url.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError.system("open", url.path) }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw FileError.system("stat", url.path) }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw FileError(path: url.path, operation: "open", reason: "not a regular file")
    }
    let size = Int(info.st_size)
    isAllocated = false
    if size == 0 {
      mapping = nil
      bytes = UnsafeRawBufferPointer(start: nil, count: 0)
      return
    }
    // PROT_WRITE with MAP_PRIVATE: a borrower that writes gets private pages instead of a crash.
    let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
    guard let p, p != MAP_FAILED else {
      throw FileError(path: url.path, operation: "mmap",
                      reason: "cannot map \(size) bytes: \(String(cString: strerror(errno)))")
    }
    mapping = p
    bytes = UnsafeRawBufferPointer(start: p, count: size)
  }

  /// An in-memory stand-in holding a copy of `contents` (for tests and for buffers that never touched disk).
  public init(copying contents: [UInt8], name: String = "memory") {
    url = URL(fileURLWithPath: name)
    isAllocated = true
    if contents.isEmpty {
      mapping = nil
      bytes = UnsafeRawBufferPointer(start: nil, count: 0)
      return
    }
    let p = UnsafeMutableRawPointer.allocate(byteCount: contents.count, alignment: 64)
    contents.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: contents.count) }
    mapping = p
    bytes = UnsafeRawBufferPointer(start: p, count: contents.count)
  }

  deinit {
    guard let mapping else { return }
    if isAllocated { mapping.deallocate() } else { munmap(mapping, bytes.count) }
  }

  /// The bytes as UTF-8 code units (the form `JSONParser` reads).
  public var utf8: UnsafeBufferPointer<UInt8> { bytes.bindMemory(to: UInt8.self) }
}
