// ProcessMemory.swift — this process's peak resident memory, resettable between the stages of `orpo compare`
// (Linux: VmHWM in /proc/self/status, reset by writing 5 to /proc/self/clear_refs; elsewhere getrusage's maximum).
import Foundation
import Support
import Torch

public enum ProcessMemory {
  /// Starts a new peak at the current resident size, where the system allows it (Linux ≥ 4.0). On Linux the heap
  /// that earlier stages freed is first handed back to the system (malloc_trim), so that it does not count as the
  /// next stage's resident memory, and so are the mappings the reusing CPU allocator keeps (`CPUAllocator`).
  @discardableResult
  public static func resetPeak() -> Bool {
    ProcessHeap.trim()
    CPUAllocator.releaseCached()
    guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
    defer { try? handle.close() }
    do { try handle.write(contentsOf: Foundation.Data("5".utf8)) } catch { return false }
    return true
  }

  /// The peak resident memory since the last reset (or since the process started), in MiB.
  public static func peakMiB() -> Double {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kib = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    {
      return kib / 1024
    }
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // KiB
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / 1_048_576  // bytes
    #endif
  }
}
