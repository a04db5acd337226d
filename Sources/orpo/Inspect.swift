// Inspect.swift — `orpo inspect PATH`: what a model folder or GGUF file holds (architecture, sizes, parameter count,
// tensor types, tokenizer, chat template), read from headers without loading the weights.
import ArgumentParser
import Foundation
import ORPOKit
import Support

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Describe a model: architecture, parameters, dtypes, vocabulary, special tokens, chat template, RoPE.")

  @Argument(help: "A Hugging Face model folder, a .gguf file, or a Hub id org/name[@revision] (from the Hugging Face cache, downloaded when missing).")
  var path: String

  @Flag(help: "Print one JSON object.")
  var json = false

  func run() throws {
    let url: URL
    do { url = try HubModelResolver().locate(path) } catch let error as HubError { throw ModelError(error.description) }
    guard FileManager.default.fileExists(atPath: url.path) else { throw ModelError("\(path): no such file or folder") }
    let report = try ModelInspector.inspect(url)
    if json {
      printJSON(try JSONValue.parse(Array(try report.json().utf8)))  // the report's Codable keys, written the one way
    } else {
      print(report.text)
    }
  }
}
