// SurveyTests.swift — 142 real templates (all 72 that trl 1.16 ships, 70 vendored in llama-cpp-python 0.3.36's
// llama.cpp) from Fixtures/template_survey.json must render byte-identically to transformers 5.23, errors included.

import Foundation
import Testing

@testable import ChatTemplates

struct SurveyTemplate: Sendable, CustomTestStringConvertible {
  let name: String
  let source: String
  let cases: [JinjaDictionary]
  var testDescription: String { name }
}

enum Survey {
  static let root: JinjaDictionary = {
    let url = Fixture.directory.appendingPathComponent("template_survey.json")
    guard case let .dictionary(root) = try! JinjaValue(json: try! String(contentsOf: url, encoding: .utf8)) else {
      fatalError("survey is not an object")
    }
    return root
  }()

  static let templates: [SurveyTemplate] = {
    guard case let .dictionary(templates)? = root["templates"] else { return [] }
    return templates.pairs.map { name, value in
      guard case let .dictionary(entry) = value, case let .string(source)? = entry["source"],
        case let .array(cases)? = entry["cases"]
      else { fatalError("bad survey entry \(name)") }
      return SurveyTemplate(name: name.description, source: source,
        cases: cases.map { if case let .dictionary(d) = $0 { return d } else { fatalError("bad case") } })
    }
  }()
}

@Test(arguments: Survey.templates)
func surveyTemplateRendersLikeTransformers(_ survey: SurveyTemplate) throws {
  let compileErrors: Set<String> = ["TemplateSyntaxError", "TemplateAssertionError"]
  var template: ChatTemplate
  do {
    template = try ChatTemplate(survey.source)
  } catch {
    // jinja2 refused it too (e.g. a filter it does not have): every case must record a compile error.
    for entry in survey.cases {
      guard case let .dictionary(recorded)? = entry["error"], let kind = Fixture.string(recorded["type"]),
        compileErrors.contains(kind)
      else {
        Issue.record("\(survey.name): jinja2 compiles it, ours throws \(error)")
        return
      }
    }
    return
  }
  template.date = Fixture.date
  for entry in survey.cases {
    let name = Fixture.string(entry["name"]) ?? "?"
    var messages: [JinjaDictionary] = []
    if case let .array(list)? = entry["messages"] {
      messages = list.compactMap { if case let .dictionary(d) = $0 { return d } else { return nil } }
    }
    var extra: [String: JinjaValue] = [:]
    if case let .dictionary(d)? = entry["extra_context"] { for (k, v) in d.pairs { extra[k.description] = v } }
    let render = {
      try template.render(conversation: messages, addGenerationPrompt: entry["add_generation_prompt"] == .bool(true),
        bosToken: "<bos>", eosToken: "<eos>", extraContext: extra)
    }
    if let expected = Fixture.string(entry["expected"]) {
      do {
        let output = try render()
        #expect(output == expected, "\(survey.name)/\(name)")
      } catch {
        Issue.record("\(survey.name)/\(name): \(error)")
      }
      continue
    }
    guard case let .dictionary(error)? = entry["error"] else { continue }
    let message = Fixture.string(error["message"])
    do {
      _ = try render()
      Issue.record("\(survey.name)/\(name): expected error \(message ?? "")")
    } catch let ChatTemplateError.raised(text) {
      #expect(Fixture.string(error["type"]) == "raise_exception", "\(survey.name)/\(name)")
      #expect(text == message, "\(survey.name)/\(name)")
    } catch let ChatTemplateError.runtime(text, _) {
      #expect(text == message, "\(survey.name)/\(name)")
    } catch let ChatTemplateError.unsupported(text, _) {
      // jinja2 lacks it too when it says "No filter named 'x' found."; otherwise this is our gap.
      #expect(message?.hasPrefix("No filter named") == true || message?.hasPrefix("No test named") == true,
        "\(survey.name)/\(name): \(text)")
    }
  }
}
