// Export.swift — `orpo export`: a trained LoRA adapter as a checked, normalised PEFT folder, or (--merge) a merged
// Hugging Face model folder (weights, config, tokenizer) that transformers loads as it is.
import ArgumentParser
import Foundation
import ORPOKit

/// The dtype of exported weights.
enum ExportDType: String, ExpressibleByArgument, CaseIterable {
  case float32, bfloat16, float16
  var dtype: DType {
    switch self {
    case .float32: return .float32
    case .bfloat16: return .bfloat16
    case .float16: return .float16
    }
  }
}

struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Export a LoRA adapter as a PEFT folder, or merge it into the base model as a Hugging Face folder.",
    discussion: """
      Without --merge, the adapter in --adapter is checked against --model (every tensor must fit a layer) and \
      written again to --out as adapter_config.json (base_model_name_or_path = --model) and \
      adapter_model.safetensors, which peft.PeftModel.from_pretrained loads.
      With --merge, W + scaling·B·A is written for every adapted layer, with config.json, generation_config.json \
      and the tokenizer (copied from a Hugging Face folder, written as tokenizer.json from a GGUF file), for \
      AutoModelForCausalLM / AutoTokenizer.from_pretrained. Without --adapter, --merge converts the model as it is \
      (e.g. a GGUF file to a Hugging Face folder).
      The output appears whole or not at all; an existing --out is replaced only if it is empty or an earlier \
      export of the same kind.
      """)

  @Option(help: "Base model: a Hugging Face folder or a .gguf file (default: the default model).") var model: String?
  @Option(help: "PEFT adapter folder (adapter_config.json + adapter_model.safetensors).") var adapter: String?
  @Option(help: "Output folder.") var out: String
  @Flag(help: "Merge the adapter into the base weights and write a full model folder.") var merge = false
  @Option(help: "Weight dtype of the output.") var dtype: ExportDType = .float32
  @Option(name: .customLong("chat-template"), help: "A Jinja chat template file to ship with a merged model.")
  var chatTemplate: String?

  func validate() throws {
    if !merge && adapter == nil {
      throw ValidationError("--adapter is required unless --merge is given (a plain conversion)")
    }
    if !merge && chatTemplate != nil {
      throw ValidationError("--chat-template only applies with --merge")
    }
  }

  func run() throws {
    guard let modelURL = model.map({ URL(fileURLWithPath: $0) }) ?? DefaultModel.locate() else {
      throw ExportFailure("no --model given and the default model is missing: run `make setup`, or pass --model PATH")
    }
    let outURL = URL(fileURLWithPath: out)
    do {
      let (config, parameters, format) = try Checkpoint.load(modelURL)
      let llama = try LlamaForCausalLM(config: config, parameters: parameters)
      if !merge {
        // base_model_name_or_path: the model as the user named it (a path or a hub id), else the default's path.
        let lora = try ModelExport.adapter(from: URL(fileURLWithPath: adapter!), model: llama, baseModel: model ?? modelURL.path,
                                           dtype: dtype.dtype, to: outURL)
        say("orpo: adapter (r=\(lora.rank), alpha=\(formatNumber(lora.alpha)), \(llama.loraParameters.count / 2) layers) written to \(outURL.path)")
        return
      }
      let tokenizer = try ModelLoader.loadTokenizer(modelURL)
      var source = model ?? modelURL.lastPathComponent
      if let adapter {
        let lora = try ModelExport.loadAdapter(from: URL(fileURLWithPath: adapter), into: llama)
        source += " with the LoRA adapter \(adapter) (r=\(lora.rank), alpha=\(formatNumber(lora.alpha)))"
      }
      var template: String?
      if let chatTemplate {
        do { template = try String(contentsOfFile: chatTemplate, encoding: .utf8) } catch {
          throw ExportFailure("\(chatTemplate): cannot read the chat template (\(error.localizedDescription))")
        }
      }
      try ModelExport.mergedModel(model: llama, tokenizer: tokenizer, chatTemplate: template, dtype: dtype.dtype,
                                  to: outURL, sourceDescription: source,
                                  tokenizerFolder: format == .huggingFace ? modelURL : nil)
      say("orpo: merged model (\(dtype.rawValue)) written to \(outURL.path)")
    } catch let error as ModelError {
      throw ExportFailure(error.description)
    } catch let error as ExportFailure {
      throw error
    } catch {
      throw ExportFailure("\(error)")
    }
  }

  func formatNumber(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

  func say(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}

/// A failed export: printed as `Error: <message>` by ArgumentParser, exit status 1.
struct ExportFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
