// ProcessTime.swift — the CPU time this process has used (user + system, all threads), for `orpo compare`'s cost of
// each stage: unlike wall time it does not grow when other processes share the cores.
import Foundation

public enum ProcessTime {
  /// User + system CPU seconds of this process so far (getrusage RUSAGE_SELF).
  public static func cpuSeconds() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
  }
}
