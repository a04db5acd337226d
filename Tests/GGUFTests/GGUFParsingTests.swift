// GGUFParsingTests.swift — GGUF reading: a file written by gguf-py, writer round trips, and every hostile case
// (truncation, absurd counts, bad types, out-of-bounds and overlapping tensors, overflow) giving its GGUFError.
import Foundation
import Testing
@testable import GGUF

@Suite struct GGUFPythonCompatibilityTests {
  @Test func readsFileWrittenByGGUFPy() throws {
    let expected = try Fixtures.decode(PythonWriterFixture.self, "python_writer.json")
    #expect(expected.gguf == "0.19.0")
    let file = try GGUFFile(url: Fixtures.url("python_writer.gguf"))
    #expect(file.version == 3)
    #expect(file.alignment == 32)
    let m = file.metadata
    #expect(m.string("general.architecture") == "llama")
    #expect(m["t.u8"] == .uint8(200))
    #expect(m["t.i8"] == .int8(-100))
    #expect(m["t.u16"] == .uint16(60000))
    #expect(m["t.i16"] == .int16(-30000))
    #expect(m["t.u32"] == .uint32(4_000_000_000))
    #expect(m["t.i32"] == .int32(-2_000_000_000))
    #expect(m["t.u64"] == .uint64(18_000_000_000_000_000_000))
    #expect(m["t.i64"] == .int64(-9_000_000_000_000_000_000))
    #expect(m["t.f32"] == .float32(0.1))
    #expect(m["t.f64"] == .float64(-2.5e-300))
    #expect(m.bool("t.bool") == true)
    #expect(m.string("t.string") == "héllo ✓ 世界")
    #expect(m.strings("t.strings") == ["a", "", "Ġthe", "<|im_end|>"])
    #expect(m.ints("t.ints") == [1, -2, 3])
    #expect(m.doubles("t.floats") == [0.5, -1.25])
    #expect(m["t.nested"] == .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])]))
    #expect(m.array("t.bools") == [.bool(true), .bool(false)])
    #expect(m.int("t.u64") == nil)  // does not fit Int
    #expect(m.int("t.i64") == -9_000_000_000_000_000_000)
    #expect(m.double("t.f32") == Double(Float(0.1)))
    #expect(file.metadataKeys.first == "general.architecture")

    #expect(file.tensors.count == expected.tensors.count)
    for (name, spec) in expected.tensors {
      let info = try #require(file.tensor(named: name), "\(name) missing")
      #expect(info.type.description == spec.type)
      #expect(info.shape == spec.shape)
      #expect(info.rowMajorShape == Array(spec.shape.reversed()))
      #expect(info.fileOffset % file.alignment == 0)
      expectClose(try file.dequantize(info), spec.values, tolerance: 0, name)
    }
  }

  @Test func writerReproducesGGUFPyBytes() throws {
    let original = try Data(contentsOf: Fixtures.url("python_writer.gguf"))
    let file = try GGUFFile(url: Fixtures.url("python_writer.gguf"))
    var writer = GGUFWriter()
    for key in file.metadataKeys { writer.add(key, file.metadata[key]!) }
    for t in file.tensors {
      try writer.addTensor(name: t.name, shape: t.shape, type: t.type, data: file.rawBytes(of: t))
    }
    #expect(writer.serialized() == Array(original))
  }
}

@Suite struct GGUFRoundTripTests {
  @Test func writeThenReadWithCustomAlignment() throws {
    let folder = try TemporaryFolder()
    let url = folder.url.appendingPathComponent("tiny.gguf")
    var writer = GGUFWriter()
    writer.add("general.architecture", .string("llama"))
    writer.add("general.alignment", .uint32(64))
    writer.add("empty", .string(""))
    try writer.addTensor(name: "a", shape: [3, 2], floats: [1, 2, 3, 4, 5, 6])
    try writer.addTensor(name: "b", shape: [5], floats: [-1, -2, -3, -4, -5])
    let bf16: [UInt8] = [0x80, 0x3F, 0x00, 0xC0]  // 1.0, -2.0
    try writer.addTensor(name: "c", shape: [2], type: .bf16, data: bf16)
    try writer.write(to: url)
    try writer.write(to: url)  // replacing an existing file works too

    let file = try GGUFFile(url: url)
    #expect(file.alignment == 64)
    #expect(file.dataOffset % 64 == 0)
    #expect(file.tensorNames == ["a", "b", "c"])
    let a = try #require(file[tensor: "a"])
    #expect(a.shape == [3, 2] && a.rowMajorShape == [2, 3] && a.rowLength == 3 && a.rowCount == 2)
    #expect(try file.dequantize(a) == [1, 2, 3, 4, 5, 6])
    #expect(try file.dequantize(a, rows: 1..<2) == [4, 5, 6])
    #expect(try file.dequantize(file[tensor: "b"]!) == [-1, -2, -3, -4, -5])
    let c = try #require(file[tensor: "c"])
    #expect(try file.rawBytes(of: c) == bf16)  // raw bytes stay bf16
    #expect(try file.dequantize(c) == [1, -2])
    #expect(file[tensor: "b"]!.offset % 64 == 0)
    #expect(file.metadata.string("empty") == "")
    #expect(throws: GGUFError.self) { try file.dequantize(a, rows: 1..<3) }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.url.path)
    #expect(leftovers == ["tiny.gguf"])
  }

