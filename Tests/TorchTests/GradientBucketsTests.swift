// GradientBucketsTests.swift — DDP's bucketed gradient averaging through the shim: two ranks as two threads of this
// process; buckets sent from post-accumulate-grad hooks during backward, only on the armed (last) backward of an
// accumulation window, and the averages equal (bit for bit) to the element-wise mean of the ranks' gradients.
import Foundation
import Testing
@testable import Torch

@Suite(.serialized) struct GradientBucketsTests {
  /// Parameter shapes: 4 + 300 + 35 + 1000 + 3 float32 values; with caps of 1,000 then 2,000 bytes (reverse order)
  /// they fall into three buckets: [3] | [1000] (alone, over the cap) | [5,7] [300] [4].
  static let shapes = [[4], [300], [5, 7], [1000], [3]]

  /// Rank `rank`'s parameters (the same on every rank) and its micro-batch `k`'s loss Σ_i Σ (c · p_i²), with c
  /// depending on rank, micro-batch and parameter; `skip` leaves one parameter out of the loss.
  static func parameters() throws -> [Tensor] {
    try shapes.enumerated().map { i, shape in
      let n = shape.reduce(1, *)
      return try Tensor((0..<n).map { Float(sin(Double($0 * 7 + i))) }).reshape(shape).requiringGrad()
    }
  }

  static func loss(_ parameters: [Tensor], rank: Int, microBatch k: Int, skip: Int? = nil) throws -> Tensor {
    var total: Tensor? = nil
    for (i, p) in parameters.enumerated() where i != skip {
      let c = 0.1 + 0.37 * Double(rank) + 0.11 * Double(k) + 0.013 * Double(i)
      let term = try (p * p * c).sum()
      total = try total.map { try $0 + term } ?? term
    }
    return total!
  }

  /// One rank's accumulated gradients over two micro-batches, computed without any process group.
  static func localGradients(rank: Int, skipInLast: Int?) throws -> [[Float]] {
    let ps = try parameters()
    try loss(ps, rank: rank, microBatch: 0).backward()
    try loss(ps, rank: rank, microBatch: 1, skip: skipInLast).backward()
    return try ps.map { try $0.grad!.reshape([-1]).scalars(as: Float.self) }
  }

  /// Two micro-batches (the first unarmed: no communication), the second armed; every bucket is sent during the
  /// second backward, or — for the bucket of a parameter that backward never reaches — by `finish`.
  func run(skipInLast: Int?) throws -> [Result<([[Float]], Int, Int), Error>] {
    let port = ProcessGroup.unusedLoopbackPort()
    return onRanks(2) { rank in
      let group = try ProcessGroup(glooAt: "127.0.0.1", port: port, rank: rank, worldSize: 2, hostsStore: rank == 0,
                                   timeout: 20)
      let ps = try Self.parameters()
      let buckets = try GradientBuckets(ps, group: group, firstBucketBytes: 1000, bucketBytes: 2000)
      try Self.loss(ps, rank: rank, microBatch: 0).backward()
      try buckets.arm()
      try Self.loss(ps, rank: rank, microBatch: 1, skip: skipInLast).backward()
      let overlapped = try buckets.finish()
      return (try ps.map { try $0.grad!.reshape([-1]).scalars(as: Float.self) }, overlapped, buckets.bucketCount)
    }
  }

  /// The mean of both ranks' gradients, as float32 computes it: (a + b) / 2.
  func expected(skipInLast: Int?) throws -> [[Float]] {
    let a = try Self.localGradients(rank: 0, skipInLast: skipInLast)
    let b = try Self.localGradients(rank: 1, skipInLast: skipInLast)
    return zip(a, b).map { x, y in zip(x, y).map { ($0 + $1) / 2 } }
  }

  @Test func bucketsSentDuringBackwardAverageTheRanksGradients() throws {
    let want = try expected(skipInLast: nil)
    for result in try run(skipInLast: nil) {
      let (grads, overlapped, count) = try result.get()
      #expect(count == 3, "buckets (reverse order; [3]+[1000] is over 1,000 bytes): [3] | [1000] | [5,7] [300] [4]")
      #expect(overlapped == count, "every bucket left during backward")
      #expect(grads == want)
    }
  }

  /// A parameter the armed backward does not reach (its gradient only from the first micro-batch): its bucket, and
  /// every one after it, waits for `finish`; the averages are the same.
  @Test func aParameterBackwardDoesNotReachIsSentByFinish() throws {
    let want = try expected(skipInLast: 2)
    for result in try run(skipInLast: 2) {
      let (grads, overlapped, count) = try result.get()
      #expect(overlapped == 2, "the buckets before [5,7]'s: [3] and [1000] (of \(count))")
      #expect(grads == want)
    }
  }

  /// Two backwards while armed: the second accumulates into gradients whose buckets already left, so `finish` waits
  /// for those and reduces every bucket again from the final gradients (exact, not overlapped: it reports 0).
  @Test func gradientsAccumulatedAfterTheirBucketLeftAreReducedAgain() throws {
    let want = try expected(skipInLast: nil)
    let port = ProcessGroup.unusedLoopbackPort()
    let results = onRanks(2) { rank -> ([[Float]], Int) in
      let group = try ProcessGroup(glooAt: "127.0.0.1", port: port, rank: rank, worldSize: 2, hostsStore: rank == 0,
                                   timeout: 20)
      let ps = try Self.parameters()
      let buckets = try GradientBuckets(ps, group: group, firstBucketBytes: 1000, bucketBytes: 2000)
      try buckets.arm()
      try Self.loss(ps, rank: rank, microBatch: 0).backward()
      try Self.loss(ps, rank: rank, microBatch: 1).backward()
      let overlapped = try buckets.finish()
      return (try ps.map { try $0.grad!.reshape([-1]).scalars(as: Float.self) }, overlapped)
    }
    for result in results {
      let (grads, overlapped) = try result.get()
      #expect(overlapped == 0)
      #expect(grads == want)
    }
  }

  /// Without `arm()` nothing is sent during backward; `finish` sends everything.
  @Test func unarmedFinishReducesEverything() throws {
    let port = ProcessGroup.unusedLoopbackPort()
    let results = onRanks(2) { rank -> ([Float], Int) in
      let group = try ProcessGroup(glooAt: "127.0.0.1", port: port, rank: rank, worldSize: 2, hostsStore: rank == 0,
                                   timeout: 20)
      let p = try Tensor([Float(1), 2, 3]).requiringGrad()
      let buckets = try GradientBuckets([p], group: group)
      try (p * Double(rank + 1)).sum().backward()
      let overlapped = try buckets.finish()
      return (try p.grad!.scalars(as: Float.self), overlapped)
    }
    for result in results {
      let (grad, overlapped) = try result.get()
      #expect(grad == [1.5, 1.5, 1.5] && overlapped == 0)
    }
  }
}
