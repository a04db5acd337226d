// ORPO.swift — the `orpo` command: one subcommand type per verb (swift-argument-parser).
import ArgumentParser
import Foundation
import ORPOKit

@main
struct ORPO: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "orpo",
    abstract: "Fine-tune open-weight LLMs with ORPO (odds ratio preference optimization) on libtorch.",
    version: ORPOVersion.string,
    subcommands: [Train.self, Evaluate.self, Generate.self, Export.self, Inspect.self, DataCommand.self, Curate.self, Bench.self,
                  Rouge.self, Compare.self, Plot.self, Doctor.self, Sweep.self, JudgeCommand.self, Env.self, SelfTest.self, Demo.self]
  )

  /// libtorch_cuda goes in before anything else touches ATen (ATen decides once per process whether CUDA exists);
  /// then the verb runs as swift-argument-parser's own `main` would run it. ORPO_NO_CUDA=1 skips the load.
  /// CPU tensors of 64 KiB or more get mappings of their own, reused when freed (`CPUAllocator.useReusingMappings`):
  /// a training step's peak RSS stays near its tensors' peak instead of growing with glibc's heap holes;
  /// ORPO_CPU_ALLOCATOR=glibc keeps libtorch's default (glibc's heap). ORPO_COMPACT_HEAP=1 fixes glibc's mmap
  /// threshold at 128 KiB (`ProcessHeap`), which, without the reusing allocator, also keeps the heap compact but
  /// faults every large tensor in afresh (1.75× the step time).
  /// Every verb writes files: past the file-size limit a write fails naming its file instead of SIGXFSZ killing
  /// the process half-way; a write to a dead peer's socket fails instead of SIGPIPE killing it without a word.
  static func main() async {
    let environment = ProcessInfo.processInfo.environment
    if environment["ORPO_COMPACT_HEAP"] == "1" { ProcessHeap.keepLargeBlocksOutOfTheHeap() }
    if environment["ORPO_CPU_ALLOCATOR"] != "glibc" { try? CPUAllocator.useReusingMappings() }
    Signals.ignoreFileSizeLimit()
    Signals.ignoreBrokenPipes()
    if ProcessInfo.processInfo.environment["ORPO_NO_CUDA"] != "1" { CUDA.load() }
    do {
      var command = try parseAsRoot()
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      // ArgumentParser writes an error's text a byte at a time (putc to unbuffered stderr), so the workers of a
      // data-parallel run, which share their launcher's stderr, would interleave theirs character by character. The
      // same text in one write (atomic on a pipe up to 4 KiB); help and --version as ArgumentParser prints them.
      let code = exitCode(for: error)
      guard code != .success else { exit(withError: error) }
      let text = fullMessage(for: error)
      if !text.isEmpty { FileHandle.standardError.write(Data((text + "\n").utf8)) }
      Foundation.exit(code.rawValue)
    }
  }
}

enum ORPOVersion {
  static let string = "0.1.0"
}
