// CLITests.swift — the `orpo` command as a user meets it: version, env, help texts, data synthesis, and bad input
// giving a message and a non-zero exit.
import Foundation
import Testing

@Suite(.serialized, .enabled(if: orpoExecutable() != nil, "the orpo executable is not built beside the tests"))
struct CLITests {
  @Test func versionAndEnvironment() throws {
    let version = try runOrpo(["--version"])
    #expect(version.status == 0 && version.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    let env = try runOrpo(["env", "--json"])
    #expect(env.status == 0)
    let info = try #require(try JSONSerialization.jsonObject(with: Data(env.output.utf8)) as? [String: String])
    #expect(info["libtorch"]?.hasPrefix("2.") == true)
    #expect(Int(info["threads"] ?? "") ?? 0 >= 1)
    #expect(info["cuda_available"] == "true" || info["cuda_available"] == "false")
  }

  @Test func helpTextsNameTheKeyOptions() throws {
    let help = try runOrpo(["--help"])
    for verb in ["train", "evaluate", "generate", "export", "inspect", "data", "bench", "env"] {
      #expect(help.output.contains(verb), "orpo --help lists \(verb)")
    }
    let train = try runOrpo(["train", "--help"])
    for option in ["--config", "--model", "--data", "--resume-from-checkpoint", "--set", "--skip-invalid"] {
      #expect(train.output.contains(option), "orpo train --help mentions \(option)")
    }
    let evaluate = try runOrpo(["evaluate", "--help"])
    #expect(evaluate.output.contains("--per-device-eval-batch-size") && evaluate.output.contains("--adapter"))
  }

  @Test func dataSynthWritesTheSplits() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-cli-synth-\(UInt32.random(in: 0...UInt32.max))")
    defer { try? FileManager.default.removeItem(at: dir) }
    let r = try runOrpo(["data", "synth", "--out", dir.path, "--train", "20", "--test", "5"])
    #expect(r.status == 0, "\(r.errors)")
    let train = try String(contentsOf: dir.appendingPathComponent("train.jsonl"), encoding: .utf8)
    let test = try String(contentsOf: dir.appendingPathComponent("test.jsonl"), encoding: .utf8)
    #expect(train.split(separator: "\n").count == 20 && test.split(separator: "\n").count == 5)
    let check = try runOrpo(["data", "check", dir.appendingPathComponent("train.jsonl").path])
    #expect(check.status == 0 && check.output.contains("20 valid rows"))
  }

  @Test func badInputFailsWithAMessage() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-cli-bad-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let key = try runOrpo(["train", "--set", "learning_rat=1"])
    #expect(key.status != 0 && key.errors.contains("unknown key \"learning_rat\" (did you mean \"learning_rate\"?)"))
    let recipe = dir.appendingPathComponent("recipe.yaml")
    try "max_steps: many\n".write(to: recipe, atomically: true, encoding: .utf8)
    let value = try runOrpo(["train", "--config", recipe.path])
    #expect(value.status != 0 && value.errors.contains("key \"max_steps\""))
    let data = dir.appendingPathComponent("bad.jsonl")
    try "{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{\"prompt\": \"q\", \"chosen\": [1], \"rejected\": \"b\"}\n"
      .write(to: data, atomically: true, encoding: .utf8)
    let row = try runOrpo(["data", "check", data.path])
    #expect(row.status != 0 && row.errors.contains("bad.jsonl:2") && row.errors.contains("chosen"))
    let skipped = try runOrpo(["data", "check", data.path, "--skip-invalid"])
    #expect(skipped.status == 0 && skipped.output.contains("1 valid rows"))
    let missing = try runOrpo(["evaluate", "--data", dir.appendingPathComponent("none.jsonl").path])
    #expect(missing.status != 0 && missing.errors.contains("none.jsonl"))
    let out = dir.appendingPathComponent("run")
    let model = try runOrpo(["train", "--model", dir.appendingPathComponent("nope.gguf").path, "--output-dir", out.path])
    #expect(model.status != 0 && model.errors.contains("nope.gguf: no such file or folder"))
    #expect(!FileManager.default.fileExists(atPath: out.path), "a failed run leaves no output folder")
  }
}
