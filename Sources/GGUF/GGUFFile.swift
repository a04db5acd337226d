// GGUFFile.swift — a bounds-checked GGUF (v2/v3, little-endian) reader over a memory-mapped file.
// Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md. Every count and length is checked against the
// file size before anything is allocated, so a hostile file gives a GGUFError, never a crash or a huge allocation.
import Foundation
import Support

/// One tensor's entry in a GGUF file.
public struct GGUFTensorInfo: Equatable, Sendable {
  public let name: String
  /// Dimensions in GGUF/ggml order: `shape[0]` (ne[0]) is the fastest-varying dimension.
  public let shape: [Int]
  public let type: GGMLType
  /// Offset of the data from the start of the data section (as written in the file).
  public let offset: Int
  /// Absolute offset of the data in the file.
  public let fileOffset: Int
  public let byteCount: Int

  /// Dimensions in row-major order, as PyTorch and Hugging Face write them (`shape` reversed).
  public var rowMajorShape: [Int] { shape.reversed() }
  public var elementCount: Int { shape.reduce(1, *) }
  /// Length of one row (ne[0]); a row is the unit quantization blocks never straddle.
  public var rowLength: Int { shape.first ?? 1 }
  /// Number of rows (product of all dimensions but the first).
  public var rowCount: Int { shape.dropFirst().reduce(1, *) }
}

/// A parsed GGUF file. Tensor data stays in the mapping; read it with `withBytes(of:)`, `rawBytes(of:)` or
/// `dequantize(_:)`.
public struct GGUFFile: @unchecked Sendable {
  public static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian
  public static let defaultAlignment = 32
  /// Largest n_dims ggml supports (GGML_MAX_DIMS).
  public static let maxDimensions = 4
  /// Deepest nesting of arrays inside arrays accepted in metadata.
  public static let maxArrayNesting = 8

  public let url: URL
  public let version: Int
  public let metadata: [String: GGUFValue]
  /// Metadata keys in file order.
  public let metadataKeys: [String]
  public let tensors: [GGUFTensorInfo]
  /// Absolute offset of the tensor data section.
  public let dataOffset: Int
  public let alignment: Int
  /// The mapping that holds the file; pass it as the owner of zero-copy views of tensor data.
  public let mapping: MappedFile
  private let index: [String: Int]

  public var fileSize: Int { mapping.bytes.count }

  /// Maps and parses the file at `url`.
  public init(url: URL) throws {
    let mapping: MappedFile
    do { mapping = try MappedFile(url: url) } catch let error as FileError {
      throw GGUFError(.io, file: url, field: error.operation, message: error.reason)
    }
    try self.init(mapping: mapping)
  }

