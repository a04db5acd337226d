// PreferenceReaderTests.swift — every accepted row shape, JSON and JSON Lines layouts, BOM/CRLF/blank lines, chunk
// boundaries, and the exact message for every kind of malformed row.

import ChatTemplates
import Foundation
import Testing
@testable import Data

func user(_ text: String) -> ChatMessage { ChatMessage(role: "user", content: text) }
func assistant(_ text: String) -> ChatMessage { ChatMessage(role: "assistant", content: text) }
func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", content: text) }

/// Reads `text` as a file called `name`.
func readRecords(_ text: String, name: String = "prefs.jsonl", skipInvalid: Bool = false,
                 chunkSize: Int = 1 << 20) throws -> (dataset: PreferenceDataset, report: ReadReport) {
  try PreferenceReader(skipInvalid: skipInvalid, chunkSize: chunkSize).read(text: text, sourceName: name)
}

/// The description of the error reading `text` throws, or nil.
func readError(_ text: String, name: String = "prefs.jsonl") -> String? {
  do {
    _ = try readRecords(text, name: name)
    return nil
  } catch {
    return "\(error)"
  }
}

@Suite struct RowShapeTests {
  @Test func standardTextRowsWithExtraKeysAndBlankLines() throws {
    let text = """
      {"prompt": "The sky is", "chosen": " blue.", "rejected": " green.", "score": 9.5, "id": "a1"}

      {"prompt": "2 + 2 =", "chosen": " 4", "rejected": " 5", "id": 42, "family": "arith"}
      """
    let (dataset, report) = try readRecords(text)
    #expect(dataset.sourceName == "prefs.jsonl")
    #expect(report == ReadReport(keptCount: 2))
    #expect(dataset.records == [
      PreferenceRecord(prompt: .text("The sky is"), chosen: .text(" blue."), rejected: .text(" green."), id: "a1",
                       sourceLine: 1),
      PreferenceRecord(prompt: .text("2 + 2 ="), chosen: .text(" 4"), rejected: .text(" 5"), id: "42", family: "arith",
                       sourceLine: 3),
    ])
  }

  @Test func conversationalRows() throws {
    let text = #"{"prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "#
      + #""chosen": [{"role": "assistant", "content": "Hello!"}], "rejected": [{"role": "assistant", "content": "Go away."}]}"#
    let record = try readRecords(text).dataset[0]
    #expect(record.prompt == .messages([system("Be brief."), user("Hi")]))
    #expect(record.chosen == .messages([assistant("Hello!")]))
    #expect(record.rejected == .messages([assistant("Go away.")]))
    #expect(record.isConversational)
  }

  @Test func ultraFeedbackRowsDropThePromptTurnFromCompletions() throws {
    let text = #"{"prompt": "What color is the sky?", "prompt_id": "x", "#
      + #""chosen": [{"role": "user", "content": "What color is the sky?"}, {"role": "assistant", "content": "It is blue."}], "#
      + #""rejected": [{"role": "user", "content": "What color is the sky?"}, {"role": "assistant", "content": "It is green."}], "#
      + #""score_chosen": 8.0, "score_rejected": 3.0}"#
    let record = try readRecords(text).dataset[0]
    #expect(record.prompt == .messages([user("What color is the sky?")]))
    #expect(record.chosen == .messages([assistant("It is blue.")]))
    #expect(record.rejected == .messages([assistant("It is green.")]))
  }

  @Test func orpoDpoMixRowsTakeTheSharedTurnsAsPrompt() throws {
    let text = #"{"source": "mix", "chosen": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}, "#
      + #"{"role": "assistant", "content": "4"}], "rejected": [{"role": "system", "content": "Be brief."}, "#
      + #"{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "5"}], "question": "2+2?"}"#
    let record = try readRecords(text).dataset[0]
    #expect(record.prompt == .messages([system("Be brief."), user("2+2?")]))
    #expect(record.chosen == .messages([assistant("4")]))
    #expect(record.rejected == .messages([assistant("5")]))
  }

  @Test func implicitPromptTextRowsUseTheCommonPrefix() throws {
    let record = try readRecords(#"{"chosen": "The sky is blue.", "rejected": "The sky is green."}"#).dataset[0]
    #expect(record.prompt == .text("The sky is"))
    #expect(record.chosen == .text(" blue."))
    #expect(record.rejected == .text(" green."))
  }
}

