// BrowserTests.swift — the page in headless Chromium (Debian's `chromium`, installed by scripts/test-deps.sh): a
// screenshot that is not blank, the two candidates shown with markup as text, and a key press that stores an
// answer. Chromium is driven over the DevTools protocol on --remote-debugging-pipe (fds 3 and 4).
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Curation

func chromiumPath() -> String? {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
  for folder in path.split(separator: ":") + ["/usr/bin"] {
    let candidate = "\(folder)/chromium"
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
  }
  return nil
}

/// The common flags: headless, no sandbox (CI runs as root), a throwaway profile, nothing fetched from outside.
private func chromiumFlags(profile: URL) -> [String] {
  ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
   "--disable-extensions", "--disable-background-networking", "--disable-sync", "--disable-component-update",
   "--user-data-dir=\(profile.path)", "--window-size=1280,860"]
}

/// A Chromium process speaking the DevTools protocol over two pipes: JSON messages ended by a NUL byte.
final class DevToolsPipe {
  let pid: pid_t
  let toBrowser: Int32
  let fromBrowser: Int32
  var nextID = 1
  var buffer = [UInt8]()
  var sessionID: String?

  init(chromium: String, profile: URL) throws {
    var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
    guard pipe(&input) == 0, pipe(&output) == 0 else { throw CurationError(.storage, "pipe failed") }
    // The child's fd 3 reads what we write; its fd 4 writes what we read. Move our ends above 10 first so dup2
    // onto 3 and 4 cannot clobber them.
    let childIn = fcntl(input[0], F_DUPFD_CLOEXEC, 10), childOut = fcntl(output[1], F_DUPFD_CLOEXEC, 10)
    Glibc.close(input[0]); Glibc.close(output[1])
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, childIn, 3)
    posix_spawn_file_actions_adddup2(&actions, childOut, 4)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let arguments = [chromium] + chromiumFlags(profile: profile) + ["--remote-debugging-pipe", "about:blank"]
    var argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var child: pid_t = 0
    let status = posix_spawn(&child, chromium, &actions, nil, &argv, environ)
    Glibc.close(childIn); Glibc.close(childOut)
    guard status == 0 else { throw CurationError(.storage, "cannot start \(chromium): \(String(cString: strerror(status)))") }
    pid = child
    toBrowser = input[1]
    fromBrowser = output[0]
    _ = fcntl(toBrowser, F_SETFD, FD_CLOEXEC)
    _ = fcntl(fromBrowser, F_SETFD, FD_CLOEXEC)
  }

  /// Sends a command (to the attached page when `page` is set) and waits for its result, at most `timeout` s.
  @discardableResult
  func call(_ method: String, _ params: [String: Any] = [:], page: Bool = true, timeout: TimeInterval = 20) throws -> [String: Any] {
    let id = nextID
    nextID += 1
    var message: [String: Any] = ["id": id, "method": method, "params": params]
    if page, let sessionID { message["sessionId"] = sessionID }
    var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
    bytes.append(0)
    var written = 0
    while written < bytes.count {
      let n = bytes[written...].withUnsafeBytes { write(toBrowser, $0.baseAddress, $0.count) }
      guard n > 0 else { throw CurationError(.storage, "writing to chromium failed") }
      written += n
    }
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      if let end = buffer.firstIndex(of: 0) {
        let data = Foundation.Data(buffer[..<end])
        buffer.removeSubrange(...end)
        guard let reply = try JSONSerialization.jsonObject(with: data) as? [String: Any], reply["id"] as? Int == id else { continue }
        if let error = reply["error"] { throw CurationError(.storage, "\(method): \(error)") }
        return reply["result"] as? [String: Any] ?? [:]
      }
      let left = deadline.timeIntervalSinceNow
      guard left > 0 else { throw CurationError(.storage, "\(method): no answer from chromium in \(Int(timeout)) s") }
      var poller = pollfd(fd: fromBrowser, events: Int16(POLLIN), revents: 0)
      guard poll(&poller, 1, Int32(left * 1000)) > 0 else { continue }
      var chunk = [UInt8](repeating: 0, count: 1 << 16)
      let n = read(fromBrowser, &chunk, chunk.count)
      guard n > 0 else { throw CurationError(.storage, "chromium closed the pipe") }
      buffer += chunk[..<n]
    }
  }

  /// Opens a tab and attaches to it; later `call`s go to that tab.
  func openPage(_ url: String) throws {
    let target = try call("Target.createTarget", ["url": url], page: false)
    let attached = try call("Target.attachToTarget", ["targetId": target["targetId"] as! String, "flatten": true], page: false)
    sessionID = attached["sessionId"] as? String
  }

  /// Evaluates a JavaScript expression in the page (awaiting a promise) and returns its JSON value.
  func evaluate(_ expression: String) throws -> Any? {
    let result = try call("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
    if let exception = result["exceptionDetails"] { throw CurationError(.storage, "page script failed: \(exception)") }
    return (result["result"] as? [String: Any])?["value"]
  }

  /// Evaluates `expression` every 50 ms until it is true, at most `timeout` s.
  func waitFor(_ expression: String, timeout: TimeInterval = 15) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if try evaluate(expression) as? Bool == true { return }
      Thread.sleep(forTimeInterval: 0.05)
    }
    throw CurationError(.storage, "timed out waiting for \(expression)")
  }

  func pressKey(_ key: String, code: String, keyCode: Int) throws {
    for type in ["keyDown", "keyUp"] {
      var params: [String: Any] = ["type": type, "key": key, "code": code, "windowsVirtualKeyCode": keyCode]
      if type == "keyDown" { params["text"] = key }
      try call("Input.dispatchKeyEvent", params)
    }
  }

  func close() {
    _ = try? call("Browser.close", page: false, timeout: 5)
    Glibc.close(toBrowser)
    Glibc.close(fromBrowser)
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(5)
    while waitpid(pid, &status, WNOHANG) == 0 {
      if Date() > deadline { kill(pid, SIGKILL); waitpid(pid, &status, 0); break }
      Thread.sleep(forTimeInterval: 0.05)
    }
  }
}

