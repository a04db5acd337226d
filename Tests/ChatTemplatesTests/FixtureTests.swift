// FixtureTests.swift — every case of Fixtures/chat_templates.json (rendered by transformers 5.23 / jinja2 3.1.6
// with reference/make_chat_template_fixtures.py) must render byte-identically, or fail with the same error.

import Foundation
import Testing

@testable import ChatTemplates

struct FixtureCase: Sendable, CustomTestStringConvertible {
  let template: String
  let name: String
  let messages: [JinjaDictionary]
  let addGenerationPrompt: Bool
  let bosToken: String?
  let eosToken: String?
  let extraContext: [String: JinjaValue]
  let expected: String?
  let errorType: String?
  let errorMessage: String?

  var testDescription: String { "\(template)/\(name)/gen=\(addGenerationPrompt)" }
}

enum Fixture {
  static let directory: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

  static let root: JinjaDictionary = {
    let text = try! String(contentsOf: directory.appendingPathComponent("chat_templates.json"), encoding: .utf8)
    guard case let .dictionary(root) = try! JinjaValue(json: text) else { fatalError("fixture is not an object") }
    return root
  }()

  static func string(_ value: JinjaValue?) -> String? {
    if case let .string(s)? = value { return s }
    return nil
  }

  static let cases: [FixtureCase] = {
    guard case let .array(items)? = root["cases"] else { return [] }
    return items.map { item in
      guard case let .dictionary(entry) = item else { fatalError("case is not an object") }
      var messages: [JinjaDictionary] = []
      if case let .array(list)? = entry["messages"] {
        messages = list.map { if case let .dictionary(d) = $0 { return d } else { fatalError("bad message") } }
      }
      var extra: [String: JinjaValue] = [:]
      if case let .dictionary(d)? = entry["extra_context"] { for (k, v) in d.pairs { extra[k.description] = v } }
      var errorType: String?
      var errorMessage: String?
      if case let .dictionary(error)? = entry["error"] {
        errorType = string(error["type"])
        errorMessage = string(error["message"])
      }
      return FixtureCase(
        template: string(entry["template"])!, name: string(entry["name"])!, messages: messages,
        addGenerationPrompt: entry["add_generation_prompt"] == .bool(true), bosToken: string(entry["bos_token"]),
        eosToken: string(entry["eos_token"]), extraContext: extra, expected: string(entry["expected"]),
        errorType: errorType, errorMessage: errorMessage)
    }
  }()

  /// `strftime_now` in the fixture is pinned to this moment.
  static let date = TemplateDate(year: 2024, month: 7, day: 26, hour: 14, minute: 5, second: 9)

  static func template(_ id: String) throws -> ChatTemplate {
    var template = try ChatTemplate(contentsOfFile: directory.appendingPathComponent("templates/\(id).jinja").path)
    template.date = date
    return template
  }
}

@Test func fixtureRecordsPinnedVersions() throws {
  guard case let .dictionary(versions)? = Fixture.root["versions"] else {
    Issue.record("no versions")
    return
  }
  #expect(versions["transformers"] == "5.23.0")
  #expect(versions["jinja2"] == "3.1.6")
  #expect(Fixture.cases.count >= 12 * 10)
}

@Test(arguments: Fixture.cases)
func fixtureCaseRendersLikeTransformers(_ fixture: FixtureCase) throws {
  let template = try Fixture.template(fixture.template)
  let render = {
    try template.render(conversation: fixture.messages, addGenerationPrompt: fixture.addGenerationPrompt,
      bosToken: fixture.bosToken, eosToken: fixture.eosToken, extraContext: fixture.extraContext)
  }
  if let expected = fixture.expected {
    let output = try render()
    #expect(output == expected)
    #expect(Array(output.utf8) == Array(expected.utf8))
    return
  }
  switch fixture.errorType {
  case "raise_exception":
    #expect(throws: ChatTemplateError.raised(fixture.errorMessage!)) { try render() }
  case "ValueError":
    #expect(throws: ChatTemplateError.emptyConversation) { try render() }
  default:
    do {
      _ = try render()
      Issue.record("expected \(fixture.errorType ?? "?"): \(fixture.errorMessage ?? "")")
    } catch let ChatTemplateError.runtime(message, _) {
      #expect(message == fixture.errorMessage)
    }
  }
}

@Test func everyFixtureTemplateParses() throws {
  guard case let .dictionary(templates)? = Fixture.root["templates"] else { return }
  #expect(templates.count == 12)
  for id in templates.keys { _ = try Fixture.template(id.description) }
}

@Test func chatMLConstantMatchesFixtureTemplate() throws {
  let text = try String(contentsOf: Fixture.directory.appendingPathComponent("templates/chatml.jinja"), encoding: .utf8)
  #expect(ChatTemplate.chatML == text)
}

struct SnippetCase: Sendable, CustomTestStringConvertible {
  let index: Int
  let template: String
  let expected: String?
  let errorType: String?
  let errorMessage: String?

  var testDescription: String { "snippet \(index): \(template.prefix(60))" }
}

extension Fixture {
  static let snippetContext: [String: JinjaValue] = {
    guard case let .dictionary(context)? = root["snippet_context"] else { return [:] }
    return Dictionary(uniqueKeysWithValues: context.pairs.map { ($0.0.description, $0.1) })
  }()

  static let snippets: [SnippetCase] = {
    guard case let .array(items)? = root["snippets"] else { return [] }
    return items.enumerated().map { index, item in
      guard case let .dictionary(entry) = item else { fatalError("snippet is not an object") }
      var errorType: String?
      var errorMessage: String?
      if case let .dictionary(error)? = entry["error"] {
        errorType = string(error["type"])
        errorMessage = string(error["message"])
      }
      return SnippetCase(index: index, template: string(entry["template"])!, expected: string(entry["expected"]),
        errorType: errorType, errorMessage: errorMessage)
    }
  }()
}

/// One-feature templates (printing, whitespace control, loops, scoping, filters, tests, methods, errors) rendered
/// by jinja2 in transformers' environment.
@Test(arguments: Fixture.snippets)
func snippetRendersLikeJinja2(_ snippet: SnippetCase) throws {
  var template = try ChatTemplate(snippet.template)
  template.date = Fixture.date
  if let expected = snippet.expected {
    #expect(try template.render(context: Fixture.snippetContext) == expected)
    return
  }
  do {
    let output = try template.render(context: Fixture.snippetContext)
    Issue.record("expected \(snippet.errorType ?? "?") '\(snippet.errorMessage ?? "")', rendered '\(output)'")
  } catch let error as ChatTemplateError {
    switch error {
    case let .raised(message):
      #expect(snippet.errorType == "raise_exception")
      #expect(message == snippet.errorMessage)
    case let .runtime(message, _), let .limitExceeded(message):
      #expect(message == snippet.errorMessage)
    default:
      Issue.record("unexpected \(error)")
    }
  }
}