@Suite struct FileLayoutTests {
  let rowOne = #"{"prompt": "a", "chosen": "b", "rejected": "c"}"#
  let rowTwo = #"{"prompt": "d", "chosen": "e", "rejected": "f"}"#

  @Test func jsonListOfRows() throws {
    let text = "[\n  \(rowOne),\n  \(rowTwo)\n]\n"
    let dataset = try readRecords(text, name: "prefs.json").dataset
    #expect(dataset.records.map(\.prompt) == [.text("a"), .text("d")])
    #expect(dataset.records.map(\.sourceLine) == [2, 3])
  }

  @Test func jsonObjectWithDataOrTrainList() throws {
    let compact = try readRecords("{\"data\": [\(rowOne), \(rowTwo)]}", name: "prefs.json").dataset
    #expect(compact.count == 2)
    // Pretty-printed, with a "test" list before "train": rows come from "train".
    let pretty = "{\n  \"test\": [\(rowOne)],\n  \"train\": [\n    \(rowTwo)\n  ],\n  \"note\": \"x\"\n}\n"
    let dataset = try readRecords(pretty, name: "prefs.json").dataset
    #expect(dataset.records.map(\.prompt) == [.text("d")])
    #expect(dataset.records.map(\.sourceLine) == [4])
  }

  @Test func byteOrderMarkAndCRLFLineEnds() throws {
    let text = "\u{FEFF}\(rowOne)\r\n\r\n\(rowTwo)\r\n"
    let dataset = try readRecords(text).dataset
    #expect(dataset.records.map(\.chosen) == [.text("b"), .text("e")])
    #expect(dataset.records.map(\.sourceLine) == [1, 3])
    let json = try readRecords("\u{FEFF}[\(rowOne),\r\n\(rowTwo)]\r\n", name: "prefs.json").dataset
    #expect(json.count == 2)
  }

  @Test func carriageReturnsInsideStringsSurvive() throws {
    let record = try readRecords(#"{"prompt": "a\r\nb", "chosen": "\u00e9\ud83d\ude00", "rejected": "x\\y"}"#).dataset[0]
    #expect(record.prompt == .text("a\r\nb"))
    #expect(record.chosen == .text("é😀"))
    #expect(record.rejected == .text("x\\y"))
  }

  @Test func emptyFileHasNoRows() throws {
    #expect(try readRecords("").dataset.isEmpty)
    #expect(try readRecords("\n \r\n").dataset.isEmpty)
  }

  @Test func tinyChunksGiveTheSameRows() throws {
    let rows = SyntheticPreferences.generate(seed: 4, count: 50)
    let text = "\u{FEFF}\n" + rows.jsonLines.replacingOccurrences(of: "\n", with: "\r\n")
    let whole = try readRecords(text).dataset
    let chunked = try readRecords(text, chunkSize: 16).dataset
    #expect(whole == chunked)
    #expect(whole.records.map { var r = $0; r.sourceLine = nil; return r } == rows.records)
    #expect(whole.records.first?.sourceLine == 2)
  }

  @Test func readsAndWritesFilesOnDisk() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("reader-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let rows = SyntheticPreferences.generate(seed: 6, count: 3000, format: .plain)
    let url = folder.appendingPathComponent("rows.jsonl")
    try rows.writeJSONLines(to: url)
    let back = try PreferenceDataset(contentsOf: url)
    #expect(back.sourceName == "rows.jsonl")
    #expect(back.count == 3000)
    #expect(back.records.map { var r = $0; r.sourceLine = nil; return r } == rows.records)
    #expect(back.records.last?.sourceLine == 3000)
    #expect(back.jsonLines == rows.jsonLines)
    let missing = folder.appendingPathComponent("nope.jsonl")
    #expect(throws: DataError.self) { try PreferenceDataset(contentsOf: missing) }
  }
}

@Suite struct BadRowTests {
  /// Row 17 of a file whose first 16 rows are fine.
  func errorAtLine17(_ row: String) -> String? {
    let good = #"{"prompt": "p", "chosen": "c", "rejected": "r"}"#
    return readError(Array(repeating: good, count: 16).joined(separator: "\n") + "\n" + row + "\n")
  }

