// ProcessGroupTests.swift — c10d's gloo process group through the shim: two ranks as two threads of this process,
// meeting at a TCP store on loopback; collectives' values, and a rank that never comes ending in a timeout error.
import Foundation
import Testing
@testable import Torch

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(rank)` for ranks 0..<world on their own threads; results in rank order (an error stays an error).
func onRanks<T>(_ world: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, Error>] {
  let results = UnsafeMutableBufferPointer<Result<T, Error>?>.allocate(capacity: world)
  results.initialize(repeating: nil)
  defer { results.deallocate() }
  let group = DispatchGroup()
  nonisolated(unsafe) let slots = results
  for rank in 0..<world {
    let thread = Thread {
      slots[rank] = Result { try body(rank) }
      group.leave()
    }
    group.enter()
    thread.start()
  }
  group.wait()
  return results.map { $0! }
}

@Suite(.serialized) struct ProcessGroupTests {
  @Test func collectivesCombineTheRanksTensors() throws {
    let port = ProcessGroup.unusedLoopbackPort()
    let results = onRanks(2) { rank -> [[Float]] in
      let group = try ProcessGroup(glooAt: "127.0.0.1", port: port, rank: rank, worldSize: 2, hostsStore: rank == 0,
                                   timeout: 20)
      #expect(group.rank == rank && group.worldSize == 2)
      let summed = try Tensor([Float(1 + rank), 2, Float(10 * rank)])
      try group.allReduce(summed)
      let largest = try Tensor([Float(rank), -Float(rank)])
      try group.allReduce(largest, .max)
      let broadcast = try Tensor([Float(rank + 5)])
      try group.broadcast(broadcast, from: 1)
      let gathered = try group.allGather(try Tensor([Float(rank), Float(rank) + 0.5]))
      #expect(gathered.shape == [2, 2])
      try group.barrier()
      return try [summed, largest, broadcast, gathered.reshape([4])].map { try $0.scalars(as: Float.self) }
    }
    for result in results {
      let v = try result.get()
      #expect(v[0] == [3, 4, 10])
      #expect(v[1] == [1, 0])
      #expect(v[2] == [6])
      #expect(v[3] == [0, 0.5, 1, 1.5])
    }
  }

  /// Rank 1 joins but never takes part in the collective: rank 0's all_reduce fails after the timeout, naming itself.
  @Test func aRankThatHangsEndsTheCollectiveWithinTheTimeout() throws {
    let port = ProcessGroup.unusedLoopbackPort()
    let start = Date()
    let results = onRanks(2) { rank -> Double in
      let group = try ProcessGroup(glooAt: "127.0.0.1", port: port, rank: rank, worldSize: 2, hostsStore: rank == 0,
                                   timeout: 2)
      if rank == 1 {
        Thread.sleep(forTimeInterval: 4)
        return 0
      }
      try group.allReduce(try Tensor([Float(1)]))
      return 1
    }
    let error = try #require(results[0].failure as? TorchError)
    #expect(error.description.contains("all_reduce failed (rank 0 of 2)"), "\(error)")
    #expect(Date().timeIntervalSince(start) < 10)
  }

  @Test func aRendezvousNobodyComesToTimesOut() throws {
    let start = Date()
    #expect(throws: TorchError.self) {
      _ = try ProcessGroup(glooAt: "127.0.0.1", port: ProcessGroup.unusedLoopbackPort(), rank: 0, worldSize: 2, hostsStore: true, timeout: 1)
    }
    #expect(Date().timeIntervalSince(start) < 8)
  }
}

/// NCCL through the shim: refused at once, with the reason, where this process has no libtorch_cuda with NCCL (no
/// GPU, as in CI); where it has one (a GPU machine), one rank's group all-reduces a CUDA tensor and averages gradient
/// buckets on the GPU. The GPU half has not run yet: no machine with a GPU was at hand when it was written.
@Suite(.serialized) struct NCCLProcessGroupTests {
  /// libtorch_cuda goes in first (where there is one), so that both tests see what `orpo` would.
  static let hasNCCL = CUDA.load().available && ProcessGroup.ncclAvailability.available

  @Test(.enabled(if: !hasNCCL)) func ncclIsRefusedAtOnceWithTheReason() throws {
    #expect(!ProcessGroup.ncclAvailability.reason.isEmpty)
    let start = Date()
    do {
      _ = try ProcessGroup(.nccl, at: "127.0.0.1", port: ProcessGroup.unusedLoopbackPort(), rank: 1, worldSize: 2, hostsStore: false,
                           timeout: 20)
      Issue.record("an NCCL group was made without NCCL")
    } catch let error as TorchError {
      #expect(error.description.contains("NCCL: "), "\(error)")
      #expect(error.description.contains(ProcessGroup.ncclAvailability.reason), "\(error)")
    }
    #expect(Date().timeIntervalSince(start) < 5, "refused before the rendezvous, not after its 20 s timeout")
  }

  @Test(.enabled(if: hasNCCL))
  func ncclAllReducesCUDATensors() throws {
    let group = try ProcessGroup(.nccl, at: "127.0.0.1", port: ProcessGroup.unusedLoopbackPort(), rank: 0, worldSize: 1, hostsStore: true,
                                 timeout: 60)
    #expect(group.backend == .nccl)
    let t = try Tensor([Float(1), 2, 3]).to(.cuda(0))
    try group.allReduce(t)
    #expect(try t.to(.cpu).scalars(as: Float.self) == [1, 2, 3])
    let p = try Tensor([Float(1), 2]).to(.cuda(0)).requiringGrad()
    let buckets = try GradientBuckets([p], group: group)
    try buckets.arm()
    try (p * 3.0).sum().backward()
    #expect(try buckets.finish() == 1)
    #expect(try p.grad!.to(.cpu).scalars(as: Float.self) == [3, 3])
  }
}

extension Result {
  var failure: Failure? {
    if case .failure(let e) = self { return e }
    return nil
  }
}
