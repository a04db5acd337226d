// Output.swift — every JSON value a verb prints goes through `printJSON`: Support's one writer in one style (Python's
// json.dumps spacing, non-ASCII text kept as it is), one value per line on stdout.
import Foundation
import Support

func printJSON(_ value: JSONValue) {
  print(value.formatted(.python(ensureASCII: false)))
}

extension JSONValue {
  /// A measured number written with `places` decimals (timings, rates); NaN and infinities as Python writes them.
  static func rounded(_ x: Double, places: Int) -> JSONValue {
    guard x.isFinite, let number = JSONNumber(text: String(format: "%.\(places)f", x)) else { return .double(x) }
    return .number(number)
  }
}