  @Test func wrongType() {
    #expect(errorAtLine17(#"{"prompt": "p", "chosen": 5, "rejected": "r"}"#)
      == #"prefs.jsonl:17: field "chosen": expected a string or a list of messages, found number"#)
    #expect(errorAtLine17(#"{"prompt": true, "chosen": "c", "rejected": "r"}"#)
      == #"prefs.jsonl:17: field "prompt": expected a string or a list of messages, found boolean"#)
    #expect(errorAtLine17(#"{"prompt": "p", "chosen": "c", "rejected": {"text": "r"}}"#)
      == #"prefs.jsonl:17: field "rejected": expected a string or a list of messages, found object"#)
    #expect(errorAtLine17(#"{"prompt": null, "chosen": "c", "rejected": "r"}"#)
      == #"prefs.jsonl:17: field "prompt": expected a string or a list of messages, found null"#)
  }

  @Test func missingField() {
    #expect(errorAtLine17(#"{"prompt": "p", "rejected": "r"}"#)
      == #"prefs.jsonl:17: field "chosen": missing; expected a string or a list of messages"#)
    #expect(errorAtLine17(#"{"prompt": "p", "chosen": "c"}"#)
      == #"prefs.jsonl:17: field "rejected": missing; expected a string or a list of messages"#)
  }

  @Test func emptyCompletion() {
    #expect(errorAtLine17(#"{"prompt": "p", "chosen": "", "rejected": "r"}"#)
      == #"prefs.jsonl:17: field "chosen": expected a non-empty string or a list of messages, found an empty string"#)
    #expect(errorAtLine17(#"{"prompt": [{"role": "user", "content": "p"}], "chosen": [], "rejected": []}"#)
      == #"prefs.jsonl:17: field "chosen": expected a non-empty list of messages, found an empty list"#)
  }

  @Test func malformedMessages() {
    #expect(errorAtLine17(#"{"prompt": [{"role": "user", "content": "p"}], "chosen": [{"content": "c"}], "rejected": [{"role": "assistant", "content": "r"}]}"#)
      == #"prefs.jsonl:17: field "chosen[0].role": missing; expected one of "system", "developer", "user", "assistant", "tool""#)
    #expect(errorAtLine17(#"{"prompt": [{"role": "user", "content": "p"}], "chosen": [{"role": "assistant"}], "rejected": [{"role": "assistant", "content": "r"}]}"#)
      == #"prefs.jsonl:17: field "chosen[0].content": missing; expected a string"#)
    #expect(errorAtLine17(#"{"prompt": [{"role": "user", "content": "p"}], "chosen": [{"role": "assistant", "content": "c"}], "rejected": [{"role": "bot", "content": "r"}]}"#)
      == #"prefs.jsonl:17: field "rejected[0].role": expected one of "system", "developer", "user", "assistant", "tool", found "bot""#)
    #expect(errorAtLine17(#"{"prompt": [{"role": "user", "content": null}], "chosen": [{"role": "assistant", "content": "c"}], "rejected": [{"role": "assistant", "content": "r"}]}"#)
      == #"prefs.jsonl:17: field "prompt[0].content": expected a string, found null"#)
    #expect(errorAtLine17(#"{"prompt": [{"role": 1, "content": "p"}], "chosen": [{"role": "assistant", "content": "c"}], "rejected": [{"role": "assistant", "content": "r"}]}"#)
      == #"prefs.jsonl:17: field "prompt[0].role": expected a string, found number"#)
    #expect(errorAtLine17(#"{"prompt": "p", "chosen": ["c"], "rejected": ["r"]}"#)
      == #"prefs.jsonl:17: field "chosen[0]": expected a message object with "role" and "content", found string"#)
  }