  /// Parses an already mapped (or in-memory) file.
  public init(mapping: MappedFile) throws {
    let url = mapping.url
    self.url = url
    self.mapping = mapping
    var r = ByteReader(bytes: mapping.bytes, file: url)

    let magic = try r.u32("magic")
    guard magic == GGUFFile.magic else {
      throw GGUFError(.badMagic, file: url, field: "magic", offset: 0,
                      message: String(format: "expected 0x%08X (\"GGUF\"), found 0x%08X", GGUFFile.magic, magic))
    }
    let rawVersion = try r.u32("version")
    switch rawVersion {
    case 2, 3: break
    case 1:
      throw GGUFError(.unsupportedVersion, file: url, field: "version", offset: 4,
                      message: "GGUF v1 (32-bit counts) is not supported; convert the file to v3")
    default:
      let big = rawVersion.byteSwapped
      let hint = (big == 2 || big == 3) ? " (a big-endian file; only little-endian is supported)" : ""
      throw GGUFError(.unsupportedVersion, file: url, field: "version", offset: 4,
                      message: "version \(rawVersion) is not supported\(hint)")
    }
    version = Int(rawVersion)

    // Each tensor info takes at least 24 bytes (name length, n_dims, type, offset); each key/value at least 13.
    let nTensors = try r.count("n_tensors", minimumItemBytes: 24)
    let nKV = try r.count("n_kv", minimumItemBytes: 13)

    var metadata = [String: GGUFValue](minimumCapacity: nKV)
    var keys = [String]()
    keys.reserveCapacity(nKV)
    for i in 0..<nKV {
      let keyOffset = r.position
      let key = try r.string("kv[\(i)].key")
      let value = try r.value("kv[\(i)] '\(key)'", depth: 0)
      guard metadata.updateValue(value, forKey: key) == nil else {
        throw GGUFError(.duplicateKey, file: url, field: "kv[\(i)].key", offset: keyOffset,
                        message: "metadata key '\(key)' appears twice")
      }
      keys.append(key)
    }
    self.metadata = metadata
    metadataKeys = keys

    var alignment = GGUFFile.defaultAlignment
    if let value = metadata["general.alignment"] {
      guard let a = value.int, a > 0, a <= 1 << 30, a & (a - 1) == 0 else {
        throw GGUFError(.invalidAlignment, file: url, field: "general.alignment",
                        message: "must be a power of two (at most 2^30), found \(value)")
      }
      alignment = a
    }
    self.alignment = alignment

    var infos = [(name: String, shape: [Int], type: GGMLType, offset: Int, byteCount: Int, at: Int)]()
    infos.reserveCapacity(nTensors)
    var index = [String: Int](minimumCapacity: nTensors)
    for i in 0..<nTensors {
      let at = r.position
      let name = try r.string("tensor[\(i)].name")
      let field = "tensor[\(i)] '\(name)'"
      let nDims = try r.u32("\(field).n_dims")
      guard nDims >= 1, nDims <= GGUFFile.maxDimensions else {
        throw GGUFError(.invalidTensorInfo, file: url, field: "\(field).n_dims", offset: r.position - 4,
                        message: "n_dims \(nDims) is outside 1...\(GGUFFile.maxDimensions)")
      }
      var shape = [Int]()
      var elements = 1
      for d in 0..<Int(nDims) {
        let dimAt = r.position
        let raw = try r.u64("\(field).ne[\(d)]")
        guard let dim = Int(exactly: raw), dim <= Int(Int64.max) else {
          throw GGUFError(.shapeOverflow, file: url, field: "\(field).ne[\(d)]", offset: dimAt,
                          message: "dimension \(raw) does not fit a signed 64-bit integer")
        }
        let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
        guard !overflow else {
          throw GGUFError(.shapeOverflow, file: url, field: "\(field).ne", offset: dimAt,
                          message: "element count of shape \(shape + [dim]) overflows")
        }
        elements = product
        shape.append(dim)
      }
      let typeAt = r.position
      let rawType = try r.u32("\(field).type")
      guard let type = GGMLType(rawValue: rawType) else {
        throw GGUFError(.unknownTensorType, file: url, field: "\(field).type", offset: typeAt,
                        message: "unknown ggml type id \(rawType)")
      }
      guard shape[0] % type.blockSize == 0 else {
        throw GGUFError(.invalidTensorInfo, file: url, field: "\(field).ne[0]", offset: at,
                        message: "row length \(shape[0]) is not a multiple of the \(type) block size \(type.blockSize)")
      }
      guard let byteCount = type.byteCount(elementCount: elements) else {
        throw GGUFError(.shapeOverflow, file: url, field: "\(field).ne", offset: at,
                        message: "byte count of shape \(shape) as \(type) overflows")
      }
      let offsetAt = r.position
      let rawOffset = try r.u64("\(field).offset")
      guard let offset = Int(exactly: rawOffset) else {
        throw GGUFError(.tensorOutOfBounds, file: url, field: "\(field).offset", offset: offsetAt,
                        message: "offset \(rawOffset) is beyond any file")
      }
      guard offset % alignment == 0 else {
        throw GGUFError(.misalignedTensor, file: url, field: "\(field).offset", offset: offsetAt,
                        message: "offset \(offset) is not a multiple of the alignment \(alignment)")
      }
      guard index.updateValue(i, forKey: name) == nil else {
        throw GGUFError(.invalidTensorInfo, file: url, field: "\(field).name", offset: at,
                        message: "tensor name '\(name)' appears twice")
      }
      infos.append((name, shape, type, offset, byteCount, offsetAt))
    }
    self.index = index

    // The data section starts at the next multiple of the alignment.
    let (padded, overflow) = r.position.addingReportingOverflow(alignment - 1)
    guard !overflow else {
      throw GGUFError(.truncated, file: url, field: "data", offset: r.position, message: "data offset overflows")
    }
    dataOffset = padded / alignment * alignment
    let fileSize = mapping.bytes.count
    let dataBytes = fileSize - min(dataOffset, fileSize)

    var tensors = [GGUFTensorInfo]()
    tensors.reserveCapacity(infos.count)
    for t in infos {
      let (end, endOverflow) = t.offset.addingReportingOverflow(t.byteCount)
      guard !endOverflow, end <= dataBytes else {
        throw GGUFError(.tensorOutOfBounds, file: url, field: "tensor '\(t.name)'.offset", offset: t.at,
                        message: "data [\(t.offset), \(t.offset) + \(t.byteCount)) of \(t.type) \(t.shape) runs past "
                          + "the end of the file (data section holds \(dataBytes) bytes from byte \(dataOffset))")
      }
      tensors.append(GGUFTensorInfo(name: t.name, shape: t.shape, type: t.type, offset: t.offset,
                                    fileOffset: dataOffset + t.offset, byteCount: t.byteCount))
    }
    // No two tensors may share bytes.
    let sorted = tensors.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
    for (a, b) in zip(sorted, sorted.dropFirst()) where b.offset < a.offset + a.byteCount {
      throw GGUFError(.overlappingTensors, file: url, field: "tensor '\(b.name)'.offset",
                      message: "data [\(b.offset), \(b.offset + b.byteCount)) overlaps tensor '\(a.name)' "
                        + "[\(a.offset), \(a.offset + a.byteCount))")
    }
    self.tensors = tensors
  }

