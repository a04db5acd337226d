// DatasetFolder.swift — a data set folder as `huggingface-cli download --repo-type dataset` leaves it, cut into
// splits by the rules Hugging Face datasets applies when no data_files are given (datasets/data_files.py:
// `get_data_patterns`): sharded `data/{split}-00000-of-00001.parquet` files first, else split names in folder names,
// else in file names, else every file is "train". Hidden files and folders, `__`-folders and README.md are left out.

import Foundation

/// The splits of a data set folder, each with its data files in the order datasets reads them.
public struct DatasetFolder: Sendable {
  public struct Split: Equatable, Sendable {
    public var name: String
    /// Paths relative to the folder, "/"-separated. A file matched by two of datasets' patterns is listed twice,
    /// as datasets lists it (and reads it) twice.
    public var files: [String]
  }

  /// The folder the files are relative to (a Hugging Face cache repository folder resolves to its snapshot).
  public let url: URL
  /// In datasets' order: train, validation, test, then the others sorted.
  public let splits: [Split]

  /// File types the preference readers take.
  static let dataExtensions: Set<String> = ["parquet", "jsonl", "json"]

  public init(_ url: URL) throws {
    let folder = Self.snapshot(of: url)
    self.url = folder
    let files = try Self.listFiles(folder)
    guard let splits = Self.splits(of: files) else {
      throw DataError(source: url.path, message: "the folder holds no data files")
    }
    self.splits = splits
  }

  /// The data files (.parquet, .jsonl, .json) of a split; without a name, `defaultSplit`, or the only split there is.
  public func files(split name: String?, defaultSplit: String = "train") throws -> (split: String, files: [URL]) {
    let names = splits.map(\.name)
    let listed = names.map { "\"\($0)\"" }.joined(separator: ", ")
    let chosen: Split
    if let name {
      guard let split = splits.first(where: { $0.name == name }) else {
        throw DataError(source: url.path, message: "there is no split \"\(name)\" (the folder's splits: \(listed))")
      }
      chosen = split
    } else if let standard = splits.first(where: { $0.name == defaultSplit }) {
      chosen = standard
    } else if splits.count == 1 {
      chosen = splits[0]
    } else {
      throw DataError(source: url.path, message: "the folder has no \"\(defaultSplit)\" split; choose one of \(listed) "
        + "with --split (recipe key \(defaultSplit == "train" ? "dataset_split" : "eval_dataset_split"))")
    }
    let data = chosen.files.filter { Self.dataExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
    guard !data.isEmpty else {
      throw DataError(source: url.path, message: "split \"\(chosen.name)\" has no .parquet, .jsonl or .json files (it has "
        + chosen.files.prefix(5).map { "\"\($0)\"" }.joined(separator: ", ") + ")")
    }
    return (chosen.name, data.map { url.appendingPathComponent($0) })
  }

  // MARK: Listing

  /// A Hugging Face cache folder (`datasets--org--name`, with `refs/main` and `snapshots/`) stands for the snapshot
  /// `refs/main` names; any other folder for itself.
  static func snapshot(of url: URL) -> URL {
    let reference = url.appendingPathComponent("refs/main")
    guard let commit = try? String(contentsOf: reference, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
          !commit.isEmpty, !commit.contains("/") else { return url }
    let snapshot = url.appendingPathComponent("snapshots").appendingPathComponent(commit)
    var isFolder: ObjCBool = false
    return FileManager.default.fileExists(atPath: snapshot.path, isDirectory: &isFolder) && isFolder.boolValue ? snapshot : url
  }

  /// Every file under `folder` (symbolic links to files count, as in the Hugging Face cache), relative and sorted as
  /// fsspec's glob sorts them; hidden parts, `__` folders and datasets' ignored names are left out.
  static func listFiles(_ folder: URL) throws -> [String] {
    let manager = FileManager.default
    var isFolder: ObjCBool = false
    guard manager.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
      throw DataError(source: folder.path, message: "not a folder")
    }
    let ignored: Set<String> = ["README.md", "config.json", "dataset_info.json", "dataset_infos.json", "dummy_data.zip",
                                "dataset_dict.json"]
    var files: [String] = []
    var pending = [""]
    while let relative = pending.popLast() {
      let directory = relative.isEmpty ? folder : folder.appendingPathComponent(relative)
      let names: [String]
      do { names = try manager.contentsOfDirectory(atPath: directory.path) } catch {
        throw DataError(source: directory.path, message: "cannot list the folder: \(error.localizedDescription)")
      }
      for name in names {
        let path = relative.isEmpty ? name : relative + "/" + name
        if name.hasPrefix(".") && !name.allSatisfy({ $0 == "." }) { continue }  // hidden
        let full = folder.appendingPathComponent(path)
        let attributes = try? manager.attributesOfItem(atPath: full.path)
        let type = attributes?[.type] as? FileAttributeType
        if type == .typeDirectory {
          if !name.hasPrefix("__") { pending.append(path) }
        } else if type == .typeRegular || (type == .typeSymbolicLink && isRegularFile(full.resolvingSymlinksInPath())) {
          if !ignored.contains(name) { files.append(path) }
        }
      }
    }
    return files.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
  }

  private static func isRegularFile(_ url: URL) -> Bool {
    var isFolder: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) && !isFolder.boolValue
  }