  @Test func metadataOnlyFileAndZeroSizedTensor() throws {
    var writer = GGUFWriter()
    writer.add("general.architecture", .string("none"))
    try writer.addTensor(name: "empty", shape: [0, 4], type: .q8_0, data: [])
    let file = try parseGGUF(writer.serialized())
    #expect(file.tensors.first?.byteCount == 0)
    #expect(try file.dequantize(file.tensors[0]).isEmpty)
    var b = GGUFBytes.header(version: 2, tensors: 0, kv: 0)
    b.zeros(0)
    let v2 = try parseGGUF(b.bytes)
    #expect(v2.version == 2 && v2.tensors.isEmpty && v2.metadata.isEmpty)
  }

  @Test func writerRejectsWrongByteCounts() {
    var writer = GGUFWriter()
    #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", shape: [32], type: .q8_0, data: [0]) }
    #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", shape: [31], type: .q8_0, data: []) }
  }
}

@Suite struct GGUFHostileInputTests {
  @Test func badMagic() {
    var b = GGUFBytes()
    b.bytes = Array("GGML".utf8)
    b.u32(3); b.u64(0); b.u64(0)
    expectGGUFError(.badMagic, field: "magic", b.bytes)
  }

  @Test func versionOneAndUnknownVersionsAndBigEndian() {
    expectGGUFError(.unsupportedVersion, field: "version", GGUFBytes.header(version: 1, tensors: 0, kv: 0).bytes)
    expectGGUFError(.unsupportedVersion, field: "version", GGUFBytes.header(version: 4, tensors: 0, kv: 0).bytes)
    do {
      _ = try parseGGUF(GGUFBytes.header(version: UInt32(3).byteSwapped, tensors: 0, kv: 0).bytes)
      Issue.record("big-endian accepted")
    } catch let e as GGUFError {
      #expect(e.kind == .unsupportedVersion && e.message.contains("big-endian"))
    } catch { Issue.record("\(error)") }
  }

  @Test func emptyAndTruncatedHeaders() {
    expectGGUFError(.truncated, field: "magic", [])
    expectGGUFError(.truncated, field: "magic", [0x47, 0x47])
    expectGGUFError(.truncated, field: "n_tensors", Array(GGUFBytes.header(tensors: 0, kv: 0).bytes.prefix(12)))
    expectGGUFError(.truncated, field: "n_kv", Array(GGUFBytes.header(tensors: 0, kv: 0).bytes.prefix(20)))
  }

  @Test func truncatedInsideMetadataValue() {
    var b = GGUFBytes.header(tensors: 0, kv: 1)
    b.kv("general.name", string: "a string that will be cut")
    expectGGUFError(.truncated, field: "kv[0] 'general.name'", Array(b.bytes.dropLast(5)))
  }

  @Test func absurdTensorAndKeyCounts() {
    expectGGUFError(.absurdCount, field: "n_tensors", GGUFBytes.header(tensors: .max, kv: 0).bytes)
    expectGGUFError(.absurdCount, field: "n_kv", GGUFBytes.header(tensors: 0, kv: 1 << 40).bytes)
    // Fits a bigger file, but not what is left of this one: truncated.
    var b = GGUFBytes.header(tensors: 0, kv: 3)
    b.zeros(20)
    expectGGUFError(.truncated, field: "n_kv", b.bytes)
  }

  @Test func absurdStringLength() {
    var b = GGUFBytes.header(tensors: 0, kv: 1)
    b.string("key")
    b.u32(GGUFValue.WireType.string.rawValue)
    b.u64(UInt64.max - 3)
    expectGGUFError(.absurdCount, field: "kv[0] 'key'", b.bytes)
    var k = GGUFBytes.header(tensors: 0, kv: 1)
    k.u64(1 << 50)  // key length
    k.zeros(16)
    expectGGUFError(.absurdCount, field: "kv[0].key", k.bytes)
  }

