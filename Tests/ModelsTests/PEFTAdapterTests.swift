// PEFTAdapterTests.swift — the one strict PEFT loader: a TRL/PEFT adapter loads; every option it would apply
// differently from PEFT is refused with the file and the field named, leaving the model as it was; and every verb
// (generate, evaluate, export) refuses the same DoRA adapter the same way.
import Foundation
import Testing
@testable import Models
import NN
import Torch

@Suite(.serialized) struct PEFTAdapterTests {
  /// A copy of the TRL adapter (adapter_init's config, r=4 alpha=8, all seven projections) with `edit` applied to
  /// its adapter_config.json object and `tensors` to its weights.
  func adapter(in dir: URL, _ name: String, config edit: (inout [String: Any]) -> Void = { _ in },
               tensors: (inout [(String, Tensor)]) throws -> Void = { _ in }) throws -> URL {
    let folder = dir.appendingPathComponent(name)
    let trl = try ExportFixture.trlAdapter(in: dir.appendingPathComponent("source-\(name)"))
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var object = try #require(try JSONSerialization.jsonObject(
      with: Data(contentsOf: trl.appendingPathComponent("adapter_config.json"))) as? [String: Any])
    edit(&object)
    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
      .write(to: folder.appendingPathComponent("adapter_config.json"))
    let file = try SafeTensorsFile(url: trl.appendingPathComponent("adapter_model.safetensors"))
    var weights = try file.names.map { ($0, try file.tensor($0, copy: true)) }
    try tensors(&weights)
    try SafeTensors.write(weights, to: folder.appendingPathComponent("adapter_model.safetensors"))
    return folder
  }

  /// The loader's error for `folder` ("" when it loads); the model must be left without adapters on failure.
  func refusal(_ folder: URL) throws -> String {
    let model = try ExportFixture.loadBase()
    do {
      try PEFTAdapter.load(folder, into: model, trainable: false)
      return ""
    } catch {
      #expect(model.loraLayers.isEmpty, "a refused adapter was partly attached")
      return "\(error)"
    }
  }

  @Test func loadsTheTRLAdapterWithPEFTScaling() throws {
    let dir = try ExportFixture.temporaryFolder("peft-ok")
    defer { try? FileManager.default.removeItem(at: dir) }
    let model = try ExportFixture.loadBase()
    let configuration = try PEFTAdapter.load(try ExportFixture.trlAdapter(in: dir), into: model, trainable: false)
    #expect(configuration.rank == 4 && configuration.alpha == 8 && configuration.dropout == 0)
    #expect(model.loraLayers.count == 14 && model.loraLayers.allSatisfy { $0.scaling == 2 && !$0.a.requiresGrad })
    // PEFT's older ".default" key names load too.
    let renamed = try adapter(in: dir, "default-keys") { tensors in
      tensors = tensors.map { ($0.0.replacingOccurrences(of: ".weight", with: ".default.weight"), $0.1) }
    }
    #expect(try refusal(renamed) == "")
  }

  @Test func refusesWhatItWouldApplyDifferentlyNamingFileAndField() throws {
    let dir = try ExportFixture.temporaryFolder("peft-strict")
    defer { try? FileManager.default.removeItem(at: dir) }
    func configRefusal(_ name: String, _ edit: @escaping (inout [String: Any]) -> Void) throws -> String {
      let folder = try adapter(in: dir, name, config: edit)
      let message = try refusal(folder)
      let file = folder.appendingPathComponent("adapter_config.json").path
      #expect(message.hasPrefix("\(file): "), "\(message)")
      return String(message.dropFirst(file.count + 2))
    }
    #expect(try configRefusal("dora") { $0["use_dora"] = true }
              == "use_dora: true asks for DoRA, which orpo-swift cannot apply")
    #expect(try configRefusal("rank-pattern") { $0["rank_pattern"] = ["q_proj": 8] }
              == #"rank_pattern: {"q_proj":8} asks for per-layer ranks, which orpo-swift cannot apply"#)
    #expect(try configRefusal("alpha-pattern") { $0["alpha_pattern"] = ["v_proj": 2] }
              == #"alpha_pattern: {"v_proj":2} asks for per-layer alphas, which orpo-swift cannot apply"#)
    #expect(try configRefusal("modules-to-save") { $0["modules_to_save"] = ["lm_head"] }
              == #"modules_to_save: ["lm_head"] asks for fully trained extra modules, which orpo-swift cannot apply"#)
    #expect(try configRefusal("bias") { $0["bias"] = "lora_only" }
              == #"bias: "lora_only" asks for trained biases, which orpo-swift cannot apply"#)
    #expect(try configRefusal("ia3") { $0["peft_type"] = "IA3" } == #"peft_type: "IA3" is not supported (only "LORA")"#)
    #expect(try configRefusal("no-type") { $0["peft_type"] = nil } == #"peft_type: missing (expected "LORA")"#)
    #expect(try configRefusal("classifier") { $0["task_type"] = "SEQ_CLS" }
              == #"task_type: "SEQ_CLS" is not supported (only "CAUSAL_LM")"#)
    #expect(try configRefusal("no-r") { $0["r"] = nil } == "r: missing")
    #expect(try configRefusal("half-r") { $0["r"] = 2.5 } == "r: expected a whole number, found 2.5")
    #expect(try configRefusal("targets-nothing") { $0["target_modules"] = ["qkv"] }
              == "target_modules qkv match no linear layer of the model (layers are named like model.layers.0.self_attn.q_proj)")
    #expect(try configRefusal("targets-fewer") { $0["target_modules"] = ["q_proj"] }
              == "target_modules q_proj does not name model.layers.0.mlp.down_proj, but adapter_model.safetensors has weights for it")
    #expect(try configRefusal("bad-regex") { $0["target_modules"] = "(q" }
              == #"target_modules "(q" is not a valid regular expression"#)
  }

  @Test func refusesWeightsThatDoNotFit() throws {
    let dir = try ExportFixture.temporaryFolder("peft-weights")
    defer { try? FileManager.default.removeItem(at: dir) }
    let q = "base_model.model.model.layers.0.self_attn.q_proj"
    // r says 8, the tensors have rank 4.
    let rank = try adapter(in: dir, "rank") { $0["r"] = 8 }
    #expect(try refusal(rank) == "\(rank.path): \(q).lora_A.weight has shape [4, 32] and \(q).lora_B.weight [32, 4]; with r = 8 (adapter_config.json) the model's model.layers.0.self_attn.q_proj needs [8, 32] and [32, 8]")
    // DoRA's magnitude vector with use_dora left false.
    let magnitude = try adapter(in: dir, "magnitude") { tensors in
      tensors.append(("\(q).lora_magnitude_vector", try Tensor.ones([32])))
    }
    let weights = magnitude.appendingPathComponent("adapter_model.safetensors").path
    #expect(try refusal(magnitude) == "\(weights): tensor \"\(q).lora_magnitude_vector\" is not a LoRA weight (base_model.model.<module>.lora_A.weight or lora_B.weight); orpo-swift applies plain LoRA only")
    // lora_A without lora_B.
    let half = try adapter(in: dir, "half") { tensors in tensors.removeAll { $0.0 == "\(q).lora_B.weight" } }
    #expect(try refusal(half) == "\(half.appendingPathComponent("adapter_model.safetensors").path): model.layers.0.self_attn.q_proj has lora_A but no lora_B weight")
    // A layer target_modules names but the weights leave out.
    let missing = try adapter(in: dir, "missing-layer") { tensors in tensors.removeAll { $0.0.hasPrefix(q) } }
    #expect(try refusal(missing) == "\(missing.appendingPathComponent("adapter_model.safetensors").path): no LoRA weights for model.layers.0.self_attn.q_proj, which target_modules o_proj, down_proj, k_proj, gate_proj, v_proj, up_proj, q_proj names")
  }
}