  // MARK: datasets' patterns

  /// datasets' split keywords, in its order (`SPLIT_KEYWORDS`).
  static let keywords: [(split: String, words: [String])] = [
    ("train", ["train", "training"]), ("validation", ["validation", "valid", "dev", "val"]),
    ("test", ["test", "testing", "eval", "evaluation"]),
  ]

  /// `NON_WORDS_CHARS`, the characters that may surround a split keyword: "-._ 0-9".
  static func isSeparator(_ character: Character) -> Bool {
    character == "-" || character == "." || character == "_" || character == " " || ("0"..."9").contains(character)
  }

  /// The splits of `files` (sorted relative paths), nil when there are no files.
  static func splits(of files: [String]) -> [Split]? {
    guard !files.isEmpty else { return nil }
    if let sharded = shardedSplits(files) { return sharded }
    let basename: (String) -> Substring = { $0.split(separator: "/").last ?? Substring($0) }
    let folders: (String) -> [Substring] = { Array($0.split(separator: "/").dropLast()) }
    // Each entry: a split and its patterns, each pattern a test on a relative path (in datasets' order).
    typealias Pattern = (String) -> Bool
    let logs: [(String, [Pattern])] = [("logs", [{ basename($0).hasSuffix(".eval") }])]
    let harbor: [(String, [Pattern])] = [("test", [{ basename($0) == "task.toml" }, { basename($0) == "instruction.md" }])]
    let inFolderNames: [(String, [Pattern])] = keywords.map { split in
      (split.split, split.words.flatMap { word -> [Pattern] in [
        { folders($0).contains { $0 == word } },                                   // **/{word}/**
        { folders($0).contains { startsWithKeyword($0, word) } },                  // **/{word}[sep]*/**
        { folders($0).contains { endsWithKeyword($0, word) } },                    // **/*[sep]{word}/**
        { folders($0).contains { containsKeyword($0, word) } },                    // **/*[sep]{word}[sep]*/**
      ] })
    }
    let inFileNames: [(String, [Pattern])] = keywords.map { split in
      (split.split, split.words.flatMap { word -> [Pattern] in [
        { startsWithKeyword(basename($0), word) },                                 // **/{word}[sep]*
        { containsKeyword(basename($0), word) },                                   // **/*[sep]{word}[sep]*
      ] })
    }
    let all: [(String, [Pattern])] = [("train", [{ _ in true }])]                  // **
    for patterns in [logs, harbor, inFolderNames, inFileNames, all] {
      var found: [Split] = []
      for (split, tests) in patterns where tests.contains(where: { test in files.contains(where: test) }) {
        found.append(Split(name: split, files: tests.flatMap { test in files.filter(test) }))
      }
      if !found.isEmpty { return found }
    }
    return nil
  }

  /// `data/{split}-00000-of-00001*.*` files (`SPLIT_PATTERN_SHARDED`), the way Hub uploads are named.
  private static func shardedSplits(_ files: [String]) -> [Split]? {
    var bySplit: [String: [String]] = [:]
    for path in files {
      let parts = path.split(separator: "/", omittingEmptySubsequences: false)
      guard parts.count == 2, parts[0] == "data", let split = shardSplitName(String(parts[1])) else { continue }
      bySplit[split, default: []].append(path)
    }
    guard !bySplit.isEmpty else { return nil }
    let standard = ["train", "validation", "test"].filter { bySplit[$0] != nil }
    let others = bySplit.keys.filter { !standard.contains($0) }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    return (standard + others).map { Split(name: $0, files: bySplit[$0]!) }
  }

  /// The split in a shard's name `{split}-ddddd-of-ddddd*.*`: the text before the last "-ddddd-of-ddddd" (the
  /// greedy match datasets' `string_to_dict` makes), when a "." follows it.
  static func shardSplitName(_ name: String) -> String? {
    let characters = Array(name)
    let marker = Array("-00000-of-00000")
    guard characters.count > marker.count else { return nil }
    for start in stride(from: characters.count - marker.count, through: 1, by: -1) {
      let matches = (0..<marker.count).allSatisfy { offset in
        let expected = marker[offset]
        let actual = characters[start + offset]
        return expected == "0" ? actual.isASCII && actual.isNumber : actual == expected
      }
      if matches && characters[(start + marker.count)...].contains(".") { return String(characters[..<start]) }
    }
    return nil
  }

  private static func startsWithKeyword(_ name: Substring, _ word: String) -> Bool {
    name.hasPrefix(word) && name.dropFirst(word.count).first.map(isSeparator) == true
  }

  private static func endsWithKeyword(_ name: Substring, _ word: String) -> Bool {
    name.hasSuffix(word) && name.dropLast(word.count).last.map(isSeparator) == true
  }

  private static func containsKeyword(_ name: Substring, _ word: String) -> Bool {
    let characters = Array(name)
    let keyword = Array(word)
    guard characters.count >= keyword.count + 2 else { return false }
    for start in 1...(characters.count - keyword.count - 1)
    where isSeparator(characters[start - 1]) && isSeparator(characters[start + keyword.count])
      && Array(characters[start..<(start + keyword.count)]) == keyword {
      return true
    }
    return false
  }
}
