// Errors thrown while loading a tokenizer: each names the file and the field that is wrong or unsupported.
import Foundation

public enum TokenizerError: Error, CustomStringConvertible, Equatable {
  /// The file could not be read at all.
  case unreadableFile(file: String, reason: String)
  /// The file was read but a field is missing or has the wrong shape.
  case invalidField(file: String, field: String, reason: String)
  /// A field names a component this toolkit does not implement (e.g. model type "WordPiece").
  case unsupported(file: String, field: String, value: String)

  public var description: String {
    switch self {
    case .unreadableFile(let file, let reason):
      return "cannot read tokenizer file \(file): \(reason)"
    case .invalidField(let file, let field, let reason):
      return "\(file): field `\(field)` is invalid: \(reason)"
    case .unsupported(let file, let field, let value):
      return "\(file): field `\(field)` has unsupported value \"\(value)\""
    }
  }
}
