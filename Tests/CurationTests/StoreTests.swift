// StoreTests.swift — the curation database: import of every accepted shape with errors naming file, line and field;
// pairs; next-pair reservations up to K; the order shown mapped back to the pair's own a/b; retries, undo, skip;
// export verdicts, drop reasons, and rows `orpo train`'s reader accepts.
import ChatTemplates
import Data
import Foundation
import GRDB
import Testing
@testable import Curation

@Suite(.serialized) struct StoreTests {
  @Test func importReadsPromptsCandidatesAndPreferenceRows() throws {
    let folder = try scratchFolder("import")
    defer { cleanUp(folder) }
    let file = folder.appendingPathComponent("rows.jsonl")
    try """
      {"prompt": "What is 2+2?"}
      {"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}], "candidates": ["Red.", "Blue.", "Red."], "model": "elsewhere"}

      {"prompt": "What is 2+2?", "candidates": ["4", {"role": "assistant", "content": "Four."}]}
      """.write(to: file, atomically: true, encoding: .utf8)
    let store = try CurationStore(url: folder.appendingPathComponent("c.db"))
    let report = try PromptImport.add(try PromptImport.rows(contentsOf: file), to: store, source: "rows.jsonl")
    #expect(report == ImportReport(rows: 3, newPrompts: 2, knownPrompts: 1, candidates: 4, knownCandidates: 1, pairs: 2))
    let prompts = try store.prompts()
    #expect(prompts.count == 2)
    #expect(prompts[1].messages == [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Name a colour.")])
    #expect(prompts[1].displayText == "system: Be brief.\n\nuser: Name a colour.")
    #expect(try store.candidates(promptID: prompts[1].id).map(\.model) == ["elsewhere", "elsewhere"])
    #expect(try store.candidates(promptID: prompts[0].id).map(\.model) == ["import:rows.jsonl", "import:rows.jsonl"])
    // Importing the same file again adds nothing.
    let again = try PromptImport.add(try PromptImport.rows(contentsOf: file), to: store, source: "rows.jsonl")
    #expect(again.newPrompts == 0 && again.candidates == 0 && again.pairs == 0 && again.knownCandidates == 5)
    #expect(try store.counts().pairs == 2)

    // Preference rows (any shape `orpo train` reads): their two answers become candidates.
    let prefs = folder.appendingPathComponent("prefs.json")
    try """
      [{"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."},
       {"chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Go away."}]}]
      """.write(to: prefs, atomically: true, encoding: .utf8)
    let rows = try PromptImport.rows(contentsOf: prefs)
    #expect(rows.map(\.candidates) == [["Paris.", "Lyon."], ["Hello!", "Go away."]])
    #expect(rows[1].prompt == [ChatMessage(role: "user", content: "Hi")])

    let text = folder.appendingPathComponent("prompts.txt")
    try "first prompt\n\n  second prompt  \n".write(to: text, atomically: true, encoding: .utf8)
    #expect(try PromptImport.rows(contentsOf: text).map { $0.prompt[0].content } == ["first prompt", "second prompt"])
  }

