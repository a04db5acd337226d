// RunSafetyTests.swift — what `orpo train` does to its output folder when things go wrong or runs meet: another
// run's folder is refused (or replaced whole), checkpoints belong to one run, Ctrl-C and SIGTERM stop with a
// checkpoint, NaN steps are skipped, a full disk leaves the previous checkpoint (and no half-written export); all on
// the tiny fixture model.
import Foundation
import Testing

@Suite(.serialized, .enabled(if: OrpoProcess.executable != nil, "the orpo executable is not built beside the tests"))
struct RunSafetyTests {
  let fixture = repositoryRoot.appendingPathComponent("Tests/TrainingTests/Fixtures/orpo")

  func temporaryFolder(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-safety-\(name)-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  /// A short LoRA run on the fixture into `out`, checkpoints every `save` steps.
  func arguments(_ out: URL, steps: Int, save: Int = 2, data: URL? = nil, extra: [String] = []) -> [String] {
    ["train", "--model", fixture.path, "--data", (data ?? fixture.appendingPathComponent("data.jsonl")).path,
     "--output-dir", out.path, "--max-steps", "\(steps)", "--save-steps", "\(save)", "--per-device-train-batch-size", "2",
     "--learning-rate", "1e-3", "--set", "max_length=64", "--set", "report_to=jsonl"] + extra
  }

  func listing(_ folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
  }

  /// Every file under `folder` with its bytes: "untouched" means equal before and after.
  func snapshot(_ folder: URL) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for case let path as String in FileManager.default.enumerator(atPath: folder.path)?.allObjects ?? [] {
      var isFolder: ObjCBool = false
      let url = folder.appendingPathComponent(path)
      if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue {
        files[path] = try Data(contentsOf: url)
      }
    }
    return files
  }

