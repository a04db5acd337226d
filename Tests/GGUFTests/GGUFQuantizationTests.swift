// GGUFQuantizationTests.swift — the quantizers behind `orpo export --format gguf` against gguf-py 0.19's reference
// quantizers (Fixtures/quant_cases.json, from reference/make_gguf_quant_fixtures.py): the same bytes, every case.
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
  let cases: [Case]
}

@Suite struct GGUFQuantizationTests {
  static let fixture = try? Fixtures.decode(QuantCases.self, "quant_cases.json")

  @Test func fixtureIsPinned() throws {
    #expect(Self.fixture?.gguf == "0.19.0")
    #expect(Self.fixture?.cases.count == 5)
  }

  @Test(arguments: ["F32", "F16", "BF16", "Q8_0", "Q4_0"])
  func bytesEqualGGUFPy(type name: String) throws {
    let type: GGMLType = ["F32": .f32, "F16": .f16, "BF16": .bf16, "Q8_0": .q8_0, "Q4_0": .q4_0][name]!
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
    #expect(checked >= 3)
  }

  @Test func refusesWhatItCannotWrite() {
    #expect(throws: GGUFError.self) { try GGUFQuantizer.quantize([1, 2], rowLength: 2, as: .q8_0) }  // rows of 32
    #expect(throws: GGUFError.self) { try GGUFQuantizer.quantize(Array(repeating: 0, count: 256), rowLength: 256, as: .q4_K) }
  }
}
