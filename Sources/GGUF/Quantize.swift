// Quantize.swift — float32 values to GGUF tensor bytes for the types `orpo export --format gguf` writes (F32, F16,
// BF16, Q8_0, Q4_0 here; Q5_0, Q4_K, Q6_K in KQuantize.swift), bit-identical to gguf-py 0.19's reference quantizers
// (gguf/quants.py) and ggml's (ggml-quants.c); checked against reference/make_gguf_quant_fixtures.py.
import Foundation

public enum GGUFQuantizer {
  /// The types `quantize` writes.
  public static let supported: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q5_0, .q4_K, .q6_K]

  /// `values` (row-major, rows of `rowLength`) as `type`'s bytes. Block types need rows whose length is a multiple
  /// of the block size (32, or 256 for the k-quants).
  public static func quantize(_ values: [Float], rowLength: Int, as type: GGMLType) throws -> [UInt8] {
    guard supported.contains(type) else {
      throw GGUFError(.invalidArgument, file: nil, field: "type", message: "cannot quantize to \(type); supported: \(supported.map(\.description).joined(separator: ", "))")
    }
    let block = type.blockSize
    guard rowLength > 0, values.count % rowLength == 0, rowLength % block == 0 else {
      throw GGUFError(.invalidArgument, file: nil, field: "type",
                      message: "\(type) needs rows whose length is a multiple of \(block); rows have \(rowLength) values")
    }
    var out = [UInt8]()
    out.reserveCapacity(type.byteCount(elementCount: values.count) ?? 0)
    switch type {
    case .f32:
      for v in values { append(v.bitPattern, to: &out) }
    case .f16:
      for v in values { append(Float16(v).bitPattern, to: &out) }
    case .bf16:
      for v in values { append(bfloat16(v), to: &out) }
    case .q8_0:
      values.withUnsafeBufferPointer { p in
        for start in stride(from: 0, to: p.count, by: 32) { q8_0(UnsafeBufferPointer(rebasing: p[start..<start + 32]), &out) }
      }
    case .q4_0, .q5_0, .q4_K, .q6_K:
      let blockQuantizer = [.q4_0: q4_0, .q5_0: q5_0, .q4_K: q4_K, .q6_K: q6_K][type]!
      values.withUnsafeBufferPointer { p in
        for start in stride(from: 0, to: p.count, by: block) {
          blockQuantizer(UnsafeBufferPointer(rebasing: p[start..<start + block]), &out)
        }
      }
    default:
      break
    }
    return out
  }

  static func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
    withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
  }

  /// ggml's fp32 → bf16: NaN made quiet, otherwise round to nearest even on the upper 16 bits.
  static func bfloat16(_ v: Float) -> UInt16 {
    let n = v.bitPattern
    if n & 0x7fff_ffff > 0x7f80_0000 { return UInt16((n & 0xffff_0000 | 64 << 16) >> 16) }
    return UInt16(truncatingIfNeeded: (UInt64(n) + UInt64(0x7fff + (n >> 16) & 1)) >> 16)
  }

  /// gguf-py's `np_roundf`: round half away from zero, as ggml's `roundf`.
  static func roundf(_ x: Float) -> Float {
    let a = Swift.abs(x)
    let floored = a.rounded(.down)
    let b = floored + (2 * (a - floored)).rounded(.down)
    return x > 0 ? b : (x < 0 ? -b : 0)
  }

  /// Q8_0: d = max|x| / 127 (f16), q = round(x / d) as int8; 2 + 32 bytes.
  static func q8_0(_ x: UnsafeBufferPointer<Float>, _ out: inout [UInt8]) {
    let amax = x.reduce(Float(0)) { Swift.max($0, Swift.abs($1)) }
    let d = amax / 127
    let id: Float = d == 0 ? 0 : 1 / d
    append(Float16(d).bitPattern, to: &out)
    for v in x { out.append(UInt8(bitPattern: Int8(roundf(v * id)))) }
  }

  /// Q4_0: the value of largest magnitude m (first one on ties), d = m / −8 (f16), q = trunc(x / d + 8.5) clipped to
  /// 0...15, two per byte (the block's first half in the low nibbles); 2 + 16 bytes.
  static func q4_0(_ x: UnsafeBufferPointer<Float>, _ out: inout [UInt8]) {
    var max = x[0], amax = Swift.abs(x[0])
    for v in x.dropFirst() where Swift.abs(v) > amax {
      amax = Swift.abs(v)
      max = v
    }
    let d = max / -8
    let id: Float = d == 0 ? 0 : 1 / d
    append(Float16(d).bitPattern, to: &out)
    func q(_ v: Float) -> UInt8 {
      let t = (v * id + 8.5).rounded(.towardZero)
      return UInt8(Swift.min(Swift.max(t, 0), 15))
    }
    for j in 0..<16 { out.append(q(x[j]) | q(x[j + 16]) << 4) }
  }
}
