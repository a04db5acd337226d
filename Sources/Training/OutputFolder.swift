// OutputFolder.swift — who owns output_dir: a fresh run starts in an empty folder (another run's is refused unless
// overwrite_output_dir, which swaps it out whole), and a resumed run picks a checkpoint of its own run (`latest`:
// the newest whose fingerprint matches) and refuses another run's unless force_resume.
import Foundation
import Support

public struct OutputFolder {
  public let url: URL
  /// The earlier run moved aside by overwrite_output_dir: removed by `commit()`, put back by `abandon()`.
  let previous: URL?
  /// Whether this run made the folder (so `abandon()` removes it).
  let created: Bool

  /// Takes output_dir for the run `config` describes, or throws naming the key and the ways out. With
  /// `resume_from_checkpoint` the folder may hold the run being resumed (stale temporary folders of an interrupted
  /// checkpoint write are removed); without, it must be missing or empty, or `overwrite_output_dir` renames the
  /// old one aside in one step (the new folder then starts empty; the old one goes at `commit()`).
  public static func claim(for config: TrainingConfiguration) throws -> OutputFolder {
    let fm = FileManager.default
    let url = URL(fileURLWithPath: config.outputDir)
    var isFolder: ObjCBool = false
    let exists = fm.fileExists(atPath: url.path, isDirectory: &isFolder)
    if exists && !isFolder.boolValue {
      throw config.error("output_dir", "\(url.path) is a file, not a folder")
    }
    let entries = exists ? try fm.contentsOfDirectory(atPath: url.path).sorted() : []
    if config.resumeFromCheckpoint != nil {
      for name in entries where name.hasPrefix(".checkpoint-") && name.contains(".tmp-") {
        try? fm.removeItem(at: url.appendingPathComponent(name))
      }
      if !exists { try create(url, config) }
      return OutputFolder(url: url, previous: nil, created: !exists)
    }
    guard !entries.isEmpty else {
      if !exists { try create(url, config) }
      return OutputFolder(url: url, previous: nil, created: !exists)
    }
    guard config.overwriteOutputDir else {
      let shown = entries.prefix(4).joined(separator: ", ") + (entries.count > 4 ? ", …" : "")
      throw config.error("output_dir", "\(url.path) already holds a run (\(shown)); give --overwrite-output-dir to "
                           + "replace it, or --resume-from-checkpoint latest to continue it")
    }
    let aside = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).old-\(UInt32.random(in: 0...UInt32.max))")
    do { try fm.moveItem(at: url, to: aside) } catch {
      throw config.error("output_dir", "cannot move the earlier run in \(url.path) aside (\(error.localizedDescription))")
    }
    do { try create(url, config) } catch {
      try? fm.moveItem(at: aside, to: url)
      throw error
    }
    return OutputFolder(url: url, previous: aside, created: true)
  }

  private static func create(_ url: URL, _ config: TrainingConfiguration) throws {
    do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
      throw config.error("output_dir", "cannot create \(url.path) (\(error.localizedDescription))")
    }
  }

  /// The run has started: the earlier run (if overwritten) is removed for good.
  public func commit() {
    if let previous { try? FileManager.default.removeItem(at: previous) }
  }

  /// The run failed before it started: the folder is as it was (made by this run: removed; overwritten: put back).
  public func abandon() {
    let fm = FileManager.default
    if created { try? fm.removeItem(at: url) }
    if let previous { try? fm.moveItem(at: previous, to: url) }
  }

  /// The checkpoint `resume_from_checkpoint` names (`url`: output_dir), checked against this run's fingerprint: `latest` is the newest
  /// checkpoint-N in the folder that belongs to this run; a checkpoint of another run (or one that records no
  /// run) is refused, naming what differs, unless `force_resume`. nil when not resuming.
  public static func resumeCheckpoint(in url: URL, _ config: TrainingConfiguration, fingerprint: RunFingerprint) throws
    -> URL?
  {
    guard let requested = config.resumeFromCheckpoint else { return nil }
    let force = "give --force-resume to resume it anyway, or --overwrite-output-dir to start over"
    if requested == "latest" {
      let steps = Trainer.checkpointSteps(in: url)
      guard let newest = steps.last else {
        throw config.error("resume_from_checkpoint", "latest: no checkpoint-* folder in \(url.path)")
      }
      let folders = steps.reversed().map { url.appendingPathComponent("checkpoint-\($0)") }
      for folder in folders where try RunFingerprint.read(from: folder) == fingerprint { return folder }
      let newestFolder = url.appendingPathComponent("checkpoint-\(newest)")
      if config.forceResume { return newestFolder }
      throw config.error("resume_from_checkpoint", "latest: no checkpoint in \(url.path) belongs to this run ("
                           + (try mismatch(newestFolder, fingerprint, config)) + "); " + force)
    }
    let folder = URL(fileURLWithPath: requested)
    guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("trainer_state.json").path) else {
      throw config.error("resume_from_checkpoint", "\(folder.path) is not a checkpoint (no trainer_state.json)")
    }
    if try RunFingerprint.read(from: folder) != fingerprint && !config.forceResume {
      throw config.error("resume_from_checkpoint", "\(folder.path) is not a checkpoint of this run ("
                           + (try mismatch(folder, fingerprint, config)) + "); " + force)
    }
    return folder
  }

  /// Why the checkpoint in `folder` is not this run's, in words.
  private static func mismatch(_ folder: URL, _ fingerprint: RunFingerprint, _ config: TrainingConfiguration) throws
    -> String
  {
    guard let recorded = try RunFingerprint.read(from: folder)?.withFormerDefaults(of: config) else {
      return "\(folder.lastPathComponent) records no run (no \(RunFingerprint.fileName))"
    }
    return "\(folder.lastPathComponent) differs from this run in " + recorded.differences(from: fingerprint).joined(separator: " and ")
  }
}
