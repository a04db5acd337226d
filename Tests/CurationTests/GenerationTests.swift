// GenerationTests.swift — candidates from the tiny chat model: N per prompt, batched, seeded, and resumable (a run
// interrupted between batches and resumed gives what an uninterrupted run gives); the judge in both orders.
import ChatTemplates
import Foundation
import Models
import Testing
@testable import Curation

@Suite(.serialized) struct CandidateGenerationTests {
  static let sampling = CandidateSampling(candidates: 2, temperature: 0.9, topP: 0.95, maxNewTokens: 12, seed: 7, promptsPerBatch: 2)

  func prompts(_ range: Range<Int>) -> [ImportRow] {
    range.map { ImportRow(prompt: [ChatMessage(role: "user", content: "Say something about number \($0).")], candidates: [], model: nil) }
  }

  @Test func candidatesAreSeededBatchedAndResumable() throws {
    let folder = try scratchFolder("generate")
    defer { cleanUp(folder) }
    let loaded = try ModelLoader.load(try makeTinyChatModel(in: folder))
    let generator = CandidateGenerator(loaded: loaded, label: "tiny", sampling: Self.sampling)

    // Uninterrupted: 5 prompts in batches of 2.
    let whole = try CurationStore(url: folder.appendingPathComponent("whole.db"))
    _ = try PromptImport.add(prompts(0..<5), to: whole, source: "t")
    var seen: [(Int, Int)] = []
    let summary = try generator.run(store: whole) { seen.append(($0, $1)) }
    #expect(summary.generatedPrompts == 5 && summary.candidates == 10 && summary.alreadyDone == 0 && summary.tokens > 0)
    #expect(seen.map(\.0) == [0, 2, 4, 5] && seen.allSatisfy { $0.1 == 5 })
    let candidates = try whole.prompts().map { try whole.candidates(promptID: $0.id) }
    #expect(candidates.allSatisfy { $0.count == 2 && $0.allSatisfy { $0.model == "tiny" } })
    #expect(candidates.allSatisfy { $0[0].text != $0[1].text }, "two samples of one prompt differ")
    let settings = try #require(try JSONSerialization.jsonObject(with: Foundation.Data(candidates[2][0].settings.utf8)) as? [String: Any])
    #expect(settings["seed"] as? Int == 10 && settings["temperature"] as? Double == 0.9 && settings["max_new_tokens"] as? Int == 12)
    #expect(try whole.counts().pairs == 5)
    // Run again: everything is done.
    let again = try generator.run(store: whole)
    #expect(again.generatedPrompts == 0 && again.alreadyDone == 5)
    #expect(try whole.counts().candidates == 10)

    // Interrupted after the first batch (2 prompts), the rest imported and generated later: the same candidates.
    let resumed = try CurationStore(url: folder.appendingPathComponent("resumed.db"))
    _ = try PromptImport.add(prompts(0..<2), to: resumed, source: "t")
    _ = try generator.run(store: resumed)
    _ = try PromptImport.add(prompts(2..<5), to: resumed, source: "t")
    let rest = try generator.run(store: resumed)
    #expect(rest.alreadyDone == 2 && rest.generatedPrompts == 3)
    #expect(try resumed.prompts().map { try resumed.candidates(promptID: $0.id).map(\.text) } == candidates.map { $0.map(\.text) })

    // Another seed gives other candidates.
    var other = Self.sampling
    other.seed = 8
    let reseeded = try CurationStore(url: folder.appendingPathComponent("reseeded.db"))
    _ = try PromptImport.add(prompts(0..<5), to: reseeded, source: "t")
    _ = try CandidateGenerator(loaded: loaded, label: "tiny", sampling: other).run(store: reseeded)
    #expect(try reseeded.prompts().map { try reseeded.candidates(promptID: $0.id).map(\.text) } != candidates.map { $0.map(\.text) })
  }

  @Test func samplingSettingsAreChecked() {
    var s = Self.sampling
    s.candidates = 1
    #expect(throws: CurationError(field: "candidates", "must be at least 2 (a pair needs two), got 1")) { try s.validate() }
    s = Self.sampling
    s.temperature = 0
    #expect(throws: CurationError.self) { try s.validate() }
    s = Self.sampling
    s.topP = 1.5
    #expect(throws: CurationError.self) { try s.validate() }
  }

  @Test func theJudgeNeedsBothOrdersToAgree() {
    #expect(judgeVerdict(scoreAB: 1.5, scoreBA: -0.5) == .a)   // prefers a whether it is shown first or second
    #expect(judgeVerdict(scoreAB: -2, scoreBA: 0.1) == .b)
    #expect(judgeVerdict(scoreAB: 1, scoreBA: 1) == .tie)      // always the first shown: position, not content
    #expect(judgeVerdict(scoreAB: -1, scoreBA: -3) == .tie)
    #expect(judgeVerdict(scoreAB: 0, scoreBA: -1) == .tie)
  }

  @Test func theJudgeAnswersEveryPairOnce() throws {
    let folder = try scratchFolder("judge")
    defer { cleanUp(folder) }
    let loaded = try ModelLoader.load(try makeTinyChatModel(in: folder))
    let store = try makeStore(in: folder, prompts: 3)
    let judge = PairJudge(loaded: loaded, name: "judge:tiny")
    #expect(judge.judgingMessages(prompt: "Q", first: "X", second: "Y")[0].content
            == "Which response answers the request better? Reply with 1 or 2 only.\n\n[Request]\nQ\n\n[Response 1]\nX\n\n[Response 2]\nY")
    #expect(try judge.run(store: store) == 3)
    let answers = try store.annotations()
    #expect(answers.map(\.pairID) == [1, 2, 3] && answers.allSatisfy { $0.annotator == "judge:tiny" && $0.displayOrder == "both" })
    #expect(answers.allSatisfy { $0.comment?.hasPrefix("scores ") == true })
    #expect(try store.annotatorKinds()["judge:tiny"] == "model")
    #expect(try judge.run(store: store) == 0)
  }
}
