// Generate.swift — `orpo generate`: continue a raw prompt or answer a chat message with a model (optionally with a
// LoRA adapter), streaming text to the terminal as tokens come; speed goes to stderr.
import ArgumentParser
import Foundation
import ORPOKit

struct Generate: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Generate text with a model, printing it as it is produced.",
    discussion: """
      --prompt sends raw text (the tokenizer adds its usual special tokens, e.g. BOS); --chat sends a user message \
      through the model's chat template, ending with the assistant's generation prompt. --temperature 0 is greedy.
      """)

  @OptionGroup(title: "Model") var model: ModelOptions
  @OptionGroup(title: "Model") var adapter: AdapterOptions

  @Option(help: "Raw text to continue.")
  var prompt: String?

  @Option(help: "A user message, rendered with the model's chat template.")
  var chat: String?

  @Option(help: "A system message to put before --chat.")
  var system: String?

  @Option(help: "New tokens to generate, at most.")
  var maxNewTokens = 128

  @Option(help: "Sampling temperature; 0 picks the most likely token every time.")
  var temperature = 0.7

  @Option(help: "Nucleus sampling: keep the smallest set of tokens whose probability exceeds P (1 = off).")
  var topP = 1.0

  @Option(help: "Keep only the K most likely tokens (0 = off).")
  var topK = 0

  @Option(help: "Random seed for sampling.")
  var seed: UInt64 = 0

  @Flag(help: "Keep going past the model's end-of-sequence token (always make --max-new-tokens tokens; for benchmarks).")
  var ignoreEOS = false

  func validate() throws {
    guard (prompt == nil) != (chat == nil) else { throw ValidationError("give exactly one of --prompt TEXT or --chat TEXT") }
    if system != nil && chat == nil { throw ValidationError("--system goes with --chat") }
    guard maxNewTokens > 0 else { throw ValidationError("--max-new-tokens must be at least 1") }
    guard temperature >= 0 else { throw ValidationError("--temperature must be 0 (greedy) or more") }
    guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
    guard topK >= 0 else { throw ValidationError("--top-k must be 0 (off) or more") }
  }

  func run() throws {
    let loadStart = Date()
    let loaded = try model.load(adapter: adapter)
    let ids: [Int]
    if let chat {
      var messages: [ChatMessage] = []
      if let system { messages.append(ChatMessage(role: "system", content: system)) }
      messages.append(ChatMessage(role: "user", content: chat))
      ids = try model.namingTemplateFile { try loaded.chatPromptIDs(messages) }
    } else {
      ids = loaded.promptIDs(prompt ?? "")
    }
    guard !ids.isEmpty else { throw CLIError("the prompt encodes to no tokens") }
    standardError("loaded \(loaded.url.lastPathComponent) in \(seconds(Date().timeIntervalSince(loadStart))); prompt \(ids.count) tokens")

    let config = GenerationConfig(maxNewTokens: maxNewTokens, temperature: temperature, topK: topK, topP: topP,
                                  stopsAtEndOfSequence: !ignoreEOS, seed: seed)
    var stream = StreamingDecoder(tokenizer: loaded.tokenizer, skipSpecialTokens: true)
    var firstToken: Date?
    let start = Date()
    let output = try loaded.model.generate(prompts: [ids], config: config, tokenizer: loaded.tokenizer) { _, token in
      if firstToken == nil { firstToken = Date() }
      write(stream.append(token))
    }
    write(stream.finish() + "\n")
    let end = Date()
    let count = output[0].count
    let total = end.timeIntervalSince(start)
    var line = "\(count) tokens in \(seconds(total)): \(rate(count, total)) tokens/s"
    if let firstToken, count > 1 {
      let decode = end.timeIntervalSince(firstToken)
      line += " (prompt + first token \(seconds(firstToken.timeIntervalSince(start))), then \(rate(count - 1, decode)) tokens/s)"
    }
    standardError(line)
  }

  private func write(_ text: String) {
    guard !text.isEmpty else { return }
    FileHandle.standardOutput.write(Data(text.utf8))
  }

  private func standardError(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
  private func seconds(_ t: TimeInterval) -> String { String(format: "%.2f s", t) }
  private func rate(_ n: Int, _ t: TimeInterval) -> String { t > 0 ? String(format: "%.1f", Double(n) / t) : "∞" }
}
