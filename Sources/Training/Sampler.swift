// Sampler.swift — the order in which each epoch visits the training pairs. The default is Hugging Face's
// SeedableRandomSampler (randperm over a generator seeded with seed + epoch); a data-parallel sampler hands each
// process its share of that order.
import Torch

public protocol EpochSampler {
  /// Indices into the `count` training pairs, in the order epoch `epoch` (0-based) visits them.
  func order(epoch: Int, count: Int) throws -> [Int]
  /// How many indices one epoch yields (less than `count` for a sampler that takes one process's share).
  func epochLength(count: Int) -> Int
}

extension EpochSampler {
  public func epochLength(count: Int) -> Int { count }
}

/// Hugging Face's SeedableRandomSampler: `torch.randperm(n, generator=Generator().manual_seed(seed + epoch))`.
public struct SeededRandomSampler: EpochSampler {
  public var seed: Int

  public init(seed: Int) { self.seed = seed }

  public func order(epoch: Int, count: Int) throws -> [Int] {
    try Tensor.randperm(count, generator: Generator(seed: UInt64(seed + epoch))).scalars(as: Int64.self).map(Int.init)
  }
}

/// The data's own order, every epoch (PyTorch's SequentialSampler; `shuffle: false`).
public struct SequentialSampler: EpochSampler {
  public init() {}

  public func order(epoch: Int, count: Int) throws -> [Int] { Array(0..<count) }
}
