// TextEscaping.swift — the scalar-by-scalar escaping loop that the HTML, YAML and Python-repr writers share: each
// writer names its replacements; everything else is copied as it is.

extension String {
  /// The text with each Unicode scalar in `table` replaced by its entry and, for the others, by what `otherwise`
  /// returns (nil: the scalar as it is).
  public func escapingScalars(_ table: [Unicode.Scalar: String],
                              otherwise: (Unicode.Scalar) -> String? = { _ in nil }) -> String
  {
    var out = ""
    out.reserveCapacity(utf8.count)
    for scalar in unicodeScalars {
      if let replacement = table[scalar] ?? otherwise(scalar) {
        out += replacement
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}
