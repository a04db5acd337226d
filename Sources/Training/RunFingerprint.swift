// RunFingerprint.swift — what makes a checkpoint part of a run: hashes of the configuration (the keys that shape
// the trajectory), of the training data as encoded, and of the model, written into each checkpoint as fingerprint.json
// and compared before resuming, so that a run never resumes another run's checkpoint unless forced.
import Data
import Foundation
import Support

public struct RunFingerprint: Codable, Sendable {
  public var configuration: String
  public var data: String
  public var model: String
  /// The text of each key the configuration hash covers, so that a refusal can name the keys that differ (nil in
  /// fingerprints written before it was recorded). Not compared: the hash stands for it.
  public var settings: [String: String]? = nil
}

extension RunFingerprint: Equatable {
  public static func == (a: RunFingerprint, b: RunFingerprint) -> Bool {
    a.configuration == b.configuration && a.data == b.data && a.model == b.model
  }
}

// In an extension, so the memberwise init stays synthesized.
extension RunFingerprint {
  /// Keys that may differ between a run and its resumption: where things go, how often they are logged or saved,
  /// how long to train (a run may be extended), the machine (and how gradients travel between processes), and what
  /// the data and model hashes cover.
  public static let resumableKeys: Set<String> = [
    "output_dir", "resume_from_checkpoint", "overwrite_output_dir", "force_resume", "logging_steps", "save_steps",
    "save_total_limit", "report_to", "threads", "device", "eval_strategy", "eval_steps", "per_device_eval_batch_size",
    "eval_max_tokens_per_forward",
    "eval_dataset", "eval_dataset_split", "max_steps", "num_train_epochs", "max_nonfinite_steps", "model", "dataset",
    "ddp_bucket_cap_mb",
  ]

  /// The fingerprint of a run of `config` on `trainPairs` (as encoded, so the tokenizer and template count) with
  /// the model at `modelPath` (its file name and the sizes of its files).
  public init(config: TrainingConfiguration, trainPairs: [EncodedPair], modelPath: URL) {
    var d = StableHash()
    d.combine(trainPairs.count)
    for pair in trainPairs {
      for ids in [pair.chosenIDs, pair.chosenLabels, pair.rejectedIDs, pair.rejectedLabels] {
        d.combine(ids.count)
        for id in ids { d.combine(id) }
      }
      d.combine(pair.chosenPromptLength)
      d.combine(pair.rejectedPromptLength)
    }
    self.init(configuration: Self.configurationHash(config), data: d.hex, model: Self.modelHash(modelPath),
              settings: Self.settings(config))
  }

  /// The keys that shape the trajectory, in the table's order, each with its text: what the configuration hash covers.
  static func hashedSettings(_ config: TrainingConfiguration) -> [(name: String, text: String)] {
    TrainingConfiguration.keys.filter { !Self.resumableKeys.contains($0.name) }.map { ($0.name, $0.text(config)) }
  }

  static func settings(_ config: TrainingConfiguration) -> [String: String] {
    Dictionary(hashedSettings(config).map { ($0.name, $0.text) }, uniquingKeysWith: { _, last in last })
  }

  static func configurationHash(_ config: TrainingConfiguration) -> String {
    var c = StableHash()
    for (name, text) in hashedSettings(config) {
      c.combine(name)
      c.combine(text)
    }
    return c.hex
  }

  /// This (a checkpoint's) fingerprint with `settings` filled in where it records none (written before they were)
  /// and its hash is `config`'s with the former default `optim: adamw_torch` (before adamw_torch_fused): then that
  /// is the one difference, and `differences(from:)` can name it.
  func withFormerDefaults(of config: TrainingConfiguration) -> RunFingerprint {
    var former = config
    former.optim = .adamwTorch
    guard settings == nil, config.optim == .adamwTorchFused, configuration == Self.configurationHash(former) else {
      return self
    }
    var filled = self
    filled.settings = Self.settings(former)
    return filled
  }

  static func modelHash(_ url: URL) -> String {
    var h = StableHash()
    h.combine(url.standardizedFileURL.lastPathComponent)
    let fm = FileManager.default
    var isFolder: ObjCBool = false
    _ = fm.fileExists(atPath: url.path, isDirectory: &isFolder)
    let files = isFolder.boolValue ? ((try? fm.contentsOfDirectory(atPath: url.path)) ?? []).sorted().map { url.appendingPathComponent($0) }
                                   : [url]
    for file in files where [".safetensors", ".gguf", ".json", ".bin"].contains(where: file.lastPathComponent.hasSuffix) {
      h.combine(file.lastPathComponent)
      h.combine(((try? fm.attributesOfItem(atPath: file.path))?[.size] as? NSNumber)?.intValue ?? -1)
    }
    return h.hex
  }

  /// The parts in which this (a checkpoint's) fingerprint differs from `other` (this run's), named for a message:
  /// "the configuration" (with the keys that differ, where both record them), "the training data", "the model".
  public func differences(from other: RunFingerprint) -> [String] {
    var parts: [String] = []
    if configuration != other.configuration {
      if let mine = settings, let theirs = other.settings {
        let keys = Set(mine.keys).union(theirs.keys).filter { mine[$0] != theirs[$0] }.sorted()
        let named = keys.prefix(6).map { "\($0): \(mine[$0] ?? "unknown") in the checkpoint, \(theirs[$0] ?? "unknown") in this run" }
        parts.append("the configuration" + (named.isEmpty ? "" : " (" + named.joined(separator: "; ") + (keys.count > 6 ? "; …" : "") + ")"))
      } else {
        parts.append("the configuration")
      }
    }
    if data != other.data { parts.append("the training data") }
    if model != other.model { parts.append("the model") }
    return parts
  }

  public static let fileName = "fingerprint.json"

  public func write(into folder: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(try encoder.encode(self), to: folder.appendingPathComponent(Self.fileName))
  }

  /// The fingerprint a checkpoint (or run folder) records; nil when it records none.
  public static func read(from folder: URL) throws -> RunFingerprint? {
    let file = folder.appendingPathComponent(fileName)
    guard FileManager.default.fileExists(atPath: file.path) else { return nil }
    do {
      return try JSONDecoder().decode(RunFingerprint.self, from: Data(contentsOf: file))
    } catch {
      throw TrainingError("\(file.path): not a run fingerprint (expected {\"configuration\", \"data\", \"model\"}: \(error))")
    }
  }
}
