// ModelParityTests.swift — our Llama-family forward against transformers' logits (fixtures dumped by
// reference/make_model_fixtures.py and reference/make_gguf_model_fixtures.py).
import Foundation
import Testing
@testable import Models
import NN
import Torch

func fixtureURL(_ name: String) throws -> URL {
  try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
}

struct ExpectedLogits: Decodable {
  let input_ids: [[Int64]]
  let attention_mask: [[Int64]]
  let logits_unpadded_row0: [[Double]]
  let logits_padded: [[[Double]]]
}

func maxAbsDifference(_ a: Tensor, _ b: Tensor) throws -> Double {
  try (a.to(dtype: .float64) - b.to(dtype: .float64)).abs().max().item()
}

@Suite(.serialized) struct ModelParityTests {
  @Test(arguments: ["llama3", "mistral", "qwen2", "smollm2"])
  func logitsMatchTransformers(family: String) throws {
    let folder = try fixtureURL(family)
    let expected = try JSONDecoder().decode(ExpectedLogits.self,
                                            from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
    let (config, parameters, format) = try Checkpoint.load(folder)
    #expect(format == .huggingFace)
    let model = try LlamaForCausalLM(config: config, parameters: parameters)
    let ids = try Tensor(expected.input_ids.flatMap { $0 }, shape: [3, 9])
    let mask = try Tensor(expected.attention_mask.flatMap { $0 }, shape: [3, 9])
    try withNoGrad {
      let row0 = try model(ids.narrow(0, start: 0, length: 1))
      let want0 = try Tensor(expected.logits_unpadded_row0.flatMap { $0 }, shape: [1, 9, config.vocabSize])
      #expect(try maxAbsDifference(row0, want0) < 1e-4, "\(family): unpadded logits")
      let padded = try model(ids, attentionMask: mask)
      let want = try Tensor(expected.logits_padded.flatMap { $0.flatMap { $0 } }, shape: [3, 9, config.vocabSize])
      // Pad positions included: TRL's logits/* metrics average over them too. The one exception: a pad
      // position whose whole sliding window is padding (Mistral) has nothing to attend to; transformers' eager
      // path then averages uniformly, we let it attend to itself. Such positions carry no loss.
      if config.effectiveSlidingWindow == nil {
        #expect(try maxAbsDifference(padded, want) < 1e-4, "\(family): right-padded logits")
      } else {
        let real = try mask.ne(0).unsqueezed(-1)
        #expect(try maxAbsDifference(padded.maskedFill(real.logicalNot(), 0), want.maskedFill(real.logicalNot(), 0)) < 1e-4,
                "\(family): right-padded logits at real tokens")
      }
    }
  }

  @Test func configurationErrorsNameTheProblem() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-config-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("config.json")
    func message(_ json: String) -> String {
      try? json.write(to: url, atomically: true, encoding: .utf8)
      do { _ = try LlamaConfiguration.load(url); return "" } catch { return "\(error)" }
    }
    let base = #""vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "rms_norm_eps": 1e-5"#
    #expect(message("{\"architectures\": [\"GPT2LMHeadModel\"], \(base)}").contains("unsupported architecture \"GPT2LMHeadModel\""))
    #expect(message("{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 10}").contains("missing key \"hidden_size\""))
    #expect(message("{\"architectures\": [\"LlamaForCausalLM\"], \(base), \"num_key_value_heads\": 3}").contains("multiple of num_key_value_heads"))
    #expect(message("not json").contains("not a valid config.json"))
    #expect(message("{\"architectures\": [\"LlamaForCausalLM\"], \(base)}") == "")
  }

  @Test func missingTensorIsNamed() throws {
    let loaded = try Checkpoint.load(try fixtureURL("qwen2"))
    let config = loaded.config
    var parameters = loaded.parameters
    parameters["model.layers.1.self_attn.k_proj.bias"] = nil
    #expect(throws: ModelError("checkpoint has no tensor \"model.layers.1.self_attn.k_proj.bias\"")) {
      _ = try LlamaForCausalLM(config: config, parameters: parameters)
    }
  }

  @Test func ggufNameMapping() {
    #expect(Checkpoint.huggingFaceName(forGGUF: "blk.11.attn_q.weight") == "model.layers.11.self_attn.q_proj.weight")
    #expect(Checkpoint.huggingFaceName(forGGUF: "blk.0.ffn_down.weight") == "model.layers.0.mlp.down_proj.weight")
    #expect(Checkpoint.huggingFaceName(forGGUF: "blk.2.attn_k.bias") == "model.layers.2.self_attn.k_proj.bias")
    #expect(Checkpoint.huggingFaceName(forGGUF: "token_embd.weight") == "model.embed_tokens.weight")
    #expect(Checkpoint.huggingFaceName(forGGUF: "output_norm.weight") == "model.norm.weight")
    #expect(Checkpoint.huggingFaceName(forGGUF: "rope_freqs.weight") == nil)
  }
}

struct GGUFExpectation: Decodable {
  let input_ids: [Int64]
  let columns: [Int64]
  let logits_at_columns: [[Double]]
  let logsumexp: [Double]
  let argmax: [Int64]
  let greedy_32: [Int]
}

/// The default model, present after `make setup`.
func defaultModelURL() -> URL? { DefaultModel.locate() ?? locateFromSource() }

private func locateFromSource() -> URL? {
  var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  for _ in 0..<4 {
    dir = dir.deletingLastPathComponent()
    let f = dir.appendingPathComponent("models").appendingPathComponent(DefaultModel.fileName)
    if FileManager.default.fileExists(atPath: f.path) { return f }
  }
  return nil
}

@Suite(.serialized) struct DefaultGGUFParityTests {
  @Test func logitsMatchTransformersGGUFLoading() throws {
    let url = try #require(defaultModelURL(), "the default model is missing: run `make setup`")
    let expected = try JSONDecoder().decode(GGUFExpectation.self, from: Data(contentsOf: try fixtureURL("smollm2_gguf.json")))
    let (config, parameters, format) = try Checkpoint.load(url)
    #expect(format == .gguf)
    #expect(config.numHiddenLayers == 30 && config.hiddenSize == 576 && config.vocabSize == 49152)
    #expect(config.tiesEmbeddings)
    let model = try LlamaForCausalLM(config: config, parameters: parameters)
    let ids = try Tensor(expected.input_ids, shape: [1, expected.input_ids.count])
    let logits = try withNoGrad { try model(ids).squeezed(0) }  // [T, V]
    let columns = try logits.indexSelect(1, Tensor(expected.columns))
    let want = try Tensor(expected.logits_at_columns.flatMap { $0 }, shape: [expected.input_ids.count, expected.columns.count])
    #expect(try maxAbsDifference(columns, want) < 1e-3)
    #expect(try maxAbsDifference(logits.logSumExp(dim: 1), Tensor(expected.logsumexp)) < 1e-3)
    #expect(try logits.argmax(dim: 1).scalars(as: Int64.self) == expected.argmax)
  }
}
