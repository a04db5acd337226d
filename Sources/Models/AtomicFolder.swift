// AtomicFolder.swift — writing a whole output folder (adapter, export, checkpoint) so that it appears complete or
// not at all.
import Foundation

/// Builds a folder's contents in a temporary sibling and renames it into place (replacing an old one), so a crash
/// never leaves a half-written folder under the final name.
public func writeAtomically(_ folder: URL, _ body: (URL) throws -> Void) throws {
  let fm = FileManager.default
  let parent = folder.deletingLastPathComponent()
  try fm.createDirectory(at: parent, withIntermediateDirectories: true)
  let tmp = parent.appendingPathComponent(".\(folder.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
  try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
  do {
    try body(tmp)
    if fm.fileExists(atPath: folder.path) {
      let old = parent.appendingPathComponent(".\(folder.lastPathComponent).old-\(UInt32.random(in: 0...UInt32.max))")
      try fm.moveItem(at: folder, to: old)
      try fm.moveItem(at: tmp, to: folder)
      try? fm.removeItem(at: old)
    } else {
      try fm.moveItem(at: tmp, to: folder)
    }
  } catch {
    try? fm.removeItem(at: tmp)
    throw error
  }
}
