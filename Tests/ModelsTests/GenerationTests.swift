// GenerationTests.swift — generation against transformers' greedy tokens (default GGUF), KV-cache decoding against
// full forwards, left-padded batches against single prompts, sampling options, stops, streaming text, inspect.
import ChatTemplates
import Foundation
import Testing
@testable import Models
import NN
import Tokenization
import Torch

/// The tiny random Llama-3 fixture (vocabulary 96, 2 layers, llama3 RoPE scaling).
private func tinyModel(_ family: String = "llama3") throws -> LlamaForCausalLM {
  let (config, parameters, _) = try Checkpoint.load(try fixtureURL(family))
  return try LlamaForCausalLM(config: config, parameters: parameters)
}

/// Reproducible random token ids in 0..<vocabulary.
private func randomPrompt(length: Int, seed: UInt64, vocabulary: Int = 96) throws -> [Int] {
  let generator = try Generator(seed: seed)
  return try Tensor.randint(3, vocabulary, shape: [length], generator: generator).scalars(as: Int64.self).map(Int.init)
}

/// A byte-level tokenizer with one token per character for the 96-token fixtures: "Ġ" (space), "!"…"~", "Ċ" ("\n").
private func characterTokenizer() throws -> Tokenizer {
  let tokens = ["Ġ"] + (33...126).map { String(UnicodeScalar(UInt8($0))) } + ["Ċ"]
  return try Tokenizer(ggufModel: "gpt2", pre: nil, tokens: tokens, merges: [], tokenTypes: nil, scores: nil,
                       bos: nil, eos: nil, pad: nil, unk: nil, addBOS: false, addEOS: false, chatTemplate: nil)
}

private let noStops = GenerationConfig(maxNewTokens: 12, stopsAtEndOfSequence: false)

@Suite(.serialized) struct GenerationTests {
  @Test(arguments: ["llama3", "mistral", "qwen2", "smollm2"])
  func cachedDecodingGivesFullForwardLogits(family: String) throws {
    let model = try tinyModel(family)
    let ids = try Tensor(try randomPrompt(length: 20, seed: 7).map(Int64.init), shape: [2, 10])
    try withNoGrad {
      let full = try model(ids)  // [2, 10, V]
      let cache = KVCache(layers: model.layers.count)
      let prefill = try model(ids.narrow(1, start: 0, length: 4), cache: cache)
      #expect(try maxAbsDifference(prefill, full.narrow(1, start: 0, length: 4)) < 1e-5)
      for t in 4..<10 {
        let step = try model(ids.narrow(1, start: t, length: 1), cache: cache)  // [2, 1, V]
        #expect(try maxAbsDifference(step, full.narrow(1, start: t, length: 1)) < 1e-5, "\(family) position \(t)")
      }
      #expect(cache.length == 10)
    }
  }

  @Test func cachedDecodingOfALeftPaddedBatchGivesFullForwardLogits() throws {
    let model = try tinyModel()
    // Row 1 has 3 pad tokens on the left; positions count real tokens only.
    let ids = try Tensor(try randomPrompt(length: 20, seed: 11).map(Int64.init), shape: [2, 10])
    let mask = try Tensor([Int64](repeating: 1, count: 10) + [0, 0, 0] + [Int64](repeating: 1, count: 7), shape: [2, 10])
    let positions = try Tensor((Array(0..<10) + [1, 1, 1] + Array(0..<7)).map(Int64.init), shape: [2, 10])
    try withNoGrad {
      let full = try model(ids, attentionMask: mask, positions: positions)
      let cache = KVCache(layers: model.layers.count)
      _ = try model(ids.narrow(1, start: 0, length: 5), attentionMask: mask.narrow(1, start: 0, length: 5),
                    positions: positions.narrow(1, start: 0, length: 5), cache: cache)
      for t in 5..<10 {
        let step = try model(ids.narrow(1, start: t, length: 1), attentionMask: mask.narrow(1, start: 0, length: t + 1),
                             positions: positions.narrow(1, start: t, length: 1), cache: cache)
        #expect(try maxAbsDifference(step, full.narrow(1, start: t, length: 1)) < 1e-5, "position \(t)")
      }
    }
  }

  @Test func greedyTokensAreTheArgmaxOfFullForwards() throws {
    let model = try tinyModel()
    let prompt = try randomPrompt(length: 6, seed: 3)
    let generated = try model.generate(prompts: [prompt], config: noStops)[0]
    #expect(generated.count == 12)
    var ids = prompt
    try withNoGrad {
      for token in generated {
        let logits = try model(Tensor(ids.map(Int64.init), shape: [1, ids.count]))
        #expect(try logits.select(1, ids.count - 1).argmax(dim: -1).itemInt() == token)
        ids.append(token)
      }
    }
  }

