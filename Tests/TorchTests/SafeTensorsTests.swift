// SafeTensorsTests.swift — safetensors read/write: every dtype round trip (borrowed and copied), metadata,
// byte-identical output against files written by Python safetensors 0.8.0, and hostile headers giving their errors.
import Foundation
import Testing
@testable import Torch

private enum Fixture {
  static var folder: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures/safetensors") }
  static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }
  /// expected.json (decoded with JSONDecoder: JSONSerialization rounds long decimals through NSDecimalNumber).
  struct Expected: Decodable {
    struct Tensor: Decodable {
      let shape: [Int]
      let bytes: String
      let values: [Double]
    }
    struct File: Decodable {
      let metadata: [String: String]
      let tensors: [String: Tensor]
    }
    let safetensors: String
    let files: [String: File]
  }
  static var expected: Expected {
    get throws { try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url("expected.json"))) }
  }
}

/// A fresh folder, removed when the value goes.
private final class Scratch {
  let url: URL
  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }
  func file(_ name: String) -> URL { url.appendingPathComponent(name) }
  var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted() }
  deinit { try? FileManager.default.removeItem(at: url) }
}

private func hex(_ s: String) -> [UInt8] {
  var out = [UInt8]()
  var it = s.utf8.makeIterator()
  func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
  while let a = it.next(), let b = it.next() { out.append(nibble(a) << 4 | nibble(b)) }
  return out
}

/// Deterministic bytes (SplitMix64) for test tensors.
private struct Bytes {
  var state: UInt64
  mutating func next() -> UInt8 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return UInt8(truncatingIfNeeded: z ^ (z >> 31))
  }
  mutating func tensor(_ dtype: DType, shape: [Int]) throws -> Tensor {
    let n = shape.reduce(1, *) * dtype.byteCount
    var raw = (0..<n).map { _ in next() }
    if dtype == .bool { raw = raw.map { $0 & 1 } }
    return try raw.withUnsafeBytes { try Tensor(bytes: $0, shape: shape, dtype: dtype) }
  }
}

@Suite struct SafeTensorsRoundTripTests {
  @Test(arguments: DType.allCases, [false, true])
  func everyDType(dtype: DType, copy: Bool) throws {
    let scratch = try Scratch()
    var gen = Bytes(state: UInt64(dtype.rawValue) + 1)
    let tensors = [("w", try gen.tensor(dtype, shape: [3, 5])), ("scalar", try gen.tensor(dtype, shape: [])),
                   ("empty", try gen.tensor(dtype, shape: [0, 2])), ("odd", try gen.tensor(dtype, shape: [7]))]
    let url = scratch.file("t.safetensors")
    try SafeTensors.write(tensors, to: url)
    let file = try SafeTensorsFile(url: url)
    #expect(file.names == ["empty", "odd", "scalar", "w"])
    #expect(file.metadata.isEmpty)
    for (name, original) in tensors {
      let back = try file.tensor(name, copy: copy)
      #expect(back.dtype == dtype && back.shape == original.shape, "\(name)")
      #expect(try back.bytes() == original.bytes(), "\(dtype) \(name)")
      let info = try file.info(name)
      #expect(info.byteRange.count == original.elementCount * dtype.byteCount)
      #expect(info.byteRange.lowerBound == file.dataOffset + info.dataOffsets.lowerBound)
    }
    #expect(scratch.contents == ["t.safetensors"])
  }

