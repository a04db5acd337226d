// RegexCache.swift — NSRegularExpression compiled once per pattern for the process (tokenizer Split patterns,
// target_modules and optim_target_modules regexes).
//
// Why a cache: swift-corelibs-foundation's `_CFRegularExpressionCreate` copies a pattern longer than 256 UTF-16
// units into a malloc'd buffer and frees that buffer only when compilation fails, so every successful compile of a
// long pattern leaks twice its length in bytes (found by Fuzz/Tokenizer's LeakSanitizer). Compiling each distinct
// pattern once bounds that to one copy per pattern; the fuzz driver suppresses the report (Fuzz/Driver).
import Foundation

public enum RegexCache {
  /// At most this many patterns are kept; the cache is emptied when it is full (fuzzed inputs bring endless ones).
  public static let capacity = 256

  nonisolated(unsafe) private static var compiled: [String: NSRegularExpression] = [:]
  private static let lock = NSLock()

  /// The compiled `pattern` (no options); throws NSRegularExpression's error for an invalid one.
  public static func regex(_ pattern: String) throws -> NSRegularExpression {
    lock.lock()
    defer { lock.unlock() }
    if let hit = compiled[pattern] { return hit }
    let regex = try NSRegularExpression(pattern: pattern, options: [])
    if compiled.count >= capacity { compiled.removeAll(keepingCapacity: true) }
    compiled[pattern] = regex
    return regex
  }
}
