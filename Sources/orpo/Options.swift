// Options.swift — the option groups the verbs share, each able to load what it describes: the model (path or the
// default, chat template, dtype, device), an adapter on top of it, and the preference data (file or built-in,
// skip-invalid, max length). Train and bench turn the same options into recipe overrides.
import ArgumentParser
import Foundation
import ORPOKit

/// The model a verb works on and how it is loaded.
struct ModelOptions: ParsableArguments {
  @Option(help: "A Hugging Face model folder, a .gguf file, or a Hub id org/name[@revision] (from the Hugging Face cache, downloaded when missing; default: SmolLM2-135M-Instruct from `make setup`).")
  var model: String?

  @Option(help: "A file holding a Jinja chat template, used instead of the model's own.")
  var chatTemplate: String?

  @Option(help: "The weights' dtype (default float32).")
  var dtype: DType?

  @Option(help: "Where to compute: cpu, cuda or cuda:N (default cpu).")
  var device: Device?

  /// --model, else the default model that `make setup` fetched.
  func url() throws -> URL {
    if let model {
      do { return try HubModelResolver().locate(model) } catch let error as HubError { throw CLIError("--model \(model): \(error)") }
    }
    guard let url = DefaultModel.locate() else {
      throw ModelError("the default model \(DefaultModel.fileName) was not found (run `make setup`, or pass --model PATH)")
    }
    return url
  }

  /// The model and its tokenizer, in --dtype on --device, with --chat-template in place of the model's own and the
  /// adapter (if any) attached for inference.
  func load(adapter: AdapterOptions? = nil) throws -> LoadedModel {
    try requireUsable(device)
    var loaded = try ModelLoader.load(try url(), dtype: dtype ?? .float32, device: device ?? .cpu)
    if let folder = adapter?.adapter.map({ URL(fileURLWithPath: $0) }) {
      try PEFTAdapter.load(folder, into: loaded.model, trainable: false)
      // An adapter trained after clone_chat_template / setup_chat_format carries its tokenizer (the added tokens).
      if let tokenizer = try PEFTAdapter.savedTokenizer(in: folder) { loaded.tokenizer = tokenizer }
    }
    if let template = try chatTemplateText() { loaded.tokenizer.setChatTemplate(template) }
    return loaded
  }

  /// The text of --chat-template, if given, checked to parse (an error names the file).
  func chatTemplateText() throws -> String? {
    guard let chatTemplate else { return nil }
    let text: String
    do { text = try String(contentsOfFile: chatTemplate, encoding: .utf8) } catch {
      throw CLIError("--chat-template \(chatTemplate): cannot read it (\(error.localizedDescription))")
    }
    do { _ = try ChatTemplate(text) } catch { throw CLIError("--chat-template \(chatTemplate): \(error)") }
    return text
  }

  /// `body`, with a chat-template error raised while rendering (`raise_exception`, a sandbox limit) naming
  /// --chat-template's file.
  func namingTemplateFile<T>(_ body: () throws -> T) throws -> T {
    guard let chatTemplate else { return try body() }
    do { return try body() } catch let error as ChatTemplateError {
      throw CLIError("--chat-template \(chatTemplate): \(error)")
    }
  }

  /// The options given, as recipe settings (train, bench train).
  var overrides: [ConfigurationOverride] {
    var o: [ConfigurationOverride] = []
    if let model { o.append(.flag("--model", \.model, model)) }
    if let chatTemplate { o.append(.flag("--chat-template", \.chatTemplate, chatTemplate)) }
    if let dtype { o.append(.flag("--dtype", \.torchDtype, dtype)) }
    if let device { o.append(.flag("--device", \.device, device)) }
    return o
  }
}

/// A trained LoRA adapter to put on the model (evaluate, generate, export).
struct AdapterOptions: ParsableArguments {
  @Option(help: "A PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors).")
  var adapter: String?
}

/// The preference data a verb reads and how each pair is cut.
struct DataOptions: ParsableArguments {
  @Option(help: """
    Preference data: a .jsonl, .json or .parquet file, a dataset folder (Hub layout), or synthetic for the \
    built-in set (the default).
    """)
  var data: String?

  @Option(help: "The split of a dataset folder (Hub file names: data/train_prefs-00000-of-00001.parquet is train_prefs).")
  var split: String?

  @Flag(help: "Skip bad data rows (reported) instead of stopping at the first.")
  var skipInvalid = false

  @Option(help: "Tokens per prompt + completion (default 1024; longer completions are cut).")
  var maxLength: Int?

  func validate() throws {
    if let maxLength, maxLength < 2 { throw ValidationError("--max-length must be at least 2, got \(maxLength)") }
  }

  var isSynthetic: Bool { data == nil || data == "synthetic" }

  /// The pairs to evaluate on: the file or folder split (test unless --split says), or the built-in held-out split
  /// (questions never seen in training).
  /// A report of skipped rows goes to `warn`.
  func read(warn: (String) -> Void) throws -> PreferenceDataset {
    guard let data, data != "synthetic" else {
      return SyntheticPreferences.makeSplits().test
    }
    let source = DatasetSource(path: data, split: split)
    let (dataset, report) = try source.readAll(skipInvalid: skipInvalid, defaultSplit: "test")
    if report.skippedCount > 0 { warn("\(dataset.sourceName): \(report)") }
    return dataset
  }

  /// The options given, as recipe settings (train).
  var overrides: [ConfigurationOverride] {
    var o: [ConfigurationOverride] = []
    if let data { o.append(.flag("--data", \.dataset, data)) }
    if let split { o.append(.flag("--split", \.datasetSplit, split)) }
    if skipInvalid { o.append(.flag("--skip-invalid", \.skipInvalid, true)) }
    if let maxLength { o.append(.flag("--max-length", \.maxLength, maxLength)) }
    return o
  }
}

extension DType: ExpressibleByArgument {
  /// The recipe names (float32, bf16, …) and the short f32 / f16.
  public init?(argument: String) {
    guard let dtype = DType(recipe: .scalar(argument, plain: true, line: nil))
      ?? ["f32": DType.float32, "f16": .float16][argument] else { return nil }
    self = dtype
  }
  public static var allValueStrings: [String] { ["float32", "bfloat16", "float16"] }
  public static var allValueDescriptions: [String: String] { [:] }
}

extension Device: ExpressibleByArgument {
  public init?(argument: String) { self.init(parsing: argument) }
}

/// Starts CUDA when `device` is a CUDA device (before any other libtorch call, see `CUDA.load`), and refuses one that
/// is not usable here, naming --device and why; nothing for the CPU. Verbs call it before they write anything.
func requireUsable(_ device: Device?) throws {
  if let device, let problem = CUDA.problem(with: device) { throw CLIError("--device \(device): \(problem)") }
}