  @Test func mixedShapes() {
    #expect(errorAtLine17(#"{"prompt": "p", "chosen": "c", "rejected": [{"role": "assistant", "content": "r"}]}"#)
      == #"prefs.jsonl:17: field "rejected": expected a string, like "chosen", found list"#)
    #expect(errorAtLine17(#"{"prompt": [{"role": "user", "content": "p"}], "chosen": "c", "rejected": "r"}"#)
      == #"prefs.jsonl:17: field "chosen": expected a list of messages, like "prompt", found string"#)
    #expect(errorAtLine17(#"{"prompt": [{"role": "system", "content": "s"}], "chosen": [{"role": "assistant", "content": "c"}], "rejected": [{"role": "assistant", "content": "r"}]}"#)
      == #"prefs.jsonl:17: field "prompt": expected the prompt to end with a user, tool or assistant message, found "system""#)
  }

  @Test func ultraFeedbackPromptMustMatchTheSharedTurn() {
    #expect(errorAtLine17(#"{"prompt": "Other?", "chosen": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A"}], "rejected": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "B"}]}"#)
      == #"prefs.jsonl:17: field "prompt": expected the text of the last user turn shared by "chosen" and "rejected", found "Other?" while the turn says "Q?""#)
    #expect(errorAtLine17(#"{"prompt": "Q?", "chosen": [{"role": "assistant", "content": "A"}], "rejected": [{"role": "assistant", "content": "B"}]}"#)
      == #"prefs.jsonl:17: field "prompt": is a string while "chosen" and "rejected" are messages that share no user turn; expected "prompt" as a list of messages, or conversations that repeat it"#)
  }

  @Test func implicitPromptNeedsSharedTurns() {
    #expect(errorAtLine17(#"{"chosen": [{"role": "user", "content": "A?"}, {"role": "assistant", "content": "A"}], "rejected": [{"role": "user", "content": "B?"}, {"role": "assistant", "content": "B"}]}"#)
      == #"prefs.jsonl:17: field "chosen": expected "chosen" and "rejected" to start with the same prompt messages (there is no "prompt" field), but their first messages differ"#)
  }

  @Test func invalidJSONAndNonObjectRows() {
    #expect(errorAtLine17(#"{"prompt": "p", "chosen": "c", "rejected": }"#)
      == #"prefs.jsonl:17: invalid JSON: unexpected character '}', expected a value (column 44)"#)
    #expect(errorAtLine17(#"{"prompt": "p", "chosen": "c", "rejected": "r"} x"#)
      == #"prefs.jsonl:17: invalid JSON: unexpected character 'x' after the value (column 49)"#)
    #expect(errorAtLine17(#"{"prompt": "p", "chosen": "c", "rejected": "r"#)
      == #"prefs.jsonl:17: invalid JSON: unterminated string (column 44)"#)
    #expect(errorAtLine17("[1, 2]")
      == #"prefs.jsonl:17: expected a JSON object with "chosen" and "rejected", found list"#)
  }

