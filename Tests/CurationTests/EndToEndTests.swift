// EndToEndTests.swift — the whole loop as a user runs it, on the tiny chat model: `orpo curate import`, `generate`
// (twice: the second run has nothing to do), `add-annotator`, `serve` + two annotators through the API, `judge`,
// `stats`, `export`, and `orpo train --data` on the export for two steps.
import Foundation
import Testing
@testable import Curation

@Suite(.serialized, .enabled(if: orpoExecutable() != nil, "the orpo executable is not built beside the tests"))
struct EndToEndTests {
  @Test(.timeLimit(.minutes(3))) func importGenerateAnnotateExportTrain() async throws {
    let folder = try scratchFolder("e2e")
    defer { cleanUp(folder) }
    let model = try makeTinyChatModel(in: folder)
    let db = folder.appendingPathComponent("prefs.db").path
    let prompts = folder.appendingPathComponent("prompts.jsonl")
    try (0..<6).map { "{\"prompt\": \"Tell me one fact about the number \($0).\"}" }.joined(separator: "\n")
      .write(to: prompts, atomically: true, encoding: .utf8)

    let imported = try runOrpo(["curate", "import", "--db", db, "--data", prompts.path])
    #expect(imported.status == 0 && imported.output.contains("6 new prompts"), "\(imported.errors)")
    let generate = ["curate", "generate", "--db", db, "--model", model.path, "--candidates", "2", "--max-new-tokens", "16",
                    "--batch-size", "3", "--seed", "3"]
    let generated = try runOrpo(generate)
    #expect(generated.status == 0 && generated.output.contains("tiny-chat: 6 prompts"), "\(generated.errors)")
    let rerun = try runOrpo(generate)
    #expect(rerun.status == 0 && rerun.output.contains("6 of 6 prompts were already done"), "\(rerun.output) \(rerun.errors)")
    let store = try CurationStore.open(existing: URL(fileURLWithPath: db))
    let pairs = try store.counts().pairs
    #expect(try store.counts().candidates == 12 && pairs >= 5)

    let added = try runOrpo(["curate", "add-annotator", "--db", db, "alice"])
    let aliceToken = try #require(added.output.firstMatch(of: #/token ([0-9a-f]{64})/#)?.1).description
    #expect(added.status == 0)

    // alice (her own token) and bob (the server token) answer every pair; they agree on all but the last.
    let server = try ServerProcess(database: URL(fileURLWithPath: db), token: "end-to-end-server-token")
    defer { server.stop() }
    var preferred: [Int: String] = [:]  // pair -> the text alice preferred
    while true {
      let next = try await http("GET", server.url("/api/next"), token: aliceToken)
      if next.status == 204 { break }
      let body = try #require(next.json)
      let pair = try #require(body["pair_id"] as? Int)
      preferred[pair] = try #require(body["a"] as? String)
      #expect(try await http("POST", server.url("/api/annotations"), token: aliceToken, json: ["pair_id": pair, "choice": "a"]).status == 201)
      try #require(preferred.count <= pairs)
    }
    #expect(preferred.count == pairs)
    let last = preferred.keys.max()!
    while true {
      let next = try await http("GET", server.url("/api/next?annotator=bob"), token: server.token)
      if next.status == 204 { break }
      let body = try #require(next.json)
      let pair = try #require(body["pair_id"] as? Int)
      let agrees = (body["a"] as? String) == preferred[pair]
      let choice = (pair == last) != agrees ? "a" : "b"
      #expect(try await http("POST", server.url("/api/annotations"), token: server.token,
                             json: ["pair_id": pair, "annotator": "bob", "choice": choice]).status == 201)
    }
    server.stop()

    let stats = try runOrpo(["curate", "stats", "--db", db])
    #expect(stats.status == 0)
    let agreement = Double(pairs - 1) / Double(pairs)
    #expect(stats.output.contains("alice / bob"), "\(stats.output)")
    #expect(stats.output.contains(String(format: "%.3f", agreement)) && stats.output.contains("Cohen's kappa:"), "\(stats.output)")

    let judged = try runOrpo(["curate", "judge", "--db", db, "--model", model.path])
    #expect(judged.status == 0 && judged.output.contains("judge:tiny-chat judged \(pairs) pairs"), "\(judged.errors)")
    #expect(try runOrpo(["curate", "stats", "--db", db]).output.contains("Fleiss' kappa:"))

    // Export alice's and bob's answers (the judge's left out): every pair but the disputed one.
    let export = folder.appendingPathComponent("prefs.jsonl")
    let exported = try runOrpo(["curate", "export", "--db", db, "--out", export.path, "--min-annotations", "2",
                                "--annotator", "alice", "--annotator", "bob"])
    #expect(exported.status == 0 && exported.output.contains("\(pairs - 1) of \(pairs) pairs exported; dropped 1 annotators disagree"),
            "\(exported.output) \(exported.errors)")
    let check = try runOrpo(["data", "check", export.path])
    #expect(check.status == 0 && check.output.contains("\(pairs - 1) valid rows (\(pairs - 1) conversational"), "\(check.errors)")

    let run = folder.appendingPathComponent("run")
    let trained = try runOrpo(["train", "--model", model.path, "--data", export.path, "--max-steps", "2", "--output-dir", run.path,
                               "--per-device-train-batch-size", "2", "--max-length", "128"])
    #expect(trained.status == 0, "\(trained.output) \(trained.errors)")
    #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("adapter/adapter_config.json").path))
  }

  @Test func badInputFailsWithAMessage() throws {
    let folder = try scratchFolder("e2e-bad")
    defer { cleanUp(folder) }
    let db = folder.appendingPathComponent("x.db").path
    let missing = try runOrpo(["curate", "stats", "--db", db])
    #expect(missing.status != 0 && missing.errors.contains("no such curation database"))
    let bad = folder.appendingPathComponent("bad.jsonl")
    try "{\"prompt\": 3}\n".write(to: bad, atomically: true, encoding: .utf8)
    let imported = try runOrpo(["curate", "import", "--db", db, "--data", bad.path])
    #expect(imported.status != 0 && imported.errors.contains("bad.jsonl:1: field \"prompt\""))
    #expect(!FileManager.default.fileExists(atPath: db), "a failed import creates no database")
    let help = try runOrpo(["curate", "--help"])
    for verb in ["import", "generate", "serve", "add-annotator", "judge", "stats", "export"] {
      #expect(help.output.contains(verb), "orpo curate --help lists \(verb)")
    }
    let serveHelp = try runOrpo(["curate", "serve", "--help"])
    for option in ["--host", "--port", "--token", "--annotations-per-pair"] { #expect(serveHelp.output.contains(option)) }
  }
}
