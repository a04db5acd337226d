// DataParallelTests.swift — `orpo train` in 2 processes × 1 thread (gloo on loopback) against 1 process with the
// combined batch, what happens when a rank dies (under `--nproc-per-node` and under a torchrun-style launch), and
// Ctrl-C / SIGTERM to the launcher.
import Foundation
import Testing
import Torch

#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .enabled(if: OrpoProcess.executable != nil, "the orpo executable is not built beside the tests"))
struct DataParallelTests {
  let base = repositoryRoot.appendingPathComponent("Tests/TrainingTests/Fixtures/orpo")

  func temporaryFolder(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("orpo-\(name)-\(UInt32.random(in: 0...UInt32.max))")
  }

  /// The tiny fixture model on its 40 pairs: ORPO, LoRA, 20 steps, each step logged, evaluated every 10 steps.
  func arguments(output: URL, batch: Int, steps: Int = 20) -> [String] {
    ["train", "--model", base.path, "--data", base.appendingPathComponent("data.jsonl").path,
     "--eval-data", base.appendingPathComponent("data.jsonl").path, "--output-dir", output.path,
     "--max-steps", String(steps), "--per-device-train-batch-size", String(batch), "--learning-rate", "1e-3",
     "--logging-steps", "1", "--set", "max_length=64", "--set", "threads=1", "--set", "eval_strategy=steps",
     "--set", "eval_steps=10", "--set", "per_device_eval_batch_size=4", "--set", "report_to=jsonl"]
  }

  func metrics(_ run: URL) throws -> [[String: Double]] {
    try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map {
      let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
      return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }
  }

  /// Data parallel with per-device batch 2 on 2 processes is the 1-process run with batch 4: the same pairs per step
  /// (DistributedSampler's shards of the seeded order), gradients averaged, token means over both processes
  /// (`average_tokens_across_devices`), evaluation split by batches and summed. Equal up to float32 summation order:
  /// the loss curve within 1e-6 relative at every step, the final adapter within 1e-6 relative (L2 over all its
  /// weights; single elements differ more, as they do between 1 and 2 threads in one process: Adam amplifies
  /// rounding in gradients near zero). Only rank 0 writes: the run folders hold the same files.
  @Test func twoProcessesMatchOneProcessWithTheirCombinedBatch() throws {
    let root = temporaryFolder("ddp")
    defer { try? FileManager.default.removeItem(at: root) }
    let single = root.appendingPathComponent("one"), parallel = root.appendingPathComponent("two")
    let one = try OrpoProcess.run(arguments(output: single, batch: 4))
    #expect(one.status == 0, "\(one.errors)")
    let two = try OrpoProcess.run(arguments(output: parallel, batch: 2) + ["--nproc-per-node", "2"])
    #expect(two.status == 0, "\(two.errors)")
    #expect(two.errors.contains("data parallel: 2 processes"), "\(two.errors)")
    #expect(two.errors.components(separatedBy: "orpo: done:").count == 2, "rank 0 alone reports")

    try expectSameRun(single, parallel)
  }

  /// The same parity under torchrun itself: `torchrun --nproc-per-node 2 --no-python orpo train …` (static
  /// rendezvous: torchrun's agent hosts the TCP store at MASTER_ADDR:MASTER_PORT and sets
  /// TORCHELASTIC_USE_AGENT_STORE=True, so both workers join it as clients). Needs a Python with torch:
  /// ORPO_TORCHRUN_PYTHON, else the checkout's .venv-torchrun, else python3 on PATH; skipped (saying so) without one.
  @Test(.enabled(if: TorchRun.python != nil, TorchRun.missing))
  func torchrunMatchesOneProcessWithTheCombinedBatch() throws {
    let python = try #require(TorchRun.python), orpo = try #require(OrpoProcess.executable)
    let root = temporaryFolder("ddp-torchrun")
    defer { try? FileManager.default.removeItem(at: root) }
    let single = root.appendingPathComponent("one"), parallel = root.appendingPathComponent("two")
    let one = try OrpoProcess.run(arguments(output: single, batch: 4))
    #expect(one.status == 0, "\(one.errors)")
    let launch = ["-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
                  "--master-port", String(ProcessGroup.unusedLoopbackPort()), "--no-python", orpo.path]
    let two = try OrpoProcess.run(launch + arguments(output: parallel, batch: 2), executable: python)
    #expect(two.status == 0, "\(two.errors)")
    #expect(two.errors.contains("data parallel: 2 processes"), "\(two.errors)")
    try expectSameRun(single, parallel)
  }

