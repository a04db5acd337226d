// HubTests.swift — models by Hub id: a cache laid out by huggingface_hub 2.4.0's own snapshot_download
// (reference/make_hub_cache_fixtures.py) resolves offline; downloads from a stand-in Hub on 127.0.0.1 (Hummingbird)
// lay out the same blobs, refs and snapshot links, resume a partial blob, send HF_TOKEN; offline, unreachable,
// gated and unknown models give one clear error each.
import Foundation
import HTTPTypes
import Logging
import Hummingbird
import NIOCore
import Testing
@testable import Hub

/// Fixtures/cache_layout.json, as the reference script dumped it.
struct CacheFixture {
  let repoID: String
  let commit: String
  let snapshot: String
  /// path → (content, blob name)
  let files: [String: (bytes: [UInt8], etag: String)]
  let siblings: [[String: Any]]
  /// cache-relative path → ["symlink": target] or ["sha256", "size", "text"?]
  let layout: [String: [String: Any]]

  static func load() throws -> CacheFixture {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/cache_layout", withExtension: "json"))
    let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    var files: [String: ([UInt8], String)] = [:]
    for (path, value) in try #require(object["files"] as? [String: [String: Any]]) {
      let text = try #require(value["text"] as? String)
      files[path] = (text.unicodeScalars.map { UInt8($0.value) }, try #require(value["etag"] as? String))  // latin-1
    }
    return CacheFixture(repoID: object["repo_id"] as! String, commit: object["commit"] as! String,
                        snapshot: object["snapshot"] as! String, files: files,
                        siblings: object["siblings"] as! [[String: Any]],
                        layout: object["layout"] as! [String: [String: Any]])
  }

  /// Builds the cache exactly as the dump describes it (blobs, refs, relative snapshot links).
  func build(in cache: URL) throws {
    let fm = FileManager.default
    let blobs = Dictionary(files.values.map { ($0.etag, $0.bytes) }, uniquingKeysWith: { a, _ in a })
    for (path, entry) in layout {
      let url = cache.appendingPathComponent(path)
      try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      if let target = entry["symlink"] as? String {
        try fm.createSymbolicLink(atPath: url.path, withDestinationPath: target)
      } else if let text = entry["text"] as? String {
        try Data(text.utf8).write(to: url)
      } else if let bytes = blobs[url.lastPathComponent] {
        try Data(bytes).write(to: url)
      }
    }
  }
}

func temporaryFolder() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-hub-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Runs a blocking call off Swift's cooperative pool (the stand-in Hub's handlers run there).
func offPool<T>(_ body: @escaping () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
  }
}

/// What the stand-in Hub saw.
final class RequestLog: @unchecked Sendable {
  private let lock = NSLock()
  private var entries: [(line: String, authorization: String?, range: String?)] = []
  func add(_ line: String, _ authorization: String?, _ range: String?) {
    lock.lock(); defer { lock.unlock() }
    entries.append((line, authorization, range))
  }
  var all: [(line: String, authorization: String?, range: String?)] { lock.lock(); defer { lock.unlock() }; return entries }
}

/// The Hub's two endpoints for one repository, answered as the Hub answers them (the same bodies and headers as the
/// reference script's stand-in): revision info with siblings, and files by commit with Range support. `status`
/// forces an error status on every request.
final class StandInHub {
  let task: Task<Void, Error>
  let endpoint: String
  let log = RequestLog()

