// PorterStemmer.swift — NLTK's Porter stemmer in its default NLTK_EXTENSIONS mode, ported rule for rule from
// nltk/stem/porter.py (nltk 3.10): rouge-score stems every token longer than three characters with it.

/// `PorterStemmer().stem("generalizations") == "gener"`, as `nltk.stem.porter.PorterStemmer().stem` returns.
/// Words are handled as arrays of Unicode scalars, as Python indexes a `str`; the lower-casing of non-ASCII input
/// is Swift's (rouge-score only ever passes `[a-z0-9]+` tokens, for which it is exact).
public struct PorterStemmer: Sendable {
  public init() {}

  public func stem(_ word: String) -> String {
    let lower = word.lowercased()
    if let irregular = Self.irregularForms[lower] { return irregular }
    // "strings of length 1 or 2 don't go through the stemming process" (NLTK and Martin Porter's versions).
    if word.unicodeScalars.count <= 2 { return lower }
    var w = Array(lower.unicodeScalars)
    w = step1a(w)
    w = step1b(w)
    w = step1c(w)
    w = step2(w)
    w = step3(w)
    w = step4(w)
    w = step5a(w)
    w = step5b(w)
    return String(String.UnicodeScalarView(w))
  }

  typealias Word = [Unicode.Scalar]

  /// "A table of irregular forms … the errors actually drawn to Martin Porter's attention over a 20 year period".
  static let irregularForms: [String: String] = [
    "sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie", "news": "news",
    "innings": "inning", "inning": "inning", "outings": "outing", "outing": "outing", "cannings": "canning",
    "canning": "canning", "howe": "howe", "proceed": "proceed", "exceed": "exceed", "succeed": "succeed",
  ]

  // MARK: consonants, measure, conditions

  private static func isVowelLetter(_ c: Unicode.Scalar) -> Bool {
    c == "a" || c == "e" || c == "i" || c == "o" || c == "u"
  }

  /// A consonant is a letter other than a, e, i, o, u, and other than a y preceded by a consonant.
  static func isConsonant(_ word: Word, _ index: Int) -> Bool {
    if isVowelLetter(word[index]) { return false }
    guard word[index] == "y" else { return true }
    var i = index, negate = false
    while i > 0 && word[i] == "y" {  // a run of y's alternates
      negate.toggle()
      i -= 1
    }
    return !isVowelLetter(word[i]) != negate
  }

  /// One flag per letter, true for a consonant (porter.py's `_consonant_flags`).
  static func consonantFlags(_ word: Word) -> [Bool] {
    var flags: [Bool] = []
    flags.reserveCapacity(word.count)
    for (i, c) in word.enumerated() {
      if isVowelLetter(c) { flags.append(false) }
      else if c == "y" { flags.append(i == 0 ? true : !flags[i - 1]) }
      else { flags.append(true) }
    }
    return flags
  }

  /// m in [C](VC){m}[V]: the number of vowel→consonant transitions.
  static func measure(_ stem: Word) -> Int {
    let flags = consonantFlags(stem)
    var m = 0
    for i in flags.indices.dropLast() where !flags[i] && flags[i + 1] { m += 1 }
    return m
  }

  static func hasPositiveMeasure(_ stem: Word) -> Bool { measure(stem) > 0 }

  static func containsVowel(_ stem: Word) -> Bool { consonantFlags(stem).contains(false) }

  /// *d: ends with a double consonant.
  static func endsDoubleConsonant(_ word: Word) -> Bool {
    word.count >= 2 && word[word.count - 1] == word[word.count - 2] && isConsonant(word, word.count - 1)
  }

  /// *o: ends consonant-vowel-consonant, the last not w, x or y; NLTK also counts a two-letter vowel-consonant word.
  static func endsCVC(_ word: Word) -> Bool {
    let n = word.count
    if n >= 3 && isConsonant(word, n - 3) && !isConsonant(word, n - 2) && isConsonant(word, n - 1)
      && word[n - 1] != "w" && word[n - 1] != "x" && word[n - 1] != "y" {
      return true
    }
    return n == 2 && !isConsonant(word, 0) && isConsonant(word, 1)
  }

  // MARK: rules

  /// A suffix-removal rule: the suffix (or *d, "ends with a double consonant"), its replacement, and the condition
  /// on the stem (nil: unconditional).
  struct Rule {
    enum Suffix { case literal(Word), doubleConsonant }
    var suffix: Suffix
    var replacement: Word
    var condition: ((Word) -> Bool)?

    init(_ suffix: String, _ replacement: String, _ condition: ((Word) -> Bool)? = nil) {
      self.suffix = .literal(Array(suffix.unicodeScalars))
      self.replacement = Array(replacement.unicodeScalars)
      self.condition = condition
    }

    init(doubleConsonantTo replacement: Word, _ condition: @escaping (Word) -> Bool) {
      self.suffix = .doubleConsonant
      self.replacement = replacement
      self.condition = condition
    }
  }

  static func ends(_ word: Word, with suffix: Word) -> Bool {
    word.count >= suffix.count && word[(word.count - suffix.count)...].elementsEqual(suffix)
  }

  static func ends(_ word: Word, with suffix: String) -> Bool { ends(word, with: Array(suffix.unicodeScalars)) }

  static func replacingSuffix(_ word: Word, _ count: Int, with replacement: String) -> Word {
    Array(word.dropLast(count)) + Array(replacement.unicodeScalars)
  }