  @Test func absurdArrayCount() {
    var b = GGUFBytes.header(tensors: 0, kv: 1)
    b.string("tokenizer.ggml.tokens")
    b.u32(GGUFValue.WireType.array.rawValue)
    b.u32(GGUFValue.WireType.string.rawValue)
    b.u64(1 << 61)
    expectGGUFError(.absurdCount, field: "tokenizer.ggml.tokens", b.bytes)
    var c = GGUFBytes.header(tensors: 0, kv: 1)
    c.string("ids")
    c.u32(GGUFValue.WireType.array.rawValue)
    c.u32(GGUFValue.WireType.uint64.rawValue)
    c.u64(20)  // needs 160 bytes: the 171-byte file could hold them, the 120 bytes left cannot
    c.zeros(120)
    expectGGUFError(.truncated, field: "ids", c.bytes)
  }

  @Test func unknownValueTypesAndDeepNesting() {
    var b = GGUFBytes.header(tensors: 0, kv: 1)
    b.string("k")
    b.u32(13)
    b.zeros(8)
    expectGGUFError(.invalidValueType, field: "kv[0] 'k'.type", b.bytes)
    var e = GGUFBytes.header(tensors: 0, kv: 1)
    e.string("k")
    e.u32(GGUFValue.WireType.array.rawValue)
    e.u32(77)
    e.u64(1)
    e.zeros(8)
    expectGGUFError(.invalidValueType, field: "element_type", e.bytes)
    var n = GGUFBytes.header(tensors: 0, kv: 1)
    n.string("deep")
    n.u32(GGUFValue.WireType.array.rawValue)
    for _ in 0..<20 {
      n.u32(GGUFValue.WireType.array.rawValue)
      n.u64(1)
    }
    n.zeros(64)
    expectGGUFError(.invalidValueType, field: "deep", n.bytes)
    var bool = GGUFBytes.header(tensors: 0, kv: 1)
    bool.string("flag")
    bool.u32(GGUFValue.WireType.bool.rawValue)
    bool.u8(2)
    expectGGUFError(.invalidValueType, field: "flag", bool.bytes)
  }

  @Test func duplicateKeysAndTensorNames() {
    var b = GGUFBytes.header(tensors: 0, kv: 2)
    b.kv("general.name", string: "a")
    b.kv("general.name", string: "b")
    expectGGUFError(.duplicateKey, field: "kv[1].key", b.bytes)
    var t = GGUFBytes.header(tensors: 2, kv: 0)
    t.tensorInfo("w", shape: [8], type: 0, offset: 0)
    t.tensorInfo("w", shape: [8], type: 0, offset: 32)
    t.pad()
    t.zeros(64)
    expectGGUFError(.invalidTensorInfo, field: "'w'.name", t.bytes)
  }

  @Test func badAlignment() {
    for value: UInt32 in [0, 3, 48] {
      var b = GGUFBytes.header(tensors: 0, kv: 1)
      b.string("general.alignment")
      b.u32(GGUFValue.WireType.uint32.rawValue)
      b.u32(value)
      expectGGUFError(.invalidAlignment, field: "general.alignment", b.bytes)
    }
    var s = GGUFBytes.header(tensors: 0, kv: 1)
    s.kv("general.alignment", string: "32")
    expectGGUFError(.invalidAlignment, field: "general.alignment", s.bytes)
  }

  @Test func unknownTensorType() {
    for type: UInt32 in [4, 5, 99, .max] {
      var b = GGUFBytes.header(tensors: 1, kv: 0)
      b.tensorInfo("w", shape: [32], type: type, offset: 0)
      b.pad()
      b.zeros(256)
      expectGGUFError(.unknownTensorType, field: "'w'.type", b.bytes)
    }
  }

  @Test func badDimensions() {
    var five = GGUFBytes.header(tensors: 1, kv: 0)
    five.tensorInfo("w", shape: [1, 1, 1, 1, 1], type: 0, offset: 0)
    expectGGUFError(.invalidTensorInfo, field: "'w'.n_dims", five.bytes)
    var zero = GGUFBytes.header(tensors: 1, kv: 0)
    zero.tensorInfo("w", shape: [], type: 0, offset: 0)
    expectGGUFError(.invalidTensorInfo, field: "'w'.n_dims", zero.bytes)
    var block = GGUFBytes.header(tensors: 1, kv: 0)
    block.tensorInfo("w", shape: [33], type: GGMLType.q8_0.rawValue, offset: 0)
    block.pad()
    block.zeros(64)
    expectGGUFError(.invalidTensorInfo, field: "'w'.ne[0]", block.bytes)
  }