  func metricSteps(_ out: URL) throws -> [Int] {
    try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["step"] as? Int ?? -1
    }
  }

  @Test func anotherRunsFolderIsRefusedOrReplacedWhole() throws {
    let dir = try temporaryFolder("folder")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("run")
    let first = try OrpoProcess.run(arguments(out, steps: 4))
    #expect(first.status == 0, "\(first.errors)")
    #expect(listing(out) == ["adapter", "checkpoint-2", "metrics.jsonl", "run.json", "summary.json"])
    let before = try snapshot(out)

    // The same command again: refused, naming both ways out; nothing changed.
    let again = try OrpoProcess.run(arguments(out, steps: 4))
    #expect(again.status == 1)
    #expect(again.errors == "Error: --output-dir: \(out.path) already holds a run (adapter, checkpoint-2, metrics.jsonl, run.json, …); "
              + "give --overwrite-output-dir to replace it, or --resume-from-checkpoint latest to continue it\n")
    #expect(try snapshot(out) == before)

    // A failed overwrite (no such model) puts the earlier run back.
    var broken = arguments(out, steps: 2, save: 1, extra: ["--overwrite-output-dir"])
    broken[2] = dir.appendingPathComponent("missing-model").path
    let failed = try OrpoProcess.run(broken)
    #expect(failed.status == 1 && failed.errors.contains("missing-model: no such file or folder"), "\(failed.errors)")
    #expect(try snapshot(out) == before)
    #expect(listing(dir) == ["run"], "nothing left beside it")

    // --overwrite-output-dir: the earlier run is gone entirely (no checkpoint-2, no old metrics), nothing left aside.
    let overwrite = try OrpoProcess.run(arguments(out, steps: 1, save: 1, extra: ["--overwrite-output-dir"]))
    #expect(overwrite.status == 0, "\(overwrite.errors)")
    #expect(listing(out) == ["adapter", "metrics.jsonl", "run.json", "summary.json"])
    #expect(try metricSteps(out) == [1])
    #expect(listing(dir) == ["run"])
  }

  @Test func checkpointsBelongToTheirRun() throws {
    let dir = try temporaryFolder("fingerprint")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("run")
    let first = try OrpoProcess.run(arguments(out, steps: 5))
    #expect(first.status == 0, "\(first.errors)")
    #expect(listing(out).filter { $0.hasPrefix("checkpoint-") } == ["checkpoint-2", "checkpoint-4"])
    let run = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("checkpoint-4/fingerprint.json"))) as? [String: Any])
    #expect(run.keys.sorted() == ["configuration", "data", "model", "settings"])
    #expect(["configuration", "data", "model"].allSatisfy { (run[$0] as? String)?.count == 16 })
    let settings = try #require(run["settings"] as? [String: String])
    #expect(settings["optim"] == "adamw_torch_fused" && settings["output_dir"] == nil, "resumable keys are not recorded")
    let before = try snapshot(out)

    // Another learning rate: its checkpoints are not this run's, latest is refused.
    let other = try OrpoProcess.run(arguments(out, steps: 6, extra: ["--learning-rate", "5e-4", "--resume-from-checkpoint", "latest"]))
    #expect(other.status == 1)
    #expect(other.errors.hasSuffix("\nError: --resume-from-checkpoint: latest: no checkpoint in \(out.path) belongs to this run (checkpoint-4 "
              + "differs from this run in the configuration (learning_rate: \(settings["learning_rate"]!) in the checkpoint, 0.0005 in this run)); "
              + "give --force-resume to resume it anyway, or --overwrite-output-dir to start over\n"), "\(other.errors)")
    #expect(try snapshot(out) == before, "a refused resume changes nothing")

    // Other data, by path: named as the difference.
    let fewer = dir.appendingPathComponent("fewer.jsonl")
    let rows = try String(contentsOf: fixture.appendingPathComponent("data.jsonl"), encoding: .utf8).split(separator: "\n")
    try (rows.dropLast(2).joined(separator: "\n") + "\n").write(to: fewer, atomically: true, encoding: .utf8)
    let checkpoint = out.appendingPathComponent("checkpoint-4")
    let otherData = try OrpoProcess.run(arguments(out, steps: 6, data: fewer, extra: ["--resume-from-checkpoint", checkpoint.path]))
    #expect(otherData.errors.hasSuffix("\nError: --resume-from-checkpoint: \(checkpoint.path) is not a checkpoint of this run (checkpoint-4 "
              + "differs from this run in the training data); give --force-resume to resume it anyway, or --overwrite-output-dir to start over\n"),
            "\(otherData.errors)")

    // The same run, extended: latest is checkpoint-4, and metrics.jsonl keeps one line per step (step 5 was logged
    // by the first run after checkpoint-4; it is logged again, once).
    let resumed = try OrpoProcess.run(arguments(out, steps: 6, extra: ["--resume-from-checkpoint", "latest", "--set", "logging_steps=1"]))
    #expect(resumed.status == 0, "\(resumed.errors)")
    #expect(resumed.errors.contains("orpo: resuming from \(checkpoint.path)\n"))
    let steps = try metricSteps(out)
    #expect(steps.suffix(2) == [5, 6] && Set(steps).count == steps.count, "\(steps)")

    // --force-resume takes the newest checkpoint even from another configuration.
    let forced = try OrpoProcess.run(arguments(out, steps: 7, extra: ["--learning-rate", "5e-4", "--resume-from-checkpoint", "latest",
                                                                     "--force-resume"]))
    #expect(forced.status == 0, "\(forced.errors)")
    #expect(forced.errors.contains("orpo: resuming from \(checkpoint.path)\n"))

    // A checkpoint whose fingerprint records no settings (written before they were) and that trained with
    // adamw_torch, the default before adamw_torch_fused: that is named as the difference.
    let legacy = dir.appendingPathComponent("legacy")
    let old = try OrpoProcess.run(arguments(legacy, steps: 3, extra: ["--set", "optim=adamw_torch"]))
    #expect(old.status == 0, "\(old.errors)")
    let file = legacy.appendingPathComponent("checkpoint-2/fingerprint.json")
    var recorded = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
    recorded["settings"] = nil
    try JSONSerialization.data(withJSONObject: recorded).write(to: file)
    let upgraded = try OrpoProcess.run(arguments(legacy, steps: 4, extra: ["--resume-from-checkpoint", "latest"]))
    #expect(upgraded.status == 1)
    #expect(upgraded.errors.contains("(checkpoint-2 differs from this run in the configuration (optim: adamw_torch in the checkpoint, "
              + "adamw_torch_fused in this run)); "), "\(upgraded.errors)")
    let kept = try OrpoProcess.run(arguments(legacy, steps: 4, extra: ["--resume-from-checkpoint", "latest", "--set", "optim=adamw_torch"]))
    #expect(kept.status == 0 && kept.errors.contains("orpo: resuming from"), "\(kept.errors)")
  }

  /// The first SIGINT finishes the step, writes a checkpoint, prints the command that resumes it and exits 130;
  /// the resume command continues from there.
  @Test func interruptWritesACheckpointAndTheResumeCommand() throws {
    let dir = try temporaryFolder("sigint")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("run")
    let args = arguments(out, steps: 100_000, save: 1000)
    let running = try OrpoProcess.start(args)
    // Wait for training to be under way: metrics.jsonl gets its first line after logging_steps (5 in the default recipe).
    let metrics = out.appendingPathComponent("metrics.jsonl")
    let deadline = Date().addingTimeInterval(300)
    while Date() < deadline && ((try? Data(contentsOf: metrics))?.isEmpty ?? true) { Thread.sleep(forTimeInterval: 0.1) }
    running.signal(SIGINT)
    let run = running.wait()
    #expect(run.status == 130, "\(run.errors)")
    let checkpoints = listing(out).filter { $0.hasPrefix("checkpoint-") }
    let checkpoint = try #require(checkpoints.first, "\(run.errors)")
    #expect(checkpoints.count == 1 && !listing(out).contains("adapter"))
    let step = try #require(Int(checkpoint.dropFirst("checkpoint-".count)))
    #expect(step >= 5)
    let folder = out.appendingPathComponent(checkpoint)
    #expect(run.errors.contains("orpo: stopped by SIGINT after step \(step) of 100000; checkpoint: \(folder.path)\n"))
    let command = (["orpo"] + args + ["--resume-from-checkpoint", folder.path]).joined(separator: " ")
    #expect(run.errors.contains("orpo: resume with: \(command)\n"), "\(run.errors)")

    var resume = arguments(out, steps: step + 2, save: 1000)
    resume += ["--resume-from-checkpoint", folder.path]
    let resumed = try OrpoProcess.run(resume)
    #expect(resumed.status == 0, "\(resumed.errors)")
    #expect(resumed.errors.contains("orpo: done: 2 steps"), "\(resumed.errors)")
  }

  /// A second signal ends the process at once (128 + its number), leaving only complete checkpoints: latest resumes.
  @Test func aSecondSignalStopsAtOnce() throws {
    let dir = try temporaryFolder("sigterm")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("run")
    let running = try OrpoProcess.start(arguments(out, steps: 100_000, save: 1))
    let deadline = Date().addingTimeInterval(300)
    // Checkpoint 3 or any later one: save_total_limit may remove checkpoint-3 between two looks.
    func trainedThree() -> Bool {
      listing(out).contains { $0.hasPrefix("checkpoint-") && Int($0.dropFirst("checkpoint-".count)).map { $0 >= 3 } == true }
    }
    while Date() < deadline && !trainedThree() { Thread.sleep(forTimeInterval: 0.05) }
    // Two different signals: both are delivered (two of one kind sent at once may merge into one).
    running.signal(SIGTERM)
    running.signal(SIGINT)
    let run = running.wait()
    // Whichever arrives second ends the process (both may be pending at once, and then the lower number, SIGINT,
    // is delivered first): 128 + 2 or 128 + 15, without the first signal's checkpoint and resume line.
    #expect(run.status == 130 || run.status == 143, "\(run.errors)")
    #expect(!run.errors.contains("resume with"), "stopped before the first signal's checkpoint: \(run.errors)")
    let resumed = try OrpoProcess.run(arguments(out, steps: 8, save: 1, extra: ["--resume-from-checkpoint", "latest"]))
    #expect(resumed.status == 0, "\(resumed.errors)")
    #expect(!listing(out).contains { $0.hasPrefix(".") }, "no temporary folder left: \(listing(out))")
  }

  /// A huge learning rate makes the loss NaN: each such step is skipped (logged in metrics.jsonl) and the run stops
  /// after max_nonfinite_steps in a row, without an adapter; no checkpoint holds a NaN.
  @Test func nonFiniteStepsStopTheRun() throws {
    let dir = try temporaryFolder("nan")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("run")
    let run = try OrpoProcess.run(arguments(out, steps: 20, save: 1, extra: ["--learning-rate", "1e30", "--set", "max_nonfinite_steps=3",
                                                                            "--set", "logging_steps=1"]))
    #expect(run.status == 1)
    #expect(run.errors.contains("\nError: stopped at step 4: 3 optimizer steps in a row had a NaN or infinite loss or gradient "
                                  + "(the last: loss nan, grad_norm nan); each was skipped, so the weights are those of step 1."), "\(run.errors)")
    #expect(run.errors.hasSuffix("max_nonfinite_steps (3) sets how many in a row are tolerated\n"), "\(run.errors)")
    #expect(run.errors.contains("orpo: step 2 skipped: loss nan, grad_norm nan (not finite; 1 in a row, max_nonfinite_steps 3)"), "\(run.errors)")
    #expect(!listing(out).contains("adapter"))
    let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
    #expect(lines.contains("\"nonfinite_steps\": 3.0, \"nonfinite_loss\": \"NaN\""), "\(lines)")
    for name in listing(out) where name.hasPrefix("checkpoint-") {
      let weights = try Data(contentsOf: out.appendingPathComponent("\(name)/adapter/adapter_model.safetensors"))
      let headerLength = weights.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
      let floats = weights.dropFirst(8 + Int(headerLength)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
      #expect(floats.allSatisfy { $0.isFinite }, "\(name) holds a non-finite weight")
    }
  }

  /// Past the file-size limit (as a full disk): the checkpoint write fails naming its file, the previous checkpoint
  /// is intact and no temporary folder is left; the run resumes from it afterwards.
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "prlimit (util-linux) is missing"))
  func aFullDiskLeavesThePreviousCheckpoint() throws {
    let dir = try temporaryFolder("disk")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("run")
    let first = try OrpoProcess.run(arguments(out, steps: 3))
    #expect(first.status == 0, "\(first.errors)")
    let before = try snapshot(out.appendingPathComponent("checkpoint-2"))
    // A checkpoint's trainable.safetensors is about 69 KB, metrics lines far less: 24 KB lets the logs through, not a
    // checkpoint.
    let limited = try OrpoProcess.run(["--fsize=24576", OrpoProcess.executable!.path]
                                        + arguments(out, steps: 6, extra: ["--resume-from-checkpoint", "latest"]),
                                      executable: URL(fileURLWithPath: "/usr/bin/prlimit"))
    #expect(limited.status == 1)
    let error = limited.errors.split(separator: "\n").last.map(String.init) ?? ""
    #expect(error == "Error: writing \(out.path)/checkpoint-4: \(out.path)/checkpoint-4/trainable.safetensors: write: File too large [io]",
            "\(limited.errors)")
    #expect(try snapshot(out.appendingPathComponent("checkpoint-2")) == before)
    #expect(listing(out) == ["adapter", "checkpoint-2", "metrics.jsonl", "run.json", "summary.json"])
    let resumed = try OrpoProcess.run(arguments(out, steps: 6, extra: ["--resume-from-checkpoint", "latest"]))
    #expect(resumed.status == 0, "\(resumed.errors)")
  }

  /// Past the file-size limit during `orpo export --merge`: the write fails naming the export and the file, exit 1,
  /// and neither the output folder nor its temporary folder is left (SIGXFSZ is ignored by every verb).
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "prlimit (util-linux) is missing"))
  func aFullDiskDuringExportLeavesNoOutput() throws {
    let dir = try temporaryFolder("export")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("merged")
    // The merged weights are about 300 KB, the tokenizer 47 KB: 64 KB stops the weights.
    let limited = try OrpoProcess.run(["--fsize=65536", OrpoProcess.executable!.path, "export", "--merge", "--model", fixture.path,
                                       "--out", out.path], executable: URL(fileURLWithPath: "/usr/bin/prlimit"))
    #expect(limited.status == 1, "\(limited.errors)")
    let error = limited.errors.split(separator: "\n").last.map(String.init) ?? ""
    #expect(error.hasPrefix("Error: \(out.path): cannot write the export ("), "\(limited.errors)")
    #expect(error.hasSuffix("/model.safetensors: write: File too large [io])"), "\(limited.errors)")
    #expect(listing(dir) == [])
  }
}
