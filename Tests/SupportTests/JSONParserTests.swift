// JSONParserTests.swift — the one JSON parser: values, kept number text, duplicate-key lookups, and errors that
// say where (byte offsets, nesting cap, UTF-8, surrogates).
import Foundation
import Testing
@testable import Support

private func parse(_ text: String, _ options: JSONParser.Options = .init()) throws -> JSONValue {
  try JSONValue.parse(text, options: options)
}

/// The error parsing `bytes` throws (nil if it parses).
private func syntaxError(_ bytes: [UInt8], _ options: JSONParser.Options = .init()) -> JSONSyntaxError? {
  do {
    _ = try JSONValue.parse(bytes, options: options)
    return nil
  } catch {
    return error as? JSONSyntaxError
  }
}

private func syntaxError(_ text: String, _ options: JSONParser.Options = .init()) -> JSONSyntaxError? {
  syntaxError(Array(text.utf8), options)
}

@Test func parsesEveryKindOfValue() throws {
  let value = try parse(#" { "a" : [1, -2.5e3, true, false, null, "x"], "b": {} } "#)
  guard case .object(let members) = value else { Issue.record("not an object"); return }
  #expect(members.map(\.key) == ["a", "b"])
  #expect(value[first: "a"]?.arrayValue?.count == 6)
  #expect(value[first: "a"]?.arrayValue?[1].doubleValue == -2500)
  #expect(value[first: "a"]?.arrayValue?[2].boolValue == true)
  #expect(value[first: "a"]?.arrayValue?[4].isNull == true)
  #expect(value[first: "a"]?.arrayValue?[5].stringValue == "x")
  #expect(value[first: "b"]?.objectValue?.isEmpty == true)
  #expect(value[first: "missing"] == nil)
  #expect(try parse("[]") == .array([]))
  #expect(try parse("\"\"") == .string(""))
}

@Test func numbersKeepTheirText() throws {
  let value = try parse("[12345678901234567890, 9007199254740993, 1.0, 1E+2, -0, 0.10000000000000000001]")
  let texts = value.arrayValue!.map { $0.numberValue!.text }
  #expect(texts == ["12345678901234567890", "9007199254740993", "1.0", "1E+2", "-0", "0.10000000000000000001"])
  // Written back, each number is exactly as it was read (Python prints the first two the same way).
  #expect(value.formatted(.serdeCompact) == "[12345678901234567890,9007199254740993,1.0,1E+2,-0,0.10000000000000000001]")
  let numbers = value.arrayValue!.map { $0.numberValue! }
  #expect(numbers[0].integer == nil)  // beyond Int
  #expect(numbers[1].integer == 9_007_199_254_740_993)  // exact, though no Double holds it
  #expect(numbers[2].integer == nil && numbers[2].wholeNumber == 1 && !numbers[2].isInteger)
  #expect(numbers[3].wholeNumber == 100)
  #expect(numbers[5].double == 0.1)
  #expect(JSONNumber(text: "01") == nil && JSONNumber(text: "1.") == nil && JSONNumber(text: "+1") == nil)
  #expect(JSONNumber(text: "-1.5e-7")?.double == -1.5e-7)
}

@Test func numbersMadeFromDoublesReadAsPythonWritesThem() {
  // Python 3.11: repr(x) for each.
  let cases: [(Double, String)] = [
    (1, "1.0"), (-0.0, "-0.0"), (0.1, "0.1"), (1e-5, "1e-05"), (0.0001, "0.0001"), (1e16, "1e+16"),
    (9_248_525_152_870_816, "9248525152870816.0"), (123456789.125, "123456789.125"), (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"), (.nan, "NaN"), (.infinity, "Infinity"),
    (-.infinity, "-Infinity"),
  ]
  for (value, text) in cases { #expect(JSONNumber(value).text == text, "\(value)") }
  #expect(JSONNumber(Float(0.1)).text == "0.1")
  #expect(JSONNumber(42).text == "42")
}

@Test func duplicateKeysFollowThePolicyTheLookupNames() throws {
  let value = try parse(#"{"k": 1, "other": 2, "k": 3}"#)
  #expect(value.objectValue?.count == 3)  // both kept, in order
  #expect(value[first: "k"]?.intValue == 1)
  #expect(value[last: "k"]?.intValue == 3)
  #expect(throws: JSONDuplicateKeyError(key: "k")) { try value.value(forKey: "k", duplicates: .reject) }
  #expect(try value.value(forKey: "other", duplicates: .reject)?.intValue == 2)
  #expect(try value.value(forKey: "none", duplicates: .reject) == nil)
}

@Test func keysCompareByCodePointsNotCanonicalEquivalence() throws {
  // "é" precomposed and "e" + combining acute are equal Swift strings but different JSON keys.
  let value = try parse("{\"\u{E9}\": 1, \"e\u{301}\": 2}")
  #expect(value[first: "e\u{301}"]?.intValue == 2)
  #expect(value[first: "\u{E9}"]?.intValue == 1)
}

@Test func escapesAndSurrogatePairsDecode() throws {
  let value = try parse(#"["\"\\\/\b\f\n\r\t", "\u00e9\ud83d\ude00", "a\u0000b"]"#)
  #expect(value.arrayValue!.map { $0.stringValue! } == ["\"\\/\u{8}\u{C}\n\r\t", "é😀", "a\u{0}b"])
}

@Test func loneSurrogatesAreReplacedOrRefused() throws {
  #expect(try parse(#"["\ud800", "\udc00x", "\ud800\u0041"]"#).arrayValue!.map { $0.stringValue! }
    == ["\u{FFFD}", "\u{FFFD}x", "\u{FFFD}A"])
  let strict = JSONParser.Options(replacesLoneSurrogates: false)
  let error = syntaxError(#"["ok", "\udc00"]"#, strict)
  #expect(error?.message == "unpaired surrogate escape in a string")
  #expect(error?.offset == 8)
  #expect(syntaxError(#""\ud800x""#, strict)?.offset == 1)
}

@Test func invalidUTF8IsAnErrorAtTheStringsQuote() {
  var bytes = Array(#"{"key": "abc"}"#.utf8)
  bytes[10] = 0xFF
  #expect(syntaxError(bytes) == JSONSyntaxError(offset: 8, message: "invalid UTF-8 in a string"))
  bytes = Array(#"["\n", "ok"]"#.utf8) + [0xC3]  // a truncated sequence after the value
  #expect(syntaxError(bytes)?.message == "unexpected byte 0xC3 after the value")
  // An overlong encoding of "/" and a UTF-16 surrogate written as UTF-8 are not UTF-8 either.
  #expect(syntaxError([0x22, 0xC0, 0xAF, 0x22])?.message == "invalid UTF-8 in a string")
  #expect(syntaxError([0x22, 0xED, 0xA0, 0x80, 0x22])?.message == "invalid UTF-8 in a string")
  #expect(syntaxError([0x22, 0x5C, 0x6E, 0xFF, 0x22])?.message == "invalid UTF-8 in a string")  // after an escape
}

@Test func errorsNameTheByteAndSayWhatWasExpected() {
  let cases: [(String, Int, String)] = [
    ("", 0, "unexpected end of input, expected a value"),
    ("[1, 2", 5, "expected ',' or ']' in a list, found end of input"),
    ("[1 2]", 3, "expected ',' or ']' in a list, found character '2'"),
    ("{\"a\" 1}", 5, "expected ':' after an object key, found character '1'"),
    ("{\"a\": 1,}", 8, "expected a string key, found character '}'"),
    ("{\"a\": 1} x", 9, "unexpected character 'x' after the value"),
    ("[tru]", 1, "unexpected character 't', expected a value"),
    ("[01]", 2, "expected ',' or ']' in a list, found character '1'"),
    ("[1.]", 3, "invalid number: no digit after '.'"),
    ("[1e+]", 4, "invalid number: no exponent digits"),
    ("[-]", 2, "invalid number"),
    ("[\"a\tb\"]", 3, "unescaped control character in a string"),
    ("[\"\\x\"]", 3, "invalid escape '\\x' in a string"),
    ("[\"\\u12G4\"]", 6, "invalid \\u escape"),
    ("  [\"abc", 3, "unterminated string"),
    ("[+1]", 1, "unexpected character '+', expected a value"),
  ]
  for (text, offset, message) in cases {
    let error = syntaxError(text)
    #expect(error?.offset == offset, "\(text)")
    #expect(error?.message == message, "\(text)")
  }
  #expect(syntaxError("  [\"abc")?.atEndOfInput == true)
  #expect(syntaxError("[1 2]")?.atEndOfInput == false)
}

@Test func errorsLocateLineAndColumn() {
  let text = "{\n  \"a\": 1,\n  \"b\": ]\n}"
  let error = syntaxError(text)!
  #expect(error.offset == 19)
  var bytes = Array(text.utf8)
  bytes.withUnsafeMutableBufferPointer { buffer in
    let located = error.located(in: UnsafeBufferPointer(buffer))
    #expect(located == "line 3, column 8: unexpected character ']', expected a value")
  }
  #expect(error.description == "unexpected character ']', expected a value at byte 19")
}

@Test func nestingIsCapped() {
  let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
  let error = syntaxError(deep)
  #expect(error == JSONSyntaxError(offset: 512, message: "nesting deeper than 512 levels"))
  let options = JSONParser.Options(maximumDepth: 3)
  #expect((try? parse("[[[1]]]", options)) != nil)
  #expect((try? parse(#"{"a": [{"b": 1}]}"#, options)) != nil)
  #expect(syntaxError(#"{"a": [{"b": [1]}]}"#, options)?.message == "nesting deeper than 3 levels")
}

@Test func listLengthsCanBeCapped() {
  let options = JSONParser.Options(maximumListCount: 3)
  #expect((try? parse("[1, 2, 3]", options)) != nil)
  #expect(syntaxError("[1, 2, 3, 4]", options) == JSONSyntaxError(offset: 10, message: "list longer than 3 elements"))
}

@Test func theCursorReadsMembersAndElementsAsTheyCome() throws {
  var bytes = Array(#"  {"rows": [{"x": 1}, {"x": 2}], "n": 2}  "#.utf8)
  try bytes.withUnsafeMutableBufferPointer { buffer in
    var parser = JSONParser(bytes: UnsafeBufferPointer(buffer))
    parser.skipWhitespace()
    var keys: [String] = []
    try parser.parseObject { key, _ in keys.append(key) }
    try parser.expectEnd()
    #expect(keys == ["rows", "n"])

    var rows = JSONParser(bytes: UnsafeBufferPointer(buffer), start: 11)
    var starts: [Int] = []
    var xs: [Int] = []
    try rows.parseArray({ xs.append($0[first: "x"]!.intValue!) }, elementStart: { starts.append($0) })
    #expect(xs == [1, 2] && starts == [12, 22])
    #expect(rows.current == UInt8(ascii: ","))
  }
}

@Test func parsesFromEveryKindOfBuffer() throws {
  let expected = JSONValue.object([("a", .int(1))])
  #expect(try JSONValue.parse(#"{"a": 1}"#) == expected)
  #expect(try JSONValue.parse(Data(#"{"a": 1}"#.utf8)) == expected)
  #expect(try JSONValue.parse(Array(#"{"a": 1}"#.utf8)) == expected)
  let file = MappedFile(copying: Array(#"{"a": 1}"#.utf8))
  #expect(try JSONValue.parse(file.utf8) == expected)
}
