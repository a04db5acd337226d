// SelfTest.swift — `orpo selftest`: the checks a machine must pass before a real run (Training's SelfTest), one line
// each, exit status 1 if any fails. Needs no files: the tiny model and its data are built from seeds.
import ArgumentParser
import Foundation
import ORPOKit
import Support

struct SelfTest: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "selftest",
    abstract: "Check a device: logits, loss and gradients against the CPU, bf16, checkpointing, attention kernel, resume, matmul peak.")

  @Option(help: "The device to check: cpu, cuda or cuda:N (default cuda when CUDA is usable, else cpu).")
  var device: Device?

  @Flag(help: "Print one JSON object instead of one line per check.") var json = false

  func run() throws {
    let device = self.device ?? (CUDA.load().available ? .cuda(0) : .cpu)
    try requireUsable(device)
    let test = Training.SelfTest(device: device)
    if !json { print("orpo selftest on \(device) (libtorch \(Torch.version), \(Torch.threadCount) threads)") }
    let checks = test.run { check in
      guard !json else { return }
      let width = 27
      print((check.passed ? "PASS " : "FAIL ") + check.name.padding(toLength: width, withPad: " ", startingAt: 0)
            + String(format: "%6.1fs  ", check.seconds) + check.detail)
    }
    let failed = checks.filter { !$0.passed }
    if json {
      printJSON(.object([
        ("device", .string(device.description)), ("passed", .bool(failed.isEmpty)),
        ("checks", .array(checks.map { c in
          .object([("name", .string(c.name)), ("passed", .bool(c.passed)), ("detail", .string(c.detail)),
                   ("seconds", .rounded(c.seconds, places: 3))])
        })),
      ]))
    } else {
      print(failed.isEmpty ? "all \(checks.count) checks passed" : "\(failed.count) of \(checks.count) checks failed: \(failed.map(\.name).joined(separator: ", "))")
    }
    if !failed.isEmpty { throw ExitCode(1) }
  }
}
