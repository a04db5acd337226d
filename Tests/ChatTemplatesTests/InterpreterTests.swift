// InterpreterTests.swift — hand-written checks of the Jinja interpreter: printing, truthiness, whitespace control,
// loops, scoping, filters, errors with line numbers, sandbox limits and the public API.

import Foundation
import Testing

@testable import ChatTemplates
import Support

private func render(_ source: String, _ context: [String: JinjaValue] = [:]) throws -> String {
  try ChatTemplate(source).render(context: context)
}

// MARK: - Printing follows Python's str()

@Test func printsNumbersLikePython() throws {
  #expect(try render("{{ 3/2 }} {{ 4/2 }} {{ 7//2 }} {{ -7//2 }} {{ -7%3 }} {{ 2**10 }} {{ 2**-1 }}")
    == "1.5 2.0 3 -4 2 1024 0.5")
  #expect(try render("{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 0.0001 }} {{ -0.0 }}")
    == "0.30000000000000004 1e+16 1000000000000000.0 1e-05 0.0001 -0.0")
  #expect(pythonFloatRepr(1.5e-7) == "1.5e-07")
  #expect(pythonFloatRepr(123456789.125) == "123456789.125")
  #expect(pythonFloatRepr(.infinity) == "inf")
}

@Test func printsConstantsAndContainersAsPythonRepr() throws {
  #expect(try render("{{ true }} {{ False }} {{ none }} {{ missing }}|") == "True False None |")
  #expect(try render("{{ ['a', 1, none, true, 1.0] }}") == "['a', 1, None, True, 1.0]")
  #expect(try render("{{ {'k': 'v', 'n': [1]} }}") == "{'k': 'v', 'n': [1]}")
  #expect(try render("{{ (1,) }} {{ (1, 2) }}") == "(1,) (1, 2)")
  #expect(try render(#"{{ ["it's", 'a\nb', '\x01'] }}"#) == #"["it's", 'a\nb', '\x01']"#)
}

@Test func stringLiteralEscapesDecodeLikeJinja2() throws {
  #expect(try render(#"{{ 'tab\there' }}|{{ 'e\u00e9' }}|{{ 'oct\101' }}|{{ 'keep\d' }}|{{ 'a' "b" }}"#)
    == "tab\there|eé|octA|keep\\d|ab")
}

// MARK: - Truthiness and operators

@Test func truthinessFollowsPython() throws {
  let source = "{% for v in values %}{{ 'T' if v else 'F' }}{% endfor %}"
  let values: JinjaValue = [0, 1, 0.0, 0.5, "", " ", [], [0], .dictionary([:]), ["k": 1], .none, true, false]
  #expect(try render(source, ["values": values]) == "FTFTFTFTFTFTF")
  #expect(try render("{{ 'T' if missing else 'F' }}{{ 'T' if namespace() else 'F' }}") == "FT")
}

@Test func andOrReturnOperandsAndComparisonsChain() throws {
  #expect(try render("{{ '' or 'b' }} {{ 'a' and 'b' }} {{ 0 and 1 }} {{ not '' }}") == "b b 0 True")
  #expect(try render("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 == true }} {{ [1, 2] < [1, 3] }}")
    == "True False True True")
  #expect(try render("{{ 'ell' in 'hello' }} {{ 2 not in [1, 2] }} {{ 'k' in {'k': 1} }}") == "True False True")
  #expect(try render("{{ 'a' ~ 1 ~ none ~ missing }} {{ 'ab' * 2 }} {{ [1] + [2] }}") == "a1None abab [1, 2]")
}

// MARK: - Whitespace control (trim_blocks, lstrip_blocks, -/+ markers)

@Test func trimBlocksAndLstripBlocksAsTransformersConfiguresThem() throws {
  let source = "<ul>\n  {% for x in [1, 2] %}\n  <li>{{ x }}</li>\n  {% endfor %}\n</ul>\n"
  #expect(try render(source) == "<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>")
  #expect(try render("a  {{- ' b ' -}}  c") == "a b c")
  #expect(try render("x {%+ if true %}y{% endif +%}\nz") == "x y\nz")
  #expect(try render("  {# note #}\n{#- gone -#}\n  text") == "text")
  #expect(try render("{% raw %}{{ not parsed }}{% endraw %}") == "{{ not parsed }}")
  #expect(try render("a\r\nb\n") == "a\nb")
}

