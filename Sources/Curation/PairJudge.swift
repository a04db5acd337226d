// PairJudge.swift — `orpo curate judge`: a local model as one more annotator. It reads the pair in both orders and
// compares its next-token scores for "1" and "2"; an answer that flips with the order is recorded as a tie.
import ChatTemplates
import Foundation
import Models
import Torch

/// The judge's verdict from its preference for the first-shown response in each order: `scoreAB` is
/// logit("1") − logit("2") with a shown first, `scoreBA` the same with b shown first. a wins when it is preferred in
/// both orders, b likewise; otherwise the model follows the position, not the content: a tie.
public func judgeVerdict(scoreAB: Double, scoreBA: Double) -> Choice {
  if scoreAB > 0 && scoreBA < 0 { return .a }
  if scoreAB < 0 && scoreBA > 0 { return .b }
  return .tie
}

/// Runs a model over every pair it has not judged yet and stores its answers under its own annotator name.
public struct PairJudge {
  public let loaded: LoadedModel
  public let name: String
  /// Responses are cut to this many characters in the judging prompt (keeps prompts inside the context).
  public var maximumResponseCharacters = 4000

  public init(loaded: LoadedModel, name: String) {
    self.loaded = loaded
    self.name = name
  }

  /// The judge's default name: `judge:` and the model's file or folder name.
  public static func defaultName(modelURL: URL) -> String { "judge:" + modelURL.lastPathComponent }

  /// The conversation the judge reads for one order of the pair.
  public func judgingMessages(prompt: String, first: String, second: String) -> [ChatMessage] {
    let cut = { (text: String) in text.count > maximumResponseCharacters ? String(text.prefix(maximumResponseCharacters)) + " …" : text }
    return [ChatMessage(role: "user", content: """
      Which response answers the request better? Reply with 1 or 2 only.

      [Request]
      \(prompt)

      [Response 1]
      \(cut(first))

      [Response 2]
      \(cut(second))
      """)]
  }

  /// logit("1") − logit("2") for the judge's next token after `messages`.
  func preferenceForFirst(_ messages: [ChatMessage], one: Int, two: Int) throws -> Double {
    let ids = try loaded.chatPromptIDs(messages)
    return try withNoGrad {
      let logits = try loaded.model(Tensor(ids.map(Int64.init), shape: [1, ids.count]))  // [1, T] -> [1, T, V]
      let last = try logits.select(1, ids.count - 1).select(0, 0).to(dtype: .float32).to(device: .cpu)  // [V]
      let scores = try last.scalars(as: Float.self)
      return Double(scores[one]) - Double(scores[two])
    }
  }

  /// The token ids of "1" and "2", which must be single tokens.
  func choiceTokens() throws -> (one: Int, two: Int) {
    let one = loaded.tokenizer.encode("1", addSpecialTokens: false)
    let two = loaded.tokenizer.encode("2", addSpecialTokens: false)
    guard one.count == 1, two.count == 1 else {
      throw CurationError(field: "model", "the judge's tokenizer does not encode \"1\" and \"2\" as single tokens")
    }
    return (one[0], two[0])
  }

  /// `a` against `b` as answers to `prompt`, judged in both orders (`orpo judge` compares two runs' answers so).
  public func verdict(prompt: String, a: String, b: String) throws -> (choice: Choice, scoreAB: Double, scoreBA: Double) {
    let (one, two) = try choiceTokens()
    let scoreAB = try preferenceForFirst(judgingMessages(prompt: prompt, first: a, second: b), one: one, two: two)
    let scoreBA = try preferenceForFirst(judgingMessages(prompt: prompt, first: b, second: a), one: one, two: two)
    return (judgeVerdict(scoreAB: scoreAB, scoreBA: scoreBA), scoreAB, scoreBA)
  }

  /// Judges the pairs this judge has not answered; returns how many it judged. `progress(done, total)` counts pairs.
  @discardableResult
  public func run(store: CurationStore, progress: ((Int, Int) -> Void)? = nil) throws -> Int {
    try store.registerModelAnnotator(name: name)
    let (one, two) = try choiceTokens()
    let answered = Set(try store.annotations().filter { $0.annotator == name }.map(\.pairID))
    let pairs = try store.pairs().filter { !answered.contains($0.id) }
    progress?(0, pairs.count)
    for (index, pair) in pairs.enumerated() {
      let prompt = pair.prompt.displayText
      let scoreAB = try preferenceForFirst(judgingMessages(prompt: prompt, first: pair.a, second: pair.b), one: one, two: two)
      let scoreBA = try preferenceForFirst(judgingMessages(prompt: prompt, first: pair.b, second: pair.a), one: one, two: two)
      _ = try store.annotate(pairID: pair.id, annotator: name, shownChoice: judgeVerdict(scoreAB: scoreAB, scoreBA: scoreBA),
                             displayOrder: "both", comment: String(format: "scores %.3f / %.3f", scoreAB, scoreBA))
      progress?(index + 1, pairs.count)
    }
    return pairs.count
  }
}