  /// A 1-process run with batch 2b against a 2-process run with per-device batch b: every logged loss, grad_norm,
  /// NLL and eval metric within 1e-6 relative, the final adapter within 1e-6 relative (L2), the same files.
  func expectSameRun(_ single: URL, _ parallel: URL) throws {
    let expected = try metrics(single), found = try metrics(parallel)
    #expect(expected.count == found.count && expected.filter { $0["eval_loss"] != nil }.count == 3)
    for (e, f) in zip(expected, found) {
      #expect(e["step"] == f["step"])
      for key in ["loss", "grad_norm", "nll_loss", "logps/chosen", "logps/rejected", "rewards/chosen",
                  "log_odds_ratio", "eval_loss", "eval_nll_loss", "eval_accuracy", "eval_logps/chosen"] {
        guard let x = e[key] else { continue }
        let y = try #require(f[key], "\(key) at step \(e["step"]!)")
        #expect(abs(x - y) <= 1e-6 * abs(x), "\(key) at step \(e["step"]!): \(x) (1 process) vs \(y) (2 processes)")
      }
    }

    let a = try SafeTensorsFile(url: single.appendingPathComponent("adapter/adapter_model.safetensors")).tensors()
    let b = try SafeTensorsFile(url: parallel.appendingPathComponent("adapter/adapter_model.safetensors")).tensors()
    #expect(a.keys.sorted() == b.keys.sorted() && a.count == 28)
    var difference = 0.0, norm = 0.0
    for (key, x) in a {
      let x64 = try x.to(dtype: .float64), y64 = try b[key]!.to(dtype: .float64)
      difference += try ((x64 - y64) * (x64 - y64)).sum().item()
      norm += try (x64 * x64).sum().item()
    }
    #expect((difference / norm).squareRoot() <= 1e-6, "adapter ‖Δ‖/‖a‖ = \((difference / norm).squareRoot())")
    let listing = { (run: URL) in try FileManager.default.contentsOfDirectory(atPath: run.path).sorted() }
    #expect(try listing(single) == listing(parallel))
  }

  /// A 2-process run resumed on 2 processes from the checkpoint rank 0 wrote at step 10 continues the uninterrupted
  /// run bit for bit: the same logged values after step 10 (throughput aside) and the same final adapter.
  @Test func resumingOnTheSameWorldSizeIsBitIdentical() throws {
    let root = temporaryFolder("ddp-resume")
    defer { try? FileManager.default.removeItem(at: root) }
    let whole = root.appendingPathComponent("whole"), resumed = root.appendingPathComponent("resumed")
    let first = try OrpoProcess.run(arguments(output: whole, batch: 2) + ["--save-steps", "10", "--nproc-per-node", "2"])
    #expect(first.status == 0, "\(first.errors)")
    let checkpoint = whole.appendingPathComponent("checkpoint-10")
    let second = try OrpoProcess.run(arguments(output: resumed, batch: 2)
      + ["--resume-from-checkpoint", checkpoint.path, "--nproc-per-node", "2"])
    #expect(second.status == 0, "\(second.errors)")
    func afterTen(_ run: URL) throws -> [[String: Double]] {
      try metrics(run).filter { $0["step"]! > 10 }.map { $0.filter { $0.key != "tokens_per_second" } }
    }
    let expected = try afterTen(whole)
    #expect(expected.count == 12, "steps 11...20, the evaluation at step 20 and the final one")
    #expect(try afterTen(resumed) == expected)
    let adapter = "adapter/adapter_model.safetensors"
    #expect(try Data(contentsOf: whole.appendingPathComponent(adapter)) == Data(contentsOf: resumed.appendingPathComponent(adapter)))
  }

