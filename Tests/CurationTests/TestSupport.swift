// TestSupport.swift — what the curation tests share: scratch folders, a tiny chat model (the 96-token random SmolLM2
// fixture with a one-character-per-token tokenizer and a chat template), an HTTP helper, and `orpo` processes.
import ChatTemplates
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import Curation

/// A new empty folder under the temporary directory, removed by `cleanUp`.
func scratchFolder(_ name: String) throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-curate-\(name)-\(UInt32.random(in: 0...UInt32.max))")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

func cleanUp(_ url: URL) { try? FileManager.default.removeItem(at: url) }

func fixtureURL(_ name: String) throws -> URL {
  guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)?.appendingPathComponent(name) else {
    throw CurationError(.notFound, "fixture \(name) not found")
  }
  return url
}

/// A store with `prompts` prompts of two candidates each (one pair per prompt), the texts from `text(prompt, candidate)`.
func makeStore(in folder: URL, prompts: Int, text: (Int, Int) -> String = { "answer \($1) to question \($0)" }) throws -> CurationStore {
  let store = try CurationStore(url: folder.appendingPathComponent("curate.db"))
  let rows = (0..<prompts).map { p in
    ImportRow(prompt: [ChatMessage(role: "user", content: "question \(p)")], candidates: [text(p, 0), text(p, 1)], model: "test")
  }
  _ = try PromptImport.add(rows, to: store, source: "test")
  return store
}

/// A Hugging Face folder holding the tiny random SmolLM2 fixture of ModelsTests (vocabulary 96, 2 layers) with a
/// byte-level BPE tokenizer of one token per character (" " is "Ġ", "!"…"~", "\n" is "Ċ"; no merges) and a small
/// chat template. Text outside printable ASCII cannot be encoded; `"` is the end-of-sequence token.
func makeTinyChatModel(in folder: URL) throws -> URL {
  let model = folder.appendingPathComponent("tiny-chat")
  try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
  let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("ModelsTests/Fixtures/smollm2")
  for file in ["config.json", "model.safetensors"] {
    try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: model.appendingPathComponent(file))
  }
  let tokens = ["Ġ"] + (33...126).map { String(UnicodeScalar(UInt8($0))) } + ["Ċ"]
  let vocab = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
  let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
  let tokenizer: [String: Any] = [
    "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": [], "normalizer": NSNull(),
    "pre_tokenizer": byteLevel, "post_processor": NSNull(), "decoder": byteLevel,
    "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
              "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
              "vocab": vocab, "merges": []] as [String: Any],
  ]
  try JSONSerialization.data(withJSONObject: tokenizer, options: [.sortedKeys]).write(to: model.appendingPathComponent("tokenizer.json"))
  // The end of sequence is the config's eos_token_id 2, which is the character "\"" here (no room for a special token).
  try JSONSerialization.data(withJSONObject: ["model_max_length": 256, "eos_token": "\""], options: [])
    .write(to: model.appendingPathComponent("tokenizer_config.json"))
  let template = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"
  try template.write(to: model.appendingPathComponent("chat_template.jinja"), atomically: true, encoding: .utf8)
  return model
}

// MARK: HTTP

struct HTTPReply {
  var status: Int
  var body: Foundation.Data
  var headers: [String: String] = [:]
  var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
  var text: String { String(decoding: body, as: UTF8.self) }
}

/// One request on a fresh ephemeral session (no shared connection state survives a server being killed).
let testSession: URLSession = {
  let configuration = URLSessionConfiguration.ephemeral
  configuration.timeoutIntervalForRequest = 10
  configuration.httpMaximumConnectionsPerHost = 8
  return URLSession(configuration: configuration)
}()

func http(_ method: String, _ url: URL, token: String?, json: [String: Any]? = nil, rawBody: String? = nil) async throws -> HTTPReply {
  var request = URLRequest(url: url)
  request.httpMethod = method
  if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
  if let json {
    request.httpBody = try JSONSerialization.data(withJSONObject: json)
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
  } else if let rawBody {
    request.httpBody = Foundation.Data(rawBody.utf8)
  }
  let (data, response) = try await testSession.data(for: request)
  let reply = response as? HTTPURLResponse
  var headers: [String: String] = [:]
  for (key, value) in reply?.allHeaderFields ?? [:] { headers[String(describing: key).lowercased()] = String(describing: value) }
  return HTTPReply(status: reply?.statusCode ?? 0, body: data, headers: headers)
}