  @Test func mixedFileValuesAndOrder() throws {
    let scratch = try Scratch()
    let url = scratch.file("mixed.safetensors")
    let a = try Tensor([Float](arrayLiteral: 1, -2, 3.5, 4), shape: [2, 2])
    let b = try Tensor([Int64](arrayLiteral: 7, -8, 9))
    let c = try Tensor([UInt8](arrayLiteral: 1, 2, 3))
    try SafeTensors.write(["a": a, "b": b, "c": c], metadata: ["format": "pt"], to: url)
    let file = try SafeTensorsFile(url: url)
    #expect(try file.tensor("a").scalars(as: Float.self) == [1, -2, 3.5, 4])
    #expect(try file.tensor("b").scalars(as: Int64.self) == [7, -8, 9])
    #expect(try file.tensor("c", copy: true).scalars(as: UInt8.self) == [1, 2, 3])
    // Python's order: larger dtypes first, then names.
    #expect(try file.info("b").dataOffsets == 0..<24)
    #expect(try file.info("a").dataOffsets == 24..<40)
    #expect(try file.info("c").dataOffsets == 40..<43)
    #expect(file.dataOffset % 8 == 0)
    #expect(file.metadata == ["format": "pt"])
  }

  @Test func metadataRoundTrip() throws {
    let scratch = try Scratch()
    let metadata = ["format": "pt", "note": "quote\" back\\ nl\n tab\t ctl\u{01} é ✓ 🙂 /", "": "empty key",
                    "empty": ""]
    let url = scratch.file("m.safetensors")
    try SafeTensors.write([("x", try Tensor([Float](arrayLiteral: 1)))], metadata: metadata, to: url)
    #expect(try SafeTensorsFile(url: url).metadata == metadata)
    try SafeTensors.write([("x", try Tensor([Float](arrayLiteral: 1)))], metadata: [:], to: url)
    #expect(try SafeTensorsFile(url: url).metadata == [:])
    let header = String(decoding: try Data(contentsOf: url).dropFirst(8), as: UTF8.self)
    #expect(header.hasPrefix("{\"__metadata__\":{},"))
  }

  @Test func nonContiguousTensorsAreWrittenInLogicalOrder() throws {
    let scratch = try Scratch()
    let m = try Tensor([Float](arrayLiteral: 1, 2, 3, 4, 5, 6), shape: [2, 3])
    let t = try m.transposed(0, 1)
    #expect(!t.isContiguous)
    let url = scratch.file("t.safetensors")
    try SafeTensors.write([("t", t)], to: url)
    let back = try SafeTensorsFile(url: url).tensor("t")
    #expect(back.shape == [3, 2])
    #expect(try back.scalars(as: Float.self) == [1, 4, 2, 5, 3, 6])
  }

  @Test func borrowedTensorOutlivesFileAndWritesStayPrivate() throws {
    let scratch = try Scratch()
    let url = scratch.file("b.safetensors")
    try SafeTensors.write([("x", try Tensor([Float](arrayLiteral: 1, 2, 3, 4)))], to: url)
    let before = try Data(contentsOf: url)
    var borrowed: Tensor?
    do {
      let file = try SafeTensorsFile(url: url)
      borrowed = try file.tensor("x")
    }
    let x = try #require(borrowed)
    #expect(try x.scalars(as: Float.self) == [1, 2, 3, 4])
    try x.mul_(10)  // copy-on-write pages: no crash, the file is untouched
    #expect(try x.scalars(as: Float.self) == [10, 20, 30, 40])
    #expect(try Data(contentsOf: url) == before)
    #expect(try SafeTensorsFile(url: url).tensor("x").scalars(as: Float.self) == [1, 2, 3, 4])
  }

  @Test func unalignedDataIsCopied() throws {
    // u8 [1] at 0..<1, then f32 [2] at 1..<9: the f32 data sits at an odd address.
    let header = #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}"#
    var bytes = SafeTensorsHostileTests.file(header: header, data: [7])
    withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    withUnsafeBytes(of: Float(-2).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    let scratch = try Scratch()
    let url = scratch.file("u.safetensors")
    try Data(bytes).write(to: url)
    let file = try SafeTensorsFile(url: url)
    #expect(try file.tensor("b").scalars(as: Float.self) == [1.5, -2])
    #expect(try file.tensor("a").scalars(as: UInt8.self) == [7])
  }

  @Test func writerErrorsLeaveNothingBehind() throws {
    let scratch = try Scratch()
    let url = scratch.file("keep.safetensors")
    try SafeTensors.write([("x", try Tensor([Float](arrayLiteral: 1)))], to: url)
    let before = try Data(contentsOf: url)
    let x = try Tensor([Float](arrayLiteral: 2))
    #expect(throws: SafeTensorsError.self) { try SafeTensors.write([("x", x), ("x", x)], to: url) }
    #expect(throws: SafeTensorsError.self) { try SafeTensors.write([("__metadata__", x)], to: url) }
    #expect(throws: SafeTensorsError.self) {
      try SafeTensors.write([("x", x)], to: scratch.url.appendingPathComponent("missing/folder.safetensors"))
    }
    #expect(try Data(contentsOf: url) == before)
    #expect(scratch.contents == ["keep.safetensors"])
    do {
      _ = try SafeTensorsFile(url: url).tensor("nope")
      Issue.record("found a missing tensor")
    } catch let e as SafeTensorsError {
      #expect(e.kind == .tensorNotFound && e.field.contains("nope"))
    }
  }
}