  /// torchrun's contract, launched by hand: two workers with RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT. Rank 1
  /// is killed mid-run; rank 0 stops with one error naming the failed collective, well within ddp_timeout.
  @Test func aKilledWorkerStopsTheOtherWithOneError() throws {
    let root = temporaryFolder("ddp-kill")
    defer { try? FileManager.default.removeItem(at: root) }
    let port = ProcessGroup.unusedLoopbackPort()
    let workers = try (0..<2).map { rank in
      try Worker(arguments(output: root, batch: 2, steps: 100_000) + ["--set", "ddp_timeout=20"],
                 environment: ["RANK": "\(rank)", "WORLD_SIZE": "2", "LOCAL_RANK": "\(rank)", "LOCAL_WORLD_SIZE": "2",
                               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)"])
    }
    defer { for w in workers where w.process.isRunning { kill(w.process.processIdentifier, SIGKILL) } }
    try waitForTraining(in: root)
    kill(workers[1].process.processIdentifier, SIGKILL)
    let start = Date()
    let finished = workers[0].wait(seconds: 30)
    #expect(finished, "rank 0 still runs 30 s after rank 1 died")
    #expect(Date().timeIntervalSince(start) < 25)
    #expect(workers[0].process.terminationStatus != 0)
    let errors = workers[0].errors.text
    #expect(errors.contains("failed on rank 0 of 2: another process died or did not answer within 20 s (ddp_timeout)"), "\(errors)")
    #expect(errors.components(separatedBy: "Error:").count == 2, "one error line: \(errors)")
  }

  /// `--nproc-per-node 2`: when a worker is killed, the launcher stops the other and says which rank failed.
  @Test func theLauncherStopsTheRunWhenAWorkerDies() throws {
    let root = temporaryFolder("ddp-launch-kill")
    defer { try? FileManager.default.removeItem(at: root) }
    let launcher = try Worker(arguments(output: root, batch: 2, steps: 100_000) + ["--nproc-per-node", "2"], environment: [:])
    defer { if launcher.process.isRunning { kill(launcher.process.processIdentifier, SIGKILL) } }
    try waitForTraining(in: root)
    let children = childProcesses(of: launcher.process.processIdentifier)
    let rank1 = try #require(children.first { environment(of: $0)["RANK"] == "1" }, "children \(children)")
    kill(rank1, SIGKILL)
    #expect(launcher.wait(seconds: 30), "the launcher still runs 30 s after rank 1 died")
    #expect(launcher.process.terminationStatus == 128 + SIGKILL)
    #expect(launcher.errors.text.contains("orpo: data parallel: rank 1 of 2 was killed by signal 9; the other processes were stopped"),
            "\(launcher.errors.text)")
    for child in children { #expect(!FileManager.default.fileExists(atPath: "/proc/\(child)"), "worker \(child) was left running") }
  }

  /// `--nproc-per-node 2` and Ctrl-C (SIGINT to the launcher): the workers finish the step they agree on, rank 0 writes
  /// the checkpoint and prints the resume command once (with --nproc-per-node), every process exits, the launcher
  /// with 130; the command resumes.
  @Test func aSignalToTheLauncherStopsEveryRankAfterOneStepWithACheckpoint() throws {
    let root = temporaryFolder("ddp-sigint")
    defer { try? FileManager.default.removeItem(at: root) }
    let args = arguments(output: root, batch: 2, steps: 100_000) + ["--save-steps", "1000", "--nproc-per-node", "2"]
    let launcher = try Worker(args, environment: [:])
    defer { if launcher.process.isRunning { kill(launcher.process.processIdentifier, SIGKILL) } }
    try waitForTraining(in: root)
    let children = childProcesses(of: launcher.process.processIdentifier)
    #expect(children.count == 2)
    kill(launcher.process.processIdentifier, SIGINT)
    #expect(launcher.wait(seconds: 60), "the launcher still runs 60 s after SIGINT")
    let errors = launcher.errors.text
    #expect(launcher.process.terminationStatus == 130, "\(errors)")
    let checkpoints = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { $0.hasPrefix("checkpoint-") }
    let checkpoint = try #require(checkpoints.first, "\(errors)")
    #expect(checkpoints.count == 1)
    let step = try #require(Int(checkpoint.dropFirst("checkpoint-".count)))
    let folder = root.appendingPathComponent(checkpoint)
    #expect(errors.components(separatedBy: "orpo: stopping after this step").count == 2, "announced once: \(errors)")
    #expect(errors.contains("orpo: stopped by SIGINT after step \(step) of 100000; checkpoint: \(folder.path)\n"), "\(errors)")
    let command = (["orpo"] + args + ["--resume-from-checkpoint", folder.path]).joined(separator: " ")
    #expect(errors.components(separatedBy: "orpo: resume with: \(command)\n").count == 2, "printed once: \(errors)")
    #expect(!errors.contains("rank "), "no rank reported as failed: \(errors)")
    for child in children { #expect(processIsGone(child), "worker \(child) was left running") }

    var resume = arguments(output: root, batch: 2, steps: step + 2) + ["--save-steps", "1000", "--nproc-per-node", "2"]
    resume += ["--resume-from-checkpoint", folder.path]
    let resumed = try OrpoProcess.run(resume)
    #expect(resumed.status == 0, "\(resumed.errors)")
    #expect(resumed.errors.contains("orpo: done: 2 steps"), "\(resumed.errors)")
  }

  /// A second signal to the launcher kills the workers and exits at once (128 + its number), without the first
  /// signal's checkpoint; only complete checkpoints stay. A launcher killed outright (SIGKILL) takes its workers
  /// with it: they read end-of-file on the pipe it held.
  @Test func aSecondSignalOrAKilledLauncherLeavesNoWorker() throws {
    let root = temporaryFolder("ddp-sigterm")
    defer { try? FileManager.default.removeItem(at: root) }
    let args = arguments(output: root, batch: 2, steps: 100_000) + ["--save-steps", "1", "--nproc-per-node", "2"]
    let launcher = try Worker(args, environment: [:])
    defer { if launcher.process.isRunning { kill(launcher.process.processIdentifier, SIGKILL) } }
    try waitForTraining(in: root)
    let children = childProcesses(of: launcher.process.processIdentifier)
    // Two different signals: both are delivered (two of one kind sent at once may merge into one).
    kill(launcher.process.processIdentifier, SIGTERM)
    kill(launcher.process.processIdentifier, SIGINT)
    #expect(launcher.wait(seconds: 10), "the launcher still runs 10 s after a second signal")
    let status = launcher.process.terminationStatus
    #expect(status == 130 || status == 143, "\(launcher.errors.text)")
    #expect(!launcher.errors.text.contains("resume with"), "stopped before the first signal's checkpoint: \(launcher.errors.text)")
    for child in children { #expect(processIsGone(child), "worker \(child) was left running") }
    for name in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] where name.hasPrefix("checkpoint-") {
      #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(name).appendingPathComponent("trainer_state.json").path))
    }

    let killed = temporaryFolder("ddp-kill-launcher")
    defer { try? FileManager.default.removeItem(at: killed) }
    let second = try Worker(arguments(output: killed, batch: 2, steps: 100_000) + ["--nproc-per-node", "2"], environment: [:])
    defer { if second.process.isRunning { kill(second.process.processIdentifier, SIGKILL) } }
    try waitForTraining(in: killed)
    let orphans = childProcesses(of: second.process.processIdentifier)
    #expect(orphans.count == 2)
    kill(second.process.processIdentifier, SIGKILL)
    for child in orphans { #expect(processIsGone(child), "worker \(child) outlived its launcher") }
  }

  /// Data parallel on a GPU asks for NCCL; without libtorch_cuda (here forced with ORPO_NO_CUDA=1, so the same on
  /// every machine) each worker refuses at once with the reason, before waiting for the others.
  @Test func aCUDARunWithoutNCCLIsRefusedWithTheReason() throws {
    let root = temporaryFolder("ddp-nccl")
    defer { try? FileManager.default.removeItem(at: root) }
    let start = Date()
    let run = try OrpoProcess.run(arguments(output: root, batch: 2) + ["--set", "device=cuda", "--set", "ddp_timeout=60",
                                                                       "--nproc-per-node", "2"],
                                  environment: ["ORPO_NO_CUDA": "1"])
    #expect(run.status != 0)
    #expect(run.errors.contains("data parallel on cuda:"), "\(run.errors)")
    #expect(run.errors.contains("needs NCCL: libtorch_cuda is not loaded in this process"), "\(run.errors)")
    #expect(Date().timeIntervalSince(start) < 50, "refused before the 60 s rendezvous timeout")
  }

  /// Returns once rank 0 has logged two steps (the workers met and train).
  func waitForTraining(in run: URL) throws {
    let deadline = Date().addingTimeInterval(120)
    while Date() < deadline {
      if let text = try? String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8),
         text.split(separator: "\n").count >= 2 { return }
      Thread.sleep(forTimeInterval: 0.1)
    }
    Issue.record("the workers did not start training within 120 s")
    throw CocoaError(.fileReadNoSuchFile)
  }
}

/// A Python that can run torchrun (`python -m torch.distributed.run`): ORPO_TORCHRUN_PYTHON, else the checkout's
/// `.venv-torchrun/bin/python`, else `python3` on PATH, the first that imports torch. CI installs none: there the
/// torchrun test is skipped.
enum TorchRun {
  static let python: URL? = {
    var candidates: [String] = []
    if let chosen = ProcessInfo.processInfo.environment["ORPO_TORCHRUN_PYTHON"] { candidates.append(chosen) }
    candidates.append(repositoryRoot.appendingPathComponent(".venv-torchrun/bin/python").path)
    for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
      candidates.append("\(folder)/python3")
    }
    for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
      let probe = Process()
      probe.executableURL = URL(fileURLWithPath: path)
      probe.arguments = ["-c", "import torch.distributed.run"]
      probe.standardOutput = FileHandle.nullDevice
      probe.standardError = FileHandle.nullDevice
      guard (try? probe.run()) != nil else { continue }
      probe.waitUntilExit()
      if probe.terminationStatus == 0 { return URL(fileURLWithPath: path) }
    }
    print("DataParallelTests: torchrun test skipped: \(missing)")
    return nil
  }()

