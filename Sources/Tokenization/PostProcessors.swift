// Post-processors from tokenizer.json (TemplateProcessing, RobertaProcessing, BertProcessing, ByteLevel,
// Sequence): with addSpecialTokens they wrap a single sequence's ids in BOS/EOS/CLS/SEP tokens.
import Foundation
import Support

indirect enum PostProcessor: PipelinePart {
  /// Template items: either the sequence itself or the ids of a named special token.
  enum TemplateItem { case sequence, special([Int]) }

  case template([TemplateItem])
  case wrap(prefix: [Int], suffix: [Int])
  case identity
  case sequence([PostProcessor])

  func process(_ ids: [Int], addSpecialTokens: Bool) -> [Int] {
    guard addSpecialTokens else { return ids }
    switch self {
    case .identity: return ids
    case .wrap(let prefix, let suffix): return prefix + ids + suffix
    case .template(let items):
      var out: [Int] = []
      for item in items {
        switch item {
        case .sequence: out += ids
        case .special(let special): out += special
        }
      }
      return out
    case .sequence(let steps):
      return steps.reduce(ids) { current, step in step.process(current, addSpecialTokens: true) }
    }
  }

  /// Ids this processor adds in front of / after a single sequence (used to describe BOS/EOS rules).
  var addedIDs: (prefix: [Int], suffix: [Int]) {
    let marker = -1
    let out = process([marker], addSpecialTokens: true)
    guard let index = out.firstIndex(of: marker) else { return (out, []) }
    return (Array(out[..<index]), Array(out[(index + 1)...]))
  }

  static let field = "post_processor"
  static let sequenceKey = "processors"

  /// One part of a type other than "Sequence" (see `PipelinePart.parse`).
  static func part(type: String, json: JSONValue, file: String, field: String) throws -> PostProcessor {
    switch type {
    case "ByteLevel":
      return .identity
    case "TemplateProcessing":
      guard let single = json[first: "single"]?.arrayValue else {
        throw TokenizerError.invalidField(file: file, field: "\(field).single", reason: "expected an array")
      }
      var items: [TemplateItem] = []
      for (index, piece) in single.enumerated() {
        if piece[first: "Sequence"] != nil {
          items.append(.sequence)
        } else if let name = piece[first: "SpecialToken"]?[first: "id"]?.stringValue {
          guard let ids = json[first: "special_tokens"]?[first: name]?[first: "ids"]?.arrayValue?.compactMap(\.intValue) else {
            throw TokenizerError.invalidField(file: file, field: "\(field).special_tokens.\(name)",
                                              reason: "no ids for template token")
          }
          items.append(.special(ids))
        } else {
          throw TokenizerError.invalidField(file: file, field: "\(field).single[\(index)]",
                                            reason: "expected Sequence or SpecialToken")
        }
      }
      return .template(items)
    case "RobertaProcessing", "BertProcessing":
      guard let cls = json[first: "cls"]?.arrayValue, cls.count == 2, let clsID = cls[1].intValue,
            let sep = json[first: "sep"]?.arrayValue, sep.count == 2, let sepID = sep[1].intValue else {
        throw TokenizerError.invalidField(file: file, field: "\(field).cls/sep", reason: "expected [token, id] pairs")
      }
      return .wrap(prefix: [clsID], suffix: [sepID])
    default:
      throw TokenizerError.unsupported(file: file, field: "\(field).type", value: type)
    }
  }
}
