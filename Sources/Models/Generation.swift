// Generation.swift — autoregressive decoding for any causal LM: a left-padded batch of prompts, a KV cache,
// greedy or sampled next tokens (temperature → top-k → top-p, as transformers' logits warpers), per-row stops.
import Foundation
import NN
import Tokenization
import Torch

/// How `CausalLanguageModel.generate` picks and stops.
public struct GenerationConfig: Equatable, Sendable {
  /// New tokens per row, at most (the stop token included).
  public var maxNewTokens: Int
  /// 0 picks the most likely token (greedy); above 0 the logits are divided by it and a token is sampled.
  public var temperature: Double
  /// Sample among the `topK` most likely tokens only; 0 keeps them all.
  public var topK: Int
  /// Sample from the smallest set of tokens whose probability adds up to more than `topP` (at least one); 1 keeps all.
  public var topP: Double
  /// Tokens that end a row (the token is kept in the output), in addition to the model's EOS tokens.
  public var stopTokenIDs: Set<Int>
  /// Texts that end a row once the decoded new tokens contain them (needs a tokenizer).
  public var stopStrings: [String]
  /// Also stop at the model's end-of-sequence tokens (config.json/GGUF `eos_token_id` and the tokenizer's EOS).
  public var stopsAtEndOfSequence: Bool
  /// Seeds the torch generator used for sampling: the same seed and inputs give the same tokens.
  public var seed: UInt64

  public init(maxNewTokens: Int = 128, temperature: Double = 0, topK: Int = 0, topP: Double = 1,
              stopTokenIDs: Set<Int> = [], stopStrings: [String] = [], stopsAtEndOfSequence: Bool = true,
              seed: UInt64 = 0)
  {
    self.maxNewTokens = maxNewTokens
    self.temperature = temperature
    self.topK = topK
    self.topP = topP
    self.stopTokenIDs = stopTokenIDs
    self.stopStrings = stopStrings
    self.stopsAtEndOfSequence = stopsAtEndOfSequence
    self.seed = seed
  }

  /// Greedy decoding of up to `maxNewTokens` tokens.
  public static func greedy(maxNewTokens: Int) -> GenerationConfig { GenerationConfig(maxNewTokens: maxNewTokens) }

  public var isGreedy: Bool { temperature == 0 }

  public func validate() throws {
    guard maxNewTokens >= 0 else { throw ModelError("maxNewTokens must be 0 or more, got \(maxNewTokens)") }
    guard temperature >= 0, temperature.isFinite else { throw ModelError("temperature must be 0 (greedy) or positive, got \(temperature)") }
    guard topK >= 0 else { throw ModelError("topK must be 0 (off) or positive, got \(topK)") }
    guard topP > 0, topP <= 1 else { throw ModelError("topP must be in (0, 1], got \(topP)") }
    guard !stopStrings.contains("") else { throw ModelError("stop strings must not be empty") }
  }
}

extension CausalLanguageModel {
  /// End-of-sequence token ids: config.json / GGUF `eos_token_id` (one or several) and the tokenizer's EOS.
  public func endOfSequenceTokenIDs(tokenizer: Tokenizer? = nil) -> Set<Int> {
    var ids = Set(config.eosTokenId?.all ?? [])
    if let eos = tokenizer?.eosTokenID { ids.insert(eos) }
    return ids
  }