  static let missing: Comment = "no Python with torch found (ORPO_TORCHRUN_PYTHON, .venv-torchrun, python3 on PATH)"
}

/// An `orpo` process running in the background, its stderr collected.
final class Worker: @unchecked Sendable {
  let process = Process()
  let errors = OrpoProcess.Drain()
  private let output = OrpoProcess.Drain()
  private let drained = DispatchGroup()

  init(_ arguments: [String], environment: [String: String]) throws {
    process.executableURL = OrpoProcess.executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = output.pipe
    process.standardError = errors.pipe
    try process.run()
    output.start(in: drained)
    errors.start(in: drained)
  }

  /// Whether the process ended within `seconds` (its output then fully read).
  func wait(seconds: Double) -> Bool {
    guard drained.wait(timeout: .now() + seconds) == .success else { return false }
    process.waitUntilExit()
    return true
  }
}

/// Processes whose parent is `pid` (from /proc).
func childProcesses(of pid: Int32) -> [Int32] {
  let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
  return entries.compactMap(Int32.init).filter { child in
    guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 2 && Int32(fields[1]) == pid && fields[0] != "Z"
  }
}

/// A process's environment (from /proc).
func environment(of pid: Int32) -> [String: String] {
  guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return [:] }
  var result: [String: String] = [:]
  for entry in data.split(separator: 0) {
    let text = String(decoding: entry, as: UTF8.self)
    if let eq = text.firstIndex(of: "=") { result[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
  }
  return result
}

/// Waits up to `seconds` for `pid` to exit (gone from /proc, or a zombie waiting for its parent to collect it).
func processIsGone(_ pid: Int32, seconds: Double = 15) -> Bool {
  let deadline = Date().addingTimeInterval(seconds)
  repeat {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")")
    else { return true }
    if stat[stat.index(after: close)...].split(separator: " ").first == "Z" { return true }
    Thread.sleep(forTimeInterval: 0.05)
  } while Date() < deadline
  return false
}
