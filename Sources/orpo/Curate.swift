// Curate.swift — `orpo curate`: build your own preference data. Import prompts, sample candidates, compare them in a
// browser (or through the JSON API), let a local model judge, measure agreement, export rows `orpo train` reads.
import ArgumentParser
import Curation
import Foundation
import ORPOKit

struct Curate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Curate preference data: import prompts, generate candidates, annotate in a browser, export.",
    discussion: """
      A typical loop, one SQLite database per project:
        orpo curate import --db prefs.db --data prompts.jsonl
        orpo curate generate --db prefs.db --candidates 2 --temperature 0.8
        orpo curate add-annotator --db prefs.db alice          (optional: per-annotator tokens)
        orpo curate serve --db prefs.db                        (open the printed address)
        orpo curate stats --db prefs.db
        orpo curate export --db prefs.db --out prefs.jsonl --min-annotations 2
        orpo train --data prefs.jsonl
      """,
    subcommands: [Import.self, GenerateCandidates.self, Serve.self, AddAnnotator.self, Judge.self, Stats.self,
                  ExportPairs.self])

  /// The database every subcommand works on.
  struct DatabaseOption: ParsableArguments {
    @Option(help: "The curation database (SQLite; created by `import`).") var db: String
    var url: URL { URL(fileURLWithPath: db) }
    func openExisting() throws -> CurationStore { try CurationStore.open(existing: url) }
  }

  struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Add prompts (and candidates made elsewhere) to a curation database, creating it if needed.",
      discussion: """
        FILE is JSON Lines or JSON: rows {"prompt": TEXT or MESSAGES, "candidates": [TEXT, ...], "model": NAME} \
        (candidates and model optional), or preference rows (prompt/chosen/rejected, any shape `orpo train` reads) \
        whose two answers become candidates; or a .txt file with one prompt per line. Prompts and candidates \
        already stored are skipped.
        """)
    @OptionGroup var database: DatabaseOption
    @Option(help: "The file to import.") var data: String

    func run() throws {
      let file = URL(fileURLWithPath: data)
      let rows = try PromptImport.rows(contentsOf: file)
      let store = try CurationStore(url: database.url)
      let report = try PromptImport.add(rows, to: store, source: file.lastPathComponent)
      print("imported \(file.lastPathComponent) into \(database.db): \(report)")
    }
  }

  struct GenerateCandidates: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "generate",
      abstract: "Sample candidate responses for every prompt that has fewer than --candidates from this model.",
      discussion: """
        Prompts go through the model's chat template; --batch-size prompts are generated together with the KV \
        cache. Each batch is seeded (--seed plus its first prompt id) and stored in one transaction, so an \
        interrupted run picks up where it stopped. The seed recipe: at least 2 candidates at temperature 0.7-0.9.
        """)
    @OptionGroup var database: DatabaseOption
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Model") var adapter: AdapterOptions
    @Option(help: "Candidates per prompt (at least 2).") var candidates = 2
    @Option(help: "Sampling temperature (above 0).") var temperature = 0.8
    @Option(help: "Nucleus sampling: keep the smallest set of tokens whose probability exceeds P (1 = off).") var topP = 0.95
    @Option(help: "Keep only the K most likely tokens (0 = off).") var topK = 0
    @Option(help: "New tokens per candidate, at most.") var maxNewTokens = 256
    @Option(help: "Prompts per generation batch.") var batchSize = 4
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "The model name stored with the candidates (default: the model's file or folder name).") var label: String?

    func run() throws {
      let store = try database.openExisting()
      let sampling = CandidateSampling(candidates: candidates, temperature: temperature, topP: topP, topK: topK,
                                       maxNewTokens: maxNewTokens, seed: seed, promptsPerBatch: batchSize)
      try sampling.validate()
      let loaded = try model.load(adapter: adapter)
      let adapterURL = adapter.adapter.map { URL(fileURLWithPath: $0) }
      let name = label ?? CandidateGenerator.label(modelURL: loaded.url, adapterURL: adapterURL)
      let generator = CandidateGenerator(loaded: loaded, label: name, adapter: adapterURL?.path, sampling: sampling)
      let summary = try ProgressLine.showing("generate") { try generator.run(store: store, progress: $0) }
      print("\(name): \(summary)")
    }
  }

  struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Serve the comparison page and its JSON API (Ctrl-C stops).",
      discussion: """
        Every request needs a token: the server's (--token, or a new one printed at start) or an annotator's own \
        (`orpo curate add-annotator`). Open the printed address; scripts send `Authorization: Bearer TOKEN`. The \
        API is described at the top of Sources/Curation/CurationServer.swift and in README.md.
        """)
    @OptionGroup var database: DatabaseOption
    @Option(help: "Address to bind. Anything but loopback exposes the page to the network (tokens travel unencrypted).")
    var host = "127.0.0.1"
    @Option(help: "Port (0 picks a free one).") var port = 8080
    @Option(help: "The server token (default: a new random one, printed).") var token: String?
    @Option(help: "How many different annotators see each pair (default: the database's setting, 2 at first).")
    var annotationsPerPair: Int?

    func validate() throws {
      guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
      if let token, token.count < 8 { throw ValidationError("--token must be at least 8 characters") }
      if let k = annotationsPerPair, k < 1 { throw ValidationError("--annotations-per-pair must be at least 1") }
    }

    func run() async throws {
      let store = try database.openExisting()
      if let k = annotationsPerPair { try store.setAnnotationsPerPair(k) }
      let serverToken = token ?? CurationStore.randomToken()
      let counts = try store.counts()
      let k = try store.annotationsPerPair()
      if !["127.0.0.1", "localhost", "::1"].contains(host) {
        FileHandle.standardError.write(Foundation.Data("orpo curate: warning: serving on \(host), not loopback: anyone who can reach it and holds a token can annotate; tokens travel unencrypted\n".utf8))
      }
      let server = CurationServer(store: store, host: host, port: port, token: serverToken)
      let host = self.host, db = database.db
      try await server.run(handleSignals: true) { bound in
        let shownHost = host.contains(":") ? "[\(host)]" : host
        print("orpo curate: serving \(db) (\(counts.pairs) pairs, \(k) annotators per pair) at http://\(shownHost):\(bound)/")
        print("open http://\(shownHost):\(bound)/?token=\(serverToken)")
        print("API: Authorization: Bearer \(serverToken)")
        fflush(stdout)
      }
    }
  }

  struct AddAnnotator: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "add-annotator", abstract: "Create an annotator with their own token (printed once).")
    @OptionGroup var database: DatabaseOption
    @Argument(help: "The annotator's name (letters, digits, ._:@+-).") var name: String
    @Flag(help: "Give an existing annotator a new token (the old one stops working).") var newToken = false

    func run() throws {
      let store = try database.openExisting()
      let token = try store.addAnnotator(name: name, replace: newToken)
      print("annotator \(name): token \(token)")
      print("page: http://127.0.0.1:PORT/?token=\(token)")
    }
  }

  struct Judge: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Let a local model answer every pair it has not seen, as one more annotator.",
      discussion: """
        The judge reads each pair in both orders and compares its scores for answering "1" and "2"; when its \
        preference follows the position rather than the content it answers tie. Its answers count in stats and \
        export like anyone's (export --annotator picks whose answers count).
        """)
    @OptionGroup var database: DatabaseOption
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Model") var adapter: AdapterOptions
    @Option(help: "The judge's annotator name (default: judge:MODEL-FILE-NAME).") var name: String?

    func run() throws {
      let store = try database.openExisting()
      let loaded = try model.load(adapter: adapter)
      let judge = PairJudge(loaded: loaded, name: name ?? PairJudge.defaultName(modelURL: loaded.url))
      let count = try ProgressLine.showing("judge") { try judge.run(store: store, progress: $0) }
      print("\(judge.name) judged \(count) pairs")
    }
  }

  struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Per-annotator counts, pairwise agreement, Cohen's kappa (two annotators) or Fleiss' kappa (more).")
    @OptionGroup var database: DatabaseOption
    @Flag(help: "Print JSON (as GET /api/stats).") var json = false

    func run() throws {
      let report = try database.openExisting().agreementReport()
      if json {
        printJSON(report.json)
      } else {
        print(report.text, terminator: "")
      }
    }
  }

  struct ExportPairs: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "export",
      abstract: "Write the agreed pairs as conversational preference rows (JSON Lines) that `orpo train --data` reads.",
      discussion: """
        A pair becomes a row when it has at least --min-annotations answers and at least --min-agreement of them \
        give the same winner; pairs whose annotators disagree, ties and both-bad are dropped and counted. The file \
        is written atomically.
        """)
    @OptionGroup var database: DatabaseOption
    @Option(help: "The JSON Lines file to write.") var out: String
    @Option(help: "Pairs with fewer answers are dropped.") var minAnnotations = 1
    @Option(help: "The share of a pair's answers that must agree on the winner (1 = unanimous; above 0.5).")
    var minAgreement = 1.0
    @Option(name: .customLong("annotator"), help: "Count only this annotator's answers (repeatable; default: all).")
    var annotators: [String] = []

    func run() throws {
      let store = try database.openExisting()
      let policy = ExportPolicy(minimumAnnotations: minAnnotations, minimumAgreement: minAgreement,
                                annotators: annotators.isEmpty ? nil : Set(annotators))
      let report = try store.export(to: URL(fileURLWithPath: out), policy: policy)
      print("wrote \(out): \(report)")
    }
  }
}

