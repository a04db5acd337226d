// The hand-written pre-tokenizer matchers against splits worked out by hand from the regexes (and checked
// with Hugging Face's pre_tokenize_str), plus the NSRegularExpression fallback and split behaviors.
import Foundation
import Testing
@testable import Tokenization

@Suite struct SplitPatternTests {
  func split(_ pattern: SplitPattern, _ text: String) -> [String] {
    let scalars = Array(text.unicodeScalars)
    return pattern.matchRanges(in: scalars).map { String(scalars: scalars[$0]) }
  }

  @Test func gpt2() {
    let p = GPT2Pattern()
    #expect(split(p, "Hello world") == ["Hello", " world"])
    #expect(split(p, "I'm here, it's 2024!") == ["I", "'m", " here", ",", " it", "'s", " 2024", "!"])
    #expect(split(p, "I'M") == ["I", "'", "M"])  // contractions are case-sensitive in GPT-2
    #expect(split(p, "a   b") == ["a", "  ", " b"])  // \s+(?!\S) leaves one space for the word
    #expect(split(p, "a \tb") == ["a", " ", "\t", "b"])
    #expect(split(p, "x  ") == ["x", "  "])
    #expect(split(p, " \n") == [" \n"])
    #expect(split(p, "3.14") == ["3", ".", "14"])
    #expect(split(p, "日本語 テキスト") == ["日本語", " テキスト"])
    #expect(split(p, " 😀😀 x") == [" 😀😀", " x"])
  }

  @Test func llama3AndQwen2() {
    let llama = Llama3Pattern(maximumDigits: 3)
    let qwen = Llama3Pattern(maximumDigits: 1)
    #expect(split(llama, "I'M HERE") == ["I", "'M", " HERE"])
    #expect(split(llama, "'ſa") == ["'ſ", "a"])  // Oniguruma case-folds ſ to s
    #expect(split(llama, "12345") == ["123", "45"])
    #expect(split(qwen, "123") == ["1", "2", "3"])
    #expect(split(llama, "(hello)") == ["(hello", ")"])  // the optional non-letter prefix
    #expect(split(llama, "\thello") == ["\thello"])  // [^\r\n\p{L}\p{N}]?\p{L}+ takes a tab
    #expect(split(llama, "\nhello") == ["\n", "hello"])
    #expect(split(llama, "a.\n\nb") == ["a", ".\n\n", "b"])
    #expect(split(llama, "x  \n  y") == ["x", "  \n", " ", " y"])
    #expect(split(llama, "x   y") == ["x", "  ", " y"])
    #expect(split(llama, "  ") == ["  "])
  }

  @Test func fallbackRegexAndBehaviors() throws {
    let regex = try FoundationRegexPattern("[0-9]+")
    let scalars = Array("ab12cd345".unicodeScalars)
    let pieces = regex.pieces(of: scalars)
    #expect(pieces.map(\.isMatch) == [false, true, false, true])
    func texts(_ b: SplitBehavior) -> [String] { b.ranges(pieces).map { String(scalars: scalars[$0]) } }
    #expect(texts(.isolated) == ["ab", "12", "cd", "345"])
    #expect(texts(.removed) == ["ab", "cd"])
    #expect(texts(.mergedWithPrevious) == ["ab12", "cd345"])
    #expect(texts(.mergedWithNext) == ["ab", "12cd", "345"])
    #expect(texts(.contiguous) == ["ab", "12", "cd", "345"])
    // Emoji outside the BMP: UTF-16 offsets map back to scalar indices.
    #expect(split(try FoundationRegexPattern("\\p{So}+"), "a😀😀b😀") == ["😀😀", "😀"])
  }

  /// A custom pattern longer than 256 UTF-16 units (where Foundation's regex creation leaks its copy of the
  /// pattern; Sources/Support/RegexCache.swift) is compiled once however often a tokenizer using it loads.
  @Test func aLongCustomPatternIsCompiledOncePerProcess() throws {
    let alternatives = (0..<60).map { "w\($0)x" }  // w0x|w1x|…|w59x: 289 characters
    let pattern = alternatives.joined(separator: "|")
    #expect(pattern.utf16.count > 256)
    let first = try FoundationRegexPattern(pattern)
    let second = try FoundationRegexPattern(pattern)
    #expect(first.regex === second.regex)
    #expect(split(first, "aw7xbw59xw60x") == ["w7x", "w59x"])
  }
}

@Suite struct SplitPatternSpeedTests {
  /// The hand-written matchers agree with ICU on the corpus (except U+000B/U+0085, which ICU's \s leaves out
  /// and Oniguruma's includes) and are much faster; the measured ratio is printed.
  @Test(arguments: [("gpt2", KnownPattern.gpt2), ("llama3", KnownPattern.llama3), ("qwen2", KnownPattern.qwen2)])
  func handWrittenMatchersAgreeWithICUAndAreFaster(name: String, source: String) throws {
    let handWritten = try KnownPattern.matcher(for: source)
    let icu = try FoundationRegexPattern(source)
    let texts = Fixtures.corpus.filter { !$0.unicodeScalars.contains { $0.value == 0x0B || $0.value == 0x85 } }
      .map { Array($0.unicodeScalars) }
    for text in texts {
      #expect(handWritten.matchRanges(in: text) == icu.matchRanges(in: text), "\(String(scalars: text).debugDescription)")
    }
    func time(_ pattern: SplitPattern) -> Double {
      let start = Date()
      for _ in 0..<5 { for text in texts { _ = pattern.matchRanges(in: text) } }
      return Date().timeIntervalSince(start)
    }
    let fast = time(handWritten), slow = time(icu)
    print("\(name) split: hand-written \(String(format: "%.4f", fast)) s, NSRegularExpression \(String(format: "%.4f", slow)) s, ratio \(String(format: "%.1f", slow / fast))x")
    #expect(fast < slow)
  }
}
