// ROUGE.swift — ROUGE-1, ROUGE-2 and ROUGE-L as Google's `rouge-score` package (0.1.2) computes them with
// `use_stemmer=True`: its tokenizer, n-gram overlap, longest common subsequence, F-measure. Pinned by
// reference/make_rouge_fixtures.py.

/// Precision, recall and F-measure of one ROUGE variant for one prediction against one reference.
public struct ROUGEScore: Equatable, Sendable {
  public var precision: Double
  public var recall: Double
  public var fmeasure: Double

  public static let zero = ROUGEScore(precision: 0, recall: 0, fmeasure: 0)
}

// In an extension, so the memberwise init stays synthesized.
extension ROUGEScore {
  /// rouge-score's `scoring.fmeasure`: 2PR / (P + R), 0 when both are 0.
  init(precision: Double, recall: Double) {
    self.init(precision: precision, recall: recall,
              fmeasure: precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0)
  }
}

/// The three variants `orpo rouge` reports, under rouge-score's names.
public struct ROUGEScores: Equatable, Sendable {
  public var rouge1: ROUGEScore
  public var rouge2: ROUGEScore
  public var rougeL: ROUGEScore
}

/// `ROUGEScorer().score(reference:prediction:)` equals
/// `rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(target, prediction)`.
public struct ROUGEScorer: Sendable {
  public var useStemmer: Bool
  private let stemmer = PorterStemmer()

  public init(useStemmer: Bool = true) {
    self.useStemmer = useStemmer
  }

  /// rouge-score's `tokenize.tokenize`: lower-case, every character outside [a-z0-9] becomes a separator, tokens
  /// longer than three characters are Porter-stemmed.
  public func tokenize(_ text: String) -> [String] {
    var tokens: [String] = []
    var current = String.UnicodeScalarView()
    func flush() {
      guard !current.isEmpty else { return }
      let token = String(current)
      tokens.append(useStemmer && current.count > 3 ? stemmer.stem(token) : token)
      current = String.UnicodeScalarView()
    }
    for scalar in text.unicodeScalars {
      // Python's str.lower() followed by re.sub("[^a-z0-9]+", " "). Outside ASCII only two code points lower-case
      // to something in [a-z0-9] (checked over all of Unicode with Python 3.11): U+0130 İ → "i" + U+0307 (a
      // separator), and U+212A KELVIN SIGN → "k".
      switch scalar.value {
      case 0x61...0x7A, 0x30...0x39: current.append(scalar)
      case 0x41...0x5A: current.append(Unicode.Scalar(scalar.value + 0x20)!)
      case 0x212A: current.append("k")
      case 0x130:
        current.append("i")
        flush()
      default: flush()
      }
    }
    flush()
    // rouge-score drops tokens that are not [a-z0-9]+ after stemming; a Porter stem of [a-z0-9]+ always is, and
    // an empty one cannot occur (stems of words longer than three letters keep at least one).
    return tokens.filter { !$0.isEmpty }
  }

  public func score(reference: String, prediction: String) -> ROUGEScores {
    score(referenceTokens: tokenize(reference), predictionTokens: tokenize(prediction))
  }

  public func score(referenceTokens: [String], predictionTokens: [String]) -> ROUGEScores {
    // Interning tokens as integers keeps n-gram counting and the LCS table cheap on long texts.
    var ids: [String: Int] = [:]
    let reference = referenceTokens.map { token in ids[token] ?? { ids[token] = ids.count; return ids.count - 1 }() }
    let prediction = predictionTokens.map { token in ids[token] ?? { ids[token] = ids.count; return ids.count - 1 }() }
    return ROUGEScores(rouge1: Self.ngramScore(reference, prediction, n: 1),
                       rouge2: Self.ngramScore(reference, prediction, n: 2),
                       rougeL: Self.lcsScore(reference, prediction))
  }

  /// rouge-score's `_score_ngrams`: clipped n-gram overlap over max(count, 1).
  static func ngramScore(_ reference: [Int], _ prediction: [Int], n: Int) -> ROUGEScore {
    func counts(_ tokens: [Int]) -> [ArraySlice<Int>: Int] {
      var result: [ArraySlice<Int>: Int] = [:]
      if tokens.count >= n {
        for start in 0...(tokens.count - n) { result[tokens[start..<(start + n)], default: 0] += 1 }
      }
      return result
    }
    let referenceCounts = counts(reference), predictionCounts = counts(prediction)
    var overlap = 0
    for (ngram, count) in referenceCounts { overlap += min(count, predictionCounts[ngram] ?? 0) }
    let referenceTotal = max(reference.count - n + 1, 0), predictionTotal = max(prediction.count - n + 1, 0)
    return ROUGEScore(precision: Double(overlap) / Double(max(predictionTotal, 1)),
                      recall: Double(overlap) / Double(max(referenceTotal, 1)))
  }

  /// rouge-score's `_score_lcs`: longest common subsequence over the prediction's and the reference's lengths.
  static func lcsScore(_ reference: [Int], _ prediction: [Int]) -> ROUGEScore {
    guard !reference.isEmpty && !prediction.isEmpty else { return .zero }
    let length = lcsLength(reference, prediction)
    return ROUGEScore(precision: Double(length) / Double(prediction.count),
                      recall: Double(length) / Double(reference.count))
  }

  /// The classic dynamic programme, two rows at a time.
  static func lcsLength(_ a: [Int], _ b: [Int]) -> Int {
    var previous = [Int](repeating: 0, count: b.count + 1)
    var row = previous
    for i in 1...a.count {
      for j in 1...b.count {
        row[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : max(previous[j], row[j - 1])
      }
      swap(&previous, &row)
    }
    return previous[b.count]
  }

  /// Mean F-measures over aligned predictions and references (what `orpo rouge` prints).
  public func meanFMeasures(predictions: [String], references: [String]) -> (rouge1: Double, rouge2: Double, rougeL: Double) {
    precondition(predictions.count == references.count, "one prediction per reference")
    guard !predictions.isEmpty else { return (0, 0, 0) }
    var sums = (0.0, 0.0, 0.0)
    for (prediction, reference) in zip(predictions, references) {
      let s = score(reference: reference, prediction: prediction)
      sums.0 += s.rouge1.fmeasure
      sums.1 += s.rouge2.fmeasure
      sums.2 += s.rougeL.fmeasure
    }
    let n = Double(predictions.count)
    return (sums.0 / n, sums.1 / n, sums.2 / n)
  }
}
