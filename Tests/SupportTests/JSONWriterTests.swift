// JSONWriterTests.swift — every layout the writer offers, against text Python's json module wrote for the same
// values (Fixtures/json_styles.json, dumped by reference/make_json_fixtures.py).
import Foundation
import Testing
@testable import Support

private struct StyleFixture: Decodable {
  struct Case: Decodable {
    let input: String
    let style: String
    let expected: String
  }
  let python: String
  let inputs: [String: String]
  let cases: [Case]
}

private let styles: [String: JSONStyle] = [
  "python": .python(),
  "python_unicode": .python(ensureASCII: false),
  "python_indent2": .python(indent: 2),
  "python_indent_tab_sorted": .python(indent: "\t", sortKeys: true),
  "python_sorted_unicode": .python(ensureASCII: false, sortKeys: true),
  "serde_compact": .serdeCompact,
  "serde_pretty": .serdePretty,
]

@Test func everyStyleWritesWhatPythonsJsonModuleWrites() throws {
  let url = try #require(Bundle.module.url(forResource: "Fixtures/json_styles", withExtension: "json"))
  // Read with Foundation's decoder, so the expected texts do not pass through the code under test.
  let fixture = try JSONDecoder().decode(StyleFixture.self, from: Data(contentsOf: url))
  #expect(fixture.cases.count == fixture.inputs.count * styles.count)
  for testCase in fixture.cases {
    let style = try #require(styles[testCase.style])
    let value = try JSONValue.parse(try #require(fixture.inputs[testCase.input]))
    #expect(value.formatted(style) == testCase.expected, "\(testCase.input) in \(testCase.style)")
  }
}

@Test func customSeparatorsAsPythonTakesThem() {
  let value = JSONValue.object([("a", .array([.int(1), .int(2)])), ("b", .null)])
  // json.dumps({"a": [1, 2], "b": None}, separators=(";", "="))
  #expect(value.formatted(.python(separators: (";", "="))) == #"{"a"=[1;2];"b"=null}"#)
  // json.dumps(..., indent=0): newlines, no indentation.
  #expect(value.formatted(.python(indent: 0)) == "{\n\"a\": [\n1,\n2\n],\n\"b\": null\n}")
}

@Test func stringsQuoteOnTheirOwn() {
  #expect("tab\there \"é\" \u{1F}".jsonQuoted() == #""tab\there \"é\" \u001f""#)
  #expect("é😀".jsonQuoted(.python()) == #""\u00e9\ud83d\ude00""#)
}

@Test func sortingIsByCodePointAndKeepsRepeatedKeysInOrder() {
  let value = JSONValue.object([("b", .int(1)), ("\u{FFFF}", .int(2)), ("😀", .int(3)), ("b", .int(4)), ("B", .int(5))])
  #expect(value.formatted(.python(ensureASCII: false, sortKeys: true))
    == "{\"B\": 5, \"b\": 1, \"b\": 4, \"\u{FFFF}\": 2, \"😀\": 3}")
}

@Test func valuesRoundTripThroughEveryStyle() throws {
  let text = #"{"id": 12345678901234567890, "x": [1.10, -0.0, 1E400], "s": "\u0000é😀\"", "e": {}, "l": [[]]}"#
  let value = try JSONValue.parse(text)
  for style in styles.values where !style.sortsKeys {
    #expect(try JSONValue.parse(value.formatted(style)) == value)
  }
}

private struct Configuration: Encodable {
  enum Kind: String, Encodable { case lora = "LORA" }
  struct Rope: Encodable {
    let theta: Double
    let factor: Float
  }
  let peftType: Kind
  let r: Int
  let alpha: Double
  let rope: Rope
  let targets: [String]
  let revision: String?
  let ids: [Int?]
  enum CodingKeys: String, CodingKey { case peftType = "peft_type", r, alpha = "lora_alpha", rope, targets, revision, ids }
}

/// A type that adds a key after its wrapped value's own keys (as an export adds `dtype` to a configuration).
private struct Extended: Encodable {
  let base: Configuration
  func encode(to encoder: Encoder) throws {
    try base.encode(to: encoder)
    var container = encoder.container(keyedBy: Configuration.CodingKeys.self)
    try container.encode("float32", forKey: .revision)
  }
}

@Test func encodableValuesBecomeJSONValues() throws {
  let configuration = Configuration(peftType: .lora, r: 8, alpha: 16, rope: .init(theta: 10_000, factor: 0.1),
                                    targets: ["q_proj", "v_proj"], revision: nil, ids: [1, nil])
  let value = try JSONValue(encoding: configuration)
  // The text json.dumps(d, indent=2, sort_keys=True) gives for the same dict (nil optionals are left out).
  #expect(value.formatted(.python(indent: 2, sortKeys: true)) == """
    {
      "ids": [
        1,
        null
      ],
      "lora_alpha": 16.0,
      "peft_type": "LORA",
      "r": 8,
      "rope": {
        "factor": 0.1,
        "theta": 10000.0
      },
      "targets": [
        "q_proj",
        "v_proj"
      ]
    }
    """)
  // Keys stay in encoding order until a layout sorts them; a second container on the same encoder adds to the first.
  let extended = try JSONValue(encoding: Extended(base: configuration))
  #expect(extended.objectValue?.map(\.key) == ["peft_type", "r", "lora_alpha", "rope", "targets", "ids", "revision"])
  // A dictionary has no order of its own: its keys come out sorted, at the top and nested.
  #expect(try JSONValue(encoding: ["b": 1, "c": 2, "a": 3]).formatted(.serdeCompact) == #"{"a":3,"b":1,"c":2}"#)
  #expect(try JSONValue(encoding: [["y": 1, "x": 2]]).formatted(.serdeCompact) == #"[{"x":2,"y":1}]"#)
  let nonFinite = [Double.nan, .infinity, -.infinity, 0.5]
  #expect(try JSONValue(encoding: nonFinite).formatted(.serdeCompact) == "[NaN,Infinity,-Infinity,0.5]")
  #expect(try JSONValue(encoding: nonFinite, nonFiniteAsStrings: true).formatted(.serdeCompact)
    == #"["NaN","Infinity","-Infinity",0.5]"#)
  #expect(try JSONValue(encoding: [1.5, 2]).formatted(.serdeCompact) == "[1.5,2.0]")
}
