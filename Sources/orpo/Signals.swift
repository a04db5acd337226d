// Signals.swift — how `orpo` meets signals: the first Ctrl-C (SIGINT) or SIGTERM asks the run to stop after the
// current optimizer step (with a checkpoint), a second one ends the process at once (exit 128 + signal); SIGXFSZ is
// ignored so that a write past the file-size limit fails with EFBIG (and an error naming the file) instead of
// killing the process. The launcher of `--nproc-per-node` passes the first signal on to its workers (which agree on
// the step to stop after) and kills them on the second.
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The first stop signal received, 0 while none.
private let pendingSignal = Atomic<Int32>(0)
/// Whether the first signal prints "stopping after this step" (rank 0 of a data-parallel run, or a run alone).
private let announcesStop = Atomic<Bool>(true)
/// The launcher's workers, for its signal handler: `workerCount` pids (written before the count is published).
nonisolated(unsafe) private let workerPIDs = UnsafeMutablePointer<pid_t>.allocate(capacity: Signals.maxWorkers)
private let workerCount = Atomic<Int>(0)

enum Signals {
  /// Writes past RLIMIT_FSIZE then return EFBIG.
  static func ignoreFileSizeLimit() {
    signal(SIGXFSZ, SIG_IGN)
  }

  /// Writes to a socket or pipe whose reader is gone then return EPIPE — gloo reports it as a failed collective,
  /// which stops the run with its one error line — instead of SIGPIPE killing the process without a word (a data-
  /// parallel peer killed mid-step). Python, which torchrun's workers run under, ignores SIGPIPE the same way.
  static func ignoreBrokenPipes() {
    signal(SIGPIPE, SIG_IGN)
  }

  /// A process may start with SIGINT and SIGTERM blocked (a parent's thread mask is inherited through fork and
  /// posix_spawn; test harnesses and some launchers block them): unblock them, or the stop request never arrives.
  private static func unblockStopSignals() {
    var stopSignals = sigset_t()
    sigemptyset(&stopSignals)
    sigaddset(&stopSignals, SIGINT)
    sigaddset(&stopSignals, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
  }

  /// From now on SIGINT and SIGTERM are caught: the first is recorded (see `pending`), the second exits at once.
  /// `announce`: the first prints that the run stops after this step (false on the other ranks of a data-parallel run).
  static func catchStopSignals(announce: Bool = true) {
    announcesStop.store(announce, ordering: .relaxed)
    unblockStopSignals()
    for sig in [SIGINT, SIGTERM] {
      signal(sig) { sig in
        if pendingSignal.exchange(sig, ordering: .relaxed) != 0 { _exit(128 + sig) }
        guard announcesStop.load(ordering: .relaxed) else { return }
        let text: StaticString = "\norpo: stopping after this step (a checkpoint will be written); signal again to stop at once\n"
        _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
      }
    }
  }

  /// The most workers `forwardStopSignals` keeps track of.
  static let maxWorkers = 4096

  /// The launcher's handling, installed before its first worker starts: the first SIGINT or SIGTERM is sent on to
  /// every worker registered with `addWorker` (they finish the step they agree on, rank 0 writes the checkpoint and
  /// prints the resume command); the second kills them (SIGKILL: the last complete checkpoint stays, since
  /// checkpoints are written whole or not at all) and exits at once with 128 + its number.
  static func forwardStopSignals() {
    unblockStopSignals()
    for sig in [SIGINT, SIGTERM] {
      signal(sig) { sig in
        let count = workerCount.load(ordering: .acquiring)
        if pendingSignal.exchange(sig, ordering: .relaxed) != 0 {
          for index in 0..<count { kill(workerPIDs[index], SIGKILL) }
          _exit(128 + sig)
        }
        for index in 0..<count { kill(workerPIDs[index], sig) }
      }
    }
  }

  /// A worker the launcher's signal handler passes signals on to.
  static func addWorker(_ pid: pid_t) {
    let count = workerCount.load(ordering: .relaxed)
    guard count < maxWorkers else { return }
    workerPIDs[count] = pid
    workerCount.store(count + 1, ordering: .releasing)
  }

  /// The first SIGINT or SIGTERM received, if any.
  static var pending: Int32? {
    let sig = pendingSignal.load(ordering: .relaxed)
    return sig == 0 ? nil : sig
  }

  static func name(_ sig: Int32) -> String { sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal \(sig)" }
}