// MARK: - Loops and scoping

@Test func loopVariables() throws {
  let source = "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
    + "{{ loop.last }}{{ loop.length }}[{{ loop.previtem }}|{{ loop.nextitem }}] {% endfor %}"
  #expect(try render(source)
    == "103TrueFalse3[|b] 212FalseFalse3[a|c] 321FalseTrue3[b|] ")
  #expect(try render("{% for n in [3, 1, 2, 5] if n > 1 %}{{ n }}:{{ loop.index }}/{{ loop.length }} {% endfor %}")
    == "3:1/3 2:2/3 5:3/3 ")
  #expect(try render("{% for x in [] %}x{% else %}empty{% endfor %}") == "empty")
  #expect(try render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}") == "a=1;b=2;")
  #expect(try render("{% for i in range(9) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}"
    + "{% endif %}{{ i }}{% endfor %}") == "023")
  #expect(try render("{% for i in range(3) %}{{ loop.cycle('a', 'b') }}{% endfor %}") == "aba")
}

@Test func setInsideLoopDoesNotLeakButNamespaceDoes() throws {
  #expect(try render("{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = 2 %}{% endfor %}{{ x }}") == "111")
  let source = "{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"
  #expect(try render(source) == "6")
  #expect(try render("{% if true %}{% set y = 'if does not scope' %}{% endif %}{{ y }}") == "if does not scope")
  #expect(try render("{% set b %}[{{ 1 + 1 }}]{% endset %}{{ b }}") == "[2]")
}

@Test func macrosWithDefaultsAndKeywords() throws {
  let source = "{% macro tag(name, open='<', close='>') %}{{ open }}{{ name }}{{ close }}{% endmacro %}"
    + "{{ tag('a') }}{{ tag('b', close=']') }}{{ tag(name='c') }}"
  #expect(try render(source) == "<a><b]<c>")
}

// MARK: - Filters and methods

@Test func commonFilters() throws {
  #expect(try render("{{ '  hi  ' | trim }}|{{ 'Hello' | lower }}|{{ 'Hello' | upper }}|{{ 'hELLO wORLD' | title }}")
    == "hi|hello|HELLO|Hello World")
  #expect(try render("{{ missing | default('d') }}|{{ '' | default('d') }}|{{ '' | default('d', true) }}") == "d||d")
  #expect(try render("{{ [3, 1, 2] | sort | join(',') }}|{{ [1, 2] | length }}|{{ ['a', 'b'] | first }}") == "1,2,3|2|a")
  #expect(try render("{{ [{'r': 'u'}, {'r': 'a'}] | selectattr('r', 'equalto', 'u') | list | length }}") == "1")
  #expect(try render("{{ [{'r': 'u'}, {'r': 'a'}] | map(attribute='r') | join }}") == "ua")
  #expect(try render("{{ 'a-b' | replace('-', '+') }}|{{ 'x' | int }}|{{ '7' | int }}|{{ 2.5 | round }}")
    == "a+b|0|7|2.0")
  #expect(try render("{{ 'a\nb' | indent(2) }}") == "a\n  b")
}

@Test func tojsonMatchesPythonJsonDumps() throws {
  let value: JinjaValue = .dictionary(["b": 1, "a": [1.5, .none, true, "é\"\n"]])
  #expect(try render("{{ v | tojson }}", ["v": value]) == #"{"b": 1, "a": [1.5, null, true, "é\"\n"]}"#)
  #expect(try render("{{ v | tojson(indent=2) }}", ["v": ["k": [1]]]) == "{\n  \"k\": [\n    1\n  ]\n}")
  #expect(try render("{{ 'é' | tojson(ensure_ascii=true) }}") == #""\u00e9""#)
}

@Test func stringDictAndListMethods() throws {
  #expect(try render("{{ ' x '.strip() }}|{{ 'a,b'.split(',') }}|{{ 'abc'.startswith(('x', 'a')) }}|{{ 'ab'.upper() }}")
    == "x|['a', 'b']|True|AB")
  #expect(try render("{{ d.get('k') }}|{{ d.get('z', 0) }}|{{ d.keys() | list }}", ["d": ["k": "v"]]) == "v|0|['k']")
  #expect(try render("{{ [1, 2].index(2) }}|{{ '{} {}'.format(1, 'a') }}") == "1|1 a")
}

