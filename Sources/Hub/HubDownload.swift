// HubDownload.swift — fetches a model named by Hub id into the Hugging Face cache when it is not there: the file list
// and commit from `/api/models/{id}/revision/{rev}`, each file from `/{id}/resolve/{commit}/{file}`, resumable.
import Foundation
import Support
// `make carry` builds with ORPO_NO_NETWORK: the static binary for machines without network (GPU machines) then does
// not link FoundationNetworking, whose libcurl is not a static library and would be one more shared one to find there.
#if canImport(FoundationNetworking) && !ORPO_NO_NETWORK
import FoundationNetworking
#endif

/// Why a model could not be found or fetched: one line that says what to do.
public struct HubError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// One file of a repository as the Hub lists it: its path, size, and the name of its blob in the cache (the LFS
/// sha256 for LFS files, else git's blob id — what the Hub's `X-Linked-Etag` / `ETag` headers carry).
public struct HubFile: Equatable, Sendable {
  public let path: String
  public let size: Int64?
  public let blobName: String
}

/// Finds `org/name[@revision]` in the cache, or downloads it there. Settings as huggingface_hub reads them:
/// `HF_ENDPOINT` (default https://huggingface.co), `HF_TOKEN` (else the token file `$HF_TOKEN_PATH` or
/// `$HF_HOME/token`) sent as a bearer token, `HF_HUB_OFFLINE` / `TRANSFORMERS_OFFLINE` (1, on, yes, true).
public struct HubModelResolver {
  public var cache: HubCache
  public var endpoint: String
  public var token: String?
  public var offline: Bool
  /// Seconds to wait for the Hub to answer (connect and between bytes).
  public var timeout: TimeInterval = 30
  /// Told about each file as it downloads: (file, bytes so far, total if known). Default: a progress bar on stderr.
  public var progress: (String, Int64, Int64?) -> Void