  /// The first rule whose suffix matches decides: its replacement if the condition holds, else the word unchanged
  /// (porter.py's `_apply_rule_list`).
  static func applyFirstMatching(_ word: Word, _ rules: [Rule]) -> Word {
    for rule in rules {
      let stem: Word
      switch rule.suffix {
      case .doubleConsonant:
        guard endsDoubleConsonant(word) else { continue }
        stem = Array(word.dropLast(2))
      case .literal(let suffix):
        guard ends(word, with: suffix) else { continue }
        stem = Array(word.dropLast(suffix.count))
      }
      if rule.condition?(stem) ?? true { return stem + rule.replacement }
      return word
    }
    return word
  }

  // MARK: steps

  /// sses → ss, ies → i, ss → ss, s → ""; NLTK: a four-letter word in -ies keeps -ie ("dies" → "die").
  func step1a(_ word: Word) -> Word {
    if Self.ends(word, with: "ies") && word.count == 4 { return Self.replacingSuffix(word, 3, with: "ie") }
    return Self.applyFirstMatching(word, [Rule("sses", "ss"), Rule("ies", "i"), Rule("ss", "ss"), Rule("s", "")])
  }

  /// (m>0) eed → ee; (*v*) ed → "", (*v*) ing → "", then at → ate, bl → ble, iz → ize, a double consonant other
  /// than l, s, z → single, (m=1 and *o) → +e. NLTK: -ied → -ie (four letters) or -i.
  func step1b(_ word: Word) -> Word {
    if Self.ends(word, with: "ied") {
      return Self.replacingSuffix(word, 3, with: word.count == 4 ? "ie" : "i")
    }
    if Self.ends(word, with: "eed") {
      let stem = Array(word.dropLast(3))
      return Self.measure(stem) > 0 ? stem + Array("ee".unicodeScalars) : word
    }
    var intermediate: Word? = nil
    for suffix in ["ed", "ing"] where Self.ends(word, with: suffix) {
      let stem = Array(word.dropLast(suffix.unicodeScalars.count))
      if Self.containsVowel(stem) {
        intermediate = stem
        break
      }
    }
    guard let stem = intermediate else { return word }
    let last = stem[stem.count - 1]
    return Self.applyFirstMatching(stem, [
      Rule("at", "ate"), Rule("bl", "ble"), Rule("iz", "ize"),
      Rule(doubleConsonantTo: [last]) { _ in last != "l" && last != "s" && last != "z" },
      Rule("", "e") { Self.measure($0) == 1 && Self.endsCVC($0) },
    ])
  }

  /// NLTK: y → i when preceded by a consonant that is not the whole stem ("happy" → "happi", "enjoy" stays).
  func step1c(_ word: Word) -> Word {
    Self.applyFirstMatching(word, [Rule("y", "i") { $0.count > 1 && Self.isConsonant($0, $0.count - 1) }])
  }

  /// (m>0) ational → ate, tional → tion, … ; NLTK applies alli → al first and then step 2 again, uses bli → ble
  /// (not abli → able), and adds fulli → ful and logi → log (with the l counted in the stem).
  func step2(_ word: Word) -> Word {
    let positive = Self.hasPositiveMeasure
    if Self.ends(word, with: "alli") && positive(Array(word.dropLast(4))) {
      return step2(Self.replacingSuffix(word, 4, with: "al"))
    }
    return Self.applyFirstMatching(word, [
      Rule("ational", "ate", positive), Rule("tional", "tion", positive), Rule("enci", "ence", positive),
      Rule("anci", "ance", positive), Rule("izer", "ize", positive), Rule("bli", "ble", positive),
      Rule("alli", "al", positive), Rule("entli", "ent", positive), Rule("eli", "e", positive),
      Rule("ousli", "ous", positive), Rule("ization", "ize", positive), Rule("ation", "ate", positive),
      Rule("ator", "ate", positive), Rule("alism", "al", positive), Rule("iveness", "ive", positive),
      Rule("fulness", "ful", positive), Rule("ousness", "ous", positive), Rule("aliti", "al", positive),
      Rule("iviti", "ive", positive), Rule("biliti", "ble", positive), Rule("fulli", "ful", positive),
      Rule("logi", "log") { _ in positive(Array(word.dropLast(3))) },
    ])
  }

  /// (m>0) icate → ic, ative → "", alize → al, iciti → ic, ical → ic, ful → "", ness → "".
  func step3(_ word: Word) -> Word {
    let positive = Self.hasPositiveMeasure
    return Self.applyFirstMatching(word, [
      Rule("icate", "ic", positive), Rule("ative", "", positive), Rule("alize", "al", positive),
      Rule("iciti", "ic", positive), Rule("ical", "ic", positive), Rule("ful", "", positive),
      Rule("ness", "", positive),
    ])
  }

  /// (m>1) al, ance, ence, er, ic, able, ible, ant, ement, ment, ent, ion (after s or t), ou, ism, ate, iti, ous,
  /// ive, ize → "".
  func step4(_ word: Word) -> Word {
    let above1: (Word) -> Bool = { Self.measure($0) > 1 }
    let rules = ["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent"].map { Rule($0, "", above1) }
      + [Rule("ion", "") { Self.measure($0) > 1 && ($0.last == "s" || $0.last == "t") }]
      + ["ou", "ism", "ate", "iti", "ous", "ive", "ize"].map { Rule($0, "", above1) }
    return Self.applyFirstMatching(word, rules)
  }

  /// (m>1) e → ""; (m=1 and not *o) e → "".
  func step5a(_ word: Word) -> Word {
    guard word.last == "e" else { return word }
    let stem = Array(word.dropLast())
    let m = Self.measure(stem)
    if m > 1 || (m == 1 && !Self.endsCVC(stem)) { return stem }
    return word
  }

  /// (m>1 and *d and *l) → single letter: "controll" → "control" (the measure is taken on the word less one l).
  func step5b(_ word: Word) -> Word {
    Self.applyFirstMatching(word, [Rule("ll", "l") { _ in Self.measure(Array(word.dropLast())) > 1 }])
  }
}