@Test func strftimeNowUsesTheFixedDate() throws {
  var template = try ChatTemplate("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%A %H:%M') }}")
  template.date = TemplateDate(year: 2024, month: 7, day: 26, hour: 14, minute: 5)
  #expect(try template.render(context: [:]) == "26 Jul 2024|Friday 14:05")
}

// MARK: - Errors carry the construct and the line

@Test func unsupportedFilterNamesFilterAndLine() throws {
  #expect(throws: ChatTemplateError.unsupported("unsupported filter 'xmlattr'", line: 3)) {
    try ChatTemplate("a\nb\n{{ x | xmlattr }}")
  }
  #expect(ChatTemplateError.unsupported("unsupported filter 'xmlattr'", line: 3).description
    == "unsupported filter 'xmlattr' at line 3")
  #expect(throws: ChatTemplateError.unsupported("unsupported test 'fancy'", line: 1)) { try ChatTemplate("{{ 1 is fancy }}") }
  #expect(throws: ChatTemplateError.unsupported("unsupported tag 'include'", line: 2)) {
    try ChatTemplate("x\n{% include 'other.jinja' %}")
  }
}

@Test func syntaxErrorsNameTheLine() throws {
  do {
    _ = try ChatTemplate("ok\n{% if x %}\nno end")
    Issue.record("expected a syntax error")
  } catch let ChatTemplateError.syntax(message, line, _) {
    #expect(message.contains("endif"))
    #expect(line == 3)
  }
  #expect(throws: ChatTemplateError.syntax("Encountered unknown tag 'frobnicate'.", line: 1, column: 4)) {
    try ChatTemplate("{% frobnicate %}")
  }
  #expect(throws: ChatTemplateError.self) { try ChatTemplate("{{ (1 }}") }
  #expect(throws: ChatTemplateError.self) { try ChatTemplate("{# never closed") }
}

@Test func runtimeErrorsMatchJinja2Messages() throws {
  #expect(throws: ChatTemplateError.raised("roles must alternate")) { try render("{{ raise_exception('roles must alternate') }}") }
  #expect(throws: ChatTemplateError.runtime("'x' is undefined", line: 2)) { try render("\n{{ x.y }}") }
  #expect(throws: ChatTemplateError.runtime("can only concatenate str (not \"int\") to str", line: 1)) {
    try render("{{ 'a' + 1 }}")
  }
  #expect(throws: ChatTemplateError.runtime("access to attribute 'append' of 'list' object is unsafe.", line: 1)) {
    try render("{{ [].append(1) }}")
  }
}

// MARK: - Sandbox limits

@Test func sandboxBoundsOutputLoopsAndRecursion() throws {
  var template = try ChatTemplate("{% for i in range(100) %}{{ 'x' * 100 }}{% endfor %}")
  template.limits.maxOutputBytes = 5_000
  #expect(throws: ChatTemplateError.limitExceeded("output exceeds 5000 bytes")) { try template.render(context: [:]) }

  var loops = try ChatTemplate("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}")
  loops.limits.maxLoopIterations = 10_000
  #expect(throws: ChatTemplateError.limitExceeded("more than 10000 loop iterations")) { try loops.render(context: [:]) }

  let recursive = try ChatTemplate("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
  #expect(throws: ChatTemplateError.limitExceeded("macro calls nested deeper than 64")) {
    try recursive.render(context: [:])
  }

  let doubling = try ChatTemplate(
    "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}")
  #expect(throws: ChatTemplateError.self) { try doubling.render(context: [:]) }
  #expect(throws: ChatTemplateError.self) { try render("{{ range(10**6) | length }}") }
  #expect(throws: ChatTemplateError.limitExceeded("template nesting deeper than 200")) {
    try ChatTemplate(String(repeating: "{% if true %}", count: 300))
  }
}

