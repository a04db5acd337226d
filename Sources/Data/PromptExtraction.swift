// PromptExtraction.swift — TRL's `extract_prompt` (trl/data_utils.py): split rows whose prompt is implicit in both
// completions into a shared prompt and two completions, with TRL's exact boundary rules.

import ChatTemplates

/// Splits an implicit-prompt preference pair the way TRL 1.16's `extract_prompt` does:
///
///     for idx in range(min(len(chosen), len(rejected))):
///         if chosen[idx] != rejected[idx]:
///             if chosen[idx - 1] == " ": idx -= 1   # a space before the difference goes to the completions
///             break
///     prompt, chosen, rejected = chosen[:idx], chosen[idx:], rejected[idx:]
///
/// Consequences kept on purpose, for parity:
/// - When one side is a prefix of the other (or both are equal), the loop ends without `break` and `idx` is the
///   last index of the shorter side, so the shorter side's last element stays in the completions:
///   `["u", "a"]` vs `["u", "a", "u2", "b"]` gives prompt `["u"]`, completions `["a"]` and `["a", "u2", "b"]`.
/// - For messages the space rule never fires (a message never equals `" "`).
/// - For text, positions count Unicode scalars (Python's code points).
///
/// One deliberate difference: when text differs at position 0, TRL reads `chosen[-1]` (the *last* character)
/// and, if it is a space, cuts at -1, which puts nearly all of `chosen` in the prompt. We treat that as no prompt.
public enum PromptExtraction {
  /// The index where TRL cuts, for sequences compared element by element.
  static func cutIndex<Element: Equatable>(_ chosen: [Element], _ rejected: [Element], isSpace: (Element) -> Bool) -> Int {
    let shorter = min(chosen.count, rejected.count)
    guard shorter > 0 else { return 0 }
    for index in 0..<shorter where chosen[index] != rejected[index] {
      if index > 0 && isSpace(chosen[index - 1]) { return index - 1 }
      return index
    }
    return shorter - 1
  }

  /// TRL `extract_prompt` for conversations: the prompt is the longest shared prefix of messages (see the type's
  /// notes for the edge cases).
  public static func split(chosen: [ChatMessage], rejected: [ChatMessage])
    -> (prompt: [ChatMessage], chosen: [ChatMessage], rejected: [ChatMessage]) {
    let cut = cutIndex(chosen, rejected, isSpace: { _ in false })
    return (Array(chosen[..<cut]), Array(chosen[cut...]), Array(rejected[min(cut, rejected.count)...]))
  }

  /// TRL `extract_prompt` for plain text: the longest shared prefix of code points, moved back by one when it
  /// ends with a space, so the completions start with that space.
  public static func split(chosen: String, rejected: String) -> (prompt: String, chosen: String, rejected: String) {
    let chosenScalars = Array(chosen.unicodeScalars)
    let rejectedScalars = Array(rejected.unicodeScalars)
    let cut = cutIndex(chosenScalars, rejectedScalars, isSpace: { $0 == " " })
    func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
      var text = ""
      text.unicodeScalars.append(contentsOf: scalars)
      return text
    }
    return (string(chosenScalars[..<cut]), string(chosenScalars[cut...]),
            string(rejectedScalars[min(cut, rejectedScalars.count)...]))
  }
}