/// Progress of a long loop on stderr: a redrawn bar on a terminal, a line per tenth otherwise.
final class ProgressLine {
  let title: String
  let terminal = isatty(2) != 0
  var lastTenth = -1
  var start = Date()

  init(title: String) { self.title = title }

  func update(done: Int, total: Int) {
    let fraction = total > 0 ? Double(done) / Double(total) : 1
    let elapsed = Date().timeIntervalSince(start)
    let text = "\(title) \(done)/\(total) \(progressBar(fraction: fraction, width: 30)) \(formatDuration(elapsed))"
    if terminal {
      FileHandle.standardError.write(Foundation.Data(("\r" + text).utf8))
    } else if Int(fraction * 10) != lastTenth || done == total {
      lastTenth = Int(fraction * 10)
      FileHandle.standardError.write(Foundation.Data((text + "\n").utf8))
    }
  }

  func finish() { if terminal { FileHandle.standardError.write(Foundation.Data("\n".utf8)) } }

  /// Runs `body` with a progress callback drawn as `title`, and ends the line when it returns.
  static func showing<T>(_ title: String, _ body: (_ progress: @escaping (Int, Int) -> Void) throws -> T) rethrows -> T {
    let line = ProgressLine(title: title)
    defer { line.finish() }
    return try body { line.update(done: $0, total: $1) }
  }
}