  init(fixture: CacheFixture, status: HTTPResponse.Status? = nil) async throws {
    let router = Router()
    let log = self.log
    let info = try JSONSerialization.data(withJSONObject: ["id": fixture.repoID, "sha": fixture.commit,
                                                           "siblings": fixture.siblings])
    let files = fixture.files
    let (repo, commit) = (fixture.repoID, fixture.commit)
    @Sendable func answer(_ request: Request, head: Bool) -> Response {
      let path = request.uri.path
      log.add("\(request.method) \(request.uri)", request.headers[.authorization], request.headers[.range])
      if let status { return Response(status: status) }
      if path == "/api/models/\(repo)/revision/main" || path == "/api/models/\(repo)/revision/\(commit)" {
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: info)))
      }
      let prefix = "/\(repo)/resolve/\(commit)/"
      guard path.hasPrefix(prefix), let file = files[String(path.dropFirst(prefix.count))] else {
        return Response(status: .notFound)
      }
      var bytes = file.bytes[...]
      var status = HTTPResponse.Status.ok
      var headers: HTTPFields = [.eTag: "\"\(file.etag)\""]
      headers[HTTPField.Name("X-Repo-Commit")!] = commit
      if let range = request.headers[.range], range.hasPrefix("bytes="), range.hasSuffix("-"),
         let start = Int(range.dropFirst(6).dropLast()), start < bytes.count
      {
        bytes = bytes[start...]
        status = .partialContent
        headers[.contentRange] = "bytes \(start)-\(file.bytes.count - 1)/\(file.bytes.count)"
      }
      headers[.contentLength] = String(bytes.count)
      return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: head ? [] : Array(bytes))))
    }
    router.get("**") { request, _ in answer(request, head: false) }
    router.head("**") { request, _ in answer(request, head: true) }
    var logger = Logger(label: "stand-in-hub")
    logger.logLevel = .critical
    let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = Application(router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
                          onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
    task = Task { try await app.run() }
    var port = 0
    for await bound in stream { port = bound; break }
    endpoint = "http://127.0.0.1:\(port)"
  }

  func stop() async {
    task.cancel()
    _ = try? await task.value
  }
}