@Suite(.serialized, .enabled(if: chromiumPath() != nil, "chromium is not installed (scripts/test-deps.sh installs it)"))
struct BrowserTests {
  @Test(.timeLimit(.minutes(2))) func thePageInHeadlessChromium() async throws {
    let chromium = try #require(chromiumPath())
    let folder = try scratchFolder("browser")
    defer { cleanUp(folder) }
    let hostile = "<script>window.__injected = 1</script><b>bold?</b> & <img src=x onerror=\"window.__injected = 2\">"
    let store = try makeStore(in: folder, prompts: 3) { p, c in
      c == 0 ? (p == 0 ? hostile : "A calm answer to question \(p).") : "Another answer, number \(p), shown on the other side."
    }
    try store.setAnnotationsPerPair(2)
    // b is always shown first, so the key 1 (the first shown) must store "b".
    let server = try await InProcessServer(store: store, swap: { true })
    let page = server.url("/?token=\(server.token)&annotator=chris").absoluteString

    // 1. A screenshot with `chromium --headless --screenshot` (the page's data arrives by fetch: give it time).
    let shot = folder.appendingPathComponent("page.png")
    let screenshot = Process()
    screenshot.executableURL = URL(fileURLWithPath: chromium)
    screenshot.arguments = chromiumFlags(profile: folder.appendingPathComponent("profile-shot"))
      + ["--screenshot=\(shot.path)", "--virtual-time-budget=5000", page]
    screenshot.standardOutput = FileHandle.nullDevice
    screenshot.standardError = FileHandle.nullDevice
    try screenshot.run()
    let shotDeadline = Date().addingTimeInterval(45)
    while screenshot.isRunning && Date() < shotDeadline { try await Task.sleep(nanoseconds: 50_000_000) }
    if screenshot.isRunning { screenshot.terminate() }
    let png = try Foundation.Data(contentsOf: shot)
    #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    if let keep = ProcessInfo.processInfo.environment["ORPO_CURATE_SCREENSHOT"] {
      try? FileManager.default.removeItem(atPath: keep)
      try FileManager.default.copyItem(at: shot, to: URL(fileURLWithPath: keep))
    }