@Suite struct SafeTensorsPythonCompatibilityTests {
  @Test(arguments: ["all_dtypes.safetensors", "names_and_escapes.safetensors"])
  func readsPythonFilesAndWritesThemByteForByte(name: String) throws {
    let expected = try Fixture.expected
    #expect(expected.safetensors == "0.8.0")
    let spec = try #require(expected.files[name])
    let tensors = spec.tensors
    let file = try SafeTensorsFile(url: Fixture.url(name))
    #expect(file.metadata == spec.metadata)
    #expect(Set(file.names) == Set(tensors.keys))
    var loaded = [(String, Tensor)]()
    for (tensorName, t) in tensors {
      for copy in [false, true] {
        let tensor = try file.tensor(tensorName, copy: copy)
        #expect(tensor.shape == t.shape, "\(tensorName)")
        #expect(try tensor.bytes() == hex(t.bytes), "\(tensorName) copy: \(copy)")
        #expect(try tensor.to(dtype: .float64).scalars(as: Double.self) == t.values, "\(tensorName) values")
      }
      loaded.append((tensorName, try file.tensor(tensorName)))
    }
    let scratch = try Scratch()
    let out = scratch.file(name)
    try SafeTensors.write(loaded, metadata: file.metadata, to: out)
    #expect(try Data(contentsOf: out) == Data(contentsOf: Fixture.url(name)), "our writer differs from Python's")
  }

  @Test func dtypeNames() {
    #expect(DType.allCases.map(\.safetensorsName) == ["F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8",
                                                      "BOOL", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2"])
    #expect(DType.allCases.allSatisfy { DType(safetensorsName: $0.safetensorsName) == $0 })
  }
}

@Suite struct SafeTensorsHostileTests {
  /// 8-byte length + header + data (the header is not padded: hostile files need not be).
  static func file(header: String, data: [UInt8], length: UInt64? = nil) -> [UInt8] {
    var out = [UInt8]()
    withUnsafeBytes(of: (length ?? UInt64(header.utf8.count)).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: Array(header.utf8))
    out.append(contentsOf: data)
    return out
  }

  private func expectError(_ kind: SafeTensorsError.Kind, field: String, _ bytes: [UInt8],
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
    let scratch = try Scratch()
    let url = scratch.file("hostile.safetensors")
    try Data(bytes).write(to: url)
    do {
      let f = try SafeTensorsFile(url: url)
      Issue.record("expected \(kind), read \(f.names)", sourceLocation: sourceLocation)
    } catch let e as SafeTensorsError {
      #expect(e.kind == kind, "\(e)", sourceLocation: sourceLocation)
      #expect(e.field.contains(field), "field of \(e)", sourceLocation: sourceLocation)
      #expect(e.description.contains("hostile.safetensors"), sourceLocation: sourceLocation)
    }
  }

  private func entry(_ name: String, _ dtype: String = "F32", shape: String = "[2]", offsets: String = "[0,8]")
    -> String
  {
    #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
  }

  private let zeros8 = [UInt8](repeating: 0, count: 8)

