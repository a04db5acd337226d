// GGUFWriter.swift — builds GGUF v3 files (metadata in insertion order, tensors aligned), byte-compatible with
// gguf-py's GGUFWriter for the same calls. Used by tests to make fixtures and by export.
import Foundation
import Support

public struct GGUFWriter {
  public struct PendingTensor {
    public let name: String
    /// GGUF order: ne[0] first.
    public let shape: [Int]
    public let type: GGMLType
    public let data: [UInt8]
  }

  public private(set) var metadata: [(key: String, value: GGUFValue)] = []
  public private(set) var tensors: [PendingTensor] = []
  public var version: UInt32 = 3

  public init() {}

  /// The alignment in effect: `general.alignment` when set, else 32.
  public var alignment: Int {
    metadata.last(where: { $0.key == "general.alignment" })?.value.int ?? GGUFFile.defaultAlignment
  }

  public mutating func add(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

  /// Adds a tensor; `shape` is in GGUF order (ne[0] first) and `data` must hold exactly its bytes.
  public mutating func addTensor(name: String, shape: [Int], type: GGMLType, data: [UInt8]) throws {
    let n = shape.reduce(1, *)
    guard shape.allSatisfy({ $0 >= 0 }), let bytes = type.byteCount(elementCount: n), bytes == data.count else {
      throw GGUFError(.invalidArgument, file: nil, field: "tensor '\(name)'",
                      message: "\(data.count) bytes do not hold \(type) \(shape)")
    }
    guard !tensors.contains(where: { $0.name == name }) else {
      throw GGUFError(.invalidArgument, file: nil, field: "tensor '\(name)'", message: "name added twice")
    }
    tensors.append(PendingTensor(name: name, shape: shape, type: type, data: data))
  }

  /// Adds an F32 tensor from floats (row-major in `shape.reversed()`).
  public mutating func addTensor(name: String, shape: [Int], floats: [Float]) throws {
    var data = [UInt8]()
    data.reserveCapacity(floats.count * 4)
    for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
    try addTensor(name: name, shape: shape, type: .f32, data: data)
  }

  /// The whole file.
  public func serialized() -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(1 << 16 + tensors.reduce(0) { $0 + $1.data.count + alignment })
    func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    func putString(_ s: String) {
      put(UInt64(s.utf8.count))
      out.append(contentsOf: Array(s.utf8))
    }
    func putPayload(_ v: GGUFValue) {
      switch v {
      case .uint8(let x): put(x)
      case .int8(let x): put(x)
      case .uint16(let x): put(x)
      case .int16(let x): put(x)
      case .uint32(let x): put(x)
      case .int32(let x): put(x)
      case .uint64(let x): put(x)
      case .int64(let x): put(x)
      case .float32(let x): put(x.bitPattern)
      case .float64(let x): put(x.bitPattern)
      case .bool(let x): put(UInt8(x ? 1 : 0))
      case .string(let s): putString(s)
      case .array(let items):
        put((items.first?.wireType ?? .uint8).rawValue)
        put(UInt64(items.count))
        for item in items { putPayload(item) }
      }
    }
    func pad() { while out.count % alignment != 0 { out.append(0) } }

    put(GGUFFile.magic)
    put(version)
    put(UInt64(tensors.count))
    put(UInt64(metadata.count))
    for (key, value) in metadata {
      putString(key)
      put(value.wireType.rawValue)
      putPayload(value)
    }
    var offset = 0
    for t in tensors {
      putString(t.name)
      put(UInt32(t.shape.count))
      for d in t.shape { put(UInt64(d)) }
      put(t.type.rawValue)
      put(UInt64(offset))
      offset += (t.data.count + alignment - 1) / alignment * alignment
    }
    pad()
    for t in tensors {
      out.append(contentsOf: t.data)
      pad()
    }
    return out
  }

  /// Writes the file through a temporary file in the same folder, flushed and renamed into place, so a reader
  /// never sees a half-written file.
  public func write(to url: URL) throws {
    do {
      try AtomicFile.write(serialized(), to: url)
    } catch let error as FileError {
      throw GGUFError(.io, file: url, field: error.operation, message: error.reason)
    } catch {
      throw GGUFError(.io, file: url, field: "write", message: "\(error)")
    }
  }
}