    // 2. The DevTools protocol: decode the screenshot's pixels in a blank tab, then use the page.
    let browser = try DevToolsPipe(chromium: chromium, profile: folder.appendingPathComponent("profile-cdp"))
    defer { browser.close() }
    try browser.openPage("about:blank")
    let pixels = try #require(try browser.evaluate("""
      (async () => {
        const image = new Image();
        image.src = "data:image/png;base64,\(png.base64EncodedString())";
        await image.decode();
        const canvas = document.createElement("canvas");
        canvas.width = image.width; canvas.height = image.height;
        const g = canvas.getContext("2d");
        g.drawImage(image, 0, 0);
        const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
        const colours = new Set();
        let differing = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) differing++;
          if (colours.size < 1000) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        }
        return { width: canvas.width, height: canvas.height, differing: differing / (d.length / 4), colours: colours.size };
      })()
      """) as? [String: Any])
    #expect(pixels["width"] as? Int == 1280 && pixels["height"] as? Int == 860)
    let differing = try #require(pixels["differing"] as? Double), colours = try #require(pixels["colours"] as? Int)
    #expect(differing > 0.05 && colours > 20, "the screenshot is not blank: \(differing) of pixels differ, \(colours) colours")

    try browser.openPage(page)
    try browser.waitFor("document.body && document.body.dataset.state === 'ready'")
    let shown = try #require(try browser.evaluate("""
      ({ prompt: document.getElementById('prompt').textContent, a: document.getElementById('a').textContent,
         b: document.getElementById('b').textContent, pair: document.getElementById('pair').dataset.pairId,
         elements: document.querySelectorAll('#pair b, #pair img, #pair script').length,
         injected: window.__injected === undefined ? 0 : window.__injected,
         address: location.search })
      """) as? [String: Any])
    #expect(shown["pair"] as? String == "1" && shown["prompt"] as? String == "question 0")
    #expect(shown["a"] as? String == "Another answer, number 0, shown on the other side.")
    #expect(shown["b"] as? String == hostile, "markup in a candidate shows as text")
    #expect(shown["elements"] as? Int == 0 && shown["injected"] as? Int == 0, "no element or script from model text")
    #expect(shown["address"] as? String == "?annotator=chris", "the token is taken out of the address bar")

    // Key 1 (the first shown, which is the pair's b) stores an answer, visible in the database.
    try browser.pressKey("1", code: "Digit1", keyCode: 49)
    var stored: [StoredAnnotation] = []
    let deadline = Date().addingTimeInterval(10)
    while stored.isEmpty && Date() < deadline {
      stored = try store.annotations()
      if stored.isEmpty { try await Task.sleep(nanoseconds: 50_000_000) }
    }
    #expect(stored.map(\.pairID) == [1] && stored.first?.annotator == "chris")
    #expect(stored.first?.choice == .b && stored.first?.displayOrder == "ba")
    // The page moves on to the next pair; u undoes the answer.
    try browser.waitFor("document.getElementById('pair').dataset.pairId === '2' && document.body.dataset.state === 'ready'")
    try browser.pressKey("u", code: "KeyU", keyCode: 85)
    try browser.waitFor("document.getElementById('pair').dataset.pairId === '1' && document.body.dataset.state === 'ready'")
    #expect(try store.annotations().isEmpty)
    await server.stop()
  }
}