  @Test func malformedJSON() throws {
    try expectError(.malformedJSON, field: "header", Self.file(header: #"{"a":{"dtype":"F32","#, data: zeros8))
    try expectError(.malformedJSON, field: "header", Self.file(header: "{\(entry("a"))}}", data: zeros8))
    try expectError(.malformedJSON, field: "header", Self.file(header: "{\(entry("a"))}xx", data: zeros8))
    try expectError(.malformedJSON, field: "header", Self.file(header: "{\"\u{01}\":1}", data: []))
    var badUTF8 = Self.file(header: "{\"ab\":{}}", data: [])
    badUTF8[10] = 0xFF
    try expectError(.malformedJSON, field: "header", badUTF8)
    let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
    try expectError(.malformedJSON, field: "header", Self.file(header: "{\"a\":\(deep)}", data: []))
    let long = "[" + Array(repeating: "1", count: 5000).joined(separator: ",") + "]"  // bounded, not allocated
    try expectError(.malformedJSON, field: "header", Self.file(header: "{\(entry("a", shape: long))}", data: zeros8))
    try expectError(.malformedJSON, field: "header", Self.file(header: "   ", data: []))
  }

  @Test func wrongHeaderStructure() throws {
    try expectError(.invalidHeader, field: "header", Self.file(header: "[]", data: []))
    try expectError(.invalidHeader, field: "__metadata__['k']",
                    Self.file(header: "{\"__metadata__\":{\"k\":1},\(entry("a"))}", data: zeros8))
    try expectError(.invalidHeader, field: "tensor 'a'", Self.file(header: "{\"a\":3}", data: []))
    try expectError(.invalidHeader, field: "tensor 'a'.dtype",
                    Self.file(header: #"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, data: zeros8))
  }

  @Test func nullMetadataIsNoMetadata() throws {
    let scratch = try Scratch()
    let url = scratch.file("n.safetensors")
    try Data(Self.file(header: "{\"__metadata__\":null,\(entry("a"))}", data: zeros8)).write(to: url)
    let file = try SafeTensorsFile(url: url)
    #expect(file.metadata.isEmpty && file.names == ["a"])
  }

  @Test func absurdHeaderLength() throws {
    try expectError(.headerTooLarge, field: "header length", Self.file(header: "{}", data: [], length: 200_000_000))
    try expectError(.headerTooLarge, field: "header length", Self.file(header: "{}", data: [], length: .max))
    try expectError(.invalidHeaderLength, field: "header length", Self.file(header: "{}", data: [], length: 3))
  }

  @Test func truncatedFiles() throws {
    try expectError(.truncated, field: "header length", [1, 2, 3])
    try expectError(.truncated, field: "header length", [])
    let python = Array(try Data(contentsOf: Fixture.url("all_dtypes.safetensors")))
    try expectError(.truncated, field: "data_offsets", Array(python.dropLast(1)))
  }

  @Test func offsetsOutOfBounds() throws {
    try expectError(.truncated, field: "tensor 'a'.data_offsets",
                    Self.file(header: "{\(entry("a", offsets: "[0,8000000000000]"))}", data: zeros8))
    try expectError(.invalidOffsets, field: "tensor 'a'.data_offsets",
                    Self.file(header: "{\(entry("a", offsets: "[8,0]"))}", data: zeros8))
    try expectError(.invalidOffsets, field: "tensor 'a'.data_offsets",
                    Self.file(header: "{\(entry("a", offsets: "[0]"))}", data: zeros8))
    try expectError(.invalidOffsets, field: "tensor 'a'.data_offsets",
                    Self.file(header: "{\(entry("a", offsets: "[-8,0]"))}", data: zeros8))
    try expectError(.invalidOffsets, field: "tensor 'a'.data_offsets",
                    Self.file(header: "{\(entry("a", offsets: "[0,99999999999999999999999]"))}", data: zeros8))
  }

  @Test func overlappingTensors() throws {
    let header = "{\(entry("a", offsets: "[0,8]")),\(entry("b", offsets: "[4,12]"))}"
    try expectError(.overlappingTensors, field: "tensor 'b'", Self.file(header: header, data: zeros8 + [0, 0, 0, 0]))
  }

  @Test func holesAndUncoveredBytes() throws {
    let gap = "{\(entry("a", offsets: "[0,8]")),\(entry("b", offsets: "[12,20]"))}"
    try expectError(.holeInData, field: "tensor 'b'", Self.file(header: gap, data: zeros8 + zeros8 + [0, 0, 0, 0]))
    try expectError(.holeInData, field: "tensor 'a'",
                    Self.file(header: "{\(entry("a", offsets: "[4,12]"))}", data: zeros8 + [0, 0, 0, 0]))
    try expectError(.holeInData, field: "data section", Self.file(header: "{\(entry("a"))}", data: zeros8 + [1]))
  }

  @Test func byteSizeMismatch() throws {
    try expectError(.sizeMismatch, field: "tensor 'a'",
                    Self.file(header: "{\(entry("a", shape: "[3]"))}", data: zeros8))
    try expectError(.sizeMismatch, field: "tensor 'a'",
                    Self.file(header: "{\(entry("a", "BF16", shape: "[2]"))}", data: zeros8))
  }

  @Test func unknownDType() throws {
    for dtype in ["F4", "C64", "f32", "F8_E8M0", ""] {
      try expectError(.unknownDType, field: "tensor 'a'.dtype", Self.file(header: "{\(entry("a", dtype))}", data: zeros8))
    }
  }

  @Test func badShapes() throws {
    for shape in ["[-2]", "[2.0]", "[1.5]", "[\"2\"]", "[1e1]", "2", "[null]"] {
      try expectError(.invalidShape, field: "tensor 'a'.shape",
                      Self.file(header: "{\(entry("a", shape: shape))}", data: zeros8))
    }
    try expectError(.invalidShape, field: "tensor 'a'.shape",
                    Self.file(header: "{\(entry("a", shape: "[4294967296,4294967296]"))}", data: zeros8))
    try expectError(.invalidShape, field: "tensor 'a'.shape",
                    Self.file(header: "{\(entry("a", shape: "[2305843009213693952,4]"))}", data: zeros8))
  }

  @Test func duplicateNames() throws {
    let header = "{\(entry("a", offsets: "[0,8]")),\(entry("a", offsets: "[8,16]"))}"
    try expectError(.duplicateName, field: "tensor 'a'", Self.file(header: header, data: zeros8 + zeros8))
    let meta = "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"},\(entry("a"))}"
    try expectError(.duplicateName, field: "__metadata__", Self.file(header: meta, data: zeros8))
  }

  @Test func missingDataOffsets() throws {
    try expectError(.missingDataOffsets, field: "tensor 'a'.data_offsets",
                    Self.file(header: #"{"a":{"dtype":"F32","shape":[2]}}"#, data: zeros8))
  }

  /// Every truncation and random header edits of a Python-written file: an error or a file, never a crash.
  @Test func fuzzTruncationAndMutation() throws {
    let python = Array(try Data(contentsOf: Fixture.url("all_dtypes.safetensors")))
    let scratch = try Scratch()
    let url = scratch.file("fuzz.safetensors")
    let headerEnd = 8 + Int(python[0]) + Int(python[1]) << 8
    for length in stride(from: 0, to: python.count, by: 7) {
      try Data(python.prefix(length)).write(to: url)
      #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(url: url) }
    }
    var gen = Bytes(state: 99)
    var opened = 0
    for _ in 0..<400 {
      var mutated = python
      for _ in 0..<(1 + Int(gen.next() % 3)) {
        let at = (Int(gen.next()) << 8 | Int(gen.next())) % headerEnd
        mutated[at] = gen.next() % 2 == 0 ? gen.next() : UInt8(ascii: "9")
      }
      try Data(mutated).write(to: url)
      guard let file = try? SafeTensorsFile(url: url) else { continue }
      opened += 1
      for name in file.names { _ = try file.tensor(name).bytes() }
    }
    #expect(opened > 0)
  }
}
