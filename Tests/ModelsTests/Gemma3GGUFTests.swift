// Gemma3GGUFTests.swift — the real Gemma 3 270M (Q4_K_M GGUF, which `ORPO_GEMMA3=1 scripts/setup.sh` fetches into
// models/; never committed) against transformers reading the same file (reference/make_gemma3_gguf_fixtures.py):
// the configuration, the last position's logits, and greedy generation of 32 tokens, from token ids and from text
// through the GGUF's own tokenizer (reference/make_gemma3_generation_fixtures.py). Skipped when the file is absent.
import Foundation
import Testing
@testable import Models
import NN
import Tokenization
import Torch

let gemma3FileName = "gemma-3-270m-q4_k_m.gguf"

/// models/gemma-3-270m-q4_k_m.gguf beside the default model ($ORPO_MODELS_DIR, ./models, the repository's models/).
func gemma3ModelURL() -> URL? {
  var candidates: [URL] = []
  if let env = ProcessInfo.processInfo.environment["ORPO_MODELS_DIR"] { candidates.append(URL(fileURLWithPath: env)) }
  if let dir = defaultModelURL()?.deletingLastPathComponent() { candidates.append(dir) }
  var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  for _ in 0..<3 {
    dir = dir.deletingLastPathComponent()
    candidates.append(dir.appendingPathComponent("models"))
  }
  return candidates.map { $0.appendingPathComponent(gemma3FileName) }
    .first { FileManager.default.fileExists(atPath: $0.path) }
}

@Suite(.serialized, .enabled(if: gemma3ModelURL() != nil, "\(gemma3FileName) is absent: ORPO_GEMMA3=1 scripts/setup.sh fetches it"))
struct Gemma3GGUFTests {
  struct Expected: Decodable {
    struct Row: Decodable {
      let prompt_ids: [Int]
      let generated_ids: [Int]
      let last_logits_at_columns: [Double]
      let last_logsumexp: Double
    }
    struct Config: Decodable {
      let num_hidden_layers, hidden_size, head_dim, vocab_size, sliding_window: Int
      let query_pre_attn_scalar: Double
      let layer_types: [String]
    }
    let config: Config
    let columns: [Int64]
    let rows: [Row]
  }

  @Test func greedyGenerationMatchesTransformers() throws {
    let url = try #require(gemma3ModelURL())
    let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: try fixtureURL("gemma3_270m_gguf.json")))
    let (config, parameters, format) = try Checkpoint.load(url)
    #expect(format == .gguf && config.isGemma3 && config.tiesEmbeddings)
    let want = expected.config
    #expect(config.numHiddenLayers == want.num_hidden_layers && config.hiddenSize == want.hidden_size)
    #expect(config.resolvedHeadDim == want.head_dim && config.vocabSize == want.vocab_size)
    #expect(config.slidingWindow == want.sliding_window && config.queryPreAttnScalar == want.query_pre_attn_scalar)
    #expect(config.gemma3LayerTypes == want.layer_types)
    let model = try makeCausalLanguageModel(config: config, parameters: parameters)
    #expect(model is Gemma3ForCausalLM)
    for row in expected.rows {
      let n = row.prompt_ids.count
      let logits = try withNoGrad { try model(Tensor(row.prompt_ids.map(Int64.init), shape: [1, n])).select(1, n - 1).squeezed(0) }
      let columns = try logits.indexSelect(0, Tensor(expected.columns))
      #expect(try maxAbsDifference(columns, Tensor(row.last_logits_at_columns)) < 1e-3, "\(row.prompt_ids): logits")
      #expect(abs(try logits.logSumExp(dim: 0).item() - row.last_logsumexp) < 1e-3, "\(row.prompt_ids): log-sum-exp")
      let generated = try model.generate(prompts: [row.prompt_ids],
                                         config: GenerationConfig(maxNewTokens: 32, stopsAtEndOfSequence: false))
      #expect(generated == [row.generated_ids], "\(row.prompt_ids): greedy 32 tokens")
    }
  }

  struct TextExpected: Decodable {
    struct Row: Decodable { let prompt: String; let prompt_ids: [Int]; let generated_ids: [Int]; let generated_text: String }
    let max_new_tokens: Int
    let rows: [Row]
  }

  /// `orpo generate --temperature 0 --ignore-eos --max-new-tokens 32 --prompt TEXT` as transformers does it: the
  /// prompt's ids (BOS added), 32 greedy tokens, and their text.
  @Test func greedyGenerationFromTextMatchesTransformers() throws {
    let url = try #require(gemma3ModelURL())
    let expected = try JSONDecoder().decode(TextExpected.self,
                                            from: Data(contentsOf: try fixtureURL("gemma3_270m_generation.json")))
    let loaded = try ModelLoader.load(url)
    for row in expected.rows {
      let ids = loaded.tokenizer.encode(row.prompt)
      #expect(ids == row.prompt_ids, "\(row.prompt.debugDescription): prompt ids")
      let generated = try loaded.model.generate(
        prompts: [ids], config: GenerationConfig(maxNewTokens: expected.max_new_tokens, stopsAtEndOfSequence: false))
      #expect(generated == [row.generated_ids], "\(row.prompt.debugDescription): greedy tokens")
      #expect(loaded.tokenizer.decode(generated[0], skipSpecialTokens: true) == row.generated_text)
    }
  }
}
