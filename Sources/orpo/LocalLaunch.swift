// LocalLaunch.swift — `orpo train --nproc-per-node N`: torchrun's single-node launch for users without Python.
// N copies of this executable run with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT); when one fails, the others are stopped and the launcher exits with its status.
import Foundation
import ORPOKit

#if canImport(Glibc)
import Glibc
#endif

enum LocalLaunch {
  /// Runs `arguments` (this command line without --nproc-per-node) in `processes` workers and waits for them.
  /// MASTER_PORT is taken from the environment when set, else a free port on loopback; OMP_NUM_THREADS defaults to 1
  /// per worker, as torchrun sets it.
  static func run(processes: Int, arguments: [String]) throws -> Int32 {
    guard let executable = Bundle.main.executableURL else { throw CLIError("cannot find the orpo executable to launch") }
    let inherited = ProcessInfo.processInfo.environment
    let port = try inherited["MASTER_PORT"].map { text -> Int in
      guard let p = Int(text), (1...65535).contains(p) else { throw CLIError("MASTER_PORT: expected a TCP port, found \"\(text)\"") }
      return p
    } ?? ProcessGroup.unusedLoopbackPort()
    let address = inherited["MASTER_ADDR"] ?? "127.0.0.1"
    let finished = DispatchSemaphore(value: 0)
    var workers: [Process] = []
    for rank in 0..<processes {
      let launch = LaunchEnvironment(rank: rank, worldSize: processes, localRank: rank, localWorldSize: processes,
                                     masterAddress: address, masterPort: port)
      let process = Process()
      process.executableURL = executable
      process.arguments = arguments
      var environment = inherited.merging(launch.variables) { $1 }
      if environment["OMP_NUM_THREADS"] == nil { environment["OMP_NUM_THREADS"] = "1" }
      process.environment = environment
      process.terminationHandler = { _ in finished.signal() }
      do { try process.run() } catch {
        for w in workers { w.terminate() }
        throw CLIError("could not start worker \(rank) (\(executable.path)): \(error.localizedDescription)")
      }
      workers.append(process)
    }
    // Wait for every worker; the first failure stops the rest (torchrun does the same).
    var failure: (rank: Int, status: Int32, signalled: Bool)?
    for _ in 0..<processes {
      finished.wait()
      if failure == nil, let rank = workers.firstIndex(where: { !$0.isRunning && $0.terminationStatus != 0 }) {
        let w = workers[rank]
        failure = (rank, w.terminationStatus, w.terminationReason == .uncaughtSignal)
        for other in workers where other.isRunning { other.terminate() }
      }
    }
    guard let failure else { return 0 }
    let how = failure.signalled ? "was killed by signal \(failure.status)" : "exited with status \(failure.status)"
    FileHandle.standardError.write(Data("orpo: data parallel: rank \(failure.rank) of \(processes) \(how); the other processes were stopped\n".utf8))
    return failure.signalled ? 128 + failure.status : failure.status
  }

  /// The command line a worker runs: ours without `--nproc-per-node N` (or `--nproc-per-node=N`).
  static func workerArguments(_ arguments: [String]) -> [String] {
    var result: [String] = []
    var skipNext = false
    for argument in arguments {
      if skipNext {
        skipNext = false
      } else if argument == "--nproc-per-node" {
        skipNext = true
      } else if !argument.hasPrefix("--nproc-per-node=") {
        result.append(argument)
      }
    }
    return result
  }
}
