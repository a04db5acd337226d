// GGUFQuantizationTests.swift — the quantizers behind `orpo export --format gguf` against gguf-py 0.19's reference
// quantizers and, for Q4_K/Q6_K, ggml's own (Fixtures/quant_cases.json, from reference/make_gguf_quant_fixtures.py):
// the same bytes, every case.
import Foundation
import Testing
@testable import GGUF

struct QuantCases: Decodable {
  struct Case: Decodable {
    let name: String
    let row_length: Int
    let values: String
    let expected: [String: String]
  }
  let gguf: String
  let k_quants: String?
  let cases: [Case]
}

@Suite struct GGUFQuantizationTests {
  static let fixture = try? Fixtures.decode(QuantCases.self, "quant_cases.json")

  @Test func fixtureIsPinned() throws {
    #expect(Self.fixture?.gguf == "0.19.0")
    #expect(Self.fixture?.cases.count == 9)
    #expect(Self.fixture?.k_quants == "llama-cpp-python 0.3.36 libggml-base")
  }

  @Test(arguments: ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "Q4_K", "Q6_K"])
  func bytesEqualTheReference(type name: String) throws {
    let type = try #require(GGMLType(name: name))
    var checked = 0
    for c in try #require(Self.fixture).cases {
      guard let hex = c.expected[name] else { continue }
      let bits = hexBytes(c.values)
      let values = stride(from: 0, to: bits.count, by: 4).map { i in
        Float(bitPattern: UInt32(bits[i]) | UInt32(bits[i + 1]) << 8 | UInt32(bits[i + 2]) << 16 | UInt32(bits[i + 3]) << 24)
      }
      let ours = try GGUFQuantizer.quantize(values, rowLength: c.row_length, as: type)
      let want = hexBytes(hex)
      #expect(ours.count == want.count, "\(c.name) \(name)")
      let first = zip(ours, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset
      #expect(first == nil, "\(c.name) \(name): first differing byte at \(first ?? -1) of \(want.count)")
      checked += 1
    }
    #expect(checked >= (type.blockSize == 256 ? 4 : 3))
  }

  /// Q5_0, Q4_K and Q6_K read back through our dequantizer (itself checked against gguf-py, GGUFTests) within one
  /// step of their own grid: Q5_0 max|x| / 16 per 32, Q4_K (max − min) / 15 per 32 (scales rounded to 6 bits can
  /// cost up to half a step more), Q6_K max|x| / 31 per 16; zero blocks stay zero.
  @Test(arguments: [GGMLType.q5_0, .q4_K, .q6_K])
  func kQuantsReadBackWithinTheirStep(type: GGMLType) throws {
    var generator = SplitMix64(state: 7)
    var values = (0..<4096).map { i in Float.random(in: -0.1...0.1, using: &generator) * (i % 7 == 0 ? 3 : 1) + (i / 256 == 3 ? 0.02 : 0) }
    for i in 512..<768 { values[i] = 0 }                  // an all-zero super-block
    values[1000] = 1.5                                     // an outlier
    for i in 2048..<2304 { values[i] = abs(values[i]) }    // positive only (Q4_K's min clamps to 0)
    let bytes = try GGUFQuantizer.quantize(values, rowLength: 1024, as: type)
    #expect(bytes.count == type.byteCount(elementCount: values.count))
    let back = try bytes.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: type, count: values.count) }
    let group = type == .q6_K ? 16 : 32
    for start in stride(from: 0, to: values.count, by: group) {
      let x = values[start..<start + group], y = back[start..<start + group]
      let amax = x.map(abs).max()!
      let step: Float = switch type {
      case .q5_0: amax / 16
      case .q4_K: (Swift.max(x.max()!, 0) - Swift.min(x.min()!, 0)) / 15
      default: amax / 31
      }
      let error = zip(x, y).map { abs($0 - $1) }.max()!
      #expect(error <= step * 1.5 + 1e-7, "\(type) group at \(start): error \(error), step \(step)")
      if amax == 0 { #expect(y.allSatisfy { $0 == 0 }) }
    }
  }

  @Test func refusesWhatItCannotWrite() {
    #expect(throws: GGUFError.self) { try GGUFQuantizer.quantize([1, 2], rowLength: 2, as: .q8_0) }  // rows of 32
    #expect(throws: GGUFError.self) { try GGUFQuantizer.quantize(Array(repeating: 0, count: 256), rowLength: 256, as: .q5_K) }
    #expect(throws: GGUFError.self) { try GGUFQuantizer.quantize(Array(repeating: 0, count: 64), rowLength: 64, as: .q4_K) }  // rows of 256
  }
}

