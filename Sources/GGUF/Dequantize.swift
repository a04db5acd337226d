// Dequantize.swift — ggml block formats to Float: F32/F16/BF16/F64/I8/I16/I32, Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 and the
// k-quants Q2_K…Q6_K. Each kernel follows ggml-quants.c `dequantize_row_*` operation for operation, so results
// match llama.cpp and gguf-py bit for bit (up to float rounding order, which is kept).
import Dispatch
import Foundation

public enum GGMLDequantizer {
  /// Threads used by default: all active cores.
  public static var defaultThreads: Int { ProcessInfo.processInfo.activeProcessorCount }
  /// Below this many elements a tensor is done on the calling thread.
  static let minimumElementsPerThread = 1 << 16

  /// Dequantizes `source` (whole blocks of `type`) into `destination`, whose count sets the element count.
  public static func dequantize(_ source: UnsafeRawBufferPointer, type: GGMLType,
                                into destination: UnsafeMutableBufferPointer<Float>, threads: Int = 1) throws {
    guard let kernel = kernel(for: type) else {
      throw GGUFError(.unsupportedType, file: nil, field: "type",
                      message: "dequantization of \(type) is not implemented")
    }
    let n = destination.count
    guard let expected = type.byteCount(elementCount: n) else {
      throw GGUFError(.invalidArgument, file: nil, field: "count",
                      message: "\(n) elements are not a whole number of \(type) blocks of \(type.blockSize)")
    }
    guard expected == source.count else {
      throw GGUFError(.invalidArgument, file: nil, field: "count",
                      message: "\(n) elements of \(type) need \(expected) bytes, source has \(source.count)")
    }
    guard n > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return }
    let blocks = n / type.blockSize
    let blockBytes = type.blockByteCount
    let qk = type.blockSize
    let chunks = max(1, min(threads, n / minimumElementsPerThread, blocks))
    if chunks == 1 {
      kernel(src, dst, blocks)
      return
    }
    let perChunk = (blocks + chunks - 1) / chunks
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
      let first = c * perChunk
      let count = min(perChunk, blocks - first)
      if count > 0 { kernel(src + first * blockBytes, dst + first * qk, count) }
    }
  }

  /// Convenience: a new array of `count` floats.
  public static func dequantize(_ source: UnsafeRawBufferPointer, type: GGMLType, count: Int, threads: Int = 1)
    throws -> [Float]
  {
    var out = [Float](repeating: 0, count: count)
    try out.withUnsafeMutableBufferPointer { try dequantize(source, type: type, into: $0, threads: threads) }
    return out
  }

  typealias Kernel = (UnsafeRawPointer, UnsafeMutablePointer<Float>, Int) -> Void

  static func kernel(for type: GGMLType) -> Kernel? {
    switch type {
    case .f32: return { s, d, n in for i in 0..<n { d[i] = Float(bitPattern: s.u32(4 * i)) } }
    case .f16: return { s, d, n in for i in 0..<n { d[i] = halfToFloat(s.u16(2 * i)) } }
    case .bf16: return { s, d, n in for i in 0..<n { d[i] = Float(bitPattern: UInt32(s.u16(2 * i)) << 16) } }
    case .f64: return { s, d, n in for i in 0..<n { d[i] = Float(Double(bitPattern: s.u64(8 * i))) } }
    case .i8: return { s, d, n in for i in 0..<n { d[i] = Float(s.i8(i)) } }
    case .i16: return { s, d, n in for i in 0..<n { d[i] = Float(Int16(bitPattern: s.u16(2 * i))) } }
    case .i32: return { s, d, n in for i in 0..<n { d[i] = Float(Int32(bitPattern: s.u32(4 * i))) } }
    case .q4_0: return blocks(type, q4_0)
    case .q4_1: return blocks(type, q4_1)
    case .q5_0: return blocks(type, q5_0)
    case .q5_1: return blocks(type, q5_1)
    case .q8_0: return blocks(type, q8_0)
    case .q2_K: return blocks(type, q2_K)
    case .q3_K: return blocks(type, q3_K)
    case .q4_K: return blocks(type, q4_K)
    case .q5_K: return blocks(type, q5_K)
    case .q6_K: return blocks(type, q6_K)
    default: return nil
    }
  }

  /// Runs a one-block kernel over `n` consecutive blocks.
  static func blocks(_ type: GGMLType, _ one: @escaping (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void)
    -> Kernel
  {
    let bytes = type.blockByteCount
    let qk = type.blockSize
    return { s, d, n in for b in 0..<n { one(s + b * bytes, d + b * qk) } }
  }

  // MARK: Legacy 32-element blocks

  // block_q4_0 { half d; u8 qs[16] }: x = (nibble - 8) * d; low nibbles are elements 0..15, high 16..31.
  static func q4_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) { nibbles(x, y, hasMin: false, fifthBit: false) }

  // block_q4_1 { half d; half m; u8 qs[16] }: x = nibble * d + m.
  static func q4_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) { nibbles(x, y, hasMin: true, fifthBit: false) }

  // block_q5_0 { half d; u8 qh[4]; u8 qs[16] }: 5th bit from qh; x = (q - 16) * d.
  static func q5_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) { nibbles(x, y, hasMin: false, fifthBit: true) }

  // block_q5_1 { half d; half m; u8 qh[4]; u8 qs[16] }: x = q * d + m.
  static func q5_1(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) { nibbles(x, y, hasMin: true, fifthBit: true) }

  /// The four legacy nibble blocks: element j is the low nibble of qs[j] (j < 16) or the high nibble of
  /// qs[j - 16], plus bit j of qh as a fifth bit in q5_*; with a min (q*_1) x = q * d + m, without (q*_0) the
  /// value is centred: x = (q - 8) * d for four bits, (q - 16) * d for five.
  @inline(__always)
  private static func nibbles(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, hasMin: Bool, fifthBit: Bool) {
    let d = halfToFloat(x.u16(0))
    let m = hasMin ? halfToFloat(x.u16(2)) : 0
    let qhOffset = hasMin ? 4 : 2
    let qh = fifthBit ? x.u32(qhOffset) : 0
    let qs = qhOffset + (fifthBit ? 4 : 0)
    let centre: Int32 = fifthBit ? 16 : 8
    for j in 0..<16 {
      let q = x.u8(qs + j)
      let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
      let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
      let low = (q & 0x0F) | h0, high = (q >> 4) | h1
      if hasMin {
        y[j] = Float(low) * d + m
        y[j + 16] = Float(high) * d + m
      } else {
        y[j] = Float(Int32(low) - centre) * d
        y[j + 16] = Float(Int32(high) - centre) * d
      }
    }
  }

  // block_q8_0 { half d; i8 qs[32] }: x = q * d.
  static func q8_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = halfToFloat(x.u16(0))
    for j in 0..<32 { y[j] = Float(x.i8(2 + j)) * d }
  }

  // MARK: k-quants, 256-element super-blocks

  /// q2_K and q3_K hold 16 groups of 16 two-bit values; group `g` sits at bit `shift` of the 16 bytes at `row`
  /// (32 bytes of qs serve 4 shifts × 2 halves, then the next 32 bytes).
  @inline(__always)
  static func twoBitGroup(_ g: Int, qs: Int) -> (row: Int, shift: UInt8) {
    (qs + 32 * (g / 8) + 16 * (g % 2), UInt8(2 * ((g / 2) % 4)))
  }

  // block_q2_K { u8 scales[16]; u8 qs[64]; half d; half dmin }
  static func q2_K(_ x: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
    let d = halfToFloat(x.u16(80))
    let dmin = halfToFloat(x.u16(82))
    for g in 0..<16 {
      let sc = x.u8(g)
      let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
      let (row, shift) = twoBitGroup(g, qs: 16)
      for l in 0..<16 { out[16 * g + l] = dl * Float((x.u8(row + l) >> shift) & 3) - ml }
    }
  }

  // block_q3_K { u8 hmask[32]; u8 qs[64]; u8 scales[12]; half d }
  static func q3_K(_ x: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
    let dAll = halfToFloat(x.u16(108))
    let kmask1: UInt32 = 0x0303_0303
    let kmask2: UInt32 = 0x0f0f_0f0f
    var a0 = x.u32(96), a1 = x.u32(100)
    let tmp = x.u32(104)
    let a2 = ((a0 >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4)
    let a3 = ((a1 >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4)
    a0 = (a0 & kmask2) | (((tmp >> 0) & kmask1) << 4)
    a1 = (a1 & kmask2) | (((tmp >> 2) & kmask1) << 4)
    // 16 signed 6-bit scales, unpacked into the bytes of a0…a3.
    func scale(_ i: Int) -> Int32 {
      let word = i < 4 ? a0 : i < 8 ? a1 : i < 12 ? a2 : a3
      return Int32(Int8(truncatingIfNeeded: word >> UInt32(8 * (i % 4))))
    }
    for g in 0..<16 {
      let dl = dAll * Float(scale(g) - 32)
      let (row, shift) = twoBitGroup(g, qs: 32)
      let mask: UInt8 = 1 << (g / 2)  // the group's bit in hmask: 4 is subtracted where it is clear
      let hmask = 16 * (g % 2)
      for l in 0..<16 {
        let high: Int32 = (x.u8(hmask + l) & mask) != 0 ? 0 : 4
        out[16 * g + l] = dl * Float(Int32((x.u8(row + l) >> shift) & 3) - high)
      }
    }
  }

  /// ggml's get_scale_min_k4: 6-bit scale and min number `j` (0..<8) from the 12 packed bytes at `s`.
  @inline(__always)
  static func scaleMin(_ j: Int, _ x: UnsafeRawPointer, _ s: Int) -> (UInt8, UInt8) {
    if j < 4 {
      return (x.u8(s + j) & 63, x.u8(s + j + 4) & 63)
    }
    let sc = (x.u8(s + j + 4) & 0xF) | ((x.u8(s + j - 4) >> 6) << 4)
    let m = (x.u8(s + j + 4) >> 4) | ((x.u8(s + j) >> 6) << 4)
    return (sc, m)
  }

  // block_q4_K { half d; half dmin; u8 scales[12]; u8 qs[128] }
  static func q4_K(_ x: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) { q4or5_K(x, out, fifthBit: false) }

  // block_q5_K { half d; half dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }
  static func q5_K(_ x: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) { q4or5_K(x, out, fifthBit: true) }

  /// q4_K and q5_K: 8 sub-blocks of 32 weights, each with a 6-bit scale and min; q5_K adds each weight's fifth bit
  /// from qh (bit 2·pair for the low nibbles, 2·pair + 1 for the high ones).
  @inline(__always)
  private static func q4or5_K(_ x: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, fifthBit: Bool) {
    let d = halfToFloat(x.u16(0))
    let dmin = halfToFloat(x.u16(2))
    let qs = fifthBit ? 48 : 16
    for pair in 0..<4 {
      let (sc1, m1) = scaleMin(2 * pair, x, 4)
      let (sc2, m2) = scaleMin(2 * pair + 1, x, 4)
      let d1 = d * Float(sc1), mm1 = dmin * Float(m1)
      let d2 = d * Float(sc2), mm2 = dmin * Float(m2)
      let low: UInt8 = 1 << (2 * pair), high: UInt8 = 2 << (2 * pair)
      let y = out + 64 * pair
      for l in 0..<32 {
        let byte = x.u8(qs + 32 * pair + l)
        let h = fifthBit ? x.u8(16 + l) : 0
        y[l] = d1 * Float((byte & 0xF) + (h & low != 0 ? 16 : 0)) - mm1
        y[32 + l] = d2 * Float((byte >> 4) + (h & high != 0 ? 16 : 0)) - mm2
      }
    }
  }

  // block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; half d }
  static func q6_K(_ x: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
    let d = halfToFloat(x.u16(208))
    var y = out
    var ql = 0, qh = 128, sc = 192
    for _ in 0..<2 {
      for l in 0..<32 {
        let isc = l / 16
        let a = x.u8(ql + l), b = x.u8(ql + l + 32), h = x.u8(qh + l)
        let q1 = Int32((a & 0xF) | (((h >> 0) & 3) << 4)) - 32
        let q2 = Int32((b & 0xF) | (((h >> 2) & 3) << 4)) - 32
        let q3 = Int32((a >> 4) | (((h >> 4) & 3) << 4)) - 32
        let q4 = Int32((b >> 4) | (((h >> 6) & 3) << 4)) - 32
        y[l] = d * Float(x.i8(sc + isc)) * Float(q1)
        y[l + 32] = d * Float(x.i8(sc + isc + 2)) * Float(q2)
        y[l + 64] = d * Float(x.i8(sc + isc + 4)) * Float(q3)
        y[l + 96] = d * Float(x.i8(sc + isc + 6)) * Float(q4)
      }
      y += 128
      ql += 64
      qh += 32
      sc += 8
    }
  }
}

// MARK: Half precision

/// IEEE binary16 bits to Float (exact; handles subnormals, infinities and NaN).
@inline(__always)
public func halfToFloat(_ h: UInt16) -> Float {
  let sign = UInt32(h & 0x8000) << 16
  let exponent = UInt32(h >> 10) & 0x1F
  let mantissa = UInt32(h & 0x3FF)
  if exponent == 0 {
    let magnitude = Float(mantissa) * 0x1p-24  // zero or subnormal: exact in Float
    return sign != 0 ? -magnitude : magnitude
  }
  if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
  return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

extension UnsafeRawPointer {
  @inline(__always) func u8(_ offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }
  @inline(__always) func i8(_ offset: Int) -> Int8 { load(fromByteOffset: offset, as: Int8.self) }
  @inline(__always) func u16(_ offset: Int) -> UInt16 {
    UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
  }
  @inline(__always) func u32(_ offset: Int) -> UInt32 {
    UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
  }
  @inline(__always) func u64(_ offset: Int) -> UInt64 {
    UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
  }
}