  /// Parquet written by pyarrow (reference/make_curation_fixtures.py), and preference rows in Parquet (DataTests').
  @Test func importReadsParquet() throws {
    let rows = try PromptImport.rows(contentsOf: try fixtureURL("prompts.parquet"))
    #expect(rows == [
      ImportRow(prompt: [ChatMessage(role: "user", content: "What is 2+2?")], candidates: ["4", "Four."], model: "elsewhere"),
      ImportRow(prompt: [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Name a colour.")],
                candidates: ["Red.", "Blue.", "Green."], model: nil),
      ImportRow(prompt: [ChatMessage(role: "user", content: "Say hi.")], candidates: [], model: "elsewhere"),
    ])
    let preferences = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("DataTests/Fixtures/plain.parquet")
    let fromJSON = try PromptImport.rows(contentsOf: preferences.deletingPathExtension().appendingPathExtension("jsonl"))
    let fromParquet = try PromptImport.rows(contentsOf: preferences)
    #expect(!fromParquet.isEmpty && fromParquet == fromJSON && fromParquet.allSatisfy { $0.candidates.count == 2 })
  }

  @Test func importErrorsNameFileLineAndField() throws {
    let folder = try scratchFolder("import-errors")
    defer { cleanUp(folder) }
    func error(_ text: String, _ name: String = "bad.jsonl") throws -> String {
      let file = folder.appendingPathComponent(name)
      try text.write(to: file, atomically: true, encoding: .utf8)
      do {
        _ = try PromptImport.rows(contentsOf: file)
        return "no error"
      } catch { return "\(error)" }
    }
    #expect(try error("{\"prompt\": \"ok\"}\n{\"prompt\": \"x\", \"candidates\": \"one\"}\n")
            == "bad.jsonl:2: field \"candidates\": expected a list of texts, found string")
    #expect(try error("{\"prompt\": \"ok\"}\n{\"prompt\": \"ok\", \"candidates\": [\"a\", 3]}\n")
            == "bad.jsonl:2: field \"candidates[1]\": expected text or {\"role\": \"assistant\", \"content\": text}, found number")
    #expect(try error("{\"question\": \"x\"}\n") == "bad.jsonl:1: field \"prompt\": missing (expected text or a list of messages)")
    #expect(try error("{\"prompt\": \"x\"}\n{\"prompt\": \n").hasPrefix("bad.jsonl:2: not valid JSON (JSON Lines needs one object per line): "))
    #expect(try error("[{\"prompt\": \"a\"}, {\"prompt\": []}]", "bad.json")
            == "bad.json: element 1: field \"prompt\": expected text or a non-empty list of messages, found list")
    #expect(try error("{\"prompt\": \"q\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{\"prompt\": \"q\", \"chosen\": [1], \"rejected\": \"b\"}\n")
      .hasPrefix("bad.jsonl:2: field \"chosen"))
  }

  @Test func pairsAreEveryTwoDifferentCandidates() throws {
    let folder = try scratchFolder("pairs")
    defer { cleanUp(folder) }
    let store = try CurationStore(url: folder.appendingPathComponent("c.db"))
    let (id, _) = try store.addPrompt([ChatMessage(role: "user", content: "q")], source: "t")
    #expect(try store.addCandidates(promptID: id, texts: ["x", "y", "x"], model: "m", settings: "{}") == 1)
    #expect(try store.addCandidates(promptID: id, texts: ["z"], model: "n", settings: "{}") == 2)
    #expect(try store.pairs().map { [$0.a, $0.b] } == [["x", "y"], ["x", "z"], ["y", "z"]])
  }

  @Test func nextPairReservesUpToKAndMapsTheOrderShown() throws {
    let folder = try scratchFolder("next")
    defer { cleanUp(folder) }
    let store = try makeStore(in: folder, prompts: 3)
    try store.setAnnotationsPerPair(2)
    // ann and bob both get pair 1 (K = 2); cy gets pair 2 while both hold pair 1.
    let ann = try #require(try store.nextPair(for: "ann", swap: true))
    let bob = try #require(try store.nextPair(for: "bob", swap: false))
    let cy = try #require(try store.nextPair(for: "cy", swap: false))
    #expect(ann.pairID == 1 && bob.pairID == 1 && cy.pairID == 2)
    #expect(ann.first == "answer 1 to question 0" && ann.second == "answer 0 to question 0" && ann.prompt == "question 0")
    // ann saw b first: her "a" (the first shown) is the pair's b.
    guard case .stored(let stored) = try store.annotate(pairID: 1, annotator: "ann", shownChoice: .a) else {
      Issue.record("not stored"); return
    }
    #expect(stored.choice == .b && stored.displayOrder == "ba")
    // The same answer again is a retry; another answer is a conflict.
    #expect(try store.annotate(pairID: 1, annotator: "ann", shownChoice: .a) == .alreadyStored(stored))
    #expect(throws: CurationError.self) { try store.annotate(pairID: 1, annotator: "ann", shownChoice: .b) }
    _ = try store.annotate(pairID: 1, annotator: "bob", shownChoice: .a)
    // Pair 1 is full: dee gets pair 2 (cy holds one of its two places), then pair 3.
    #expect(try store.nextPair(for: "dee", swap: false)?.pairID == 2)
    #expect(try store.nextPair(for: "eve", swap: false)?.pairID == 3)
    // A reservation older than the lease no longer holds the place.
    let later = Date().addingTimeInterval(CurationStore.showingLease + 1)
    #expect(try store.nextPair(for: "fay", swap: false, now: later)?.pairID == 2)

    // Unknown pair: an error naming the field.
    #expect(throws: CurationError(.notFound, field: "pair_id", "no pair 99")) {
      try store.annotate(pairID: 99, annotator: "ann", shownChoice: .a)
    }
    // Undo gives ann's pair back to her; skip hides a pair from one annotator only.
    let undone = try #require(try store.undoLast(annotator: "ann", swap: false))
    #expect(undone.pairID == 1 && undone.first == "answer 0 to question 0")
    #expect(try store.annotations().filter { $0.annotator == "ann" }.isEmpty)
    #expect(try store.undoLast(annotator: "nobody") == nil)
    try store.skip(pairID: 2, annotator: "gus")
    #expect(try store.nextPair(for: "gus", swap: false)?.pairID == 3)
  }

  @Test func nextPairIsNilWhenEverythingIsAnswered() throws {
    let folder = try scratchFolder("done")
    defer { cleanUp(folder) }
    let store = try makeStore(in: folder, prompts: 2)
    for _ in 0..<2 {
      let showing = try #require(try store.nextPair(for: "ann"))
      _ = try store.annotate(pairID: showing.pairID, annotator: "ann", shownChoice: .tie)
    }
    #expect(try store.nextPair(for: "ann") == nil)
    let progress = try store.progress(annotator: "ann")
    #expect(progress.annotated == 2 && progress.total == 2)
  }

  @Test func annotatorTokensAndNames() throws {
    let folder = try scratchFolder("annotators")
    defer { cleanUp(folder) }
    let store = try makeStore(in: folder, prompts: 1)
    let token = try store.addAnnotator(name: "alice")
    #expect(token.count == 64 && token.allSatisfy(\.isHexDigit))
    #expect(try store.annotator(token: token) == "alice")
    #expect(throws: CurationError.self) { try store.addAnnotator(name: "alice") }
    let renewed = try store.addAnnotator(name: "alice", replace: true)
    #expect(try store.annotator(token: token) == nil && store.annotator(token: renewed) == "alice")
    #expect(throws: CurationError.self) { try store.addAnnotator(name: "a b") }
    #expect(throws: CurationError.self) { try store.addAnnotator(name: "<script>") }
  }

  @Test func verdictsFollowTheMajorityAndThePolicy() {
    let unanimous = ExportPolicy()
    #expect(verdict([.a, .a], policy: unanimous) == .success(.a))
    #expect(verdict([.b], policy: unanimous) == .success(.b))
    #expect(verdict([], policy: unanimous) == .failure(ExportDrop(reason: .notAnnotated)))
    #expect(verdict([.a, .b], policy: unanimous) == .failure(ExportDrop(reason: .disagreement)))
    #expect(verdict([.tie, .tie], policy: unanimous) == .failure(ExportDrop(reason: .tie)))
    #expect(verdict([.bothBad], policy: unanimous) == .failure(ExportDrop(reason: .bothBad)))
    #expect(verdict([.a, .bothBad], policy: unanimous) == .failure(ExportDrop(reason: .disagreement)))
    let twoThirds = ExportPolicy(minimumAnnotations: 3, minimumAgreement: 0.66)
    #expect(verdict([.a, .a, .b], policy: twoThirds) == .success(.a))
    #expect(verdict([.a, .a], policy: twoThirds) == .failure(ExportDrop(reason: .tooFewAnnotations)))
    #expect(verdict([.a, .b, .tie], policy: twoThirds) == .failure(ExportDrop(reason: .disagreement)))
    #expect(throws: CurationError.self) { try ExportPolicy(minimumAgreement: 0.5).validate() }
    #expect(throws: CurationError.self) { try ExportPolicy(minimumAnnotations: 0).validate() }
  }

  @Test func exportWritesRowsTheTrainerReadsAndReportsDrops() throws {
    let folder = try scratchFolder("export")
    defer { cleanUp(folder) }
    let store = try makeStore(in: folder, prompts: 6)
    // pair 1: a by both; 2: b by both (bob saw it swapped); 3: disagree; 4: tie; 5: both bad; 6: one answer only.
    let answers: [(Int64, String, Choice, String)] = [
      (1, "ann", .a, "ab"), (1, "bob", .a, "ab"), (2, "ann", .b, "ab"), (2, "bob", .a, "ba"),
      (3, "ann", .a, "ab"), (3, "bob", .b, "ab"), (4, "ann", .tie, "ab"), (4, "bob", .tie, "ab"),
      (5, "ann", .bothBad, "ab"), (5, "bob", .bothBad, "ab"), (6, "ann", .a, "ab"),
    ]
    for (pair, who, choice, order) in answers {
      _ = try store.annotate(pairID: pair, annotator: who, shownChoice: choice, displayOrder: order)
    }
    let out = folder.appendingPathComponent("prefs.jsonl")
    let report = try store.export(to: out, policy: ExportPolicy(minimumAnnotations: 2))
    #expect(report.rows == 2)
    #expect(report.dropped == [.disagreement: 1, .tie: 1, .bothBad: 1, .tooFewAnnotations: 1])
    #expect(report.description == "2 of 6 pairs exported; dropped 1 too few annotations, 1 annotators disagree, 1 tie, 1 both bad "
            + "(min annotations 2, min agreement 1.00)")
    let text = try String(contentsOf: out, encoding: .utf8)
    #expect(text == """
      {"prompt": [{"role": "user", "content": "question 0"}], "chosen": [{"role": "assistant", "content": "answer 0 to question 0"}], "rejected": [{"role": "assistant", "content": "answer 1 to question 0"}], "id": "pair-1"}
      {"prompt": [{"role": "user", "content": "question 1"}], "chosen": [{"role": "assistant", "content": "answer 1 to question 1"}], "rejected": [{"role": "assistant", "content": "answer 0 to question 1"}], "id": "pair-2"}

      """)
    let (dataset, _) = try PreferenceReader().read(contentsOf: out)
    #expect(dataset.count == 2 && dataset.allSatisfy(\.isConversational))
    // Only ann's answers: pairs 1, 2, 3 (her a), 6 become rows.
    #expect(try store.export(to: out, policy: ExportPolicy(annotators: ["ann"])).rows == 4)
    // A failed export leaves the old file as it was and no temporary file behind.
    let before = try String(contentsOf: out, encoding: .utf8)
    #expect(throws: CurationError.self) { try store.export(to: out, policy: ExportPolicy(minimumAgreement: 2)) }
    #expect(try String(contentsOf: out, encoding: .utf8) == before)
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".tmp-") }.isEmpty)
  }

  @Test func aReopenedDatabaseKeepsEverythingAndIsInWALMode() throws {
    let folder = try scratchFolder("reopen")
    defer { cleanUp(folder) }
    let url = folder.appendingPathComponent("curate.db")
    do {
      let store = try makeStore(in: folder, prompts: 2)
      _ = try store.annotate(pairID: 1, annotator: "ann", shownChoice: .a)
    }
    let store = try CurationStore.open(existing: url)
    #expect(try store.annotations().map(\.choice) == [.a])
    #expect(try store.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
    #expect(try store.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)  // FULL
    #expect(throws: CurationError.self) { try CurationStore.open(existing: folder.appendingPathComponent("missing.db")) }
  }
}
