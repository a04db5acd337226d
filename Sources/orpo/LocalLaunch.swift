// LocalLaunch.swift — `orpo train --nproc-per-node N`: torchrun's single-node launch for users without Python.
// N copies of this executable run with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT); when one fails, the others are stopped and the launcher exits with its status. The
// first Ctrl-C or SIGTERM is passed on to the workers, which stop together after a step with a checkpoint; a second
// one kills them. Workers never outlive the launcher.
import Foundation
import ORPOKit

#if canImport(Glibc)
import Glibc
#endif

enum LocalLaunch {
  /// Set in a worker's environment: the launcher's pid.
  static let launcherVariable = "ORPO_LAUNCHER_PID"

  /// Runs `arguments` (this command line; a worker sees WORLD_SIZE and does not launch again, and keeps
  /// `--nproc-per-node` for the resume command it prints) in `processes` workers and waits for them.
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
    Signals.forwardStopSignals()
    let finished = DispatchSemaphore(value: 0)
    var workers: [Process] = []
    // Each worker's stdin is a pipe whose write end only this process holds: the worker sees end-of-file when the
    // launcher is gone (even killed with SIGKILL), and stops (`joinLauncher`).
    var lifelines: [Pipe] = []
    for rank in 0..<processes {
      let launch = LaunchEnvironment(rank: rank, worldSize: processes, localRank: rank, localWorldSize: processes,
                                     masterAddress: address, masterPort: port)
      let process = Process()
      process.executableURL = executable
      process.arguments = arguments
      var environment = inherited.merging(launch.variables) { $1 }
      if environment["OMP_NUM_THREADS"] == nil { environment["OMP_NUM_THREADS"] = "1" }
      environment[launcherVariable] = String(getpid())
      process.environment = environment
      let lifeline = Pipe()
      process.standardInput = lifeline
      process.terminationHandler = { _ in finished.signal() }
      do { try process.run() } catch {
        for w in workers { kill(w.processIdentifier, SIGKILL) }
        throw CLIError("could not start worker \(rank) (\(executable.path)): \(error.localizedDescription)")
      }
      Signals.addWorker(process.processIdentifier)
      workers.append(process)
      lifelines.append(lifeline)
    }
    // Wait for every worker; the first failure stops the rest (torchrun does the same). A worker that exits with
    // 128 + SIGINT or SIGTERM stopped on a signal with the others (after the step they agreed on): not a failure.
    func stoppedOnSignal(_ w: Process) -> Bool {
      w.terminationReason == .exit && [128 + SIGINT, 128 + SIGTERM].contains(w.terminationStatus)
    }
    var failure: (rank: Int, status: Int32, signalled: Bool)?
    for _ in 0..<processes {
      finished.wait()
      if failure == nil,
         let rank = workers.firstIndex(where: { !$0.isRunning && $0.terminationStatus != 0 && !stoppedOnSignal($0) })
      {
        let w = workers[rank]
        failure = (rank, w.terminationStatus, w.terminationReason == .uncaughtSignal)
        // Without that rank no step can finish: the others are killed (a checkpoint being written is left unfinished
        // and unused, the last complete one stays).
        for other in workers where other.isRunning { kill(other.processIdentifier, SIGKILL) }
      }
    }
    withExtendedLifetime(lifelines) {}
    if let failure {
      let how = failure.signalled ? "was killed by signal \(failure.status)" : "exited with status \(failure.status)"
      FileHandle.standardError.write(Data("orpo: data parallel: rank \(failure.rank) of \(processes) \(how); the other processes were stopped\n".utf8))
      return failure.signalled ? 128 + failure.status : failure.status
    }
    // Stopped on a signal: rank 0 said after which step, where the checkpoint is and how to resume.
    return workers.first(where: stoppedOnSignal)?.terminationStatus ?? 0
  }

  /// In a worker of `run` (ORPO_LAUNCHER_PID set): leave the terminal's process group, so that Ctrl-C reaches the
  /// launcher alone (which passes it on once), and stop when the launcher is gone (its pipe on stdin reads
  /// end-of-file).
  static func joinLauncher() {
    guard let text = ProcessInfo.processInfo.environment[launcherVariable], let launcher = pid_t(text) else { return }
    setpgid(0, 0)
    let watcher = Thread {
      var byte: UInt8 = 0
      while true {
        let n = read(0, &byte, 1)
        if n > 0 || (n < 0 && errno == EINTR) { continue }
        break
      }
      let text: StaticString = "orpo: data parallel: the launcher is gone; stopping this worker\n"
      _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
      _exit(1)
    }
    watcher.start()
    if getppid() != launcher { _exit(1) }  // it died before the watcher started (stdin may be anything then)
  }
}
