// HubCache.swift — models named by Hub id (`org/name[@revision]`) in the local Hugging Face cache, found exactly where
// huggingface_hub puts them: `<cache>/models--org--name/{blobs/<etag>, refs/<revision>, snapshots/<commit>/<file>}`.
import Foundation

/// `org/name` with an optional `@revision` (a branch, tag or 40-digit commit; default `main`).
public struct HubModelID: Equatable, Sendable, CustomStringConvertible {
  public let repoID: String
  public let revision: String

  /// Nil unless `text` is `org/name[@revision]` with the Hub's name characters (letters, digits, `-`, `_`, `.`).
  public init?(_ text: String) {
    var repo = Substring(text)
    var revision = "main"
    if let at = text.firstIndex(of: "@") {
      repo = text[..<at]
      revision = String(text[text.index(after: at)...])
      guard !revision.isEmpty, !revision.contains(".."), revision.allSatisfy({ !$0.isWhitespace }) else { return nil }
    }
    let parts = repo.split(separator: "/", omittingEmptySubsequences: false)
    let nameCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
    guard parts.count == 2, parts.allSatisfy({ part in
      !part.isEmpty && part != "." && part != ".." && !part.hasPrefix("-")
        && part.unicodeScalars.allSatisfy { $0.isASCII && nameCharacters.contains($0) }
    }) else { return nil }
    repoID = String(repo)
    self.revision = revision
  }

  public var description: String { revision == "main" ? repoID : "\(repoID)@\(revision)" }

  /// A full commit hash names a snapshot folder directly (huggingface_hub's `REGEX_COMMIT_HASH`).
  public var revisionIsCommit: Bool {
    revision.count == 40 && revision.allSatisfy { $0.isHexDigit && !$0.isUppercase }
  }
}

/// The cache folder and where a model's files live in it.
public struct HubCache: Sendable {
  public let root: URL

  public init(root: URL) {
    self.root = root
  }

  /// huggingface_hub's `HF_HUB_CACHE`: `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else
  /// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
  public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
    func path(_ name: String) -> String? {
      guard let value = environment[name], !value.isEmpty else { return nil }
      return (value as NSString).expandingTildeInPath
    }
    if let cache = path("HF_HUB_CACHE") ?? path("HUGGINGFACE_HUB_CACHE") { return URL(fileURLWithPath: cache) }
    return URL(fileURLWithPath: huggingFaceHome(environment: environment)).appendingPathComponent("hub")
  }

  /// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
  public static func huggingFaceHome(environment: [String: String]) -> String {
    if let home = environment["HF_HOME"], !home.isEmpty { return (home as NSString).expandingTildeInPath }
    let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : ($0 as NSString).expandingTildeInPath }
      ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
    return (cache as NSString).appendingPathComponent("huggingface")
  }

  /// `models--org--name` (`repo_folder_name`).
  public func repositoryFolder(_ repoID: String) -> URL {
    root.appendingPathComponent((["models"] + repoID.split(separator: "/").map(String.init)).joined(separator: "--"))
  }

  /// The commit the revision stands for here: the revision itself when it is a commit, else the text of
  /// `refs/<revision>`; nil when the cache has no such ref.
  public func commit(for id: HubModelID) -> String? {
    if id.revisionIsCommit { return id.revision }
    let ref = repositoryFolder(id.repoID).appendingPathComponent("refs").appendingPathComponent(id.revision)
    guard let text = try? String(contentsOf: ref, encoding: .utf8) else { return nil }
    let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
    return commit.isEmpty ? nil : commit
  }

  public func snapshotFolder(_ repoID: String, commit: String) -> URL {
    repositoryFolder(repoID).appendingPathComponent("snapshots").appendingPathComponent(commit)
  }

  /// The snapshot folder of `id`, when the cache holds one with a config and all its weights (see
  /// `missingModelFiles`); nil otherwise.
  public func completeSnapshot(for id: HubModelID) -> URL? {
    guard let commit = commit(for: id) else { return nil }
    let folder = snapshotFolder(id.repoID, commit: commit)
    return HubCache.missingModelFiles(in: folder).isEmpty ? folder : nil
  }

  /// What a model folder lacks to load: `config.json`, and the weights (`model.safetensors`, or the index and every
  /// shard it names). A snapshot link whose blob is gone counts as missing.
  public static func missingModelFiles(in folder: URL) -> [String] {
    let fm = FileManager.default
    func has(_ name: String) -> Bool { fm.fileExists(atPath: folder.appendingPathComponent(name).path) }  // follows links
    var missing: [String] = []
    if !has("config.json") { missing.append("config.json") }
    if has("model.safetensors") { return missing }
    let index = folder.appendingPathComponent("model.safetensors.index.json")
    guard let data = try? Foundation.Data(contentsOf: index),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let map = object["weight_map"] as? [String: String]
    else { return missing + ["model.safetensors"] }
    return missing + Set(map.values).sorted().filter { !has($0) }
  }
}
