// The GGUF vocabulary written from a Hugging Face tokenizer folder (Tokenizer.ggufVocabulary) against what llama.cpp's
// own converter wrote for the same folders (reference/check_gguf_vocab.py → Fixtures/gguf_vocab.json): every
// tokenizer.* key with its GGUF type, and the pre-tokenizer checksum transformers computed.
import Foundation
import GGUF
import Support
import Testing
@testable import Tokenization

/// True when `value` is what gguf-py read back: `[type, value]`, or `["array", element type, values]`.
func ggufValue(_ value: GGUFValue, matches json: JSONValue) -> Bool {
  guard let parts = json.arrayValue, let type = parts.first?.stringValue else { return false }
  func scalar(_ v: GGUFValue, _ type: String, _ j: JSONValue) -> Bool {
    switch (type, v) {
    case ("string", .string(let s)): return j.stringValue.map { exactlyEqual($0, s) } ?? false
    case ("bool", .bool(let b)): return j.boolValue == b
    case ("uint32", .uint32(let x)): return j.intValue == Int(x)
    case ("int32", .int32(let x)): return j.intValue == Int(x)
    case ("uint64", .uint64(let x)): return j.intValue == Int(x)
    case ("float32", .float32(let x)): return j.doubleValue.map { Float($0) == x } ?? false
    default: return false
    }
  }
  if type == "array" {
    guard parts.count == 3, let elementType = parts[1].stringValue, let items = parts[2].arrayValue,
          case .array(let values) = value, values.count == items.count else { return false }
    return zip(values, items).allSatisfy { scalar($0, elementType, $1) }
  }
  return parts.count == 2 && scalar(value, type, parts[1])
}

@Suite struct GGUFVocabularyExportTests {
  static let fixture = try! Fixtures.json("gguf_vocab.json")

  @Test func checkTextIsLlamaCppsChktxt() {
    #expect(SHA256.hex(Array(Tokenizer.llamaCppCheckText.utf8)) == Self.fixture["chktxt_sha256"]?.stringValue)
  }

  /// The folder the reference script built: the trained tokenizer.json, its tokenizer_config.json, config.json and
  /// chat_template.jinja.
  func folder(_ name: String, _ spec: JSONValue) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-vocab-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: Fixtures.url("\(name)/tokenizer.json"), to: dir.appendingPathComponent("tokenizer.json"))
    if let config = spec["tokenizer_config"], !config.isNull {
      try Data(config.utf8(.serdePretty)).write(to: dir.appendingPathComponent("tokenizer_config.json"))
    }
    try Data(spec["config"]!.utf8(.serdePretty)).write(to: dir.appendingPathComponent("config.json"))
    if let jinja = spec["chat_template_jinja"]?.stringValue {
      try Data(jinja.utf8).write(to: dir.appendingPathComponent("chat_template.jinja"))
    }
    return dir
  }

  @Test(arguments: ["gpt2", "llama3", "qwen2", "smollm2"])
  func vocabularyIsLlamaCppsConversion(name: String) throws {
    let spec = try #require(Self.fixture["cases"]?[name])
    let dir = try folder(name, spec)
    defer { try? FileManager.default.removeItem(at: dir) }
    let vocabulary = try Tokenizer.ggufVocabulary(folder: dir)
    #expect(vocabulary.checksum == spec["checksum"]?.stringValue, "transformers' chkhsh")
    #expect(vocabulary.checksumRecognized == spec["llama_cpp_lists_checksum"]?.boolValue)
    let want = try #require(spec["metadata"]?.objectValue)
    #expect(vocabulary.metadata.map(\.key).sorted() == want.map(\.key).sorted())
    for (key, json) in want {
      let ours = try #require(vocabulary.metadata.first { $0.key == key }?.value, "\(key)")
      #expect(ggufValue(ours, matches: json), "\(name): \(key): ours \(String(describing: ours).prefix(200))")
    }
  }

  @Test func refusesSentencePieceFolders() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-vocab-spm-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.copyItem(at: Fixtures.url("llama2/tokenizer.json"), to: dir.appendingPathComponent("tokenizer.json"))
    #expect(throws: TokenizerError.self) { try Tokenizer.ggufVocabulary(folder: dir) }
  }
}
