// DataParallelTests.swift — the parts of data parallelism that need no second process: torchrun's environment
// contract and its errors, and DistributedSampler's shards (torch.utils.data.DistributedSampler's rule).
import Foundation
import Testing
@testable import Training

@Suite struct LaunchEnvironmentTests {
  let torchrun = ["RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "10.0.0.7",
                  "MASTER_PORT": "29400", "GROUP_RANK": "1", "TORCHELASTIC_RUN_ID": "none",
                  "TORCHELASTIC_USE_AGENT_STORE": "True", "TORCHELASTIC_RESTART_COUNT": "0"]

  @Test func readsTorchrunsVariables() throws {
    let launch = try #require(try LaunchEnvironment.read(torchrun))
    #expect(launch == LaunchEnvironment(rank: 3, worldSize: 4, localRank: 1, localWorldSize: 2, masterAddress: "10.0.0.7",
                                        masterPort: 29400, agentHostsStore: true))
    #expect(try LaunchEnvironment.read([:]) == nil, "no WORLD_SIZE: a single-process run")
    var own = torchrun
    own["TORCHELASTIC_USE_AGENT_STORE"] = nil
    #expect(try LaunchEnvironment.read(own)?.agentHostsStore == false, "rank 0 hosts the store")
    #expect(try LaunchEnvironment.read(["WORLD_SIZE": "1"])?.rank == 0)
  }

  @Test func aWrongVariableIsNamed() throws {
    func problem(_ change: [String: String?]) -> String {
      var e = torchrun
      for (k, v) in change { e[k] = v }
      do {
        _ = try LaunchEnvironment.read(e)
        return "no error"
      } catch { return "\(error)" }
    }
    #expect(problem(["RANK": "4"]) == "RANK: expected this process's rank, 0..<4, found \"4\"")
    #expect(problem(["RANK": nil]) == "RANK is not set (WORLD_SIZE is): expected this process's rank, 0..<4")
    #expect(problem(["MASTER_PORT": "http"]) == "MASTER_PORT: expected a TCP port, 1...65535, found \"http\"")
    #expect(problem(["MASTER_ADDR": nil]) == "MASTER_ADDR is not set (WORLD_SIZE is 4): expected the address of rank 0's host")
    #expect(problem(["WORLD_SIZE": "0"]) == "WORLD_SIZE: expected the number of processes (1 or more), found \"0\"")
    #expect(problem(["LOCAL_RANK": "2"]) == "LOCAL_RANK: expected this process's rank on its node, 0..<2, found \"2\"")
  }
}

@Suite struct DistributedSamplerTests {
  /// torch's DistributedSampler(drop_last=False): the order padded to a multiple of the world size with its own start
  /// (5 -> 6 indices: 0 1 2 3 4 0), rank r taking positions r, r + world, ... ; 5 pairs on 2 ranks -> [0, 2, 4] and
  /// [1, 3, 0]; on 4 ranks (8 positions: 0 1 2 3 4 0 1 2) -> [0, 4], [1, 0], [2, 1], [3, 2].
  @Test func shardsThePaddedOrderByRank() throws {
    let two = (0..<2).map { DistributedSampler(base: SequentialSampler(), rank: $0, worldSize: 2) }
    #expect(try two.map { try $0.order(epoch: 0, count: 5) } == [[0, 2, 4], [1, 3, 0]])
    #expect(two[0].epochLength(count: 5) == 3)
    let four = (0..<4).map { DistributedSampler(base: SequentialSampler(), rank: $0, worldSize: 4) }
    #expect(try four.map { try $0.order(epoch: 0, count: 5) } == [[0, 4], [1, 0], [2, 1], [3, 2]])
    let tiny = (0..<4).map { DistributedSampler(base: SequentialSampler(), rank: $0, worldSize: 4) }
    #expect(try tiny.map { try $0.order(epoch: 0, count: 1) } == [[0], [0], [0], [0]])
  }

  /// With per-device batch b, step k's batches of the ranks together are the base order's k-th batch of 2b: the
  /// pairs a single process with batch 2b trains on at that step.
  @Test func theRanksBatchesOfAStepAreOneBatchOfTheWholeWorld() throws {
    let base = SeededRandomSampler(seed: 42)
    let order = try base.order(epoch: 1, count: 40)
    let shards = try (0..<2).map { try DistributedSampler(base: base, rank: $0, worldSize: 2).order(epoch: 1, count: 40) }
    for step in 0..<10 {
      let together = Set(shards[0][(2 * step)..<(2 * step + 2)] + shards[1][(2 * step)..<(2 * step + 2)])
      #expect(together == Set(order[(4 * step)..<(4 * step + 4)]))
    }
  }
}
