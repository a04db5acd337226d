// KQuantize.swift — float32 rows to Q5_0, Q4_K and Q6_K blocks (the types llama.cpp's Q4_K_M mixture writes), step
// for step as ggml's reference quantizers (ggml-quants.c: quantize_row_q5_0_ref, quantize_row_q4_K_ref with
// make_qkx2_quants, quantize_row_q6_K_ref with make_qx_quants), in float32 and in the same order of operations, so
// the bytes are llama.cpp's; checked against ggml itself by reference/make_gguf_quant_fixtures.py.
import Foundation

extension GGUFQuantizer {
  /// ggml's `nearest_int`: round half to even through the 1.5·2^23 trick (|x| < 2^22).
  @inline(__always) static func nearestInt(_ x: Float) -> Int {
    let v = x + 12_582_912
    return Int(v.bitPattern & 0x007f_ffff) - 0x0040_0000
  }

  /// Q5_0: d = m / −16 for the value m of largest magnitude (first on ties), q = trunc(x / d + 16.5) up to 31; the
  /// fifth bits gathered in a 32-bit word; 2 + 4 + 16 bytes.
  static func q5_0(_ x: UnsafeBufferPointer<Float>, _ out: inout [UInt8]) {
    var max: Float = 0, amax: Float = 0
    for v in x where amax < Swift.abs(v) {
      amax = Swift.abs(v)
      max = v
    }
    let d = max / -16
    let id: Float = d != 0 ? 1 / d : 0
    append(Float16(d).bitPattern, to: &out)
    func q(_ v: Float) -> UInt8 { UInt8(Swift.min(Swift.max((v * id + 16.5).rounded(.towardZero), 0), 31)) }
    var high: UInt32 = 0
    var low = [UInt8](repeating: 0, count: 16)
    for j in 0..<16 {
      let (a, b) = (q(x[j]), q(x[j + 16]))
      low[j] = a & 0x0f | (b & 0x0f) << 4
      high |= UInt32(a >> 4) << j | UInt32(b >> 4) << (j + 16)
    }
    append(high, to: &out)
    out.append(contentsOf: low)
  }

