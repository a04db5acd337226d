// GroupedQueryAttentionTests.swift — grouped-query attention through SDPA's own grouped heads (k and v kept at
// [B, Hkv, T, d], no repeated copy saved for backward) gives the logits and gradients that repeat_kv gives, on the
// tiny GQA fixtures (Llama 3: 4 query heads over 2, Mistral: over 1 with a sliding window, Gemma 3: query scale and
// local layers), for every mask the attention core takes: causal, padded (explicit), packed blocks and a KV cache.
import Foundation
import Testing
@testable import Models
import Torch

/// Inputs for each mask mode the attention core takes: ids [2, 11]; an attention mask with row 1 left-padded by 3;
/// two packed blocks (4 and 7 tokens, causal) over row 0 with their RoPE positions [1, 11].
func maskModeInputs(seed: UInt64) throws -> (ids: Tensor, mask: Tensor, blocks: BlockDiagonalMask, positions: Tensor) {
  let ids = try Tensor.randint(3, 90, shape: [2, 11], generator: try Generator(seed: seed))
  let mask = try Tensor([Int64](repeating: 1, count: 11) + [0, 0, 0] + [Int64](repeating: 1, count: 8), shape: [2, 11])
  let blocks = BlockDiagonalMask(blocks: try [4, 7].map { n in
    .init(length: n, mask: try Tensor.ones([n, n], dtype: .bool).tril().view([1, 1, n, n]),
          positions: try Tensor.arange(n, dtype: .int64, device: .cpu))
  })
  let positions = try Tensor((0..<4).map(Int64.init) + (0..<7).map(Int64.init), shape: [1, 11])
  return (ids, mask, blocks, positions)
}

@Suite(.serialized) struct GroupedQueryAttentionTests {
  /// Logits of each mask mode, and the gradients of Σ logits · upstream with respect to every weight, on one path.
  func run(_ model: any CausalLanguageModel, native: Bool) throws -> (logits: [Tensor], grads: [Tensor]) {
    GroupedQueryAttention.native = native
    defer { GroupedQueryAttention.native = true }
    let weights = model.namedParameters().map(\.tensor)
    for w in weights { try w.requiringGrad().setGrad(nil) }
    defer { for w in weights { _ = try? w.requiringGrad(false) } }
    let (ids, mask, blocks, packedPositions) = try maskModeInputs(seed: 21)
    var logits = [
      try model(ids),                                  // causal
      try model(ids, attentionMask: mask),             // explicit: left padding in row 1
      try model.logits(model.hiddenStates(inputIDs: ids.narrow(0, start: 0, length: 1), positions: packedPositions,
                                          blockMask: blocks)),
    ]
    let cache = model.makeCache()                       // prefill 10 tokens, then 1 attending to the cache
    _ = try model(ids.narrow(1, start: 0, length: 10), cache: cache)
    logits.append(try model(ids.narrow(1, start: 10, length: 1), cache: cache))
    var loss = try Tensor.zeros([])
    for (i, l) in logits.enumerated() {
      let upstream = try Tensor.uniform(l.shape, low: -1, high: 1, generator: try Generator(seed: UInt64(i)))
      loss = try loss + (l * upstream).sum()
    }
    try loss.backward()
    return (try logits.map { try $0.detached() }, try weights.map { try #require($0.grad) })
  }

  @Test(arguments: ["llama3", "mistral", "gemma3"])
  func groupedHeadsEqualRepeatedKeysAndValues(family: String) throws {
    let (config, parameters, _) = try Checkpoint.load(try fixtureURL(family))
    #expect(config.kvHeads < config.numAttentionHeads, "\(family): the fixture must use grouped-query attention")
    let model = try makeCausalLanguageModel(config: config, parameters: parameters)
    let grouped = try run(model, native: true)
    let repeated = try run(model, native: false)
    for (a, b) in zip(grouped.logits, repeated.logits) {
      #expect(a.shape == b.shape)
      #expect(try maxAbsDifference(a, b) < 1e-5, "\(family): logits")
    }
    #expect(grouped.grads.count == repeated.grads.count)
    for (a, b) in zip(grouped.grads, repeated.grads) {
      #expect(try maxAbsDifference(a, b) < 1e-5 * max(1, try b.abs().max().item()), "\(family): gradients")
    }
  }

  /// On the CPU in float32, every mask mode goes to a kernel that reads the grouped heads in place (else repeat_kv's
  /// copies would be back, and the memory with them).
  @Test func theCPUKernelTakesGroupedHeads() throws {
    let g = try Generator(seed: 2)
    let q = try Tensor.randn([1, 4, 6, 8], generator: g), kv = try Tensor.randn([1, 2, 6, 8], generator: g)
    let block = BlockDiagonalMask.Block(length: 6, mask: try Tensor.ones([1, 1, 6, 6], dtype: .bool).tril(),
                                        positions: try Tensor.arange(6, dtype: .int64, device: .cpu))
    for mask in [AttentionMask.causal, .none, .explicit(try Tensor.ones([1, 1, 6, 6], dtype: .bool).tril()),
                 .blocks(BlockDiagonalMask(blocks: [block]))] {
      #expect(try groupedQueriesAreNative(query: q, key: kv, value: kv, mask: mask), "\(mask)")
    }
    GroupedQueryAttention.native = false
    defer { GroupedQueryAttention.native = true }
    #expect(try !groupedQueriesAreNative(query: q, key: kv, value: kv, mask: .causal))
  }
}
