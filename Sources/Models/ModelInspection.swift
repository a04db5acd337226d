// ModelInspection.swift — what a checkpoint holds, read from headers and metadata only (no weights are loaded):
// architecture, sizes, parameter count, tensor types, tokenizer and chat template. Backs `orpo inspect`.
import Foundation
import GGUF
import Tokenization
import Torch

/// A summary of a model folder or GGUF file.
public struct ModelReport: Codable, Equatable, Sendable {
  public struct SpecialToken: Codable, Equatable, Sendable {
    public var id: Int?
    public var text: String?
  }

  /// One storage type: how many tensors use it and how many parameters they hold.
  public struct TensorType: Codable, Equatable, Sendable {
    public var name: String
    public var tensors: Int
    public var parameters: Int
  }

  public struct Rope: Codable, Equatable, Sendable {
    public var theta: Double
    public var scaling: String?  // "llama3 (factor 8, …)", nil when none
    public var headDim: Int
  }

  public var path: String
  public var format: String
  public var architecture: String
  public var modelType: String?
  public var name: String?
  public var parameters: Int
  /// Storage types by tensor: safetensors dtypes ("F32") or GGML types ("Q4_1").
  public var tensorTypes: [TensorType]
  /// llama.cpp's `general.file_type` ("MOSTLY_Q4_1") for GGUF files.
  public var fileType: String?
  public var vocabularySize: Int
  public var tokenizerVocabularySize: Int?
  public var specialTokens: [String: SpecialToken]
  public var hasChatTemplate: Bool
  public var chatTemplateFirstLine: String?
  public var contextLength: Int?
  public var layers: Int
  public var attentionHeads: Int
  public var keyValueHeads: Int
  public var hiddenSize: Int
  public var intermediateSize: Int
  public var tiedEmbeddings: Bool
  public var slidingWindow: Int?
  public var rope: Rope
  /// Why the tokenizer could not be read, when it could not.
  public var tokenizerNote: String?

  /// "Q4_1 ×210, F32 ×61, Q8_0 ×1": most-used first.
  public var tensorTypeSummary: String { tensorTypes.map { "\($0.name) ×\($0.tensors)" }.joined(separator: ", ") }

  /// Human-readable lines, `key  value`, aligned.
  public var text: String {
    func token(_ key: String) -> String {
      guard let t = specialTokens[key], t.id != nil || t.text != nil else { return "none" }
      switch (t.text, t.id) {
      case let (text?, id?): return "\"\(text)\" (id \(id))"
      case let (text?, nil): return "\"\(text)\" (not in the vocabulary)"
      case let (nil, id?): return "id \(id)"
      case (nil, nil): return "none"
      }
    }
    var lines: [(String, String)] = [
      ("path", path),
      ("format", format),
      ("architecture", architecture + (modelType.map { " (model_type \($0))" } ?? "")),
    ]
    if let name { lines.append(("name", name)) }
    lines += [
      ("parameters", "\(Self.grouped(parameters)) (\(Self.abbreviated(parameters)))"),
      (format == CheckpointFormat.gguf.rawValue ? "tensor types" : "dtypes",
       tensorTypes.map { "\($0.name) ×\($0.tensors) (\(Self.grouped($0.parameters)) params)" }.joined(separator: ", ")),
    ]
    if let fileType { lines.append(("file type", fileType)) }
    lines += [
      ("vocabulary", "\(vocabularySize)" + (tokenizerVocabularySize.map { $0 == vocabularySize ? "" : " (tokenizer: \($0))" } ?? "")),
      ("bos token", token("bos")), ("eos token", token("eos")), ("pad token", token("pad")), ("unk token", token("unk")),
      ("chat template", hasChatTemplate ? "yes: \(chatTemplateFirstLine ?? "")" : "no"),
      ("context length", contextLength.map(String.init) ?? "unknown"),
      ("layers", "\(layers)"),
      ("attention heads", "\(attentionHeads) (kv heads \(keyValueHeads), head dim \(rope.headDim))"),
      ("hidden size", "\(hiddenSize) (intermediate \(intermediateSize))"),
      ("tied embeddings", tiedEmbeddings ? "yes" : "no"),
      ("rope", "theta \(Self.number(rope.theta))" + (rope.scaling.map { ", scaling \($0)" } ?? ", no scaling")),
    ]
    if let slidingWindow { lines.append(("sliding window", "\(slidingWindow)")) }
    if let tokenizerNote { lines.append(("tokenizer", tokenizerNote)) }
    let width = lines.map(\.0.count).max() ?? 0
    return lines.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
  }

