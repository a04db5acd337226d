// Signals.swift — how `orpo` meets signals: the first Ctrl-C (SIGINT) or SIGTERM asks the run to stop after the
// current optimizer step (with a checkpoint), a second one ends the process at once (exit 128 + signal); SIGXFSZ is
// ignored so that a write past the file-size limit fails with EFBIG (and an error naming the file) instead of
// killing the process.
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The first stop signal received, 0 while none.
private let pendingSignal = Atomic<Int32>(0)

enum Signals {
  /// Writes past RLIMIT_FSIZE then return EFBIG.
  static func ignoreFileSizeLimit() {
    signal(SIGXFSZ, SIG_IGN)
  }

  /// From now on SIGINT and SIGTERM are caught: the first is recorded (see `pending`), the second exits at once.
  static func catchStopSignals() {
    // A process may start with these signals blocked (a parent's thread mask is inherited through fork and
    // posix_spawn; test harnesses and some launchers block them): unblock them, or the stop request never arrives.
    var stopSignals = sigset_t()
    sigemptyset(&stopSignals)
    sigaddset(&stopSignals, SIGINT)
    sigaddset(&stopSignals, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
    for sig in [SIGINT, SIGTERM] {
      signal(sig) { sig in
        if pendingSignal.exchange(sig, ordering: .relaxed) != 0 { _exit(128 + sig) }
        let text: StaticString = "\norpo: stopping after this step (a checkpoint will be written); signal again to stop at once\n"
        _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
      }
    }
  }

  /// The first SIGINT or SIGTERM received, if any.
  static var pending: Int32? {
    let sig = pendingSignal.load(ordering: .relaxed)
    return sig == 0 ? nil : sig
  }

  static func name(_ sig: Int32) -> String { sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal \(sig)" }
}