  @Test func leftPaddedBatchMatchesEachPromptAlone() throws {
    let model = try tinyModel()
    let prompts = [try randomPrompt(length: 3, seed: 1), try randomPrompt(length: 9, seed: 2), try randomPrompt(length: 6, seed: 4)]
    let batched = try model.generate(prompts: prompts, config: noStops)
    for (row, prompt) in prompts.enumerated() {
      #expect(batched[row] == (try model.generate(prompts: [prompt], config: noStops)[0]), "row \(row)")
    }
  }

  @Test func topKOfOneAndTinyTopPAreGreedy() throws {
    let model = try tinyModel()
    let prompts = [try randomPrompt(length: 5, seed: 5), try randomPrompt(length: 8, seed: 6)]
    let greedy = try model.generate(prompts: prompts, config: noStops)
    var topK = noStops
    topK.temperature = 1.3
    topK.topK = 1
    #expect(try model.generate(prompts: prompts, config: topK) == greedy)
    var topP = noStops
    topP.temperature = 0.9
    topP.topP = 1e-6
    #expect(try model.generate(prompts: prompts, config: topP) == greedy)
  }

  @Test func seededSamplingIsReproducible() throws {
    let model = try tinyModel()
    let prompts = [try randomPrompt(length: 5, seed: 8), try randomPrompt(length: 2, seed: 9)]
    var config = GenerationConfig(maxNewTokens: 24, temperature: 1.5, topK: 50, topP: 0.95, stopsAtEndOfSequence: false, seed: 42)
    let first = try model.generate(prompts: prompts, config: config)
    #expect(try model.generate(prompts: prompts, config: config) == first)
    config.seed = 43
    #expect(try model.generate(prompts: prompts, config: config) != first)
    #expect(first.allSatisfy { $0.count == 24 })
  }

  @Test func topPKeepsTheSmallestSetAbovePAsTransformers() throws {
    // Probabilities 0.5, 0.3, 0.15, 0.05; ascending cumulative sums 0.05, 0.2, 0.5, 1. Tokens whose sum is
    // <= 1 - top_p go: 0.7 keeps {0.5, 0.3}, 0.81 keeps three, 0.01 keeps only the most likely.
    let probabilities: [Double] = [0.15, 0.5, 0.05, 0.3]
    let logits = try Tensor(probabilities.map { Float(Foundation.log($0)) }, shape: [1, 4])
    func kept(_ p: Double) throws -> Set<Int> {
      var sampler = try TokenSampler(config: GenerationConfig(temperature: 1, topP: p, seed: 0), vocabularySize: 4, device: .cpu)
      var seen = Set<Int>()
      for _ in 0..<200 { seen.insert(try sampler.nextTokens(logits: logits)[0]) }
      return seen
    }
    #expect(try kept(0.7) == [1, 3])
    #expect(try kept(0.81) == [0, 1, 3])
    #expect(try kept(0.01) == [1])
  }

  @Test func stopTokensEndOnlyTheirRow() throws {
    let model = try tinyModel()
    let prompts = [try randomPrompt(length: 4, seed: 12), try randomPrompt(length: 7, seed: 13)]
    let free = try model.generate(prompts: prompts, config: noStops)
    // Stop row 0 at its 4th token, unless that token also comes earlier in row 1.
    let stop = free[0][3]
    var config = noStops
    config.stopTokenIDs = [stop]
    let stopped = try model.generate(prompts: prompts, config: config)
    #expect(stopped[0] == Array(free[0].prefix(through: free[0].firstIndex(of: stop)!)))
    let row1 = free[1].firstIndex(of: stop).map { Array(free[1].prefix(through: $0)) } ?? free[1]
    #expect(stopped[1] == row1)
    // The model's EOS (config.json eos_token_id) stops a row when stopsAtEndOfSequence is on.
    #expect(model.endOfSequenceTokenIDs() == [2])
  }

  @Test func endOfSequenceStopsARow() throws {
    let model = try tinyModel()
    // Find a sampling seed whose free generation produces the EOS id (2) somewhere (the random model's
    // distribution is nearly uniform: about one draw in 90), then check generation stops there.
    var config = GenerationConfig(maxNewTokens: 40, temperature: 1.0, stopsAtEndOfSequence: false)
    let prompt = try randomPrompt(length: 4, seed: 100)
    var free: [Int] = []
    for seed in 0..<50 where !free.contains(2) {
      config.seed = UInt64(seed)
      free = try model.generate(prompts: [prompt], config: config)[0]
    }
    try #require(free.contains(2), "no sample reached EOS")
    config.stopsAtEndOfSequence = true
    let stopped = try model.generate(prompts: [prompt], config: config)[0]
    #expect(stopped == Array(free.prefix(through: free.firstIndex(of: 2)!)))
  }

