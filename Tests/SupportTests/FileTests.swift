// FileTests.swift — atomic file and folder writes (all or nothing, nothing left behind on failure) and mapped files.
import Foundation
import Testing
@testable import Support

/// A fresh folder under the temporary directory, removed at the end of the test.
private final class Scratch {
  let url: URL
  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("support-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(at: url) }
  var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted() }
}

private struct Boom: Error {}

@Test func atomicFileWritesTheWholeFile() throws {
  let scratch = try Scratch()
  let url = scratch.url.appendingPathComponent("out.bin")
  try AtomicFile.write(to: url) { out in
    try out.write([1, 2, 3])
    try out.write("four")
    try out.write(Data([5]))
  }
  #expect(try Data(contentsOf: url) == Data([1, 2, 3]) + Data("four".utf8) + Data([5]))
  try AtomicFile.write("replaced", to: url)
  #expect(try String(contentsOf: url, encoding: .utf8) == "replaced")
  #expect(scratch.contents == ["out.bin"])
}

@Test func atomicFileLeavesTheOldFileAndNoTemporaryWhenTheWriterThrows() throws {
  let scratch = try Scratch()
  let url = scratch.url.appendingPathComponent("out.txt")
  try AtomicFile.write("old", to: url)
  #expect(throws: Boom.self) {
    try AtomicFile.write(to: url) { out in
      try out.write("half of the new ")
      throw Boom()
    }
  }
  #expect(try String(contentsOf: url, encoding: .utf8) == "old")
  #expect(scratch.contents == ["out.txt"])
  // A new file that fails is not created at all.
  let fresh = scratch.url.appendingPathComponent("fresh.txt")
  #expect(throws: Boom.self) { try AtomicFile.write(to: fresh) { _ in throw Boom() } }
  #expect(scratch.contents == ["out.txt"])
}

@Test func atomicFileNamesTheDestinationWhenItCannotWrite() throws {
  let scratch = try Scratch()
  let url = scratch.url.appendingPathComponent("missing-folder/out.txt")
  do {
    try AtomicFile.write("x", to: url)
    Issue.record("expected a FileError")
  } catch let error as FileError {
    #expect(error.path == url.path)
    #expect(error.operation == "create")
    #expect(error.description.contains("No such file or directory"))
  }
}

@Test func atomicFolderAppearsWholeAndReplacesTheOldOne() throws {
  let scratch = try Scratch()
  let folder = scratch.url.appendingPathComponent("nested/adapter")
  try AtomicFolder.write(to: folder) { tmp in
    #expect(tmp.lastPathComponent.hasPrefix(".adapter.tmp-"))
    try Data("a".utf8).write(to: tmp.appendingPathComponent("a.txt"))
    try FileManager.default.createDirectory(at: tmp.appendingPathComponent("sub"), withIntermediateDirectories: false)
    try Data("b".utf8).write(to: tmp.appendingPathComponent("sub/b.txt"))
  }
  #expect(try String(contentsOf: folder.appendingPathComponent("sub/b.txt"), encoding: .utf8) == "b")
  try AtomicFolder.write(to: folder) { tmp in try Data("c".utf8).write(to: tmp.appendingPathComponent("c.txt")) }
  #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["c.txt"])
  #expect(try FileManager.default.contentsOfDirectory(atPath: folder.deletingLastPathComponent().path) == ["adapter"])
}

@Test func atomicFolderLeavesTheOldFolderWhenTheWriterThrows() throws {
  let scratch = try Scratch()
  let folder = scratch.url.appendingPathComponent("export")
  try AtomicFolder.write(to: folder) { tmp in try Data("v1".utf8).write(to: tmp.appendingPathComponent("v.txt")) }
  #expect(throws: Boom.self) {
    try AtomicFolder.write(to: folder) { tmp in
      try Data("v2".utf8).write(to: tmp.appendingPathComponent("v.txt"))
      throw Boom()
    }
  }
  #expect(try String(contentsOf: folder.appendingPathComponent("v.txt"), encoding: .utf8) == "v1")
  #expect(scratch.contents == ["export"])
  let never = scratch.url.appendingPathComponent("never")
  #expect(throws: Boom.self) { try AtomicFolder.write(to: never) { _ in throw Boom() } }
  #expect(scratch.contents == ["export"])
}

@Test func mappedFileSeesTheFileAndKeepsItsPagesPrivate() throws {
  let scratch = try Scratch()
  let url = scratch.url.appendingPathComponent("data.bin")
  try AtomicFile.write([10, 20, 30], to: url)
  let file = try MappedFile(url: url)
  #expect(Array(file.bytes) == [10, 20, 30])
  UnsafeMutableRawPointer(mutating: file.bytes.baseAddress!).storeBytes(of: 99, as: UInt8.self)
  #expect(file.bytes[0] == 99)
  #expect(try Data(contentsOf: url) == Data([10, 20, 30]))  // the file itself is untouched

  let empty = scratch.url.appendingPathComponent("empty")
  try AtomicFile.write([UInt8](), to: empty)
  #expect(try MappedFile(url: empty).count == 0)
  #expect(throws: FileError(path: scratch.url.path, operation: "open", reason: "not a regular file")) {
    try MappedFile(url: scratch.url)
  }
  #expect(throws: FileError.self) { try MappedFile(url: scratch.url.appendingPathComponent("absent")) }
}