/// A server run in this process on a free loopback port; `stop()` cancels it.
final class InProcessServer {
  let task: Task<Void, Error>
  let base: URL
  let token: String

  init(store: CurationStore, token: String = "server-token-for-tests", swap: @escaping @Sendable () -> Bool = { false }) async throws {
    var server = CurationServer(store: store, host: "127.0.0.1", port: 0, token: token)
    server.swapOrder = swap
    server.logLevel = .critical  // cancelling the task (stop) logs an error-level notice
    let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
    task = Task { try await server.run { continuation.yield($0) } }
    var port: Int?
    let deadline = Date().addingTimeInterval(20)
    for await bound in stream {
      port = bound
      break
    }
    guard let port, Date() < deadline else { throw CurationError(.storage, "the server did not start") }
    base = URL(string: "http://127.0.0.1:\(port)")!
    self.token = token
  }

  func url(_ path: String) -> URL { URL(string: path, relativeTo: base)!.absoluteURL }

  func stop() async {
    task.cancel()
    _ = try? await task.value
  }
}

// MARK: The orpo executable

func orpoExecutable() -> URL? {
  let products = Bundle.main.bundleURL.deletingLastPathComponent()
  let candidates = [products.appendingPathComponent("orpo"), Bundle.main.bundleURL.appendingPathComponent("orpo")]
  return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}

/// Runs `orpo` to completion; returns the exit status, stdout and stderr.
func runOrpo(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
  guard let executable = orpoExecutable() else { throw CurationError(.notFound, "the orpo executable is not built beside the tests") }
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  let output = Pipe(), errors = Pipe()
  process.standardOutput = output
  process.standardError = errors
  try process.run()
  // Read stderr on another thread so neither pipe fills up and blocks the child.
  let errorText = PrintedText()
  let group = DispatchGroup()
  group.enter()
  DispatchQueue.global().async {
    errorText.append(errors.fileHandleForReading.readDataToEndOfFile())
    group.leave()
  }
  let out = output.fileHandleForReading.readDataToEndOfFile()
  group.wait()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: out, as: UTF8.self), errorText.text)
}

/// Text a child prints, collected from a pipe's handler thread.
final class PrintedText: @unchecked Sendable {
  private let lock = NSLock()
  private var data = Foundation.Data()
  func append(_ chunk: Foundation.Data) { lock.lock(); data.append(chunk); lock.unlock() }
  var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}

/// `orpo curate serve` as a child process: started, its port read from what it prints, killed or stopped.
final class ServerProcess {
  let process = Process()
  let port: Int
  let token: String
  var base: URL { URL(string: "http://127.0.0.1:\(port)")! }

  init(database: URL, token: String, extra: [String] = []) throws {
    guard let executable = orpoExecutable() else { throw CurationError(.notFound, "the orpo executable is not built beside the tests") }
    self.token = token
    process.executableURL = executable
    process.arguments = ["curate", "serve", "--db", database.path, "--port", "0", "--token", token] + extra
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    // Collect what it prints; wait (at most 60 s: a cold start under load is slow) for the line with the address.
    let printed = PrintedText()
    output.fileHandleForReading.readabilityHandler = { printed.append($0.availableData) }
    var found: Int?
    let deadline = Date().addingTimeInterval(60)
    while found == nil, Date() < deadline, process.isRunning {
      let text = printed.text
      if let range = text.range(of: #"at http://127\.0\.0\.1:[0-9]+/"#, options: .regularExpression) {
        found = Int(text[range].split(separator: ":").last!.dropLast())
      } else {
        Thread.sleep(forTimeInterval: 0.05)
      }
    }
    guard let found else {
      if process.isRunning { process.terminate(); process.waitUntilExit() }
      throw CurationError(.storage, "orpo curate serve did not print its address; it printed: \(printed.text)")
    }
    port = found
  }

  func url(_ path: String) -> URL { URL(string: path, relativeTo: base)!.absoluteURL }

  func kill9() {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }

  func stop() {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
  }
}