  /// Pretty JSON with sorted keys.
  public func json() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(self), as: UTF8.self)
  }

  static func grouped(_ n: Int) -> String {
    let digits = Array(String(n))
    var out = ""
    for (i, d) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
      out.append(d)
    }
    return out
  }

  static func abbreviated(_ n: Int) -> String {
    let x = Double(n)
    if x >= 1e9 { return String(format: "%.2fB", x / 1e9) }
    if x >= 1e6 { return String(format: "%.1fM", x / 1e6) }
    if x >= 1e3 { return String(format: "%.1fK", x / 1e3) }
    return "\(n)"
  }

  static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }
}

public enum ModelInspector {
  /// Reads the configuration, tensor headers and tokenizer of the model at `url` without loading weights.
  public static func inspect(_ url: URL) throws -> ModelReport {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
      throw ModelError("\(url.path): no such file or folder")
    }
    if isFolder.boolValue { return try inspectFolder(url) }
    guard url.pathExtension.lowercased() == "gguf" else {
      throw ModelError("\(url.path): expected a Hugging Face model folder or a .gguf file")
    }
    return try inspectGGUF(url)
  }

  static func inspectFolder(_ folder: URL) throws -> ModelReport {
    let config = try LlamaConfiguration.load(folder.appendingPathComponent("config.json"))
    var counts: [String: (tensors: Int, parameters: Int)] = [:]
    for file in try safetensorsFiles(in: folder) {
      for info in try SafeTensorsFile(url: file).tensorInfos {
        let elements = info.shape.reduce(1, *)
        counts[info.dtype.safetensorsName, default: (0, 0)].tensors += 1
        counts[info.dtype.safetensorsName, default: (0, 0)].parameters += elements
      }
    }
    var tokenizer: Tokenizer?
    var note: String?
    if FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path) {
      do { tokenizer = try Tokenizer(folder: folder) } catch { note = "unreadable: \(error)" }
    } else {
      note = "none (no tokenizer.json)"
    }
    return report(path: folder.path, format: .huggingFace, config: config, counts: counts, tokenizer: tokenizer,
                  tokenizerNote: note, name: nil, fileType: nil)
  }

  static func inspectGGUF(_ url: URL) throws -> ModelReport {
    let file = try GGUFFile(url: url)
    let config = try Checkpoint.configuration(fromGGUF: file)
    var counts: [String: (tensors: Int, parameters: Int)] = [:]
    for info in file.tensors {
      counts[info.type.description, default: (0, 0)].tensors += 1
      // Buffers such as rope_freqs are stored too but are no model parameters.
      if Checkpoint.huggingFaceName(forGGUF: info.name, architecture: file.metadata["general.architecture"]?.string) != nil {
        counts[info.type.description, default: (0, 0)].parameters += info.elementCount
      }
    }
    var tokenizer: Tokenizer?
    var note: String?
    do { tokenizer = try Tokenizer(gguf: file) } catch { note = "unreadable: \(error)" }
    let fileType = file.metadata["general.file_type"]?.int.map { llamaFileTypes[$0] ?? "\($0)" }
    return report(path: url.path, format: .gguf, config: config, counts: counts, tokenizer: tokenizer,
                  tokenizerNote: note, name: file.metadata["general.name"]?.string, fileType: fileType)
  }

  static func report(path: String, format: CheckpointFormat, config: LlamaConfiguration,
                     counts: [String: (tensors: Int, parameters: Int)], tokenizer: Tokenizer?, tokenizerNote: String?,
                     name: String?, fileType: String?) -> ModelReport
  {
    let types = counts.map { ModelReport.TensorType(name: $0.key, tensors: $0.value.tensors, parameters: $0.value.parameters) }
      .sorted { ($0.tensors, $1.name) > ($1.tensors, $0.name) }
    func special(_ id: Int?, _ text: String?) -> ModelReport.SpecialToken {
      let resolvedID = id ?? text.flatMap { tokenizer?.tokenID($0) }
      return ModelReport.SpecialToken(id: resolvedID, text: text ?? resolvedID.flatMap { tokenizer?.token($0) })
    }
    let template = tokenizer?.chatTemplate
    let scaling = config.resolvedRopeScaling.flatMap { s -> String? in
      guard s.kind != "default" else { return nil }
      var parts: [String] = []
      if let f = s.factor { parts.append("factor \(ModelReport.number(f))") }
      if let low = s.lowFreqFactor { parts.append("low_freq_factor \(ModelReport.number(low))") }
      if let high = s.highFreqFactor { parts.append("high_freq_factor \(ModelReport.number(high))") }
      if let original = s.originalMaxPositionEmbeddings { parts.append("original context \(original)") }
      return parts.isEmpty ? s.kind : "\(s.kind) (\(parts.joined(separator: ", ")))"
    }
    return ModelReport(
      path: path, format: format.rawValue,
      architecture: config.architectures?.first ?? LlamaConfiguration.architecture(forModelType: config.modelType ?? "llama"),
      modelType: config.modelType, name: name,
      parameters: types.reduce(0) { $0 + $1.parameters }, tensorTypes: types, fileType: fileType,
      vocabularySize: config.vocabSize, tokenizerVocabularySize: tokenizer?.vocabularySize,
      specialTokens: [
        // The tokenizer's named tokens win; config ids fill in when there is no tokenizer.
        "bos": special(tokenizer == nil ? config.bosTokenId : tokenizer?.bosTokenID, tokenizer?.bosToken),
        "eos": special(tokenizer == nil ? config.eosTokenId?.all.first : tokenizer?.eosTokenID, tokenizer?.eosToken),
        "pad": special(tokenizer == nil ? config.padTokenId : tokenizer?.padTokenID, tokenizer?.padToken),
        "unk": special(tokenizer?.unknownTokenID, tokenizer?.unknownToken),
      ],
      hasChatTemplate: template != nil,
      chatTemplateFirstLine: template.map { String($0.split(separator: "\n", omittingEmptySubsequences: true).first ?? "") },
      contextLength: config.maxPositionEmbeddings, layers: config.numHiddenLayers,
      attentionHeads: config.numAttentionHeads, keyValueHeads: config.kvHeads, hiddenSize: config.hiddenSize,
      intermediateSize: config.intermediateSize, tiedEmbeddings: config.tiesEmbeddings,
      slidingWindow: config.effectiveSlidingWindow,
      rope: .init(theta: config.resolvedRopeTheta, scaling: scaling, headDim: config.resolvedHeadDim),
      tokenizerNote: tokenizerNote)
  }

  /// model.safetensors, or the shards model.safetensors.index.json names.
  static func safetensorsFiles(in folder: URL) throws -> [URL] {
    let index = folder.appendingPathComponent("model.safetensors.index.json")
    guard FileManager.default.fileExists(atPath: index.path) else { return [folder.appendingPathComponent("model.safetensors")] }
    struct Index: Decodable { let weight_map: [String: String] }
    guard let map = try? JSONDecoder().decode(Index.self, from: Data(contentsOf: index)) else {
      throw ModelError("\(index.path): expected an object with a \"weight_map\"")
    }
    return Set(map.weight_map.values).sorted().map { folder.appendingPathComponent($0) }
  }

  /// llama.cpp's `LLAMA_FTYPE_MOSTLY_*` codes (`general.file_type`), the common ones.
  static let llamaFileTypes: [Int: String] = [
    0: "ALL_F32", 1: "MOSTLY_F16", 2: "MOSTLY_Q4_0", 3: "MOSTLY_Q4_1", 7: "MOSTLY_Q8_0", 8: "MOSTLY_Q5_0",
    9: "MOSTLY_Q5_1", 10: "MOSTLY_Q2_K", 11: "MOSTLY_Q3_K_S", 12: "MOSTLY_Q3_K_M", 13: "MOSTLY_Q3_K_L",
    14: "MOSTLY_Q4_K_S", 15: "MOSTLY_Q4_K_M", 16: "MOSTLY_Q5_K_S", 17: "MOSTLY_Q5_K_M", 18: "MOSTLY_Q6_K",
    32: "MOSTLY_BF16",
  ]
}