  public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    cache = HubCache(root: HubCache.defaultRoot(environment: environment))
    var endpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
    while endpoint.hasSuffix("/") { endpoint.removeLast() }
    self.endpoint = endpoint
    func isTrue(_ name: String) -> Bool { ["1", "ON", "YES", "TRUE"].contains(environment[name]?.uppercased() ?? "") }
    offline = isTrue("HF_HUB_OFFLINE") || isTrue("TRANSFORMERS_OFFLINE")
    if let token = environment["HF_TOKEN"], !token.isEmpty {
      self.token = token
    } else {
      let path = environment["HF_TOKEN_PATH"].flatMap { $0.isEmpty ? nil : ($0 as NSString).expandingTildeInPath }
        ?? (HubCache.huggingFaceHome(environment: environment) as NSString).appendingPathComponent("token")
      token = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
      if token?.isEmpty == true { token = nil }
    }
    progress = ProgressBar().update
  }

  /// A model argument to a local URL: an existing file or folder as is; `org/name[@revision]` (when no such path
  /// exists) from the cache, downloading what is missing; anything else as a path (the loader says it is missing).
  /// `configOnly` (`orpo train --dry-run`): a snapshot with config.json is enough, and only that file is fetched.
  /// `tokenizerOnly` (`clone_chat_template`): a snapshot with tokenizer.json is enough, and only the tokenizer's
  /// files are fetched.
  public func locate(_ text: String, configOnly: Bool = false, tokenizerOnly: Bool = false) throws -> URL {
    let expanded = (text as NSString).expandingTildeInPath
    if FileManager.default.fileExists(atPath: expanded) { return URL(fileURLWithPath: expanded) }
    guard let id = HubModelID(text) else { return URL(fileURLWithPath: expanded) }
    return tokenizerOnly ? try tokenizerSnapshot(for: id) : try snapshot(for: id, configOnly: configOnly)
  }

  /// The tokenizer files huggingface_hub would place for `AutoTokenizer.from_pretrained`.
  public static func isTokenizerFile(_ path: String) -> Bool {
    ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"].contains(path)
  }

  /// A snapshot folder of `id` holding its tokenizer.json, downloading the tokenizer's files (no weights) when the
  /// cache has none.
  public func tokenizerSnapshot(for id: HubModelID) throws -> URL {
    if let folder = cachedSnapshot(of: id, holding: "tokenizer.json") { return folder }
    return try download(id, what: "\(id)'s tokenizer", hfDownloadArguments: " tokenizer.json tokenizer_config.json",
                        required: "tokenizer.json", note: "") { HubModelResolver.isTokenizerFile($0) }.folder
  }

  /// The snapshot folder of `id`, downloaded first unless the cache already holds a complete one.
  public func snapshot(for id: HubModelID, configOnly: Bool = false) throws -> URL {
    if let folder = cache.completeSnapshot(for: id) { return folder }
    if configOnly, let folder = cachedSnapshot(of: id, holding: "config.json") { return folder }
    let (folder, commit) = try download(id, what: "\(id)", hfDownloadArguments: "", required: "config.json",
                                        note: ": not a transformers model") {
      HubModelResolver.isModelFile($0) && (!configOnly || $0 == "config.json")
    }
    if configOnly { return folder }
    let missing = HubCache.missingModelFiles(in: folder)
    guard missing.isEmpty else {
      throw HubError("\(id) at \(endpoint) (commit \(commit)) lacks \(missing.joined(separator: ", ")): no safetensors "
                       + "weights to load (only .safetensors are read)")
    }
    return folder
  }

  /// The cached snapshot of `id`'s revision when it holds `file`.
  private func cachedSnapshot(of id: HubModelID, holding file: String) -> URL? {
    guard let commit = cache.commit(for: id) else { return nil }
    let folder = cache.snapshotFolder(id.repoID, commit: commit)
    return FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path) ? folder : nil
  }

  /// Fetches the files of `id` that `wanted` picks (`required` among them) into the cache and records the revision's
  /// commit; `what` and `hfDownloadArguments` word the error when HF_HUB_OFFLINE forbids it.
  private func download(_ id: HubModelID, what: String, hfDownloadArguments: String, required: String, note: String,
                        wanted: (String) -> Bool) throws -> (folder: URL, commit: String)
  {
    if offline {
      throw HubError("\(what) is not in the Hugging Face cache (\(cache.repositoryFolder(id.repoID).path)) and "
                       + "HF_HUB_OFFLINE is set, so it cannot be downloaded: unset HF_HUB_OFFLINE, or fetch it where the "
                       + "Hub is reachable (`hf download \(id.repoID)\(hfDownloadArguments)`) into this cache")
    }
    let (commit, files) = try listing(id)
    let picked = files.filter { wanted($0.path) }
    guard picked.contains(where: { $0.path == required }) else {
      throw HubError("\(id) at \(endpoint) has no \(required)\(note) (files: "
                       + files.prefix(8).map(\.path).joined(separator: ", ") + ")")
    }
    for file in picked { try fetch(file, of: id, commit: commit) }
    if id.revision != commit { try writeRef(id, commit: commit) }
    return (cache.snapshotFolder(id.repoID, commit: commit), commit)
  }

  /// What a model needs, and no more: top-level config, tokenizer and chat-template files and safetensors weights.
  /// Other weight formats (.bin, .pth, .gguf, .onnx) and subfolders (`original/`, `onnx/`) are left on the Hub.
  public static func isModelFile(_ path: String) -> Bool {
    guard !path.contains("/") else { return false }
    if path == "tokenizer.model" { return true }
    return [".json", ".safetensors", ".jinja", ".txt"].contains { path.hasSuffix($0) }
  }

  // MARK: The Hub's endpoints

  /// `GET /api/models/{id}/revision/{rev}?blobs=true`: the commit and the files (`siblings`, with blob ids and LFS
  /// hashes).
  public func listing(_ id: HubModelID) throws -> (commit: String, files: [HubFile]) {
    let url = "\(endpoint)/api/models/\(id.repoID)/revision/\(HubModelResolver.quote(id.revision, keepSlash: false))?blobs=true"
    let (data, status) = try request(url, for: id)
    guard status == 200 else { throw httpError(status, url: url, id: id) }
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let commit = object["sha"] as? String, let siblings = object["siblings"] as? [[String: Any]]
    else { throw HubError("\(url) did not answer with a model's revision info (no \"sha\" and \"siblings\")") }
    let files = try siblings.map { sibling -> HubFile in
      guard let path = sibling["rfilename"] as? String else { throw HubError("\(url): a sibling without \"rfilename\"") }
      let lfs = sibling["lfs"] as? [String: Any]
      guard let blob = (lfs?["sha256"] as? String) ?? (sibling["blobId"] as? String),
            blob.allSatisfy({ $0.isHexDigit }), !blob.isEmpty
      else { throw HubError("\(url): no blob id for \(path) (the endpoint must honour ?blobs=true)") }
      let size = (lfs?["size"] as? NSNumber ?? sibling["size"] as? NSNumber)?.int64Value
      return HubFile(path: path, size: size, blobName: blob)
    }
    return (commit, files)
  }

  /// One file into `blobs/<blob>` (through `blobs/<blob>.incomplete`, resumed with a Range request when a part is
  /// there), then the snapshot's relative link to it, as huggingface_hub makes them.
  func fetch(_ file: HubFile, of id: HubModelID, commit: String) throws {
    let repo = cache.repositoryFolder(id.repoID)
    let blob = repo.appendingPathComponent("blobs").appendingPathComponent(file.blobName)
    let link = cache.snapshotFolder(id.repoID, commit: commit).appendingPathComponent(file.path)
    let fm = FileManager.default
    do {
      try fm.createDirectory(at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
      try fm.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
    } catch { throw HubError("cannot write the Hugging Face cache \(cache.root.path): \(error.localizedDescription)") }
    if !fm.fileExists(atPath: blob.path) {
      let url = "\(endpoint)/\(id.repoID)/resolve/\(commit)/\(HubModelResolver.quote(file.path, keepSlash: true))"
      try download(url, to: blob, expectedSize: file.size, label: file.path, for: id)
    }
    if (try? fm.destinationOfSymbolicLink(atPath: link.path)) == nil || !fm.fileExists(atPath: link.path) {
      try? fm.removeItem(at: link)
      let depth = file.path.split(separator: "/").count + 1  // snapshots/<commit>/<path...>
      let target = String(repeating: "../", count: depth) + "blobs/" + file.blobName
      do { try fm.createSymbolicLink(atPath: link.path, withDestinationPath: target) } catch {
        throw HubError("cannot link \(link.path) to its blob: \(error.localizedDescription)")
      }
    }
  }

  /// `refs/<revision>` holds the commit, written atomically.
  func writeRef(_ id: HubModelID, commit: String) throws {
    let ref = cache.repositoryFolder(id.repoID).appendingPathComponent("refs").appendingPathComponent(id.revision)
    do {
      try FileManager.default.createDirectory(at: ref.deletingLastPathComponent(), withIntermediateDirectories: true)
      try AtomicFile.write(commit, to: ref)
    } catch { throw HubError("cannot write \(ref.path): \(error.localizedDescription)") }
  }

  // MARK: HTTP

  /// What a build without network (ORPO_NO_NETWORK) says where it would download; compiled in every build, so that
  /// ordinary builds type-check it.
  func withoutNetwork(_ id: HubModelID) -> HubError {
    HubError("\(id) is not complete in the Hugging Face cache (\(cache.repositoryFolder(id.repoID).path)), and this "
               + "orpo was built without network access (`make carry`): pass a local model folder, or fill the cache "
               + "where there is network")
  }

#if ORPO_NO_NETWORK
  private func request(_ url: String, for id: HubModelID) throws -> (Foundation.Data, Int) { throw withoutNetwork(id) }
  private func download(_ url: String, to blob: URL, expectedSize: Int64?, label: String, for id: HubModelID) throws {
    throw withoutNetwork(id)
  }
#else
  private func urlRequest(_ url: String, offset: Int64 = 0) throws -> URLRequest {
    guard let parsed = URL(string: url) else { throw HubError("HF_ENDPOINT gives a bad URL: \(url)") }
    var request = URLRequest(url: parsed, timeoutInterval: timeout)
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    request.setValue("orpo-swift", forHTTPHeaderField: "User-Agent")
    if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
    return request
  }

  private func request(_ url: String, for id: HubModelID) throws -> (Foundation.Data, Int) {
    let request = try urlRequest(url)
    final class Reply: @unchecked Sendable {  // written once by the completion handler, read after `done`
      var data: Foundation.Data?, response: URLResponse?, error: Error?
    }
    let done = DispatchSemaphore(value: 0)
    let reply = Reply()
    let session = URLSession(configuration: .ephemeral)
    session.dataTask(with: request) { data, response, error in
      (reply.data, reply.response, reply.error) = (data, response, error)
      done.signal()
    }.resume()
    done.wait()
    session.finishTasksAndInvalidate()
    if let error = reply.error { throw unreachable(error, id: id) }
    return (reply.data ?? Foundation.Data(), (reply.response as? HTTPURLResponse)?.statusCode ?? 0)
  }

  private func download(_ url: String, to blob: URL, expectedSize: Int64?, label: String, for id: HubModelID) throws {
    let partial = URL(fileURLWithPath: blob.path + ".incomplete")
    let fm = FileManager.default
    var offset = ((try? fm.attributesOfItem(atPath: partial.path))?[.size] as? NSNumber)?.int64Value ?? 0
    if let expectedSize, offset > expectedSize { offset = 0 }
    if offset == 0 { _ = fm.createFile(atPath: partial.path, contents: nil) }
    if expectedSize == nil || offset < expectedSize! {
      let stream = StreamingDownload(file: partial, offset: offset, label: label, progress: progress)
      let session = URLSession(configuration: .ephemeral, delegate: stream, delegateQueue: stream.queue)
      session.dataTask(with: try urlRequest(url, offset: offset)).resume()
      stream.done.wait()
      session.finishTasksAndInvalidate()
      if let error = stream.failure { throw unreachable(error, id: id, partial: partial) }
      if let status = stream.status, status != 200 && status != 206 { throw httpError(status, url: url, id: id) }
      if let error = stream.writeError { throw HubError("cannot write \(partial.path): \(error)") }
    }
    let size = ((try? fm.attributesOfItem(atPath: partial.path))?[.size] as? NSNumber)?.int64Value ?? -1
    if let expectedSize, size != expectedSize {
      throw HubError("\(label) of \(id): got \(size) of \(expectedSize) bytes (kept in \(partial.path); run again to resume)")
    }
    do { try fm.moveItem(at: partial, to: blob) } catch {
      throw HubError("cannot move \(partial.path) into place: \(error.localizedDescription)")
    }
  }
#endif

  private func unreachable(_ error: Error, id: HubModelID, partial: URL? = nil) -> HubError {
    let reason = (error as NSError).userInfo[NSLocalizedDescriptionKey] as? String ?? error.localizedDescription
    return HubError("cannot reach the Hugging Face Hub at \(endpoint) (\(reason)), and \(id) is not complete in the "
                      + "cache (\(cache.repositoryFolder(id.repoID).path))"
                      + (partial.map { "; the part downloaded so far is kept in \($0.path) and resumed next time" } ?? "")
                      + ": check the network, or set HF_ENDPOINT to a mirror")
  }

  private func httpError(_ status: Int, url: String, id: HubModelID) -> HubError {
    switch status {
    case 401, 403:
      return HubError("\(id) on \(endpoint) needs access (HTTP \(status)): it is private or gated; accept its terms "
                        + "on its page and set HF_TOKEN to a token that can read it"
                        + (token == nil ? " (no token was sent)" : " (the token sent was refused)"))
    case 404:
      return HubError("\(id) was not found on \(endpoint) (HTTP 404 for \(url)): check the name and revision")
    default:
      return HubError("the Hub at \(endpoint) answered HTTP \(status) for \(url)")
    }
  }

  /// Python's `urllib.parse.quote` (the Hub's URLs): letters, digits and `_.-~` kept, `/` kept when asked.
  static func quote(_ text: String, keepSlash: Bool) -> String {
    let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~"
                                 + (keepSlash ? "/" : ""))
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
  }
}

