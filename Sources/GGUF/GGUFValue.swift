// GGUFValue.swift — GGUF metadata values (the 13 wire types) and convenient typed accessors.
import Foundation

/// One metadata value. Arrays may hold any type, including nested arrays.
public enum GGUFValue: Equatable, Sendable, CustomStringConvertible {
  case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
  case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
  case array([GGUFValue])

  /// The wire type id (`gguf_type`).
  public enum WireType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8
    case array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes one value takes in the file at the least (strings: the 8-byte length; arrays: type + count).
    var minimumByteCount: Int {
      switch self {
      case .uint8, .int8, .bool: return 1
      case .uint16, .int16: return 2
      case .uint32, .int32, .float32: return 4
      case .uint64, .int64, .float64, .string: return 8
      case .array: return 12
      }
    }
  }

  public var wireType: WireType {
    switch self {
    case .uint8: return .uint8
    case .int8: return .int8
    case .uint16: return .uint16
    case .int16: return .int16
    case .uint32: return .uint32
    case .int32: return .int32
    case .uint64: return .uint64
    case .int64: return .int64
    case .float32: return .float32
    case .float64: return .float64
    case .bool: return .bool
    case .string: return .string
    case .array: return .array
    }
  }

  /// The string payload, or nil.
  public var string: String? { if case .string(let s) = self { return s } else { return nil } }

  /// Any integer type as Int (nil when it does not fit, or for non-integers).
  public var int: Int? {
    switch self {
    case .uint8(let v): return Int(v)
    case .int8(let v): return Int(v)
    case .uint16(let v): return Int(v)
    case .int16(let v): return Int(v)
    case .uint32(let v): return Int(v)
    case .int32(let v): return Int(v)
    case .uint64(let v): return Int(exactly: v)
    case .int64(let v): return Int(exactly: v)
    default: return nil
    }
  }

  /// Any numeric value as Double (integers converted, floats widened).
  public var double: Double? {
    switch self {
    case .float32(let v): return Double(v)
    case .float64(let v): return v
    case .uint64(let v): return Double(v)
    case .int64(let v): return Double(v)
    default: return int.map(Double.init)
    }
  }

  public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
  public var array: [GGUFValue]? { if case .array(let a) = self { return a } else { return nil } }

  /// An array of strings (nil if any element is not a string).
  public var strings: [String]? { elements(\.string) }

  /// An array of integers (nil if any element is not an integer that fits Int).
  public var ints: [Int]? { elements(\.int) }

  /// An array of numbers as Double.
  public var doubles: [Double]? { elements(\.double) }

  /// Each element of an array converted by `convert`; nil if this is not an array or an element does not convert.
  private func elements<T>(_ convert: (GGUFValue) -> T?) -> [T]? {
    guard let a = array else { return nil }
    var out = [T]()
    out.reserveCapacity(a.count)
    for v in a {
      guard let converted = convert(v) else { return nil }
      out.append(converted)
    }
    return out
  }

  public var description: String {
    switch self {
    // Numbers and booleans print as Swift prints them.
    case .uint8(let v as CustomStringConvertible), .int8(let v as CustomStringConvertible),
         .uint16(let v as CustomStringConvertible), .int16(let v as CustomStringConvertible),
         .uint32(let v as CustomStringConvertible), .int32(let v as CustomStringConvertible),
         .uint64(let v as CustomStringConvertible), .int64(let v as CustomStringConvertible),
         .float32(let v as CustomStringConvertible), .float64(let v as CustomStringConvertible),
         .bool(let v as CustomStringConvertible):
      return v.description
    case .string(let s): return "\"\(s)\""
    case .array(let a):
      let head = a.prefix(8).map(\.description).joined(separator: ", ")
      return a.count > 8 ? "[\(head), … (\(a.count) items)]" : "[\(head)]"
    }
  }
}

/// Typed look-ups on a metadata dictionary: `metadata.string("general.architecture")`.
extension Dictionary where Key == String, Value == GGUFValue {
  public func string(_ key: String) -> String? { self[key]?.string }
  public func int(_ key: String) -> Int? { self[key]?.int }
  public func double(_ key: String) -> Double? { self[key]?.double }
  public func bool(_ key: String) -> Bool? { self[key]?.bool }
  public func array(_ key: String) -> [GGUFValue]? { self[key]?.array }
  public func strings(_ key: String) -> [String]? { self[key]?.strings }
  public func ints(_ key: String) -> [Int]? { self[key]?.ints }
  public func doubles(_ key: String) -> [Double]? { self[key]?.doubles }
}