  @Test func stopStringsEndARowOnDecodedText() throws {
    let model = try tinyModel()
    let tokenizer = try characterTokenizer()
    let prompt = try randomPrompt(length: 5, seed: 21)
    var config = GenerationConfig(maxNewTokens: 20, stopsAtEndOfSequence: false)
    let free = try model.generate(prompts: [prompt], config: config)[0]
    let text = tokenizer.decode(free)
    #expect(text.count == 20)
    // A two-character stop string taken from positions 6–7: the row ends at the token that completes its first
    // occurrence.
    let characters = Array(text)
    let stop = String(characters[6...7])
    let end = (1..<characters.count).first { String(characters[($0 - 1)...$0]) == stop }!
    config.stopStrings = [stop]
    let stopped = try model.generate(prompts: [prompt], config: config, tokenizer: tokenizer)[0]
    #expect(stopped == Array(free.prefix(end + 1)))
    #expect(throws: ModelError.self) { try model.generate(prompts: [prompt], config: config) }
  }

  @Test func onTokenSeesEveryTokenOfEveryRowInOrder() throws {
    let model = try tinyModel()
    let prompts = [try randomPrompt(length: 3, seed: 31), try randomPrompt(length: 5, seed: 32)]
    var seen: [[Int]] = [[], []]
    let output = try model.generate(prompts: prompts, config: noStops) { row, token in seen[row].append(token) }
    #expect(seen == output)
  }

  @Test func invalidRequestsAreErrors() throws {
    let model = try tinyModel()
    #expect(throws: ModelError.self) { try model.generate(prompts: [[]], config: noStops) }
    #expect(throws: ModelError.self) { try model.generate(prompts: [[1, 96]], config: noStops) }
    #expect(throws: ModelError.self) { try model.generate(prompts: [[1]], config: GenerationConfig(temperature: -1)) }
    #expect(throws: ModelError.self) { try model.generate(prompts: [[1]], config: GenerationConfig(topP: 0)) }
    #expect(try model.generate(prompts: [], config: noStops).isEmpty)
    #expect(try model.generate(prompts: [[1, 2]], config: GenerationConfig(maxNewTokens: 0)) == [[]])
  }

  @Test func inspectReportsTheFixtureFolder() throws {
    let report = try ModelInspector.inspect(try fixtureURL("llama3"))
    #expect(report.architecture == "LlamaForCausalLM")
    // embed 96·32 + lm_head 96·32 + norm 32 + 2 × (q 32·32, k 16·32, v 16·32, o 32·32, 3 × 48·32, 2 norms of 32)
    #expect(report.parameters == 96 * 32 * 2 + 32 + 2 * (1024 + 512 + 512 + 1024 + 3 * 1536 + 64))
    #expect(report.parameters == 21_664)
    #expect(report.tensorTypes == [.init(name: "F32", tensors: 21, parameters: 21_664)])
    #expect(report.layers == 2 && report.attentionHeads == 4 && report.keyValueHeads == 2 && report.hiddenSize == 32)
    #expect(report.vocabularySize == 96 && report.contextLength == 256 && !report.hasChatTemplate)
    #expect(report.rope.theta == 500_000 && report.rope.headDim == 8)
    #expect(report.rope.scaling == "llama3 (factor 8, low_freq_factor 1, high_freq_factor 4, original context 16)")
    #expect(report.specialTokens["bos"]?.id == 1 && report.specialTokens["eos"]?.id == 2)
    let text = report.text
    #expect(text.contains("architecture     LlamaForCausalLM (model_type llama)"))
    #expect(text.contains("parameters       21,664 (21.7K)"))
    #expect(text.contains("dtypes           F32 ×21 (21,664 params)"))
    let decoded = try JSONDecoder().decode(ModelReport.self, from: Data(try report.json().utf8))
    #expect(decoded == report)
    #expect(throws: ModelError.self) { try ModelInspector.inspect(URL(fileURLWithPath: "/nonexistent/model.gguf")) }
  }
}

/// The default SmolLM2-135M-Instruct Q4_1 GGUF: transformers' greedy tokens, chat template, stops, streaming text.
@Suite(.serialized) struct DefaultGGUFGenerationTests {
  static let loaded: LoadedModel? = defaultModelURL().flatMap { try? ModelLoader.load($0) }