@Suite(.serialized) struct HubTests {
  @Test func modelIDsAsTheHubNamesThem() {
    #expect(HubModelID("google/gemma-3-270m") == HubModelID("google/gemma-3-270m@main"))
    #expect(HubModelID("Qwen/Qwen3-0.6B@v1.0")?.revision == "v1.0")
    #expect(HubModelID("org/name@0123456789abcdef0123456789abcdef01234567")?.revisionIsCommit == true)
    for bad in ["name", "a/b/c", "./x", "../x", "org/", "/abs/path", "org/na me", "org/name@", "models/x.gguf@a b"] {
      #expect(HubModelID(bad) == nil, "\(bad)")
    }
    #expect(HubCache(root: URL(fileURLWithPath: "/c")).repositoryFolder("tiny-org/tiny-model").path
      == "/c/models--tiny-org--tiny-model")
  }

  @Test func cacheFolderFollowsHuggingFaceHubsVariables() {
    #expect(HubCache.defaultRoot(environment: ["HF_HUB_CACHE": "/a", "HF_HOME": "/b"]).path == "/a")
    #expect(HubCache.defaultRoot(environment: ["HUGGINGFACE_HUB_CACHE": "/a2", "HF_HOME": "/b"]).path == "/a2")
    #expect(HubCache.defaultRoot(environment: ["HF_HOME": "/b", "XDG_CACHE_HOME": "/x"]).path == "/b/hub")
    #expect(HubCache.defaultRoot(environment: ["XDG_CACHE_HOME": "/x"]).path == "/x/huggingface/hub")
    #expect(HubCache.defaultRoot(environment: [:]).path.hasSuffix("/.cache/huggingface/hub"))
  }

  /// What the carried static binary (`make carry`, built with ORPO_NO_NETWORK) says instead of downloading: the id,
  /// the cache folder it looked in, and what to do.
  @Test func aBuildWithoutNetworkNamesTheCacheFolder() throws {
    let resolver = HubModelResolver(environment: ["HF_HUB_CACHE": "/tmp/orpo-no-cache"])
    let message = resolver.withoutNetwork(try #require(HubModelID("tiny-org/tiny-model"))).description
    #expect(message == "tiny-org/tiny-model is not complete in the Hugging Face cache (/tmp/orpo-no-cache/models--tiny-org--tiny-model), "
              + "and this orpo was built without network access (`make carry`): pass a local model folder, or fill the cache "
              + "where there is network")
  }

  /// The cache huggingface_hub's snapshot_download left resolves with no network at all, by branch and by commit.
  @Test func cacheLaidOutByHuggingFaceHubResolvesOffline() throws {
    let fixture = try CacheFixture.load()
    let home = try temporaryFolder()
    defer { try? FileManager.default.removeItem(at: home) }
    try fixture.build(in: home.appendingPathComponent("hub"))
    let resolver = HubModelResolver(environment: ["HF_HOME": home.path, "HF_HUB_OFFLINE": "1"])
    let snapshot = home.appendingPathComponent("hub").appendingPathComponent(fixture.snapshot)
    #expect(try resolver.locate(fixture.repoID).path == snapshot.path)
    #expect(try resolver.locate("\(fixture.repoID)@\(fixture.commit)").path == snapshot.path)
    let config = try Data(contentsOf: snapshot.appendingPathComponent("config.json"))
    #expect(Array(config) == fixture.files["config.json"]?.bytes)
    // A local path wins over an id that looks the same; a missing branch offline is one clear error.
    #expect(try resolver.locate(home.path).path == home.path)
    #expect(throws: HubError.self) { try resolver.locate("\(fixture.repoID)@dev") }
    do { _ = try resolver.locate("\(fixture.repoID)@dev") } catch {
      #expect("\(error)".contains("is not in the Hugging Face cache") && "\(error)".contains("HF_HUB_OFFLINE"))
    }
    // A snapshot whose weights blob is gone is not complete.
    try FileManager.default.removeItem(at: home.appendingPathComponent("hub/models--tiny-org--tiny-model/blobs")
      .appendingPathComponent(fixture.files["model.safetensors"]!.etag))
    #expect(HubCache.missingModelFiles(in: snapshot) == ["model.safetensors"])
  }

  /// Downloads lay out what huggingface_hub lays out for the same files: blobs named by etag, refs/main, relative
  /// links; a partial `.incomplete` blob is resumed with a Range request; HF_TOKEN goes out as a bearer token.
  @Test func downloadLaysOutTheCacheAsHuggingFaceHubDoes() async throws {
    let fixture = try CacheFixture.load()
    let hub = try await StandInHub(fixture: fixture)
    let home = try temporaryFolder()
    defer { try? FileManager.default.removeItem(at: home) }
    let cache = home.appendingPathComponent("cache")
    // Half of the weights already there from an interrupted run.
    let weights = fixture.files["model.safetensors"]!
    let blobs = cache.appendingPathComponent("models--tiny-org--tiny-model/blobs")
    try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
    try Data(weights.bytes.prefix(300)).write(to: blobs.appendingPathComponent(weights.etag + ".incomplete"))

    var resolver = HubModelResolver(environment: ["HF_HUB_CACHE": cache.path, "HF_ENDPOINT": hub.endpoint + "/",
                                                  "HF_TOKEN": "hf_test_token"])
    let progress = RequestLog()
    resolver.progress = { file, done, total in progress.add(file, String(done), total.map(String.init)) }
    let snapshot = try await offPool { [resolver] in try resolver.locate(fixture.repoID) }
    await hub.stop()
    #expect(snapshot.path == cache.appendingPathComponent(fixture.snapshot).path)

    // Every file we fetch is laid out as in the dump; what we leave on the Hub (a subfolder) is all that differs,
    // with huggingface_hub 2.x's own trees/ listing cache.
    let leftOnTheHub = fixture.files.filter { $0.key.contains("/") }.map { "/blobs/" + $0.value.etag }
    var expected = fixture.layout.filter { entry in
      !entry.key.contains("/nested/") && !entry.key.contains("/trees/") && !leftOnTheHub.contains { entry.key.hasSuffix($0) }
    }
    expected = expected.mapValues { entry in entry.filter { $0.key != "text" } }
    var found: [String: [String: String]] = [:]
    let fm = FileManager.default
    for case let relative as String in fm.enumerator(atPath: cache.path)! {
      let url = cache.appendingPathComponent(relative)
      if let target = try? fm.destinationOfSymbolicLink(atPath: url.path) {
        found[relative] = ["symlink": target]
      } else if (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
        let data = try Data(contentsOf: url)
        found[relative] = ["size": String(data.count)]
      }
    }
    #expect(found.keys.sorted() == expected.keys.sorted())
    for (path, entry) in expected {
      if let target = entry["symlink"] as? String { #expect(found[path]?["symlink"] == target, "\(path)") }
      if let size = entry["size"] as? Int { #expect(found[path]?["size"] == String(size), "\(path)") }
    }
    for (name, file) in fixture.files where !name.contains("/") {
      #expect(Array(try Data(contentsOf: snapshot.appendingPathComponent(name))) == file.bytes, "\(name)")
    }
    let requests = hub.log.all
    #expect(requests.first?.line == "GET /api/models/tiny-org/tiny-model/revision/main?blobs=true")
    #expect(requests.allSatisfy { $0.authorization == "Bearer hf_test_token" })
    #expect(requests.filter { $0.range != nil }.map(\.line) == ["GET /tiny-org/tiny-model/resolve/\(fixture.commit)/model.safetensors"])
    #expect(requests.first { $0.range != nil }?.range == "bytes=300-")
    #expect(!requests.contains { $0.line.contains("nested") })
    #expect(progress.all.contains { $0.line == "model.safetensors" && $0.authorization == "1024" && $0.range == "1024" })

    // Now cached: resolves offline, with no request.
    let offline = HubModelResolver(environment: ["HF_HUB_CACHE": cache.path, "HF_HUB_OFFLINE": "1"])
    #expect(try offline.locate(fixture.repoID).path == snapshot.path)
  }

  @Test func tokenizerOnlyFetchesTheTokenizerFilesAlone() async throws {
    let fixture = try CacheFixture.load()
    let hub = try await StandInHub(fixture: fixture)
    let home = try temporaryFolder()
    defer { try? FileManager.default.removeItem(at: home) }
    let cache = home.appendingPathComponent("cache")
    let resolver = HubModelResolver(environment: ["HF_HUB_CACHE": cache.path, "HF_ENDPOINT": hub.endpoint])
    let snapshot = try await offPool { [resolver] in try resolver.locate(fixture.repoID, tokenizerOnly: true) }
    await hub.stop()
    #expect(snapshot.path == cache.appendingPathComponent(fixture.snapshot).path)
    let fetched = try FileManager.default.contentsOfDirectory(atPath: snapshot.path).sorted()
    #expect(fetched == ["tokenizer.json"])  // no config, no weights
    #expect(Array(try Data(contentsOf: snapshot.appendingPathComponent("tokenizer.json")))
              == fixture.files["tokenizer.json"]!.bytes)
    #expect(!hub.log.all.contains { $0.line.contains("model.safetensors") })
    let offline = HubModelResolver(environment: ["HF_HUB_CACHE": cache.path, "HF_HUB_OFFLINE": "1"])
    #expect(try offline.locate(fixture.repoID, tokenizerOnly: true).path == snapshot.path)
    #expect(throws: HubError.self) { try offline.locate(fixture.repoID) }  // the model itself is not there
  }

  @Test func gatedUnknownAndUnreachableAreOneClearError() async throws {
    let fixture = try CacheFixture.load()
    let cache = try temporaryFolder()
    defer { try? FileManager.default.removeItem(at: cache) }
    func message(_ endpoint: String, _ id: String) async -> String {
      let resolver = HubModelResolver(environment: ["HF_HUB_CACHE": cache.path, "HF_ENDPOINT": endpoint])
      do { _ = try await offPool { try resolver.locate(id) }; return "no error" } catch { return "\(error)" }
    }
    let gated = try await StandInHub(fixture: fixture, status: .unauthorized)
    let gatedMessage = await message(gated.endpoint, fixture.repoID)
    await gated.stop()
    #expect(gatedMessage.contains("needs access (HTTP 401)") && gatedMessage.contains("HF_TOKEN"), "\(gatedMessage)")
    let hub = try await StandInHub(fixture: fixture)
    let unknown = await message(hub.endpoint, "tiny-org/other-model")
    await hub.stop()
    #expect(unknown.contains("tiny-org/other-model was not found on http://127.0.0.1"), "\(unknown)")
    // The stopped server's port: nothing listens there now.
    let unreachable = await message(hub.endpoint, fixture.repoID)
    #expect(unreachable.hasPrefix("cannot reach the Hugging Face Hub at \(hub.endpoint)"), "\(unreachable)")
    #expect(unreachable.contains("tiny-org/tiny-model is not complete in the cache"))
  }
}
