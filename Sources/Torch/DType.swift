// DType.swift — element types and devices, mirroring the shim's codes.
import CTorch

public enum DType: Int32, CaseIterable, Sendable, CustomStringConvertible {
  case float32 = 0, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool, uint16, uint32, uint64
  case float8e4m3, float8e5m2

  /// Bytes per element.
  public var byteCount: Int {
    switch self {
    case .float64, .int64, .uint64: return 8
    case .float32, .int32, .uint32: return 4
    case .float16, .bfloat16, .int16, .uint16: return 2
    case .int8, .uint8, .bool, .float8e4m3, .float8e5m2: return 1
    }
  }

  public var isFloatingPoint: Bool {
    switch self {
    case .float32, .float64, .float16, .bfloat16, .float8e4m3, .float8e5m2: return true
    default: return false
    }
  }

  /// Short names as used in configs and on the command line ("f32", "bf16", …).
  public var description: String {
    switch self {
    case .float32: return "f32"
    case .float64: return "f64"
    case .float16: return "f16"
    case .bfloat16: return "bf16"
    case .int64: return "i64"
    case .int32: return "i32"
    case .int16: return "i16"
    case .int8: return "i8"
    case .uint8: return "u8"
    case .bool: return "bool"
    case .uint16: return "u16"
    case .uint32: return "u32"
    case .uint64: return "u64"
    case .float8e4m3: return "f8e4m3"
    case .float8e5m2: return "f8e5m2"
    }
  }

  public init?(name: String) {
    let aliases: [String: DType] = [
      "float32": .float32, "fp32": .float32, "float": .float32, "float16": .float16, "fp16": .float16,
      "half": .float16, "bfloat16": .bfloat16, "float64": .float64, "double": .float64,
    ]
    if let d = DType.allCases.first(where: { $0.description == name.lowercased() }) ?? aliases[name.lowercased()] {
      self = d
    } else {
      return nil
    }
  }
}

public enum Device: Equatable, Hashable, Sendable, CustomStringConvertible {
  case cpu
  case cuda(Int)

  var code: (Int32, Int32) {
    switch self {
    case .cpu: return (Int32(CT_CPU), 0)
    case .cuda(let i): return (Int32(CT_CUDA), Int32(i))
    }
  }

  public var description: String {
    switch self {
    case .cpu: return "cpu"
    case .cuda(let i): return "cuda:\(i)"
    }
  }

  public var isCUDA: Bool { if case .cuda = self { return true } else { return false } }

  /// The device's index (0 for the CPU).
  public var index: Int { if case .cuda(let i) = self { return i } else { return 0 } }

  /// Parses "cpu", "cuda", "cuda:1".
  public init?(parsing text: String) {
    let t = text.lowercased()
    if t == "cpu" { self = .cpu; return }
    if t == "cuda" || t == "gpu" { self = .cuda(0); return }
    if t.hasPrefix("cuda:"), let i = Int(t.dropFirst(5)), i >= 0 { self = .cuda(i); return }
    return nil
  }
}

/// Swift scalar types that map onto a tensor dtype (for building tensors from arrays and reading them back).
public protocol TensorElement {
  static var dtype: DType { get }
}
extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension Int16: TensorElement { public static var dtype: DType { .int16 } }
extension Int8: TensorElement { public static var dtype: DType { .int8 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension UInt16: TensorElement { public static var dtype: DType { .uint16 } }
extension UInt32: TensorElement { public static var dtype: DType { .uint32 } }
extension UInt64: TensorElement { public static var dtype: DType { .uint64 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }
