// OperatorProfile.swift — where a step's time goes, operator by operator (`orpo bench train --profile`).
import CTorch
#if canImport(Glibc)
import Glibc
#endif

public enum OperatorProfile {
  public struct Row: Sendable, Equatable {
    public var name: String
    public var selfSeconds: Double
    public var totalSeconds: Double
    public var calls: Int
  }

  /// Starts timing every ATen operator and autograd backward node the calling threads run.
  /// With `shapes`, matrix products are listed per operand shapes (recording operands costs time).
  public static func begin(shapes: Bool = false) throws {
    try checked("profile.begin") { ct_profile_begin(shapes ? 1 : 0) }
  }

  /// Stops and returns the operators with the most self time (children excluded) first.
  public static func end(limit: Int = 40) throws -> [Row] {
    var text: UnsafeMutablePointer<CChar>?
    try checked("profile.end") { ct_profile_end(Int64(limit), &text) }
    guard let text else { return [] }
    defer { free(text) }
    return String(cString: text).split(separator: "\n").compactMap { line in
      let fields = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
      guard fields.count == 4, let s = Double(fields[0]), let t = Double(fields[1]), let c = Int(fields[2]) else { return nil }
      return Row(name: String(fields[3]), selfSeconds: s, totalSeconds: t, calls: c)
    }
  }
}