  /// Generates up to `config.maxNewTokens` tokens after each prompt and returns the new tokens of every row
  /// (a row's stop token included, as transformers does).
  ///
  /// The prompts are left-padded into one batch; positions count real tokens only (`cumsum(mask) - 1`, as
  /// transformers), so each row decodes exactly as it would alone. The prompt runs through the model once,
  /// then each step feeds only the newest token against the KV cache and projects only the last position to
  /// logits. `onToken(row, token)` sees each new token of a row as soon as it is picked, until the row stops.
  public func generate(prompts: [[Int]], config: GenerationConfig, tokenizer: Tokenizer? = nil,
                       onToken: ((_ row: Int, _ token: Int) -> Void)? = nil) throws -> [[Int]]
  {
    try config.validate()
    guard !prompts.isEmpty else { return [] }
    for (row, prompt) in prompts.enumerated() {
      guard !prompt.isEmpty else { throw ModelError("prompt \(row) is empty: generation needs at least one token") }
      if let bad = prompt.first(where: { $0 < 0 || $0 >= self.config.vocabSize }) {
        throw ModelError("prompt \(row) has token id \(bad), outside the vocabulary (0..<\(self.config.vocabSize))")
      }
    }
    if !config.stopStrings.isEmpty && tokenizer == nil {
      throw ModelError("stop strings need a tokenizer to decode the generated tokens")
    }
    guard config.maxNewTokens > 0 else { return prompts.map { _ in [] } }

    let stopIDs = config.stopTokenIDs.union(config.stopsAtEndOfSequence ? endOfSequenceTokenIDs(tokenizer: tokenizer) : [])
    let batch = prompts.count
    let longest = prompts.map(\.count).max()!
    let padID = self.config.padTokenId ?? tokenizer?.padTokenID ?? stopIDs.min() ?? 0
    let padded = prompts.contains { $0.count != longest }

    // Left padding: [B, T] ids, mask and positions counting real tokens only (pads get 1, as transformers sets).
    var idRows: [Int64] = [], maskRows: [Int64] = [], positionRows: [Int64] = []
    for prompt in prompts {
      let pad = longest - prompt.count
      idRows += Array(repeating: Int64(padID), count: pad) + prompt.map(Int64.init)
      maskRows += Array(repeating: 0, count: pad) + Array(repeating: 1, count: prompt.count)
      positionRows += Array(repeating: 1, count: pad) + (0..<Int64(prompt.count))
    }
    var sampler = try TokenSampler(config: config, vocabularySize: self.config.vocabSize, device: device)
    let stopper = StopChecker(stopTokenIDs: stopIDs, stopStrings: config.stopStrings, tokenizer: tokenizer)
    var generated = Array(repeating: [Int](), count: batch)
    var finished = Array(repeating: false, count: batch)

    try withNoGrad {
      let cache = makeCache()
      var input = try Tensor(idRows, shape: [batch, longest]).to(device: device)
      var positions = try Tensor(positionRows, shape: [batch, longest]).to(device: device)
      var attentionMask = try Tensor(maskRows, shape: [batch, longest]).to(device: device)
      let newKeyColumn = try Tensor.ones([batch, 1], dtype: .int64, device: device)
      var step = 0
      while true {
        // ids [B, t] -> hidden [B, t, C] -> last position [B, C] -> logits [B, V]
        let hidden = try hiddenStates(inputIDs: input, attentionMask: padded ? attentionMask : nil,
                                      positions: positions, cache: cache)
        var logits = try lmHead(hidden.select(1, hidden.size(1) - 1), training: false)
        if let cap = finalLogitSoftcapping { logits = try (logits / cap).tanh() * cap }
        let next = try sampler.nextTokens(logits: logits)
        for row in 0..<batch where !finished[row] {
          generated[row].append(next[row])
          onToken?(row, next[row])
          if stopper.shouldStop(tokens: generated[row]) || generated[row].count >= config.maxNewTokens {
            finished[row] = true
          }
        }
        if !finished.contains(false) { break }
        // Next step: only the new token [B, 1], at the position after each row's last, one more key to attend.
        step += 1
        input = try Tensor(next.map(Int64.init), shape: [batch, 1]).to(device: device)
        positions = try Tensor(prompts.map { Int64($0.count - 1 + step) }, shape: [batch, 1]).to(device: device)
        if padded { attentionMask = try Tensor.cat([attentionMask, newKeyColumn], dim: 1) }
      }
    }
    return generated
  }
}

