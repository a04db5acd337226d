// CandidateGeneration.swift — `orpo curate generate`: N sampled candidates per stored prompt under the model's chat
// template, several prompts per batch through the KV-cached generator, seeded per batch, resumable.
import ChatTemplates
import Foundation
import Models
import Support

/// How candidates are sampled.
public struct CandidateSampling: Equatable, Sendable {
  /// Candidates per prompt (at least 2: a pair needs two).
  public var candidates: Int
  public var temperature: Double
  public var topP: Double
  public var topK: Int
  public var maxNewTokens: Int
  public var seed: UInt64
  /// Prompts per generation batch (each contributes `candidates` rows).
  public var promptsPerBatch: Int

  public init(candidates: Int = 2, temperature: Double = 0.8, topP: Double = 0.95, topK: Int = 0, maxNewTokens: Int = 256,
              seed: UInt64 = 0, promptsPerBatch: Int = 4)
  {
    self.candidates = candidates
    self.temperature = temperature
    self.topP = topP
    self.topK = topK
    self.maxNewTokens = maxNewTokens
    self.seed = seed
    self.promptsPerBatch = promptsPerBatch
  }

  public func validate() throws {
    guard candidates >= 2 else { throw CurationError(field: "candidates", "must be at least 2 (a pair needs two), got \(candidates)") }
    guard temperature > 0, temperature.isFinite else {
      throw CurationError(field: "temperature", "must be above 0 (0 is greedy: every candidate would be the same), got \(temperature)")
    }
    guard topP > 0, topP <= 1 else { throw CurationError(field: "top-p", "must be in (0, 1], got \(topP)") }
    guard topK >= 0 else { throw CurationError(field: "top-k", "must be 0 (off) or more, got \(topK)") }
    guard maxNewTokens >= 1 else { throw CurationError(field: "max-new-tokens", "must be at least 1, got \(maxNewTokens)") }
    guard promptsPerBatch >= 1 else { throw CurationError(field: "batch-size", "must be at least 1, got \(promptsPerBatch)") }
  }

  /// The settings stored with each candidate, as a compact JSON object with sorted keys.
  func settingsJSON(batchSeed: UInt64, adapter: String?) -> String {
    var members: [JSONMember] = []
    if let adapter { members.append(("adapter", .string(adapter))) }
    members += [("max_new_tokens", .int(maxNewTokens)), ("seed", .int(batchSeed)), ("temperature", .double(temperature)),
                ("top_k", .int(topK)), ("top_p", .double(topP))]
    return JSONValue.object(members).formatted(.serdeCompact)
  }
}

/// What a generation run did.
public struct GenerationSummary: Equatable, Sendable, CustomStringConvertible {
  public var prompts = 0
  public var alreadyDone = 0
  public var generatedPrompts = 0
  public var candidates = 0
  public var tokens = 0
  public var seconds = 0.0

  public var description: String {
    var text = "\(generatedPrompts) prompts → \(candidates) candidates, \(tokens) tokens"
    if seconds > 0 { text += String(format: " in %.1f s (%.1f tokens/s)", seconds, Double(tokens) / seconds) }
    if alreadyDone > 0 { text += "; \(alreadyDone) of \(prompts) prompts were already done" }
    return text
  }
}

/// Samples candidates for every prompt that has fewer than `sampling.candidates` from this model.
public struct CandidateGenerator {
  public let loaded: LoadedModel
  /// The model label stored with the candidates (and used to tell which prompts are done).
  public let label: String
  public let adapter: String?
  public let sampling: CandidateSampling

  public init(loaded: LoadedModel, label: String, adapter: String? = nil, sampling: CandidateSampling) {
    self.loaded = loaded
    self.label = label
    self.adapter = adapter
    self.sampling = sampling
  }

  /// The default label: the model's file or folder name, `+adapter-folder` when an adapter is applied.
  public static func label(modelURL: URL, adapterURL: URL?) -> String {
    modelURL.lastPathComponent + (adapterURL.map { "+" + $0.lastPathComponent } ?? "")
  }

  /// Generates what is missing. Batches are fixed slices of all prompts in id order, each seeded with
  /// `seed + its first prompt id` and stored in one transaction, so an interrupted run resumed with the same
  /// options produces what an uninterrupted one would have. `progress(done, total)` counts prompts.
  public func run(store: CurationStore, progress: ((Int, Int) -> Void)? = nil) throws -> GenerationSummary {
    try sampling.validate()
    let prompts = try store.prompts()
    let counts = try store.candidateCounts(model: label)
    var summary = GenerationSummary(prompts: prompts.count)
    summary.alreadyDone = prompts.filter { (counts[$0.id] ?? 0) >= sampling.candidates }.count
    var done = summary.alreadyDone
    progress?(done, prompts.count)
    let start = Date()
    for batchStart in stride(from: 0, to: prompts.count, by: sampling.promptsPerBatch) {
      let slice = prompts[batchStart..<min(prompts.count, batchStart + sampling.promptsPerBatch)]
      let pending = slice.filter { (counts[$0.id] ?? 0) < sampling.candidates }
      if pending.isEmpty { continue }
      let batchSeed = sampling.seed &+ UInt64(slice.first!.id)
      var rows: [[Int]] = [], owners: [Int64] = []
      for prompt in pending {
        let ids = try loaded.chatPromptIDs(prompt.messages)
        guard !ids.isEmpty else { throw CurationError(field: "prompt", "prompt \(prompt.id) encodes to no tokens") }
        for _ in 0..<(sampling.candidates - (counts[prompt.id] ?? 0)) {
          rows.append(ids)
          owners.append(prompt.id)
        }
      }
      let config = GenerationConfig(maxNewTokens: sampling.maxNewTokens, temperature: sampling.temperature, topK: sampling.topK,
                                    topP: sampling.topP, seed: batchSeed)
      let outputs = try loaded.model.generate(prompts: rows, config: config, tokenizer: loaded.tokenizer)
      var texts: [Int64: [String]] = [:]
      for (owner, tokens) in zip(owners, outputs) {
        summary.tokens += tokens.count
        let text = loaded.tokenizer.decode(tokens, skipSpecialTokens: true).trimmingCharacters(in: .whitespacesAndNewlines)
        texts[owner, default: []].append(text)
      }
      try store.addCandidateBatch(pending.map { ($0.id, texts[$0.id] ?? []) }, model: label,
                                  settings: sampling.settingsJSON(batchSeed: batchSeed, adapter: adapter))
      summary.generatedPrompts += pending.count
      summary.candidates += rows.count
      done += pending.count
      progress?(done, prompts.count)
    }
    summary.seconds = Date().timeIntervalSince(start)
    return summary
  }
}