/// A macro lives in the scope it captures, and a namespace may be stored in itself: both are reference cycles that
/// the end of a render breaks, so what a template built (and the context it held) is freed. Found by the fuzzer
/// (Fuzz/ChatTemplate, LeakSanitizer): every render of a template with a macro leaked its scopes and messages.
@Test(arguments: [
  "{% macro m(x) %}{{ x }}{% endmacro %}{{ m(probe.n) }}",
  "{% set ns = namespace(p=probe) %}{% set ns.me = ns %}{{ ns.me.p.n }}",
  "{% macro outer() %}{{ caller() }}{% endmacro %}{% call outer() %}{{ probe.n }}{% endcall %}",
])
func renderingFreesWhatTheTemplateBuilt(source: String) throws {
  weak var probe: JinjaNamespace?
  func renderOnce() throws {
    let namespace = JinjaNamespace(["n": 7])
    probe = namespace
    #expect(try render(source, ["probe": .namespace(namespace)]) == "7")
  }
  try renderOnce()
  #expect(probe == nil, "the render kept the context alive: a reference cycle was left")
}

// MARK: - Public API

@Test func rendersChatMessagesWithChatML() throws {
  let template = try ChatTemplate(ChatTemplate.chatML)
  let messages = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")]
  #expect(try template.render(messages: messages, addGenerationPrompt: true)
    == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
  #expect(throws: ChatTemplateError.emptyConversation) { try template.render(messages: []) }
}

@Test func toolsAndDocumentsDefaultToNoneAndExtraContextIsVisible() throws {
  let template = try ChatTemplate("{{ tools is none }} {{ documents is none }} {{ bos_token }}{{ eos_token }} {{ x }}")
  #expect(try template.render(messages: [ChatMessage(role: "user", content: "")], bosToken: "<s>", eosToken: "</s>",
    extraContext: ["x": 42]) == "True True <s></s> 42")
}

@Test func conversationDropsNoneValuesAndAliasesReasoning() throws {
  let template = try ChatTemplate("{% for m in messages %}{{ m | tojson }}{% endfor %}")
  let message: JinjaDictionary = ["role": "assistant", "content": .none, "reasoning": "because"]
  #expect(try template.render(conversation: [message])
    == #"{"thinking": "because", "role": "assistant", "reasoning": "because", "reasoning_content": "because"}"#)
}

@Test func loadsTemplatesFromJinjaAndTokenizerConfigFiles() throws {
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chat-template-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: directory) }
  let jinja = directory.appendingPathComponent("t.jinja")
  try "{{ messages[0].content }}!\n".write(to: jinja, atomically: true, encoding: .utf8)
  let config = directory.appendingPathComponent("tokenizer_config.json")
  try #"{"bos_token": "<s>", "chat_template": "{{ bos_token }}{{ messages | length }}"}"#
    .write(to: config, atomically: true, encoding: .utf8)
  let messages = [ChatMessage(role: "user", content: "hey")]
  #expect(try ChatTemplate(contentsOfFile: jinja.path).render(messages: messages) == "hey!")
  #expect(try ChatTemplate(contentsOfFile: config.path).render(messages: messages, bosToken: "<s>") == "<s>1")
}

@Test func jsonReaderKeepsKeyOrderAndNumberKinds() throws {
  let value = try JinjaValue(json: #"{"z": 1, "a": [1.0, 2, "\u00e9\ud83d\ude00", null, false]}"#)
  #expect(value.pythonRepr == "{'z': 1, 'a': [1.0, 2, 'é😀', None, False]}")
}

@Test func unknownFilterInsideIfFailsOnlyWhenReached() throws {
  // jinja2 defers the check inside `if` statements and inline if-expressions.
  let template = try ChatTemplate("{% if x is string %}{{ x | from_json }}{% else %}ok{% endif %}")
  #expect(try template.render(context: ["x": 1]) == "ok")
  #expect(throws: ChatTemplateError.unsupported("unsupported filter 'from_json'", line: 1)) {
    try template.render(context: ["x": "{}"])
  }
  #expect(throws: ChatTemplateError.unsupported("unsupported filter 'xmlattr'", line: 2)) {
    try ChatTemplate("{% for x in y %}\n{{ x | xmlattr }}{% endfor %}")
  }
}

@Test func macroOutputCountsOnceTowardTheOutputLimit() throws {
  var template = try ChatTemplate("{% macro m() %}{{ 'x' * 600 }}{% endmacro %}{{ m() }}")
  template.limits.maxOutputBytes = 1_000
  #expect(try template.render(context: [:]).count == 600)
  #expect(throws: ChatTemplateError.self) { try JinjaValue(json: String(repeating: "[", count: 10_000)) }
}
