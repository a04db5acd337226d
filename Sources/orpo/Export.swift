// Export.swift — `orpo export`: a trained LoRA adapter as a checked, normalised PEFT folder, or (--merge) a merged
// Hugging Face model folder (weights, config, tokenizer) that transformers loads as it is.
import ArgumentParser
import Foundation
import ORPOKit

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Export a LoRA adapter as a PEFT folder, or merge it into the base model as a Hugging Face folder or a GGUF file.",
    usage: "orpo export --out <out> (--adapter <adapter> | --merge [--format gguf [--quant <quant>]]) [<options>]",
    discussion: """
      Without --merge, the adapter in --adapter is checked against --model (every tensor must fit a layer) and \
      written again to --out as adapter_config.json (base_model_name_or_path = --model) and \
      adapter_model.safetensors, which peft.PeftModel.from_pretrained loads.
      With --merge, W + scaling·B·A is written for every adapted layer, with config.json, generation_config.json \
      and the tokenizer (copied from a Hugging Face folder, written as tokenizer.json from a GGUF file), for \
      AutoModelForCausalLM / AutoTokenizer.from_pretrained. Without --adapter, --merge converts the model as it is \
      (e.g. a GGUF file to a Hugging Face folder).
      --dtype is the dtype of the written weights (merging is done in float32). The output appears whole or not at \
      all; an existing --out is replaced only if it is empty or an earlier export of the same kind.
      With --merge --format gguf, --out is one GGUF file for llama.cpp, Ollama or LM Studio: llama.cpp's tensor \
      names and metadata (Llama, Mistral, SmolLM2, Qwen2, Qwen3, Phi-3, Gemma 3), the tokenizer metadata of the GGUF \
      model it was read from, or a Hugging Face folder's byte-level BPE tokenizer.json converted as llama.cpp's \
      convert_hf_to_gguf.py does (tokenizer.ggml.pre by llama.cpp's checksum of the tokenizer), the 2-D weights in \
      --quant: f32, f16, bf16, q8_0, q4_0, or q4_k_m (llama-quantize's Q4_K_M mixture of Q4_K, Q6_K and, for rows \
      not a multiple of 256, Q5_0/Q8_0), bit-identical to gguf-py's and ggml's reference quantizers; norms stay f32.
      """)

  @OptionGroup(title: "Model") var model: ModelOptions
  @OptionGroup(title: "Model") var adapter: AdapterOptions
  @Option(help: "Output folder (a .gguf file with --format gguf).") var out: String
  @Flag(help: "Merge the adapter into the base weights and write a full model folder.") var merge = false
  @Option(help: "What --merge writes: hf (a Hugging Face folder) or gguf (one file).") var format: ExportFormat = .hf
  @Option(help: "The GGUF weights' type, with --format gguf (default f16).")
  var quant: GGUFExport.Quantization?

  func validate() throws {
    if !merge && adapter.adapter == nil {
      throw ValidationError("--adapter is required unless --merge is given (a plain conversion)")
    }
    if !merge && model.chatTemplate != nil {
      throw ValidationError("--chat-template only applies with --merge")
    }
    if let device = model.device, device != .cpu { throw ValidationError("--device: export runs on the CPU") }
    if format == .gguf && !merge { throw ValidationError("--format gguf writes a merged model: add --merge") }
    if format == .gguf && model.dtype != nil { throw ValidationError("--dtype applies to --format hf; GGUF takes --quant") }
    if format != .gguf && quant != nil { throw ValidationError("--quant applies to --format gguf") }
  }

  func run() throws {
    let modelURL = try model.url()
    let outURL = URL(fileURLWithPath: out)
    let dtype = model.dtype ?? .float32
    let (config, parameters, checkpointFormat) = try Checkpoint.load(modelURL)
    let base = try makeCausalLanguageModel(config: config, parameters: parameters)  // by config.json's architecture
    if format == .gguf {
      if let adapterFolder = adapter.adapter { _ = try ModelExport.loadAdapter(from: URL(fileURLWithPath: adapterFolder), into: base) }
      let source = modelURL.pathExtension.lowercased() == "gguf" ? try GGUFFile(url: modelURL) : nil
      let note = try GGUFExport.write(
        model: base, config: config, sourceGGUF: source, tokenizerFolder: checkpointFormat == .huggingFace ? modelURL : nil,
        chatTemplate: try model.chatTemplateText(), quantization: quant ?? .f16,
        name: modelURL.deletingPathExtension().lastPathComponent, to: outURL)
      say("orpo: merged model (GGUF, \((quant ?? .f16).rawValue)) written to \(outURL.path); \(note)")
      return
    }
    if !merge, let adapterFolder = adapter.adapter {
      // base_model_name_or_path: the model as the user named it (a path or a hub id), else the default's path.
      let lora = try ModelExport.adapter(from: URL(fileURLWithPath: adapterFolder), model: base,
                                         baseModel: model.model ?? modelURL.path, dtype: dtype, to: outURL)
      say("orpo: adapter (r=\(lora.rank), alpha=\(formatNumber(lora.alpha)), \(base.loraParameters.count / 2) layers) written to \(outURL.path)")
      return
    }
    let tokenizer = try ModelLoader.loadTokenizer(modelURL)
    var source = model.model ?? modelURL.lastPathComponent
    if let adapterFolder = adapter.adapter {
      let lora = try ModelExport.loadAdapter(from: URL(fileURLWithPath: adapterFolder), into: base)
      source += " with the LoRA adapter \(adapterFolder) (r=\(lora.rank), alpha=\(formatNumber(lora.alpha)))"
    }
    try ModelExport.mergedModel(model: base, tokenizer: tokenizer, chatTemplate: try model.chatTemplateText(), dtype: dtype,
                                to: outURL, sourceDescription: source,
                                tokenizerFolder: checkpointFormat == .huggingFace ? modelURL : nil)
    say("orpo: merged model (\(dtype.recipeText)) written to \(outURL.path)")
  }

  enum ExportFormat: String, ExpressibleByArgument, CaseIterable { case hf, gguf }

  func formatNumber(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

  func say(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}

extension GGUFExport.Quantization: ExpressibleByArgument {}
