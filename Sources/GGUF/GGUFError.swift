// GGUFError.swift — the one error type of the GGUF reader: what went wrong, in which file, which field, where.
import Foundation

/// A GGUF file could not be read. `kind` is for code; `description` names the file, field and byte offset.
public struct GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: String, Sendable {
    case io                       // open/stat/mmap failed
    case badMagic                 // not "GGUF"
    case unsupportedVersion       // v1, > v3, or big-endian
    case truncated                // a field runs past the end of the file
    case absurdCount              // a count or length larger than the file could hold
    case invalidValueType         // unknown metadata value type, or nesting too deep
    case duplicateKey             // a metadata key appears twice
    case invalidAlignment         // general.alignment not a power of two / wrong type
    case invalidTensorInfo        // bad n_dims, dimension, duplicate name
    case unknownTensorType        // ggml type id not known
    case shapeOverflow            // element or byte count overflows
    case misalignedTensor         // tensor offset not a multiple of the alignment
    case tensorOutOfBounds        // tensor data beyond the end of the file
    case overlappingTensors       // two tensors share bytes
    case unsupportedType          // dequantization of this ggml type is not implemented
    case invalidArgument          // a caller-side mistake (row range, buffer size)
  }

  public let kind: Kind
  /// Path of the file (empty for in-memory buffers).
  public let file: String
  /// The field or tensor the problem is in, e.g. "n_tensors", "tensor 'blk.0.attn_q.weight'.offset".
  public let field: String
  /// Byte offset in the file where the field starts, when known.
  public let offset: Int?
  public let message: String

  public init(_ kind: Kind, file: URL?, field: String, offset: Int? = nil, message: String) {
    self.kind = kind
    self.file = file?.path ?? ""
    self.field = field
    self.offset = offset
    self.message = message
  }

  public var description: String {
    let at = offset.map { " at byte \($0)" } ?? ""
    let name = file.isEmpty ? "GGUF" : file
    return "\(name): \(field)\(at): \(message) [\(kind.rawValue)]"
  }
}
