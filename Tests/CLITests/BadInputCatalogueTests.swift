// BadInputCatalogueTests.swift — the catalogue of hostile inputs (docs/bad-inputs.md lists the same rows): each
// case writes its bad files into a folder of its own, runs `orpo` on them (the tiny fixture model) and expects a
// non-zero exit with one "Error:" line naming the file, line or key and what was expected, no crash, and no output
// folder (or the previous one untouched).
import Foundation
import Testing

/// One bad input: its category and name (the table's row), and how to make it: `make` writes the files into the
/// case's folder and returns the arguments of `orpo` and the text the error line must contain.
struct BadInput: Sendable, CustomTestStringConvertible {
  let category: String
  let name: String
  let make: @Sendable (_ dir: URL) throws -> (arguments: [String], message: String)

  var testDescription: String { "\(category): \(name)" }
}

private let fixture = repositoryRoot.appendingPathComponent("Tests/TrainingTests/Fixtures/orpo")
private let goodRow = #"{"prompt": "What is 2 plus 3?", "chosen": "2 plus 3 is 5.", "rejected": "2 plus 3 is 6."}"#

/// Writes `bytes` to `name` in `dir`, returning its URL.
private func file(_ dir: URL, _ name: String, _ bytes: [UInt8]) throws -> URL {
  let url = dir.appendingPathComponent(name)
  try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
  try Data(bytes).write(to: url)
  return url
}

private func file(_ dir: URL, _ name: String, _ text: String) throws -> URL { try file(dir, name, Array(text.utf8)) }

/// `orpo train` on the fixture model with `data` into dir/out (which must not appear).
private func train(_ dir: URL, data: URL? = nil, model: URL = fixture, _ extra: [String] = []) -> [String] {
  ["train", "--model", model.path, "--data", (data ?? fixture.appendingPathComponent("data.jsonl")).path,
   "--output-dir", dir.appendingPathComponent("out").path, "--max-steps", "2", "--per-device-train-batch-size", "2",
   "--set", "max_length=64"] + extra
}

/// A copy of the fixture model folder in dir/model, with `change` applied.
private func model(_ dir: URL, _ change: (URL) throws -> Void) throws -> URL {
  let copy = dir.appendingPathComponent("model")
  try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
  for name in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
    try FileManager.default.copyItem(at: fixture.appendingPathComponent(name), to: copy.appendingPathComponent(name))
  }
  try change(copy)
  return copy
}

private func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }

/// A JSON object file edited as a dictionary.
private func editJSON(_ url: URL, _ change: (inout [String: Any]) -> Void) throws {
  var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
  change(&object)
  try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url)
}

/// The tiny GGUF model of the Tokenization fixtures (vocabulary only), and a llama-architecture GGUF header.
private let ggufFixture = repositoryRoot.appendingPathComponent("Tests/TokenizationTests/Fixtures/gguf_llama_bpe.gguf")

/// A copy of the fixture adapter in dir/adapter, with `change` applied to its config.
private func adapter(_ dir: URL, _ change: (inout [String: Any]) -> Void) throws -> URL {
  let copy = dir.appendingPathComponent("adapter")
  try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
  let source = fixture.appendingPathComponent("adapter_init")
  for name in ["adapter_config.json", "adapter_model.safetensors"] {
    try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: copy.appendingPathComponent(name))
  }
  try editJSON(copy.appendingPathComponent("adapter_config.json"), change)
  return copy
}

/// `orpo evaluate` of the fixture model with `adapter`.
private func evaluate(adapter: URL, model: URL = fixture) -> [String] {
  ["evaluate", "--model", model.path, "--adapter", adapter.path, "--data", fixture.appendingPathComponent("data.jsonl").path,
   "--max-length", "64"]
}

/// A finished 3-step run with checkpoint-2 in dir/out, made once and copied for each checkpoint case.
private let finishedRun: URL? = {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-catalogue-run-\(UInt32.random(in: 0...UInt32.max))")
  let out = dir.appendingPathComponent("out")
  let run = try? OrpoProcess.run(["train", "--model", fixture.path, "--data", fixture.appendingPathComponent("data.jsonl").path,
                                  "--output-dir", out.path, "--max-steps", "3", "--save-steps", "2",
                                  "--per-device-train-batch-size", "2", "--set", "max_length=64"])
  return run?.status == 0 ? out : nil
}()

