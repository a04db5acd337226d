// AtomicWrite.swift — files and folders that appear complete or not at all: written under a temporary name beside
// the destination, flushed to disk (file, then folder), then renamed into place.
import Foundation
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Writes one file atomically: readers see the old file or the complete new one, never a part, and a failure
/// (a throwing body, a full disk) leaves no temporary file behind.
public enum AtomicFile {
  /// An open file that writes whole buffers (retrying short writes).
  public struct Output {
    let fd: Int32
    /// The destination (errors name it, not the temporary file).
    public let url: URL

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
      var done = 0
      while done < bytes.count {
        let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
          if errno == EINTR { continue }
          throw FileError.system("write", url.path)
        }
        done += n
      }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    public func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }
    public func write(_ text: String) throws { try write(Array(text.utf8)) }
  }

  /// Creates `.<name>.tmp-<pid>-<random>` next to `url`, lets `body` fill it, fsyncs it, renames it over `url` and
  /// fsyncs the folder. On any error the temporary file is removed and `url` is left as it was. Throws what
  /// `body` throws, or `FileError`.
  public static func write(to url: URL, _ body: (Output) throws -> Void) throws {
    let folder = url.deletingLastPathComponent()
    let temporary = folder.appendingPathComponent(temporaryName(for: url))
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      throw FileError(path: url.path, operation: "create",
                      reason: "cannot create \(temporary.lastPathComponent) in \(folder.path): "
                        + String(cString: strerror(errno)))
    }
    var isOpen = true
    do {
      try body(Output(fd: fd, url: url))
      guard fsync(fd) == 0 else { throw FileError.system("fsync", url.path) }
      isOpen = false
      guard close(fd) == 0 else { throw FileError.system("close", url.path) }
      guard rename(temporary.path, url.path) == 0 else { throw FileError.system("rename", url.path) }
    } catch {
      if isOpen { close(fd) }
      unlink(temporary.path)
      throw error
    }
    syncFolder(folder)
  }

  /// Writes `bytes` to `url` atomically.
  public static func write(_ bytes: [UInt8], to url: URL) throws { try write(to: url) { try $0.write(bytes) } }
  public static func write(_ data: Data, to url: URL) throws { try write(to: url) { try $0.write(data) } }
  public static func write(_ text: String, to url: URL) throws { try write(to: url) { try $0.write(text) } }
}

/// Writes a whole folder (an adapter, an export, a checkpoint) atomically: its contents are built in a temporary
/// sibling, flushed, and renamed into place (replacing an old folder of that name), so a crash never leaves a
/// half-written folder under the final name.
public enum AtomicFolder {
  /// Lets `body` fill a fresh temporary folder, fsyncs every file and folder in it, then renames it to `folder`
  /// (moving an existing `folder` aside first and removing it after). On any error the temporary folder is
  /// removed and `folder` is left as it was. Throws what `body` throws, or a file-system error.
  public static func write(to folder: URL, _ body: (URL) throws -> Void) throws {
    let fm = FileManager.default
    let parent = folder.deletingLastPathComponent()
    try fm.createDirectory(at: parent, withIntermediateDirectories: true)
    let temporary = parent.appendingPathComponent(temporaryName(for: folder))
    try fm.createDirectory(at: temporary, withIntermediateDirectories: false)
    do {
      try body(temporary)
      try syncTree(temporary)
      if fm.fileExists(atPath: folder.path) {
        let old = parent.appendingPathComponent(".\(folder.lastPathComponent).old-\(UInt32.random(in: 0...UInt32.max))")
        try fm.moveItem(at: folder, to: old)
        do {
          try fm.moveItem(at: temporary, to: folder)
        } catch {
          try? fm.moveItem(at: old, to: folder)
          throw error
        }
        try? fm.removeItem(at: old)
      } else {
        try fm.moveItem(at: temporary, to: folder)
      }
    } catch {
      try? fm.removeItem(at: temporary)
      throw error
    }
    syncFolder(parent)
  }

  /// Runs `body` (which writes `folder` with `write(to:_:)`); an error it throws that names the temporary folder
  /// (`.name.tmp-…`) comes back with `folder` named instead, as the user knows it (the same text otherwise).
  public static func naming<R>(_ folder: URL, _ body: () throws -> R) throws -> R {
    do {
      return try body()
    } catch {
      let text = "\(error)"
      let escaped = NSRegularExpression.escapedPattern(for: "." + folder.lastPathComponent + ".tmp-")
      let readable = text.replacingOccurrences(of: escaped + "[0-9]+-[0-9]+", with: folder.lastPathComponent,
                                               options: .regularExpression)
      guard readable != text else { throw error }
      throw Renamed(description: readable)
    }
  }

  struct Renamed: Error, CustomStringConvertible {
    let description: String
  }

  /// fsyncs every regular file and folder under `root` (folders after their contents).
  static func syncTree(_ root: URL) throws {
    let fm = FileManager.default
    for name in try fm.contentsOfDirectory(atPath: root.path) {
      let url = root.appendingPathComponent(name)
      var isFolder: ObjCBool = false
      guard fm.fileExists(atPath: url.path, isDirectory: &isFolder) else { continue }
      if isFolder.boolValue { try syncTree(url) } else { try syncFile(url) }
    }
    syncFolder(root)
  }

  private static func syncFile(_ url: URL) throws {
    let fd = open(url.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError.system("open", url.path) }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw FileError.system("fsync", url.path) }
  }
}

/// `.<name>.tmp-<pid>-<random>`: hidden, unique per process and call.
private func temporaryName(for url: URL) -> String {
  ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}

/// Makes a rename inside `folder` durable. Best effort: some file systems refuse fsync on a folder.
private func syncFolder(_ folder: URL) {
  let fd = open(folder.path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return }
  _ = fsync(fd)
  close(fd)
}
