// GGUFTestSupport.swift — helpers for the GGUF tests: fixture paths, a raw byte builder for hostile files,
// and parse-and-expect-error checks.
import Foundation
import Testing
@testable import GGUF
import Support

enum Fixtures {
  static var folder: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }
  static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }
  /// Decodes a JSON fixture (JSONDecoder: JSONSerialization rounds long decimals through NSDecimalNumber).
  static func decode<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: url(name)))
  }

  /// The default model, from $ORPO_TEST_GGUF or models/ at the package root.
  static var modelURL: URL {
    if let path = ProcessInfo.processInfo.environment["ORPO_TEST_GGUF"] { return URL(fileURLWithPath: path) }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
  }
  static var modelExists: Bool { FileManager.default.fileExists(atPath: modelURL.path) }
}

func hexBytes(_ hex: String) -> [UInt8] {
  var out = [UInt8]()
  out.reserveCapacity(hex.utf8.count / 2)
  var it = hex.utf8.makeIterator()
  func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
  while let a = it.next(), let b = it.next() { out.append(nibble(a) << 4 | nibble(b)) }
  return out
}

/// dequant_cases.json
struct DequantCases: Decodable {
  struct Case: Decodable {
    let type: String
    let count: Int
    let bytes: String
    let values: [Float]
  }
  let gguf: String
  let cases: [Case]
}

/// python_writer.json
struct PythonWriterFixture: Decodable {
  struct Tensor: Decodable {
    let type: String
    let shape: [Int]
    let values: [Float]
  }
  let gguf: String
  let tensors: [String: Tensor]
}

/// smollm2_rows.json
struct ModelFixture: Decodable {
  struct Tensor: Decodable {
    let type: String
    let shape: [Int]
    let rows: [String: [Float]]
  }
  let gguf: String
  let size: Int
  let tensor_count: Int
  let kv_count: Int
  let token_count: Int
  let first_tokens: [String]
  let tensors: [String: Tensor]
}

/// Little-endian byte assembly for handcrafted (often hostile) GGUF files.
struct GGUFBytes {
  var bytes: [UInt8] = []

  mutating func u8(_ v: UInt8) { bytes.append(v) }
  mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
  mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
  mutating func string(_ s: String) {
    u64(UInt64(s.utf8.count))
    bytes.append(contentsOf: Array(s.utf8))
  }
  /// magic, version, n_tensors, n_kv.
  static func header(version: UInt32 = 3, tensors: UInt64, kv: UInt64) -> GGUFBytes {
    var b = GGUFBytes()
    b.u32(GGUFFile.magic)
    b.u32(version)
    b.u64(tensors)
    b.u64(kv)
    return b
  }
  /// A string-valued key/value pair.
  mutating func kv(_ key: String, string value: String) {
    string(key)
    u32(GGUFValue.WireType.string.rawValue)
    string(value)
  }
  mutating func tensorInfo(_ name: String, shape: [UInt64], type: UInt32, offset: UInt64) {
    string(name)
    u32(UInt32(shape.count))
    for d in shape { u64(d) }
    u32(type)
    u64(offset)
  }
  mutating func pad(to alignment: Int = 32) { while bytes.count % alignment != 0 { bytes.append(0) } }
  mutating func zeros(_ n: Int) { bytes.append(contentsOf: [UInt8](repeating: 0, count: n)) }
}

func parseGGUF(_ bytes: [UInt8]) throws -> GGUFFile {
  try GGUFFile(mapping: MappedFile(copying: bytes, name: "hostile.gguf"))
}

/// Parses `bytes`, expecting a GGUFError of `kind` whose field mentions `field`.
func expectGGUFError(_ kind: GGUFError.Kind, field: String, _ bytes: [UInt8],
                     sourceLocation: SourceLocation = #_sourceLocation) {
  do {
    let file = try parseGGUF(bytes)
    Issue.record("expected \(kind) on \(field), parsed \(file.tensors.count) tensors", sourceLocation: sourceLocation)
  } catch let error as GGUFError {
    #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
    #expect(error.field.contains(field), "field of \(error)", sourceLocation: sourceLocation)
    #expect(error.description.contains("hostile.gguf"), "\(error)", sourceLocation: sourceLocation)
  } catch {
    Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
  }
}

/// A temporary folder removed when the value goes.
final class TemporaryFolder {
  let url: URL
  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(at: url) }
}

/// Deterministic generator for fuzzing (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// |a - b| ≤ tol · max(1, |b|), element by element, with the first mismatch reported.
func expectClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-6, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(a.count == b.count, "\(what): \(a.count) values vs \(b.count)", sourceLocation: sourceLocation)
  guard a.count == b.count else { return }
  for i in a.indices where !(abs(a[i] - b[i]) <= tolerance * max(1, abs(b[i]))) {
    Issue.record("\(what)[\(i)]: \(a[i]) vs expected \(b[i])", sourceLocation: sourceLocation)
    return
  }
}
