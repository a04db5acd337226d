// DataParallel.swift — data-parallel training as Hugging Face Trainer + accelerate do it, on libtorch's c10d:
// torchrun's environment contract, the DistributedSampler shard of each epoch's order, gradients averaged in buckets
// all-reduced during backward (GradientBuckets) before clipping, logged metrics and evaluation combined across processes, rank 0 writing.
// docs/distributed.md explains the design (and how sharded training and multi-node runs extend it).
import Foundation
import Torch

/// What torchrun (and `orpo train --nproc-per-node`) tells each worker through its environment.
public struct LaunchEnvironment: Equatable, Sendable {
  public var rank: Int
  public var worldSize: Int
  public var localRank: Int
  public var localWorldSize: Int
  public var masterAddress: String
  public var masterPort: Int
  /// torchrun's agent already hosts the TCP store at MASTER_ADDR:MASTER_PORT (`TORCHELASTIC_USE_AGENT_STORE`):
  /// every worker joins it as a client. Otherwise rank 0 hosts it.
  public var agentHostsStore: Bool

  public init(rank: Int, worldSize: Int, localRank: Int, localWorldSize: Int, masterAddress: String, masterPort: Int,
              agentHostsStore: Bool = false)
  {
    self.rank = rank
    self.worldSize = worldSize
    self.localRank = localRank
    self.localWorldSize = localWorldSize
    self.masterAddress = masterAddress
    self.masterPort = masterPort
    self.agentHostsStore = agentHostsStore
  }

  /// The launch described by `environment`, or nil when WORLD_SIZE is unset (a plain single-process run).
  /// A variable that is present but wrong stops the run with a message naming it. `TORCHELASTIC_*` and the other
  /// variables torchrun sets (GROUP_RANK, ROLE_RANK, ...) are accepted and, apart from the agent store, not needed.
  public static func read(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
    -> LaunchEnvironment?
  {
    guard let worldText = environment["WORLD_SIZE"] else { return nil }
    func integer(_ name: String, _ text: String?, in range: Range<Int>, meaning: String) throws -> Int {
      guard let text else { throw LaunchError("\(name) is not set (WORLD_SIZE is): expected \(meaning)") }
      guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
        throw LaunchError("\(name): expected \(meaning), found \"\(text)\"")
      }
      return value
    }
    let world = try integer("WORLD_SIZE", worldText, in: 1..<65536, meaning: "the number of processes (1 or more)")
    let rank = try integer("RANK", environment["RANK"] ?? (world == 1 ? "0" : nil), in: 0..<world,
                           meaning: "this process's rank, 0..<\(world)")
    let localWorld = try integer("LOCAL_WORLD_SIZE", environment["LOCAL_WORLD_SIZE"] ?? worldText, in: 1..<(world + 1),
                                 meaning: "the processes on this node, 1...\(world)")
    let localRank = try integer("LOCAL_RANK", environment["LOCAL_RANK"] ?? String(rank % localWorld),
                                in: 0..<localWorld, meaning: "this process's rank on its node, 0..<\(localWorld)")
    let address = environment["MASTER_ADDR"] ?? (world == 1 ? "127.0.0.1" : nil)
    guard let address, !address.isEmpty else {
      throw LaunchError("MASTER_ADDR is not set (WORLD_SIZE is \(world)): expected the address of rank 0's host")
    }
    let port = try integer("MASTER_PORT", environment["MASTER_PORT"] ?? (world == 1 ? "29500" : nil), in: 1..<65536,
                           meaning: "a TCP port, 1...65535")
    let agentStore = ["1", "true"].contains(environment["TORCHELASTIC_USE_AGENT_STORE"]?.lowercased() ?? "")
    return LaunchEnvironment(rank: rank, worldSize: world, localRank: localRank, localWorldSize: localWorld,
                             masterAddress: address, masterPort: port, agentHostsStore: agentStore)
  }

  /// The variables that describe this launch to a worker process (what torchrun sets).
  public var variables: [String: String] {
    ["RANK": String(rank), "WORLD_SIZE": String(worldSize), "LOCAL_RANK": String(localRank),
     "LOCAL_WORLD_SIZE": String(localWorldSize), "MASTER_ADDR": masterAddress, "MASTER_PORT": String(masterPort)]
  }
}

/// A launch or a data-parallel collective went wrong; the message says which variable or which rank.
public struct LaunchError: Error, CustomStringConvertible, Equatable {
  public var description: String
  public init(_ description: String) { self.description = description }
}

/// PyTorch's DistributedSampler over a base sampler's order: the order is padded to a multiple of the world size by
/// repeating its start (`drop_last=False`), and rank r takes every world-th index from r. With per-device batch b,
/// the world's batches of a step together hold the pairs of one batch of world × b in the base order.
public struct DistributedSampler: EpochSampler {
  public var base: any EpochSampler
  public var rank: Int
  public var worldSize: Int

  public init(base: any EpochSampler, rank: Int, worldSize: Int) {
    self.base = base
    self.rank = rank
    self.worldSize = worldSize
  }

  public func order(epoch: Int, count: Int) throws -> [Int] {
    var order = try base.order(epoch: epoch, count: count)
    let total = epochLength(count: count) * worldSize
    while order.count < total { order += order.prefix(total - order.count) }
    return Array(stride(from: rank, to: total, by: worldSize).map { order[$0] })
  }

  public func epochLength(count: Int) -> Int { (base.epochLength(count: count) + worldSize - 1) / worldSize }
}