  @Test func jsonListErrorsNameTheElementAndLine() {
    let text = "[\n  {\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"},\n  {\"prompt\": \"a\",\n   \"chosen\": 3, \"rejected\": \"c\"}\n]"
    #expect(readError(text, name: "prefs.json")
      == #"prefs.json:3: element 1: field "chosen": expected a string or a list of messages, found number"#)
    #expect(readError("[\n{\"prompt\": \"a\",\n \"chosen\": }]", name: "prefs.json")
      == #"prefs.json:3: invalid JSON: unexpected character '}', expected a value"#)
    #expect(readError("{\"rows\": []}", name: "prefs.json")
      == #"prefs.json:1: expected JSON Lines rows, a list of rows, or an object with a "train" or "data" list of rows, found an object without them"#)
  }
}

@Suite struct SkipInvalidTests {
  @Test func skipsAndReportsBadRows() throws {
    var lines: [String] = []
    for index in 1...30 {
      switch index % 10 {
      case 3: lines.append(#"{"prompt": "p", "chosen": 1, "rejected": "r"}"#)
      case 7: lines.append("{not json")
      default: lines.append(#"{"prompt": "p\#(index)", "chosen": "c", "rejected": "r"}"#)
      }
    }
    let (dataset, report) = try readRecords(lines.joined(separator: "\n"), skipInvalid: true)
    #expect(dataset.count == 24)
    #expect(report.keptCount == 24 && report.skippedCount == 6)
    #expect(report.examples.map(\.line) == [3, 7, 13, 17, 23, 27])
    #expect(report.examples[0].field == "chosen")
    #expect(report.examples[1].description == "prefs.jsonl:7: invalid JSON: expected a string key, found character 'n' (column 2)")
    #expect(dataset.records.map(\.sourceLine).prefix(3) == [1, 2, 4])
    #expect(report.description.hasPrefix("kept 24 rows, skipped 6 invalid\n  prefs.jsonl:3: field \"chosen\""))
    // Without skipInvalid the first bad row stops the read.
    #expect(throws: DataError(source: "prefs.jsonl", line: 3, field: "chosen",
                              message: "expected a string or a list of messages, found number")) {
      try readRecords(lines.joined(separator: "\n"))
    }
  }

  @Test func reportKeepsTheFirstTenExamples() throws {
    let text = Array(repeating: #"{"chosen": "c"}"#, count: 25).joined(separator: "\n")
    let (dataset, report) = try readRecords(text, skipInvalid: true)
    #expect(dataset.isEmpty)
    #expect(report.skippedCount == 25 && report.examples.count == ReadReport.maximumExamples)
    #expect(report.description.hasSuffix("… and 15 more"))
  }

  @Test func skipsBadElementsOfAJSONList() throws {
    let text = #"[{"prompt": "a", "chosen": "b", "rejected": "c"}, {"prompt": "a"}, {"prompt": "d", "chosen": "e", "rejected": "f"}]"#
    let (dataset, report) = try readRecords(text, name: "prefs.json", skipInvalid: true)
    #expect(dataset.count == 2)
    #expect(report.examples.map(\.description) == [#"prefs.json:1: element 1: field "chosen": missing; expected a string or a list of messages"#])
  }
}

@Suite struct LayoutDetectionTests {
  @Test func firstLineCutShortButNotOneDocumentKeepsReadingLines() throws {
    let text = "{\"prompt\": \"a\", \n{\"prompt\": \"d\", \"chosen\": \"e\", \"rejected\": \"f\"}\n"
    #expect(readError(text) == #"prefs.jsonl:1: invalid JSON: expected a string key, found end of input (column 17)"#)
    let (dataset, report) = try readRecords(text, skipInvalid: true)
    #expect(dataset.records.map(\.chosen) == [.text("e")])
    #expect(dataset.records.map(\.sourceLine) == [2])
    #expect(report.skippedCount == 1)
  }

  @Test func firstRowWithoutCompletionsInJSONLinesIsAnError() {
    let text = "{\"prompt\": \"a\"}\n{\"prompt\": \"d\", \"chosen\": \"e\", \"rejected\": \"f\"}\n"
    #expect(readError(text) == #"prefs.jsonl:1: field "chosen": missing; expected a string or a list of messages"#)
  }
}

@Suite struct EncodingTests {
  @Test func invalidUTF8IsAnError() throws {
    var bytes = Array(#"{"prompt": "p", "chosen": "c"#.utf8)
    bytes += [0xC3, 0x28]  // a broken two-byte sequence
    bytes += Array(#"", "rejected": "r"}"#.utf8)
    #expect(throws: DataError(source: "bad.jsonl", line: 1, message: "invalid JSON: invalid UTF-8 in a string (column 27)")) {
      try PreferenceReader().read(bytes: bytes, sourceName: "bad.jsonl")
    }
  }
}