#if !ORPO_NO_NETWORK
/// Streams a response body to the end of a file (appending after `offset` when the server answers 206, starting
/// over when it answers 200), reporting progress. Used from its one delegate queue only, then read after `done`.
private final class StreamingDownload: NSObject, URLSessionDataDelegate, @unchecked Sendable {
  let queue: OperationQueue = {
    let queue = OperationQueue()
    queue.maxConcurrentOperationCount = 1
    return queue
  }()
  let done = DispatchSemaphore(value: 0)
  let file: URL
  let label: String
  let progress: (String, Int64, Int64?) -> Void
  var offset: Int64
  var handle: FileHandle?
  var total: Int64?
  var status: Int?
  var failure: Error?
  var writeError: Error?

  init(file: URL, offset: Int64, label: String, progress: @escaping (String, Int64, Int64?) -> Void) {
    self.file = file
    self.offset = offset
    self.label = label
    self.progress = progress
  }

  func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                  completionHandler: @escaping (URLSession.ResponseDisposition) -> Void)
  {
    let http = response as? HTTPURLResponse
    status = http?.statusCode
    guard status == 200 || status == 206 else { return completionHandler(.cancel) }
    do {
      let handle = try FileHandle(forWritingTo: file)
      if status == 200 {  // the whole file: start over
        try handle.truncate(atOffset: 0)
        offset = 0
      } else {
        try handle.seek(toOffset: UInt64(offset))
      }
      self.handle = handle
    } catch {
      writeError = error
      return completionHandler(.cancel)
    }
    if response.expectedContentLength >= 0 { total = offset + response.expectedContentLength }
    progress(label, offset, total)
    completionHandler(.allow)
  }

  func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Foundation.Data) {
    guard let handle, writeError == nil else { return }
    do {
      try handle.write(contentsOf: data)
      offset += Int64(data.count)
      progress(label, offset, total)
    } catch {
      writeError = error
      dataTask.cancel()
    }
  }

  func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
    try? handle?.close()
    handle = nil
    let cancelledByUs = (status != nil && status != 200 && status != 206) || writeError != nil
    if let error, !cancelledByUs { failure = error }
    done.signal()
  }
}
#endif