  func model() throws -> LoadedModel {
    try #require(Self.loaded, "the default model \(DefaultModel.fileName) is missing or failed to load: run `make setup`")
  }

  func expectation() throws -> GGUFExpectation {
    try JSONDecoder().decode(GGUFExpectation.self, from: Data(contentsOf: try fixtureURL("smollm2_gguf.json")))
  }

  static let question = [ChatMessage(role: "user", content: "What is the capital of France?")]

  @Test func chatTemplateGivesTransformersPromptIDs() throws {
    let loaded = try model()
    #expect(try loaded.chatPromptIDs(Self.question) == (try expectation().input_ids.map(Int.init)))
  }

  @Test func greedyMatchesTransformersTokenForToken() throws {
    let loaded = try model()
    let expected = try expectation()
    let prompt = expected.input_ids.map(Int.init)
    // transformers' fixture ran 32 tokens without stopping at EOS.
    let generated = try loaded.model.generate(prompts: [prompt], config: GenerationConfig(maxNewTokens: 32, stopsAtEndOfSequence: false))
    #expect(generated[0] == expected.greedy_32)
    // With EOS stopping on, the row ends at the first <|im_end|> (id 2), which is kept.
    let stopped = try loaded.model.generate(prompts: [prompt], config: .greedy(maxNewTokens: 32), tokenizer: loaded.tokenizer)
    #expect(stopped[0] == Array(expected.greedy_32.prefix(8)))
    #expect(loaded.tokenizer.decode(stopped[0], skipSpecialTokens: true) == "The capital of France is Paris.")
  }

  @Test func stopStringEndsTheRow() throws {
    let loaded = try model()
    let prompt = try expectation().input_ids.map(Int.init)
    var config = GenerationConfig.greedy(maxNewTokens: 32)
    config.stopStrings = ["Paris"]
    let stopped = try loaded.model.generate(prompts: [prompt], config: config, tokenizer: loaded.tokenizer)
    #expect(stopped[0] == [504, 3575, 282, 4649, 314, 7042])
  }

  @Test func leftPaddedBatchMatchesEachPromptAlone() throws {
    let loaded = try model()
    let prompts = [
      try loaded.chatPromptIDs(Self.question),
      try loaded.chatPromptIDs([ChatMessage(role: "system", content: "Answer briefly."),
                                ChatMessage(role: "user", content: "Name three primary colors and say why the sky is blue.")]),
    ]
    #expect(prompts[0].count != prompts[1].count)
    let config = GenerationConfig(maxNewTokens: 10, stopsAtEndOfSequence: false)
    let batched = try loaded.model.generate(prompts: prompts, config: config)
    for (row, prompt) in prompts.enumerated() {
      #expect(batched[row] == (try loaded.model.generate(prompts: [prompt], config: config)[0]), "row \(row)")
    }
  }

  @Test func streamingDecoderPrintsWholeCharacters() throws {
    let tokenizer = try model().tokenizer
    for text in ["Héllo wörld — 世界 🙂🙂 done", "<|im_start|>assistant\nnaïve café<|im_end|>", "   leading spaces\n\n\ttabs"] {
      let ids = tokenizer.encode(text, addSpecialTokens: false)
      var stream = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: true)
      var pieces = ids.map { stream.append($0) }
      pieces.append(stream.finish())
      #expect(pieces.joined() == tokenizer.decode(ids, skipSpecialTokens: true), "\(text)")
      #expect(!pieces.contains { $0.contains("\u{FFFD}") }, "\(text)")
    }
  }

  @Test func inspectReportsTheGGUF() throws {
    let url = try #require(defaultModelURL(), "the default model is missing: run `make setup`")
    let report = try ModelInspector.inspect(url)
    #expect(report.format == "gguf" && report.architecture == "LlamaForCausalLM")
    #expect(report.tensorTypeSummary == "Q4_1 ×210, F32 ×61, Q8_0 ×1")
    #expect(report.parameters == 134_515_008)
    #expect(report.fileType == "MOSTLY_Q4_1")
    #expect(report.layers == 30 && report.attentionHeads == 9 && report.keyValueHeads == 3 && report.hiddenSize == 576)
    #expect(report.contextLength == 8192 && report.vocabularySize == 49152 && report.tiedEmbeddings)
    #expect(report.specialTokens["eos"] == .init(id: 2, text: "<|im_end|>"))
    #expect(report.specialTokens["bos"] == .init(id: 1, text: "<|im_start|>"))
    #expect(report.hasChatTemplate && report.chatTemplateFirstLine?.hasPrefix("{% for message in messages %}") == true)
    #expect(report.text.contains("tensor types"))
  }
}
