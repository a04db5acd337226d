// ArchitectureTests.swift — the architectures beyond the Llama family (Qwen3.swift, Phi3.swift, Gemma3.swift) against
// transformers: logits of tiny random models (reference/make_architecture_fixtures.py, make_gemma3_fixtures.py),
// parameter names, LoRA targets as PEFT names them, and an export that reloads to the same logits.
import ChatTemplates
import Foundation
import Testing
@testable import Models
import NN
import Tokenization
import Torch

@Suite(.serialized) struct ArchitectureTests {
  struct Expected: Decodable {
    let input_ids: [[Int64]]
    let attention_mask: [[Int64]]
    let parameter_names: [String]
    let logits_unpadded_row0: [[Double]]
    let logits_padded: [[[Double]]]
  }

  func load(_ family: String) throws -> (any CausalLanguageModel, LlamaConfiguration, Expected, URL) {
    let folder = try fixtureURL(family)
    let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
    let (config, parameters, _) = try Checkpoint.load(folder)
    return (try makeCausalLanguageModel(config: config, parameters: parameters), config, expected, folder)
  }

  @Test(arguments: ["qwen3", "phi3", "gemma3"])
  func logitsMatchTransformers(family: String) throws {
    let (model, config, expected, _) = try load(family)
    let ids = try Tensor(expected.input_ids.flatMap { $0 }, shape: [3, 9])
    let mask = try Tensor(expected.attention_mask.flatMap { $0 }, shape: [3, 9])
    try withNoGrad {
      let row0 = try model(ids.narrow(0, start: 0, length: 1))
      let want0 = try Tensor(expected.logits_unpadded_row0.flatMap { $0 }, shape: [1, 9, config.vocabSize])
      #expect(try maxAbsDifference(row0, want0) < 1e-4, "\(family): unpadded logits")
      let padded = try model(ids, attentionMask: mask)
      let want = try Tensor(expected.logits_padded.flatMap { $0.flatMap { $0 } }, shape: [3, 9, config.vocabSize])
      if config.effectiveSlidingWindow == nil {
        #expect(try maxAbsDifference(padded, want) < 1e-4, "\(family): right-padded logits")
      } else {  // as ModelParityTests: a pad position whose whole window is padding differs, and carries no loss
        let real = try mask.ne(0).unsqueezed(-1)
        #expect(try maxAbsDifference(padded.maskedFill(real.logicalNot(), 0), want.maskedFill(real.logicalNot(), 0)) < 1e-4,
                "\(family): right-padded logits at real tokens")
      }
      // Token by token with the KV cache gives the same last logits as the whole sequence.
      let cache = model.makeCache()
      var last: Tensor?
      for i in 0..<9 { last = try model(ids.narrow(0, start: 0, length: 1).narrow(1, start: i, length: 1), cache: cache) }
      #expect(try maxAbsDifference(last!, row0.narrow(1, start: 8, length: 1)) < 1e-4, "\(family): cached decoding")
    }
  }

  /// Parameter names are transformers' `named_parameters()` (the checkpoint keys); LoRA wraps the projections PEFT's
  /// `all-linear` targets, named as PEFT names them.
  @Test(arguments: ["qwen3", "phi3", "gemma3"])
  func namesAreTransformersAndPEFTs(family: String) throws {
    let (model, config, expected, _) = try load(family)
    #expect(Set(model.namedParameters().map(\.key)) == Set(expected.parameter_names))
    if family == "phi3" { #expect(model is Phi3ForCausalLM && config.effectiveSlidingWindow == 5) }
    if family == "gemma3" {
      #expect(model is Gemma3ForCausalLM && config.tiesEmbeddings)
      #expect(expected.parameter_names.contains("model.layers.3.post_feedforward_layernorm.weight"))
    }
    if family == "qwen3" {
      #expect(model is Qwen3ForCausalLM)
      #expect(expected.parameter_names.contains("model.layers.1.self_attn.k_norm.weight"))
    }
    // PEFT's names: Phi-3's fused layers are single modules (`qkv_proj`, `gate_up_proj`).
    let projections = family == "phi3" ? ["self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj"]
      : ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
         "mlp.down_proj"]
    let expectedLinear = (0..<config.numHiddenLayers).flatMap { i in projections.map { "model.layers.\(i).\($0)" } } + ["lm_head"]
    #expect(model.linearLayers.map(\.path) == expectedLinear)
    try model.attachLoRA(LoRAConfiguration(rank: 2, alpha: 4, dropout: 0, targetModules: .allLinear))
    #expect(model.loraParameters.count == 2 * (expectedLinear.count - 1))
    #expect(model.loraParameters.first?.key == "base_model.model.model.layers.0.self_attn.\(family == "phi3" ? "qkv_proj" : "q_proj").lora_A.weight")
  }

  /// A merged export (config.json with the architecture, safetensors) loads back as the same class with the same
  /// logits; its config keeps what the architecture needs.
  @Test(arguments: ["qwen3", "phi3", "gemma3"])
  func exportRoundTrip(family: String) throws {
    let (model, config, expected, _) = try load(family)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-arch-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: dir) }
    let tokenizerFolder = ExportFixture.base
    let tokenizer = try Tokenizer(folder: tokenizerFolder)
    try model.resizeTokenEmbeddings(to: tokenizer.vocabularySize)  // the test tokenizer's 900 ids: a resize exported too
    #expect(model.config.vocabSize == tokenizer.vocabularySize)
    try ModelExport.mergedModel(model: model, tokenizer: tokenizer, chatTemplate: nil,
                                dtype: .float32, to: dir, sourceDescription: "a \(family) test", tokenizerFolder: tokenizerFolder)
    let (reloadedConfig, parameters, _) = try Checkpoint.load(dir)
    #expect(reloadedConfig.architecture == config.architecture && reloadedConfig.headDim == config.headDim)
    let reloaded = try makeCausalLanguageModel(config: reloadedConfig, parameters: parameters)
    #expect(type(of: reloaded) == type(of: model))
    let ids = try Tensor(expected.input_ids.flatMap { $0 }, shape: [3, 9])
    let (again, before) = try withNoGrad { (try reloaded(ids), try model(ids)) }
    #expect(try again.equals(before))
  }

  /// Gemma 3's pieces beyond the plain forward: final_logit_softcapping (transformers' logits with the cap set on the
  /// same weights), the layer kinds and RoPE bases read from transformers 5's config, and transformers 4's keys.
  @Test func gemma3SoftcappingLayerKindsAndRopeBases() throws {
    struct Capped: Decodable {
      let final_logit_softcapping: Double
      let logits_softcapped_row0: [[Double]]
    }
    let (model, config, expected, folder) = try load("gemma3")
    let capped = try JSONDecoder().decode(Capped.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
    let gemma = try #require(model as? Gemma3ForCausalLM)
    gemma.config.finalLogitSoftcapping = capped.final_logit_softcapping
    let ids = try Tensor(expected.input_ids.flatMap { $0 }, shape: [3, 9]).narrow(0, start: 0, length: 1)
    let want = try Tensor(capped.logits_softcapped_row0.flatMap { $0 }, shape: [1, 9, config.vocabSize])
    #expect(try withNoGrad { try maxAbsDifference(gemma(ids), want) } < 1e-4)
    #expect(gemma.slidingLayers == [true, false, true, false])
    #expect(config.gemma3GlobalRope.theta == 1_000_000 && config.gemma3GlobalRope.scaling?.kind == "linear")
    #expect(config.gemma3LocalRope.theta == 10_000 && config.gemma3LocalRope.scaling?.kind == "default")
    #expect(gemma.norm.weight.shape == [32] && config.queryPreAttnScalar == 24)

    // transformers 4's config.json (as google/gemma-3-270m ships it): top-level RoPE keys, the layer pattern.
    let old = #"{"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "rope_scaling": null, "sliding_window": 512, "sliding_window_pattern": 3, "hidden_activation": "gelu_pytorch_tanh", "query_pre_attn_scalar": 256}"#
    let v4 = try JSONDecoder().decode(LlamaConfiguration.self, from: Data(old.utf8))
    #expect(v4.tiesEmbeddings && v4.isGemma3)
    #expect(v4.gemma3LayerTypes == ["sliding_attention", "sliding_attention", "full_attention"] + ["sliding_attention", "sliding_attention", "full_attention"])
    #expect(v4.gemma3GlobalRope.theta == 1_000_000 && v4.gemma3GlobalRope.scaling == nil && v4.gemma3LocalRope.theta == 10_000)
    // llama.cpp's Gemma 3 names: its ffn_norm is the norm before the MLP (Llama's is post_attention_layernorm).
    #expect(Checkpoint.huggingFaceName(forGGUF: "blk.3.ffn_norm.weight", architecture: "gemma3")
              == "model.layers.3.pre_feedforward_layernorm.weight")
    #expect(Checkpoint.huggingFaceName(forGGUF: "blk.3.post_ffw_norm.weight", architecture: "gemma3")
              == "model.layers.3.post_feedforward_layernorm.weight")
    #expect(Checkpoint.huggingFaceName(forGGUF: "blk.0.attn_k_norm.weight", architecture: "gemma3")
              == "model.layers.0.self_attn.k_norm.weight")
    #expect(Checkpoint.huggingFaceName(forGGUF: "blk.3.ffn_norm.weight") == "model.layers.3.post_attention_layernorm.weight")
    var silu = v4
    silu.hiddenActivation = "silu"
    #expect(throws: ModelError.self) { try silu.validate() }
  }
}