  // MARK: Looking tensors up

  public var tensorNames: [String] { tensors.map(\.name) }

  public func tensor(named name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

  public subscript(tensor name: String) -> GGUFTensorInfo? { tensor(named: name) }

  // MARK: Raw data

  private func checkedRange(_ info: GGUFTensorInfo) throws -> Range<Int> {
    let (end, overflow) = info.fileOffset.addingReportingOverflow(info.byteCount)
    guard info.fileOffset >= 0, !overflow, end <= fileSize else {
      throw GGUFError(.invalidArgument, file: url, field: "tensor '\(info.name)'",
                      message: "tensor info does not describe data inside this file")
    }
    return info.fileOffset..<end
  }

  /// Calls `body` with the tensor's bytes inside the mapping (no copy; do not let the pointer escape).
  public func withBytes<R>(of info: GGUFTensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let range = try checkedRange(info)
    return try withExtendedLifetime(mapping) {
      try body(UnsafeRawBufferPointer(rebasing: mapping.bytes[range]))
    }
  }

  /// The tensor's bytes inside the mapping, for zero-copy use (e.g. a borrowed libtorch tensor). Valid only while
  /// `mapping` lives: pass `mapping` as the borrower's owner. Bytes are copy-on-write; the file is never modified.
  public func unsafeBytes(of info: GGUFTensorInfo) throws -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: mapping.bytes[try checkedRange(info)])
  }

  /// A copy of the tensor's bytes as stored (F32/F16/BF16 stay in their own format).
  public func rawBytes(of info: GGUFTensorInfo) throws -> [UInt8] {
    try withBytes(of: info) { Array($0) }
  }

  // MARK: Dequantization

  /// All elements as Float, in file order (ne[0] fastest, i.e. row-major in `rowMajorShape`).
  public func dequantize(_ info: GGUFTensorInfo, threads: Int = GGMLDequantizer.defaultThreads) throws -> [Float] {
    let n = info.elementCount
    var out = [Float](repeating: 0, count: n)
    try out.withUnsafeMutableBufferPointer { try dequantize(info, into: $0, threads: threads) }
    return out
  }

  /// Dequantizes into caller memory of exactly `info.elementCount` floats.
  public func dequantize(_ info: GGUFTensorInfo, into destination: UnsafeMutableBufferPointer<Float>,
                         threads: Int = GGMLDequantizer.defaultThreads) throws {
    try withBytes(of: info) { src in
      do {
        try GGMLDequantizer.dequantize(src, type: info.type, into: destination, threads: threads)
      } catch let e as GGUFError {
        throw GGUFError(e.kind, file: url, field: "tensor '\(info.name)'", message: e.message)
      }
    }
  }

  /// Rows `rows` (each `info.rowLength` elements) as Float — e.g. a few embedding rows without the whole matrix.
  public func dequantize(_ info: GGUFTensorInfo, rows: Range<Int>) throws -> [Float] {
    guard rows.lowerBound >= 0, rows.upperBound <= info.rowCount else {
      throw GGUFError(.invalidArgument, file: url, field: "tensor '\(info.name)'",
                      message: "rows \(rows) outside 0..<\(info.rowCount)")
    }
    let rowBytes = info.byteCount / max(info.rowCount, 1)
    var out = [Float](repeating: 0, count: rows.count * info.rowLength)
    try withBytes(of: info) { src in
      let slice = UnsafeRawBufferPointer(rebasing: src[(rows.lowerBound * rowBytes)..<(rows.upperBound * rowBytes)])
      try out.withUnsafeMutableBufferPointer {
        try GGMLDequantizer.dequantize(slice, type: info.type, into: $0, threads: 1)
      }
    }
    return out
  }
}

/// Little-endian cursor over the mapped bytes. Every read checks the remaining length first.
struct ByteReader {
  let bytes: UnsafeRawBufferPointer
  let file: URL?
  var position = 0