/// Picks next tokens from last-position logits: argmax, or transformers' sampling pipeline
/// (`TemperatureLogitsWarper` → `TopKLogitsWarper` → `TopPLogitsWarper` → softmax → multinomial).
struct TokenSampler {
  let config: GenerationConfig
  let vocabularySize: Int
  let generator: Generator?
  /// [1, V] bool, false only in the last column: top-p always keeps the most likely token.
  let notLastColumn: Tensor?

  init(config: GenerationConfig, vocabularySize: Int, device: Device) throws {
    self.config = config
    self.vocabularySize = vocabularySize
    if config.isGreedy {
      generator = nil
      notLastColumn = nil
    } else {
      generator = try Generator(seed: config.seed, device: device)  // multinomial draws where the logits are
      notLastColumn = try Tensor.arange(vocabularySize, device: device).lt(Double(vocabularySize - 1)).unsqueezed(0)
    }
  }

  /// logits [B, V] -> one token id per row.
  mutating func nextTokens(logits: Tensor) throws -> [Int] {
    if config.isGreedy {
      return try logits.argmax(dim: -1).to(device: .cpu).scalars(as: Int64.self).map(Int.init)
    }
    var scores = try logits.to(dtype: .float32) / config.temperature
    let k = min(config.topK, vocabularySize)
    if k > 0 && k < vocabularySize {
      // Remove every token whose score is below the k-th largest.
      let kth = try scores.topk(k, dim: -1).values.narrow(-1, start: k - 1, length: 1)  // [B, 1]
      scores = try scores.maskedFill(scores.lt(kth), -Double.infinity)
    }
    if config.topP < 1, let notLastColumn {
      // Ascending sort; drop the low tail whose cumulative probability is <= 1 - p, never the most likely token.
      let (sortedScores, order) = try scores.sorted(dim: -1, descending: false)
      let cumulative = try sortedScores.softmax(dim: -1).cumsum(dim: -1)
      let removeSorted = try cumulative.le(1 - config.topP).logicalAnd(notLastColumn)
      let remove = try removeSorted.scatter(1, order, removeSorted)
      scores = try scores.maskedFill(remove, -Double.infinity)
    }
    let probabilities = try scores.softmax(dim: -1)
    return try probabilities.multinomial(1, generator: generator).to(device: .cpu).scalars(as: Int64.self).map(Int.init)
  }
}

/// Decides when a row is done: a stop token, or a stop string in the decoded text of its newest tokens.
struct StopChecker {
  let stopTokenIDs: Set<Int>
  let stopStrings: [String]
  let tokenizer: Tokenizer?
  /// Tokens decoded for the stop-string check: enough to hold the longest stop string even at one byte a
  /// token, plus a margin for decoders that treat a window's first token specially.
  let window: Int

  init(stopTokenIDs: Set<Int>, stopStrings: [String], tokenizer: Tokenizer?) {
    self.stopTokenIDs = stopTokenIDs
    self.stopStrings = stopStrings
    self.tokenizer = tokenizer
    window = (stopStrings.map(\.utf8.count).max() ?? 0) + 4
  }

  func shouldStop(tokens: [Int]) -> Bool {
    guard let last = tokens.last else { return false }
    if stopTokenIDs.contains(last) { return true }
    guard !stopStrings.isEmpty, let tokenizer else { return false }
    // A stop string found in the tail must have been completed by the newest token: an earlier one would
    // have stopped the row then.
    let text = Array(tokenizer.decode(Array(tokens.suffix(window))).utf8)
    return stopStrings.contains { Self.bytes(text, contain: Array($0.utf8)) }
  }

  /// Byte-wise search: "\n" is found in "\r\n" (a single Character to Swift's String).
  static func bytes(_ text: [UInt8], contain needle: [UInt8]) -> Bool {
    guard needle.count <= text.count else { return false }
    return (0...(text.count - needle.count)).contains { start in text[start..<(start + needle.count)].elementsEqual(needle) }
  }
}
