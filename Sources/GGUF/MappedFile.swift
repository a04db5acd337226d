// MappedFile.swift — a read-only view of a whole file through mmap, unmapped when the last reference goes.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file mapped into memory (private, copy-on-write: the file itself is never modified).
///
/// Pass the instance as the `owner` of anything that borrows its bytes (for example a zero-copy tensor) so the
/// mapping outlives the borrower.
public final class MappedFile: @unchecked Sendable {
  public let url: URL
  /// The mapped bytes; empty (with a nil base address) for an empty file.
  public let bytes: UnsafeRawBufferPointer
  private let mapping: UnsafeMutableRawPointer?
  private let isAllocated: Bool

  public init(url: URL) throws {
    self.url = url
    let fd = open(url.path, O_RDONLY)
    guard fd >= 0 else {
      throw GGUFError(.io, file: url, field: "open", message: "cannot open: \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      throw GGUFError(.io, file: url, field: "stat", message: "cannot stat: \(String(cString: strerror(errno)))")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw GGUFError(.io, file: url, field: "open", message: "not a regular file")
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
      throw GGUFError(.io, file: url, field: "mmap", message: "cannot map \(size) bytes: \(String(cString: strerror(errno)))")
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
}