  init(bytes: UnsafeRawBufferPointer, file: URL?) {
    self.bytes = bytes
    self.file = file
  }

  var remaining: Int { bytes.count - position }

  mutating func take(_ n: Int, _ field: @autoclosure () -> String) throws -> Int {
    guard n >= 0, n <= remaining else {
      throw GGUFError(.truncated, file: file, field: field(), offset: position,
                      message: "needs \(n) bytes, only \(remaining) left (file is \(bytes.count) bytes)")
    }
    defer { position += n }
    return position
  }

  mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ field: @autoclosure () -> String) throws -> T {
    let at = try take(MemoryLayout<T>.size, field())
    return T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
  }

  mutating func u32(_ field: @autoclosure () -> String) throws -> UInt32 { try load(UInt32.self, field()) }
  mutating func u64(_ field: @autoclosure () -> String) throws -> UInt64 { try load(UInt64.self, field()) }

  /// A 64-bit count of items that each take at least `minimumItemBytes`: more than the whole file could hold
  /// is absurd; fewer, but more than what is left, is a truncated file.
  mutating func count(_ field: @autoclosure () -> String, minimumItemBytes: Int) throws -> Int {
    let at = position
    let raw = try u64(field())
    let capacity = UInt64(bytes.count / max(minimumItemBytes, 1))
    guard raw <= capacity else {
      throw GGUFError(.absurdCount, file: file, field: field(), offset: at,
                      message: "count \(raw) cannot fit in a \(bytes.count)-byte file "
                        + "(each item takes at least \(minimumItemBytes) bytes)")
    }
    let n = Int(raw)
    guard n * minimumItemBytes <= remaining else {
      throw GGUFError(.truncated, file: file, field: field(), offset: at,
                      message: "\(n) items need at least \(n * minimumItemBytes) bytes, only \(remaining) left")
    }
    return n
  }

  mutating func string(_ field: @autoclosure () -> String) throws -> String {
    let n = try count(field() + ".length", minimumItemBytes: 1)
    let at = try take(n, field())
    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)]), as: UTF8.self)
  }

  mutating func value(_ field: @autoclosure () -> String, depth: Int) throws -> GGUFValue {
    let typeAt = position
    let rawType = try u32(field() + ".type")
    guard let type = GGUFValue.WireType(rawValue: rawType) else {
      throw GGUFError(.invalidValueType, file: file, field: field() + ".type", offset: typeAt,
                      message: "unknown value type \(rawType)")
    }
    return try value(of: type, field(), depth: depth)
  }

  mutating func value(of type: GGUFValue.WireType, _ field: @autoclosure () -> String, depth: Int) throws
    -> GGUFValue
  {
    switch type {
    case .uint8: return .uint8(try load(UInt8.self, field()))
    case .int8: return .int8(try load(Int8.self, field()))
    case .uint16: return .uint16(try load(UInt16.self, field()))
    case .int16: return .int16(try load(Int16.self, field()))
    case .uint32: return .uint32(try load(UInt32.self, field()))
    case .int32: return .int32(try load(Int32.self, field()))
    case .uint64: return .uint64(try load(UInt64.self, field()))
    case .int64: return .int64(try load(Int64.self, field()))
    case .float32: return .float32(Float(bitPattern: try load(UInt32.self, field())))
    case .float64: return .float64(Double(bitPattern: try load(UInt64.self, field())))
    case .bool:
      let at = position
      let b = try load(UInt8.self, field())
      guard b <= 1 else {
        throw GGUFError(.invalidValueType, file: file, field: field(), offset: at,
                        message: "bool byte must be 0 or 1, found \(b)")
      }
      return .bool(b == 1)
    case .string: return .string(try string(field()))
    case .array:
      guard depth < GGUFFile.maxArrayNesting else {
        throw GGUFError(.invalidValueType, file: file, field: field(), offset: position,
                        message: "arrays nested deeper than \(GGUFFile.maxArrayNesting)")
      }
      let typeAt = position
      let rawType = try u32(field() + ".element_type")
      guard let elementType = GGUFValue.WireType(rawValue: rawType) else {
        throw GGUFError(.invalidValueType, file: file, field: field() + ".element_type", offset: typeAt,
                        message: "unknown array element type \(rawType)")
      }
      let n = try count(field() + ".count", minimumItemBytes: elementType.minimumByteCount)
      var items = [GGUFValue]()
      items.reserveCapacity(n)
      for i in 0..<n {
        items.append(try value(of: elementType, "\(field())[\(i)]", depth: depth + 1))
      }
      return .array(items)
    }
  }
}