/// `orpo: downloading config.json  12.0 MB / 269.1 MB  4%` on stderr: redrawn in place on a terminal, else a line
/// when a file starts and when it ends.
final class ProgressBar {
  private var current = ""
  private var lastDraw = Date.distantPast
  private let isTerminal = isatty(STDERR_FILENO) == 1

  func update(_ label: String, _ done: Int64, _ total: Int64?) {
    let finished = total.map { done >= $0 } ?? false
    let starting = label != current
    current = label
    let now = Date()
    if isTerminal {
      guard starting || finished || now.timeIntervalSince(lastDraw) > 0.1 else { return }
      lastDraw = now
      write("\r\u{1B}[2K" + line(label, done, total) + (finished ? "\n" : ""))
    } else if starting || finished {
      write(line(label, done, total) + "\n")
    }
  }

  private func line(_ label: String, _ done: Int64, _ total: Int64?) -> String {
    func megabytes(_ n: Int64) -> String { String(format: "%.1f MB", Double(n) / 1_000_000) }
    guard let total, total > 0 else { return "orpo: downloading \(label)  \(megabytes(done))" }
    return "orpo: downloading \(label)  \(megabytes(done)) / \(megabytes(total))  \(Int(100 * Double(done) / Double(total)))%"
  }

  private func write(_ text: String) { FileHandle.standardError.write(Foundation.Data(text.utf8)) }
}