  /// make_qkx2_quants: levels 0...nmax with a scale and a (non-positive) offset for `x`, searched over `nstep + 1`
  /// scales around nmax / (max − min) for the least weighted squared error. Returns (scale, −min); `levels` filled.
  static func scaleAndMin(_ x: ArraySlice<Float>, weights: [Float], nmax: Int, levels: inout [UInt8],
                          rmin: Float, rdelta: Float, nstep: Int) -> (scale: Float, min: Float)
  {
    let n = x.count, base = x.startIndex
    var lo = x[base], hi = x[base]
    var sumW = weights[0]
    var sumX = sumW * x[base]
    for i in 1..<n {
      let v = x[base + i]
      if v < lo { lo = v }
      if v > hi { hi = v }
      sumW += weights[i]
      sumX += weights[i] * v
    }
    if lo > 0 { lo = 0 }
    if hi == lo {
      for i in 0..<n { levels[i] = 0 }
      return (0, -lo)
    }
    var iscale = Float(nmax) / (hi - lo)
    var scale = 1 / iscale
    var bestError: Float = 0
    for i in 0..<n {
      levels[i] = UInt8(Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[base + i] - lo)))))
      let diff = scale * Float(levels[i]) + lo - x[base + i]
      bestError += weights[i] * (diff * diff)
    }
    guard nstep >= 1 else { return (scale, -lo) }
    var trial = [UInt8](repeating: 0, count: n)
    for step in 0...nstep {
      iscale = (rmin + rdelta * Float(step) + Float(nmax)) / (hi - lo)
      var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
      for i in 0..<n {
        let l = Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[base + i] - lo))))
        trial[i] = UInt8(l)
        let w = weights[i], fl = Float(l)
        sumL += w * fl
        sumL2 += w * fl * fl
        sumXL += w * fl * x[base + i]
      }
      let det = sumW * sumL2 - sumL * sumL
      guard det > 0 else { continue }
      var thisScale = (sumW * sumXL - sumX * sumL) / det
      var thisMin = (sumL2 * sumX - sumL * sumXL) / det
      if thisMin > 0 {
        thisMin = 0
        thisScale = sumXL / sumL2
      }
      var error: Float = 0
      for i in 0..<n {
        let diff = thisScale * Float(trial[i]) + thisMin - x[base + i]
        error += weights[i] * (diff * diff)
      }
      if error < bestError {
        for i in 0..<n { levels[i] = trial[i] }
        bestError = error
        scale = thisScale
        lo = thisMin
      }
    }
    return (scale, -lo)
  }

  /// Q4_K, one super-block of 256: eight groups of 32 with 6-bit scales and mins (make_qkx2_quants, weights
  /// rms + |x|) under f16 d and dmin, then 4-bit levels recomputed from the rounded scales; 2 + 2 + 12 + 128 bytes.
  static func q4_K(_ x: UnsafeBufferPointer<Float>, _ out: inout [UInt8]) {
    let xs = Array(x)
    var levels = [UInt8](repeating: 0, count: 256)
    var scales = [Float](repeating: 0, count: 8), mins = [Float](repeating: 0, count: 8)
    var maxScale: Float = 0, maxMin: Float = 0
    var weights = [Float](repeating: 0, count: 32)
    var group = [UInt8](repeating: 0, count: 32)
    for j in 0..<8 {
      var sumX2: Float = 0
      for l in 0..<32 { sumX2 += xs[32 * j + l] * xs[32 * j + l] }
      let rms = (sumX2 / 32).squareRoot()
      for l in 0..<32 { weights[l] = rms + Swift.abs(xs[32 * j + l]) }
      (scales[j], mins[j]) = scaleAndMin(xs[32 * j..<32 * j + 32], weights: weights, nmax: 15, levels: &group,
                                         rmin: -1, rdelta: 0.1, nstep: 20)
      for l in 0..<32 { levels[32 * j + l] = group[l] }
      if scales[j] > maxScale { maxScale = scales[j] }
      if mins[j] > maxMin { maxMin = mins[j] }
    }
    let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0
    let inverseMin: Float = maxMin > 0 ? 63 / maxMin : 0
    var packed = [UInt8](repeating: 0, count: 12)
    for j in 0..<8 {
      let ls = Swift.min(63, UInt8(truncatingIfNeeded: nearestInt(inverseScale * scales[j])))
      let lm = Swift.min(63, UInt8(truncatingIfNeeded: nearestInt(inverseMin * mins[j])))
      if j < 4 {
        packed[j] = ls
        packed[j + 4] = lm
      } else {
        packed[j + 4] = ls & 0x0f | (lm & 0x0f) << 4
        packed[j - 4] |= (ls >> 4) << 6
        packed[j] |= (lm >> 4) << 6
      }
    }
    let d = Float16(maxScale / 63), dmin = Float16(maxMin / 63)
    for j in 0..<8 {
      let (sc, m) = scaleAndMin6(j, packed)
      let dj = Float(d) * Float(sc)
      if dj == 0 { continue }
      let mj = Float(dmin) * Float(m)
      for i in 0..<32 {
        levels[32 * j + i] = UInt8(Swift.max(0, Swift.min(15, nearestInt((xs[32 * j + i] + mj) / dj))))
      }
    }
    append(d.bitPattern, to: &out)
    append(dmin.bitPattern, to: &out)
    out.append(contentsOf: packed)
    for j in stride(from: 0, to: 256, by: 64) {
      for l in 0..<32 { out.append(levels[j + l] | levels[j + l + 32] << 4) }
    }
  }

  /// The 6-bit scale and min of group `j` of a Q4_K block (ggml's get_scale_min_k4).
  static func scaleAndMin6(_ j: Int, _ q: [UInt8]) -> (UInt8, UInt8) {
    if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
    return (q[j + 4] & 0x0f | (q[j - 4] >> 6) << 4, q[j + 4] >> 4 | (q[j] >> 6) << 4)
  }

  /// make_qx_quants with rmse_type 1 (weights x²): symmetric levels −nmax..<nmax for `x`, the scale searched over
  /// 19 candidates around −nmax / max. Returns the scale; `levels` filled with level + nmax.
  static func symmetricScale(_ x: ArraySlice<Float>, nmax: Int, levels: inout [Int8]) -> Float {
    let n = x.count, base = x.startIndex
    var max: Float = 0, amax: Float = 0
    for i in 0..<n where Swift.abs(x[base + i]) > amax {
      amax = Swift.abs(x[base + i])
      max = x[base + i]
    }
    if amax < 1e-15 {
      for i in 0..<n { levels[i] = 0 }
      return 0
    }
    func level(_ v: Float, _ iscale: Float) -> Int { Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * v))) }
    var iscale = Float(-nmax) / max
    var sumLX: Float = 0, sumL2: Float = 0
    for i in 0..<n {
      let v = x[base + i]
      let l = level(v, iscale)
      levels[i] = Int8(l + nmax)
      let w = v * v
      sumLX += w * v * Float(l)
      sumL2 += w * Float(l) * Float(l)
    }
    var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
    var best = scale * sumLX
    for step in -9...9 where step != 0 {
      iscale = -(Float(nmax) + 0.1 * Float(step)) / max
      sumLX = 0
      sumL2 = 0
      for i in 0..<n {
        let v = x[base + i]
        let l = Float(level(v, iscale))
        let w = v * v
        sumLX += w * v * l
        sumL2 += w * l * l
      }
      if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
        for i in 0..<n { levels[i] = Int8(level(x[base + i], iscale) + nmax) }
        scale = sumLX / sumL2
        best = scale * sumLX
      }
    }
    return scale
  }

  /// Q6_K, one super-block of 256: sixteen groups of 16 with int8 scales under an f16 d, 6-bit levels (low four bits
  /// in ql, high two in qh); 128 + 64 + 16 + 2 bytes.
  static func q6_K(_ x: UnsafeBufferPointer<Float>, _ out: inout [UInt8]) {
    let xs = Array(x)
    var levels = [Int8](repeating: 0, count: 256)
    var scales = [Float](repeating: 0, count: 16)
    var maxScale: Float = 0, maxAbsScale: Float = 0
    var group = [Int8](repeating: 0, count: 16)
    for ib in 0..<16 {
      let scale = symmetricScale(xs[16 * ib..<16 * ib + 16], nmax: 32, levels: &group)
      for l in 0..<16 { levels[16 * ib + l] = group[l] }
      scales[ib] = scale
      if Swift.abs(scale) > maxAbsScale {
        maxAbsScale = Swift.abs(scale)
        maxScale = scale
      }
    }
    if maxAbsScale < 1e-15 {
      out.append(contentsOf: [UInt8](repeating: 0, count: 210))
      return
    }
    let iscale = -128 / maxScale
    let d = Float16(1 / iscale)
    let intScales = scales.map { Int8(truncatingIfNeeded: Swift.min(127, nearestInt(iscale * $0))) }
    for j in 0..<16 {
      let dj = Float(d) * Float(intScales[j])
      if dj == 0 { continue }
      for i in 0..<16 {
        levels[16 * j + i] = Int8(Swift.max(-32, Swift.min(31, nearestInt(xs[16 * j + i] / dj))) + 32)
      }
    }
    var ql = [UInt8](repeating: 0, count: 128), qh = [UInt8](repeating: 0, count: 64)
    let l8 = levels.map { UInt8(bitPattern: $0) }
    for (half, j) in stride(from: 0, to: 256, by: 128).enumerated() {
      for l in 0..<32 {
        let (a, b, c, e) = (l8[j + l], l8[j + l + 32], l8[j + l + 64], l8[j + l + 96])
        ql[64 * half + l] = a & 0x0f | (c & 0x0f) << 4
        ql[64 * half + l + 32] = b & 0x0f | (e & 0x0f) << 4
        qh[32 * half + l] = a >> 4 | (b >> 4) << 2 | (c >> 4) << 4 | (e >> 4) << 6
      }
    }
    out.append(contentsOf: ql)
    out.append(contentsOf: qh)
    out.append(contentsOf: intScales.map { UInt8(bitPattern: $0) })
    append(d.bitPattern, to: &out)
  }
}