/// One process of a data-parallel run: its process group and what the trainer asks of it.
public final class DataParallel {
  public let group: ProcessGroup
  public let environment: LaunchEnvironment
  public var rank: Int { group.rank }
  public var worldSize: Int { group.worldSize }
  public var isMainProcess: Bool { rank == 0 }

  /// Where the collectives' tensors live: the CPU (gloo) or this process's GPU (NCCL).
  public let device: Device

  /// Joins the run `environment` describes: gloo when `device` is the CPU, NCCL when it is a GPU (refused at once,
  /// with the reason, where libtorch has no NCCL). `timeout` (seconds, `ddp_timeout`) bounds the rendezvous and every
  /// collective, so a rank that died or hangs stops the others with an error.
  public init(environment: LaunchEnvironment, timeout: Double, device: Device = .cpu) throws {
    self.environment = environment
    self.device = device
    let backend = ProcessGroup.Backend(for: device)
    if backend == .nccl {
      let nccl = ProcessGroup.ncclAvailability
      guard nccl.available else { throw LaunchError("data parallel on \(device) needs NCCL: \(nccl.reason)") }
    }
    do {
      group = try ProcessGroup(backend, at: environment.masterAddress, port: environment.masterPort,
                               rank: environment.rank, worldSize: environment.worldSize,
                               hostsStore: environment.rank == 0 && !environment.agentHostsStore, timeout: timeout)
    } catch let error as TorchError {
      throw LaunchError("rank \(environment.rank) of \(environment.worldSize) could not meet the others at \(environment.masterAddress):\(environment.masterPort) within \(Self.seconds(timeout)) (ddp_timeout): \(error.message)")
    }
  }

  static func seconds(_ t: Double) -> String { t == t.rounded() ? "\(Int(t)) s" : String(format: "%.1f s", t) }

  /// Runs a collective; its failure (a peer gone or silent past the timeout) becomes one clear LaunchError.
  func collective<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as TorchError {
      throw LaunchError("data-parallel \(what) failed on rank \(rank) of \(worldSize): another process died or did not answer within \(Self.seconds(group.timeout)) (ddp_timeout): \(error.message)")
    }
  }

  /// DDP's gradient averaging, set up by `attach(to:)`: buckets of ~25 MB sent from autograd hooks during the last
  /// backward of a step, then averaged.
  public private(set) var buckets: GradientBuckets?
  /// How many buckets the last step sent while backward still ran (the rest were sent after it).
  public private(set) var overlappedBuckets = 0

  /// DDP's `bucket_cap_mb` (`ddp_bucket_cap_mb`): nil keeps DDP's default (1 MiB first, then 25 MiB); a value is
  /// every bucket's cap, the first included (as DDP does when the cap is given).
  public var bucketCapMB: Int?

  /// Gradient averaging over `parameters` (every rank the same list): bucketed all-reduce, overlapped with the
  /// backward that follows `armBuckets()`. Runs `finish` after the last backward of a step and before clipping.
  public func prepareGradientBuckets(_ parameters: [Tensor]) throws {
    buckets = nil  // its hooks go first
    let cap = bucketCapMB.map { $0 << 20 }
    buckets = try collective("gradient buckets") {
      try GradientBuckets(parameters, group: group, firstBucketBytes: cap ?? 1 << 20, bucketBytes: cap ?? 25 << 20)
    }
  }

  /// The next backward sends gradient buckets as they fill.
  public func armBuckets() throws { try buckets?.arm() }

  /// Every gradient of `parameters` averaged across the processes (what backward did not send is sent now).
  public func averageGradients(_ parameters: [Tensor]) throws {
    let same = buckets.map { $0.parameters.count == parameters.count && zip($0.parameters, parameters).allSatisfy { $0 === $1 } }
    if same != true { try prepareGradientBuckets(parameters) }
    overlappedBuckets = try collective("gradient all-reduce") { try buckets!.finish() }
  }

  /// Element-wise sums of `values` over every process (float64).
  public func sum(_ values: [Double]) throws -> [Double] {
    guard !values.isEmpty else { return values }
    let t = try Tensor(values).to(device)
    try collective("metric all-reduce") { try group.allReduce(t) }
    return try t.to(.cpu).scalars(as: Double.self)
  }

  /// DDP's start: every process takes rank 0's values of `parameters` (they are seeded alike; this makes sure).
  public func broadcastFromMain(_ parameters: [Tensor]) throws {
    try withNoGrad {
      for p in parameters { try collective("parameter broadcast") { try group.broadcast(p, from: 0) } }
    }
  }

  /// Hooks `trainer` up (its parameters on `device`): the gradient average before clipping, metric sums across processes, rank 0 reporting and
  /// writing, and parameters made identical before the first step. The trainer must have been built with a
  /// `DistributedSampler` of this rank (TrainingRun.prepare does it).
  public func attach(to trainer: Trainer) throws {
    bucketCapMB = trainer.config.ddpBucketCapMB
    try prepareGradientBuckets(trainer.trainable.map(\.tensor))
    trainer.beforeLastBackward = { [unowned self] in try self.armBuckets() }
    trainer.afterBackward = { [unowned self] in try self.averageGradients($0) }
    trainer.sumAcrossProcesses = { [unowned self] in try self.sum($0) }
    trainer.processRank = (rank, worldSize)
    trainer.isMainProcess = isMainProcess
    try broadcastFromMain(trainer.trainable.map(\.tensor))
  }
}
