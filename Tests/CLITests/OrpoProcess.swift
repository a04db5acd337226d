// OrpoProcess.swift — runs the built `orpo` executable as a user would, reading its stdout and stderr at the same
// time (a command that fills one pipe while the test waits on the other would otherwise hang).
import Foundation

/// What one run of `orpo` did.
struct OrpoRun {
  let status: Int32
  let output: String
  let errors: String
}

enum OrpoProcess {
  /// The `orpo` executable beside the test bundle (`swift build --build-tests` builds it with the tests).
  static let executable: URL? = {
    let products = Bundle.main.bundleURL.deletingLastPathComponent()
    let candidates = [products.appendingPathComponent("orpo"), Bundle.main.bundleURL.appendingPathComponent("orpo")]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }()

  /// Runs `orpo arguments` with help text laid out for 100 columns, and waits for it to exit.
  /// `executable`: another program to run instead (one that starts `orpo` itself, such as prlimit).
  static func run(_ arguments: [String], environment: [String: String] = [:], executable other: URL? = nil) throws -> OrpoRun {
    guard let executable = other ?? executable else { throw CocoaError(.fileNoSuchFile) }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(["COLUMNS": "100"].merging(environment) { $1 }) { $1 }
    let output = Drain(), errors = Drain()
    process.standardOutput = output.pipe
    process.standardError = errors.pipe
    try process.run()
    let group = DispatchGroup()
    output.start(in: group)
    errors.start(in: group)
    group.wait()
    process.waitUntilExit()
    return OrpoRun(status: process.terminationStatus, output: output.text, errors: errors.text)
  }

  /// Starts `orpo arguments` without waiting (to signal it while it runs).
  static func start(_ arguments: [String]) throws -> Running {
    guard let executable else { throw CocoaError(.fileNoSuchFile) }
    let running = Running()
    running.process.executableURL = executable
    running.process.arguments = arguments
    running.process.standardOutput = running.output.pipe
    running.process.standardError = running.errors.pipe
    try running.process.run()
    running.output.start(in: running.group)
    running.errors.start(in: running.group)
    return running
  }

  /// A started `orpo`.
  final class Running {
    let process = Process()
    let output = Drain(), errors = Drain()
    let group = DispatchGroup()

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for the exit; a process still running after `limit` seconds is killed (SIGKILL: status 9), so a
    /// signal that never arrives fails the test instead of hanging the suite.
    func wait(limit: TimeInterval = 300) -> OrpoRun {
      let pid = process.processIdentifier
      let process = self.process
      DispatchQueue.global().asyncAfter(deadline: .now() + limit) { if process.isRunning { kill(pid, SIGKILL) } }
      group.wait()
      process.waitUntilExit()
      return OrpoRun(status: process.terminationStatus, output: output.text, errors: errors.text)
    }
  }

  /// Reads one pipe to its end on a thread of its own.
  final class Drain: @unchecked Sendable {
    let pipe = Pipe()
    private var data = Data()

    func start(in group: DispatchGroup) {
      DispatchQueue.global().async(group: group) { self.data = self.pipe.fileHandleForReading.readDataToEndOfFile() }
    }

    /// Valid once the group has been waited on.
    var text: String { String(decoding: data, as: UTF8.self) }
  }
}

/// The repository root (for README.md and the ModelsTests fixtures).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent()

/// The default model, when `make setup` fetched it.
func defaultModelURL() -> URL? {
  let url = repositoryRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")
  return FileManager.default.fileExists(atPath: url.path) ? url : nil
}