  @Test func shapeProductOverflow() {
    var b = GGUFBytes.header(tensors: 1, kv: 0)
    b.tensorInfo("w", shape: [1 << 32, 1 << 32], type: 0, offset: 0)
    expectGGUFError(.shapeOverflow, field: "'w'.ne", b.bytes)
    var neg = GGUFBytes.header(tensors: 1, kv: 0)
    neg.tensorInfo("w", shape: [UInt64.max], type: 0, offset: 0)
    expectGGUFError(.shapeOverflow, field: "'w'.ne[0]", neg.bytes)
    var bytes = GGUFBytes.header(tensors: 1, kv: 0)  // elements fit, bytes (×4) do not
    bytes.tensorInfo("w", shape: [1 << 31, 1 << 31], type: 0, offset: 0)
    expectGGUFError(.shapeOverflow, field: "'w'.ne", bytes.bytes)
  }

  @Test func tensorDataBeyondEndOfFile() throws {
    var writer = GGUFWriter()
    try writer.addTensor(name: "w", shape: [16], floats: [Float](repeating: 1, count: 16))
    let good = writer.serialized()
    #expect(try parseGGUF(good).tensors.count == 1)
    expectGGUFError(.tensorOutOfBounds, field: "'w'.offset", Array(good.dropLast(1)))
    var far = GGUFBytes.header(tensors: 1, kv: 0)
    far.tensorInfo("w", shape: [8], type: 0, offset: UInt64.max - 31)
    far.pad()
    far.zeros(32)
    expectGGUFError(.tensorOutOfBounds, field: "'w'.offset", far.bytes)
    var header = GGUFBytes.header(tensors: 1, kv: 0)  // data section starts past the end
    header.tensorInfo("w", shape: [8], type: 0, offset: 0)
    expectGGUFError(.tensorOutOfBounds, field: "'w'.offset", header.bytes)
  }

  @Test func misalignedTensor() {
    var b = GGUFBytes.header(tensors: 1, kv: 0)
    b.tensorInfo("w", shape: [8], type: 0, offset: 4)
    b.pad()
    b.zeros(64)
    expectGGUFError(.misalignedTensor, field: "'w'.offset", b.bytes)
  }

  @Test func overlappingTensors() {
    var b = GGUFBytes.header(tensors: 3, kv: 0)
    b.tensorInfo("a", shape: [8], type: 0, offset: 0)     // [0, 32)
    b.tensorInfo("b", shape: [16], type: 0, offset: 64)   // [64, 128)
    b.tensorInfo("c", shape: [16], type: 0, offset: 96)   // [96, 160) overlaps b
    b.pad()
    b.zeros(192)
    expectGGUFError(.overlappingTensors, field: "'c'", b.bytes)
  }

  @Test func unsupportedDequantizationIsAnErrorNotACrash() throws {
    var writer = GGUFWriter()
    try writer.addTensor(name: "iq", shape: [256], type: .iq2_XXS, data: [UInt8](repeating: 0, count: 66))
    let file = try parseGGUF(writer.serialized())
    #expect(file.tensors[0].type == .iq2_XXS && file.tensors[0].byteCount == 66)
    do {
      _ = try file.dequantize(file.tensors[0])
      Issue.record("IQ2_XXS dequantized")
    } catch let e as GGUFError {
      #expect(e.kind == .unsupportedType && e.field.contains("iq"))
    }
  }

  /// Every prefix of a valid file is rejected cleanly, and random byte edits of the header never crash.
  @Test func fuzzTruncationAndMutation() throws {
    let bytes = Array(try Data(contentsOf: Fixtures.url("python_writer.gguf")))
    let file = try parseGGUF(bytes)
    for length in 0..<file.dataOffset {
      #expect(throws: GGUFError.self) { try parseGGUF(Array(bytes.prefix(length))) }
    }
    var rng = SplitMix64(state: 42)
    var parsed = 0
    for _ in 0..<3000 {
      var mutated = bytes
      for _ in 0..<Int.random(in: 1...4, using: &rng) {
        let at = Int.random(in: 0..<file.dataOffset, using: &rng)
        mutated[at] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : 0xFF
      }
      guard let f = try? parseGGUF(mutated) else { continue }
      parsed += 1
      for t in f.tensors where t.type.canDequantize {
        #expect(try f.dequantize(t).count == t.elementCount)
      }
    }
    #expect(parsed > 0)
  }
}
