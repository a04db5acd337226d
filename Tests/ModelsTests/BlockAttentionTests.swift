// BlockAttentionTests.swift — a packed row attended block by block (BlockDiagonalMask) gives every branch the hidden
// states it has alone under the ordinary causal (and sliding-window) mask, and equals one SDPA call over the dense
// mask; sliding windows apply inside blocks (Mistral's 5, Gemma 3's 4 in the fixtures).
import Foundation
import Testing
@testable import Models
import Torch

@Suite(.serialized) struct BlockAttentionTests {
  /// One pair's packed segment: a shared prefix, then the chosen tail, then the rejected tail (positions restart
  /// after the prefix, the rejected tail never sees the chosen one), as Training's PackedPairCollator lays it out.
  struct Segment {
    var prefix: [Int], chosen: [Int], rejected: [Int]
    var ids: [Int] { prefix + chosen + rejected }
    var positions: [Int] { Array(0..<(prefix.count + chosen.count)) + Array(prefix.count..<(prefix.count + rejected.count)) }
    var length: Int { ids.count }

    func block(device: Device = .cpu) throws -> BlockDiagonalMask.Block {
      let (p, c) = (prefix.count, chosen.count)
      func branch(_ i: Int) -> Int { i < p ? 0 : i < p + c ? 1 : 2 }
      var allowed = [Int64](repeating: 0, count: length * length)
      for q in 0..<length {
        for k in 0..<length where positions[k] <= positions[q] && (branch(k) == 0 || branch(k) == branch(q)) {
          allowed[q * length + k] = 1
        }
      }
      return .init(length: length, mask: try Tensor(allowed, shape: [1, 1, length, length]).ne(0),
                   positions: try Tensor(positions.map(Int64.init)))
    }
  }

  func segments() throws -> [Segment] {
    let g = try Generator(seed: 11)
    func ids(_ n: Int) throws -> [Int] {
      try Tensor.randint(3, 90, shape: [n], generator: g).scalars(as: Int64.self).map(Int.init)
    }
    return [Segment(prefix: try ids(4), chosen: try ids(6), rejected: try ids(3)),
            Segment(prefix: try ids(7), chosen: try ids(2), rejected: try ids(5)),
            Segment(prefix: try ids(3), chosen: try ids(9), rejected: try ids(8))]
  }

  @Test(arguments: ["llama3", "mistral", "gemma3"])
  func eachBranchSeesWhatItSeesAlone(family: String) throws {
    let (config, parameters, _) = try Checkpoint.load(try fixtureURL(family))
    let model = try makeCausalLanguageModel(config: config, parameters: parameters)
    let parts = try segments()
    let ids = parts.flatMap(\.ids), positions = parts.flatMap(\.positions)
    let mask = BlockDiagonalMask(blocks: try parts.map { try $0.block() })
    try withNoGrad {
      let packed = try model.hiddenStates(inputIDs: try Tensor(ids.map(Int64.init), shape: [1, ids.count]),
                                          positions: try Tensor(positions.map(Int64.init), shape: [1, ids.count]),
                                          blockMask: mask).select(0, 0)  // [N, C]
      var offset = 0
      for part in parts {
        for (tail, start) in [(part.chosen, part.prefix.count), (part.rejected, part.prefix.count + part.chosen.count)] {
          let alone = part.prefix + tail
          let h = try model.hiddenStates(inputIDs: try Tensor(alone.map(Int64.init), shape: [1, alone.count])).select(0, 0)
          let prefix = try packed.narrow(0, start: offset, length: part.prefix.count)
          let branch = try packed.narrow(0, start: offset + start, length: tail.count)
          let want = try Tensor.cat([prefix, branch], dim: 0)
          #expect(try maxAbsDifference(want, h) < 1e-5, "\(family): a branch packed vs alone")
        }
        offset += part.length
      }
    }
  }

  @Test func blocksEqualOneCallOverTheDenseMask() throws {
    let parts = try segments()
    let mask = BlockDiagonalMask(blocks: try parts.map { try $0.block() })
    let n = parts.reduce(0) { $0 + $1.length }
    let g = try Generator(seed: 3)
    let (q, k, v) = (try Tensor.randn([1, 2, n, 8], generator: g), try Tensor.randn([1, 2, n, 8], generator: g),
                     try Tensor.randn([1, 2, n, 8], generator: g))
    let dense = try mask.dense()
    #expect(dense.shape == [1, 1, n, n])
    #expect(try dense.to(dtype: .int64).sum().item() == Double(try parts.map { try $0.block().mask.to(dtype: .int64).sum().item() }.reduce(0, +)))
    let blockwise = try mask.attention(query: q, key: k, value: v, scale: nil)
    let whole = try Functional.scaledDotProductAttention(query: q, key: k, value: v, mask: dense)
    #expect(try maxAbsDifference(blockwise, whole) < 1e-6)
    // Windows: 3 hides keys three or more positions back inside every longer block.
    let windowed = try mask.windowed(3)
    #expect(try windowed.blocks[2].mask.to(dtype: .int64).sum().item() < (try mask.blocks[2].mask.to(dtype: .int64).sum().item()))
    #expect(try mask.windowed(100).blocks[0].mask.equals(mask.blocks[0].mask))
  }
}