/// A copy of the finished run in dir/out with `change` applied to its checkpoint-2; the arguments resume it.
private func checkpoint(_ dir: URL, _ change: (URL) throws -> Void) throws -> (arguments: [String], checkpoint: URL) {
  let out = dir.appendingPathComponent("out")
  try FileManager.default.copyItem(at: try #require(finishedRun), to: out)
  let folder = out.appendingPathComponent("checkpoint-2")
  try change(folder)
  return (["train", "--model", fixture.path, "--data", fixture.appendingPathComponent("data.jsonl").path,
           "--output-dir", out.path, "--max-steps", "4", "--save-steps", "2", "--per-device-train-batch-size", "2",
           "--set", "max_length=64", "--resume-from-checkpoint", "latest"], folder)
}

let badInputs: [BadInput] = [
  // MARK: Data
  BadInput(category: "data", name: "a row without a field (rejected)") { dir in
    let f = try file(dir, "d.jsonl", goodRow + "\n" + #"{"prompt": "q", "chosen": "a"}"# + "\n")
    return (train(dir, data: f), "d.jsonl:2: ")
  },
  BadInput(category: "data", name: "a field of the wrong type (chosen: a number)") { dir in
    let f = try file(dir, "d.jsonl", goodRow + "\n" + #"{"prompt": "q", "chosen": 7, "rejected": "b"}"# + "\n")
    return (train(dir, data: f), "d.jsonl:2: field \"chosen\"")
  },
  BadInput(category: "data", name: "prompt null") { dir in
    let f = try file(dir, "d.jsonl", #"{"prompt": null, "chosen": "a", "rejected": "b"}"# + "\n")
    return (train(dir, data: f), "d.jsonl:1: field \"prompt\"")
  },
  BadInput(category: "data", name: "a row that is not an object") { dir in
    let f = try file(dir, "d.jsonl", goodRow + "\n[1, 2]\n")
    return (train(dir, data: f), "d.jsonl:2: ")
  },
  BadInput(category: "data", name: "non-UTF-8 bytes in a row") { dir in
    let f = try file(dir, "d.jsonl", Array((goodRow + "\n").utf8) + Array(#"{"prompt": "q"#.utf8) + [0xff, 0xfe]
                       + Array(#"", "chosen": "a", "rejected": "b"}"#.utf8) + [0x0a])
    return (train(dir, data: f), "d.jsonl:2: ")
  },
  BadInput(category: "data", name: "a UTF-8 byte-order mark, then a bad row 2") { dir in
    let f = try file(dir, "d.jsonl", [0xef, 0xbb, 0xbf] + Array((goodRow + "\n{\"prompt\": 1}\n").utf8))
    return (train(dir, data: f), "d.jsonl:2: ")
  },
  BadInput(category: "data", name: "CRLF line ends, then a bad row 3") { dir in
    let f = try file(dir, "d.jsonl", goodRow + "\r\n" + goodRow + "\r\n{\"prompt\": \"q\", \"chosen\": [], \"rejected\": \"b\"}\r\n")
    return (train(dir, data: f), "d.jsonl:3: ")
  },
  BadInput(category: "data", name: "a NUL byte between rows") { dir in
    let f = try file(dir, "d.jsonl", Array((goodRow + "\n").utf8) + [0] + Array((goodRow + "\n").utf8))
    return (train(dir, data: f), "d.jsonl:2: ")
  },
  BadInput(category: "data", name: "an empty file") { dir in
    let f = try file(dir, "d.jsonl", "")
    return (train(dir, data: f), "d.jsonl")
  },
  BadInput(category: "data", name: "only blank lines") { dir in
    let f = try file(dir, "d.jsonl", "\n\n  \n")
    return (train(dir, data: f), "d.jsonl")
  },
  BadInput(category: "data", name: "a JSON array of rows in a .jsonl file, one row bad") { dir in
    let f = try file(dir, "d.jsonl", "[\n" + goodRow + ",\n{\"prompt\": \"q\"}\n]\n")
    return (train(dir, data: f), "d.jsonl")
  },
  BadInput(category: "data", name: "a key given twice in a row") { dir in
    let f = try file(dir, "d.jsonl", #"{"prompt": "q", "prompt": "r", "chosen": "a", "rejected": "b"}"# + "\n")
    return (train(dir, data: f), "d.jsonl:1: ")
  },
  BadInput(category: "data", name: "a row cut off (unterminated string)") { dir in
    let f = try file(dir, "d.jsonl", goodRow + "\n" + #"{"prompt": "q", "chosen": "a", "rejected": "b"# + "\n")
    return (train(dir, data: f), "d.jsonl:2: ")
  },
  BadInput(category: "data", name: "a 100 MB line") { dir in
    let url = dir.appendingPathComponent("d.jsonl")
    _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    let handle = try FileHandle(forWritingTo: url)
    try handle.write(contentsOf: Data(#"{"prompt": ""#.utf8))
    let chunk = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
    for _ in 0..<100 { try handle.write(contentsOf: chunk) }
    try handle.write(contentsOf: Data(#"", "chosen": "a", "rejected": "b"}"#.utf8 + [0x0a]))
    try handle.close()
    return (train(dir, data: url), "d.jsonl:1: ")
  },
  BadInput(category: "data", name: "a .json file holding neither rows nor an object of rows") { dir in
    let f = try file(dir, "d.json", "\"just a string\"")
    return (train(dir, data: f), "d.json")
  },
  BadInput(category: "data", name: "chat messages with a role that is not a string") { dir in
    let f = try file(dir, "d.jsonl", #"{"prompt": [{"role": 1, "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"# + "\n")
    return (train(dir, data: f), "d.jsonl:1: ")
  },
  BadInput(category: "data", name: "a file type orpo does not read (.csv)") { dir in
    let f = try file(dir, "d.csv", "prompt,chosen,rejected\nq,a,b\n")
    return (train(dir, data: f), "d.csv")
  },
  BadInput(category: "data", name: "a .parquet file that is not Parquet (no PAR1 magic)") { dir in
    let f = try file(dir, "d.parquet", "prompt,chosen,rejected\nq,a,b\n")
    return (train(dir, data: f), "d.parquet")
  },
  BadInput(category: "data", name: "a truncated Parquet file") { dir in
    let whole = try bytes(fixture.appendingPathComponent("data.parquet"))
    let f = try file(dir, "d.parquet", Array(whole.prefix(whole.count / 2)))
    return (train(dir, data: f), "d.parquet")
  },
  BadInput(category: "data", name: "every prompt alone fills max_length") { dir in
    (train(dir, ["--set", "max_length=4"]), "max_length")
  },
  BadInput(category: "data", name: "every row invalid, with --skip-invalid") { dir in
    let f = try file(dir, "d.jsonl", "{\"prompt\": \"q\"}\n{\"prompt\": \"r\", \"chosen\": 1, \"rejected\": \"b\"}\n")
    return (train(dir, data: f, ["--skip-invalid"]), "d.jsonl:1: ")
  },
  BadInput(category: "data", name: "a data file that does not exist") { dir in
    (train(dir, data: dir.appendingPathComponent("none.jsonl")), "\(dir.path)/none.jsonl: no such file or folder")
  },

  // MARK: Recipes
  BadInput(category: "recipe", name: "an unknown key (with a suggestion)") { dir in
    let r = try file(dir, "r.yaml", "max_steps: 2\nlearning_rat: 0.1\n")
    return (train(dir, ["--config", r.path]), "\(r.path):2: unknown key \"learning_rat\" (did you mean \"learning_rate\"?)")
  },
  BadInput(category: "recipe", name: "a value of the wrong type") { dir in
    let r = try file(dir, "r.yaml", "seed: 3\nmax_steps: many\n")
    return (train(dir, ["--config", r.path]), "\(r.path):2: key \"max_steps\": expected a whole number, found \"many\"")
  },
  BadInput(category: "recipe", name: "an out-of-range value in the file") { dir in
    let r = try file(dir, "r.yaml", "lora:\n  r: 0\n")
    return (train(dir, ["--config", r.path]), "\(r.path):2: key \"lora.r\": must be at least 1, got 0")
  },
  BadInput(category: "recipe", name: "an out-of-range flag (blamed on the flag)") { dir in
    (train(dir, ["--learning-rate=-1"]), "--learning-rate: must be a positive number, got -1")
  },
  BadInput(category: "recipe", name: "an out-of-range --set (blamed on the --set)") { dir in
    (train(dir, ["--set", "max_grad_norm=0"]), "--set max_grad_norm=0: must be a positive number, got 0")
  },
  BadInput(category: "recipe", name: "a flag overriding a good recipe value badly") { dir in
    let r = try file(dir, "r.yaml", "per_device_train_batch_size: 2\n")
    return (train(dir, ["--config", r.path, "--per-device-train-batch-size", "0"]), "--per-device-train-batch-size: must be at least 1, got 0")
  },
  BadInput(category: "recipe", name: "a key of another method") { dir in
    (train(dir, ["--set", "loss_type=hinge"]), "--set loss_type=hinge: does not apply to method orpo")
  },
  BadInput(category: "recipe", name: "keys that contradict each other (beta_end without beta_schedule)") { dir in
    (train(dir, ["--set", "beta_end=0.5"]), "--set beta_end=0.5: needs beta_schedule linear or cosine")
  },
  BadInput(category: "recipe", name: "a key given twice") { dir in
    let r = try file(dir, "r.yaml", "seed: 1\nseed: 2\n")
    return (train(dir, ["--config", r.path]), "\(r.path):2: key \"seed\": given twice (first on line 1)")
  },
  BadInput(category: "recipe", name: "YAML that does not parse") { dir in
    let r = try file(dir, "r.yaml", "lora: {r: 8\nseed: 1\n")
    return (train(dir, ["--config", r.path]), "\(r.path):")
  },
  BadInput(category: "recipe", name: "a list at the top level") { dir in
    let r = try file(dir, "r.yaml", "- seed: 1\n")
    return (train(dir, ["--config", r.path]), "\(r.path):1: expected a mapping of TrainingArguments keys at the top level")
  },
  BadInput(category: "recipe", name: "a YAML alias bomb (billion laughs)") { dir in
    var text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in 1...9 {
      let previous = "*" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8(level - 1)))
      let name = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(level)))
      text += "\(name): &\(name) [\(Array(repeating: previous, count: 10).joined(separator: ", "))]\n"
    }
    let r = try file(dir, "r.yaml", text)
    return (train(dir, ["--config", r.path]), "\(r.path)")
  },
  BadInput(category: "recipe", name: "a recipe file that does not exist") { dir in
    (train(dir, ["--config", dir.appendingPathComponent("none.yaml").path]), "\(dir.path)/none.yaml")
  },

  // MARK: Models
  BadInput(category: "model", name: "a truncated GGUF") { dir in
    let whole = try bytes(ggufFixture)
    let f = try file(dir, "m.gguf", Array(whole.prefix(whole.count / 3)))
    return (train(dir, model: f), "m.gguf")
  },
  BadInput(category: "model", name: "a GGUF with a bit-flipped tensor count") { dir in
    var whole = try bytes(ggufFixture)
    whole[15] ^= 0x40  // the high byte of the 64-bit tensor count
    let f = try file(dir, "m.gguf", whole)
    return (train(dir, model: f), "m.gguf")
  },
  BadInput(category: "model", name: "a .gguf file with the wrong magic") { dir in
    var whole = try bytes(ggufFixture)
    whole[0] = UInt8(ascii: "X")
    let f = try file(dir, "m.gguf", whole)
    return (train(dir, model: f), "m.gguf")
  },
  BadInput(category: "model", name: "a truncated model.safetensors") { dir in
    let m = try model(dir) { m in
      let whole = try bytes(m.appendingPathComponent("model.safetensors"))
      try Data(whole.prefix(whole.count - 1000)).write(to: m.appendingPathComponent("model.safetensors"))
    }
    return (train(dir, model: m), "model.safetensors")
  },
  BadInput(category: "model", name: "a safetensors header length past the end") { dir in
    let m = try model(dir) { m in
      var whole = try bytes(m.appendingPathComponent("model.safetensors"))
      whole[5] = 0x7f
      try Data(whole).write(to: m.appendingPathComponent("model.safetensors"))
    }
    return (train(dir, model: m), "model.safetensors")
  },
  BadInput(category: "model", name: "a bit-flipped safetensors header (not JSON)") { dir in
    let m = try model(dir) { m in
      var whole = try bytes(m.appendingPathComponent("model.safetensors"))
      whole[8] = UInt8(ascii: "[")
      whole[9] = 0x01
      try Data(whole).write(to: m.appendingPathComponent("model.safetensors"))
    }
    return (train(dir, model: m), "model.safetensors")
  },
  BadInput(category: "model", name: "a safetensors tensor with the wrong shape for config.json") { dir in
    let m = try model(dir) { m in try editJSON(m.appendingPathComponent("config.json")) { $0["intermediate_size"] = 48 } }
    return (train(dir, model: m), "tensor \"model.layers.0.mlp.gate_proj.weight\" has shape [64, 32], expected [48, 32]")
  },
  BadInput(category: "model", name: "a malformed tokenizer.json") { dir in
    let m = try model(dir) { m in try "{\"model\": {\"type\": \"BPE\", \"vocab\": 3}}".write(to: m.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8) }
    return (train(dir, model: m), "tokenizer.json")
  },
  BadInput(category: "model", name: "a tokenizer.json that is not JSON") { dir in
    let m = try model(dir) { m in try "{\"model\": ".write(to: m.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8) }
    return (train(dir, model: m), "tokenizer.json")
  },
  BadInput(category: "model", name: "a chat template that raises") { dir in
    let t = try file(dir, "t.jinja", "{{ raise_exception('this template takes no system messages') }}")
    let f = try file(dir, "d.jsonl", #"{"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"# + "\n")
    return (train(dir, data: f, ["--chat-template", t.path]), "chat template \(t.path): this template takes no system messages")
  },
  BadInput(category: "model", name: "a chat template that loops without end") { dir in
    let t = try file(dir, "t.jinja", "{% for i in range(100000000) %}{% for j in range(100000000) %}x{% endfor %}{% endfor %}")
    let f = try file(dir, "d.jsonl", #"{"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"# + "\n")
    return (train(dir, data: f, ["--chat-template", t.path]), "chat template \(t.path): Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000)")
  },
  BadInput(category: "model", name: "a chat template that does not parse") { dir in
    let t = try file(dir, "t.jinja", "{% for m in messages %}{{ m.content }")
    let f = try file(dir, "d.jsonl", #"{"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"# + "\n")
    return (train(dir, data: f, ["--chat-template", t.path]), "--chat-template: \(t.path): syntax error: unexpected '}' at line 1, column 37")
  },
  BadInput(category: "model", name: "an unsupported architecture") { dir in
    let m = try model(dir) { m in try editJSON(m.appendingPathComponent("config.json")) { $0["architectures"] = ["GPT2LMHeadModel"]; $0["model_type"] = "gpt2" } }
    return (train(dir, model: m), "GPT2LMHeadModel")
  },
  BadInput(category: "model", name: "config.json without hidden_size") { dir in
    let m = try model(dir) { m in try editJSON(m.appendingPathComponent("config.json")) { $0["hidden_size"] = nil } }
    return (train(dir, model: m), "hidden_size")
  },
  BadInput(category: "model", name: "a model folder without weights") { dir in
    let m = try model(dir) { m in try FileManager.default.removeItem(at: m.appendingPathComponent("model.safetensors")) }
    return (train(dir, model: m), "\(dir.path)/model")
  },

  // MARK: Adapters
  BadInput(category: "adapter", name: "an adapter whose rank differs from its weights") { dir in
    (evaluate(adapter: try adapter(dir) { $0["r"] = 8 }), "lora_A.weight has shape [4, 32]")
  },
  BadInput(category: "adapter", name: "an adapter for other target modules") { dir in
    (evaluate(adapter: try adapter(dir) { $0["target_modules"] = ["c_attn"] }), "c_attn")
  },
  BadInput(category: "adapter", name: "an adapter of another base model (hidden size 16, not 32)") { dir in
    let a = try adapter(dir) { _ in }
    try halveInputs(a.appendingPathComponent("adapter_model.safetensors"))
    return (evaluate(adapter: a), "lora_A.weight has shape [4, 16]")
  },
  BadInput(category: "adapter", name: "an adapter folder without weights") { dir in
    let a = try adapter(dir) { _ in }
    try FileManager.default.removeItem(at: a.appendingPathComponent("adapter_model.safetensors"))
    return (evaluate(adapter: a), "adapter_model.safetensors")
  },
  BadInput(category: "adapter", name: "an adapter_config.json that is not JSON") { dir in
    let a = try adapter(dir) { _ in }
    try "{r: 4".write(to: a.appendingPathComponent("adapter_config.json"), atomically: true, encoding: .utf8)
    return (evaluate(adapter: a), "adapter_config.json")
  },

  // MARK: Checkpoints
  BadInput(category: "checkpoint", name: "a corrupt optimizer state") { dir in
    let (arguments, folder) = try checkpoint(dir) { c in
      let whole = try bytes(c.appendingPathComponent("optimizer.safetensors"))
      try Data(whole.prefix(whole.count / 2)).write(to: c.appendingPathComponent("optimizer.safetensors"))
    }
    return (arguments, "\(folder.path)")
  },
  BadInput(category: "checkpoint", name: "a checkpoint missing trainable.safetensors") { dir in
    let (arguments, folder) = try checkpoint(dir) { c in try FileManager.default.removeItem(at: c.appendingPathComponent("trainable.safetensors")) }
    return (arguments, "resuming from \(folder.path): not a checkpoint (no trainable.safetensors)")
  },
  BadInput(category: "checkpoint", name: "a checkpoint with a corrupt trainer_state.json") { dir in
    let (arguments, folder) = try checkpoint(dir) { c in try "{\"global_step\": ".write(to: c.appendingPathComponent("trainer_state.json"), atomically: true, encoding: .utf8) }
    return (arguments, "\(folder.path)")
  },
  BadInput(category: "checkpoint", name: "another run's checkpoint (other fingerprint)") { dir in
    let (arguments, _) = try checkpoint(dir) { _ in }
    return (arguments + ["--learning-rate", "0.5"], "no checkpoint in \(dir.path)/out belongs to this run")
  },
  BadInput(category: "checkpoint", name: "a checkpoint that records no run (fingerprint.json missing)") { dir in
    let (arguments, _) = try checkpoint(dir) { c in try FileManager.default.removeItem(at: c.appendingPathComponent("fingerprint.json")) }
    return (arguments, "checkpoint-2 records no run (no fingerprint.json)")
  },
]

/// Rewrites a safetensors file so that every tensor whose last dimension is 32 has 16 there (zeros): the weights of
/// a model half as wide.
private func halveInputs(_ url: URL) throws {
  let whole = try bytes(url)
  let length = Int(whole.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
  var header = try JSONSerialization.jsonObject(with: Data(whole[8..<(8 + length)])) as! [String: Any]
  var offset = 0
  for name in header.keys.sorted() where name != "__metadata__" {
    var entry = header[name] as! [String: Any]
    var shape = entry["shape"] as! [Int]
    if shape.last == 32 { shape[shape.count - 1] = 16 }
    let size = shape.reduce(4, *)
    entry["shape"] = shape
    entry["data_offsets"] = [offset, offset + size]
    offset += size
    header[name] = entry
  }
  var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
  while json.count % 8 != 0 { json.append(0x20) }
  var out = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json
  out += [UInt8](repeating: 0, count: offset)
  try Data(out).write(to: url)
}

@Suite(.serialized, .enabled(if: OrpoProcess.executable != nil, "the orpo executable is not built beside the tests"))
struct BadInputCatalogueTests {
  @Test(arguments: badInputs)
  func badInputIsRefusedCleanly(_ input: BadInput) throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-bad-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let (arguments, message) = try input.make(dir)
    let out = dir.appendingPathComponent("out")
    let existed = FileManager.default.fileExists(atPath: out.path)
    let before = try snapshot(out)
    let started = Date()
    let run = try OrpoProcess.run(arguments)
    let seconds = Date().timeIntervalSince(started)
    #expect(run.status == 1 || run.status == 64, "exit status \(run.status): \(run.errors)")
    let errors = run.errors.split(separator: "\n").filter { $0.hasPrefix("Error: ") }
    #expect(errors.count == 1, "one error line: \(run.errors)")
    #expect(errors.first?.contains(message) == true, "expected \"\(message)\" in: \(run.errors)")
    #expect(FileManager.default.fileExists(atPath: out.path) == existed, "no output folder left behind")
    #expect(try snapshot(out) == before, "the output folder is as it was (none, or the previous run)")
    #expect(seconds < 60, "\(seconds) s")
    print("catalogue | \(input.category) | \(input.name) | \(errors.first ?? "")")
  }

  /// docs/bad-inputs.md lists exactly the catalogue's cases, in order.
  @Test func theDocumentListsTheCatalogue() throws {
    let text = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/bad-inputs.md"), encoding: .utf8)
    let rows = text.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| # ") && !$0.hasPrefix("| ---") }
    let listed = rows.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }.map { "\($0[1]): \($0[2])" }
    #expect(listed == badInputs.map(\.testDescription))
    #expect(badInputs.count >= 40)
  }
}

/// Every file under `folder` with its bytes (empty when there is no folder).
private func snapshot(_ folder: URL) throws -> [String: Data] {
  var files: [String: Data] = [:]
  for case let path as String in FileManager.default.enumerator(atPath: folder.path)?.allObjects ?? [] {
    var isFolder: ObjCBool = false
    let url = folder.appendingPathComponent(path)
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue {
      files[path] = try Data(contentsOf: url)
    }
  }
  return files
}
