// ServerTests.swift — the JSON API over loopback: 401 without a token, the documented requests and answers, 400s
// naming the field, per-annotator tokens bound to their name, and the page's security headers.
import Foundation
import Testing
@testable import Curation

@Suite(.serialized) struct ServerTests {
  @Test func everyRequestNeedsAToken() async throws {
    let folder = try scratchFolder("auth")
    defer { cleanUp(folder) }
    let store = try makeStore(in: folder, prompts: 2)
    let server = try await InProcessServer(store: store)
    for path in ["/", "/api/next?annotator=ann", "/api/stats", "/api/whoami", "/no/such/path"] {
      #expect(try await http("GET", server.url(path), token: nil).status == 401, "\(path) without a token")
      #expect(try await http("GET", server.url(path), token: "wrong-token").status == 401, "\(path) with a wrong token")
    }
    let refused = try await http("POST", server.url("/api/annotations"), token: nil, json: ["pair_id": 1, "annotator": "ann", "choice": "a"])
    #expect(refused.status == 401 && refused.json?["error"] as? String != nil)
    #expect(try store.annotations().isEmpty)
    // The page takes the token in its address (a browser cannot send the header); the API does not.
    #expect(try await http("GET", server.url("/?token=\(server.token)"), token: nil).status == 200)
    #expect(try await http("GET", server.url("/api/stats?token=\(server.token)"), token: nil).status == 401)
    await server.stop()
  }

  @Test func theDocumentedAPI() async throws {
    let folder = try scratchFolder("api")
    defer { cleanUp(folder) }
    let store = try makeStore(in: folder, prompts: 2)
    try store.setAnnotationsPerPair(1)
    let server = try await InProcessServer(store: store, swap: { true })
    let token = server.token
    let next = try await http("GET", server.url("/api/next?annotator=ann"), token: token)
    #expect(next.status == 200)
    let body = try #require(next.json)
    #expect(body["pair_id"] as? Int == 1 && body["prompt"] as? String == "question 0")
    #expect(body["a"] as? String == "answer 1 to question 0" && body["b"] as? String == "answer 0 to question 0")  // swapped
    #expect((body["progress"] as? [String: Int]) == ["annotated": 0, "total": 2])

    // 400s name the field.
    func post(_ json: [String: Any]) async throws -> HTTPReply { try await http("POST", server.url("/api/annotations"), token: token, json: json) }
    let badPair = try await post(["pair_id": 42, "annotator": "ann", "choice": "a"])
    #expect(badPair.status == 400 && badPair.json?["field"] as? String == "pair_id")
    let badChoice = try await post(["pair_id": 1, "annotator": "ann", "choice": "left"])
    #expect(badChoice.status == 400 && badChoice.json?["field"] as? String == "choice")
    #expect((badChoice.json?["error"] as? String)?.contains("\"left\"") == true)
    for wrong in [true, 1.5, "1"] as [Any] {
      let reply = try await post(["pair_id": wrong, "annotator": "ann", "choice": "a"])
      #expect(reply.status == 400 && reply.json?["field"] as? String == "pair_id", "pair_id \(wrong)")
    }
    let noPair = try await post(["annotator": "ann", "choice": "a"])
    #expect(noPair.status == 400 && noPair.json?["field"] as? String == "pair_id")
    let noName = try await post(["pair_id": 1, "choice": "a"])
    #expect(noName.status == 400 && noName.json?["field"] as? String == "annotator")
    let notJSON = try await http("POST", server.url("/api/annotations"), token: token, rawBody: "choice=a")
    #expect(notJSON.status == 400 && notJSON.json?["field"] as? String == "body")

    // 201, then 200 for the same answer again (a retry), 409 for a different one.
    let created = try await post(["pair_id": 1, "annotator": "ann", "choice": "a"])
    #expect(created.status == 201)
    #expect(created.json?["stored_choice"] as? String == "b" && created.json?["display_order"] as? String == "ba")
    #expect(try await post(["pair_id": 1, "annotator": "ann", "choice": "a"]).status == 200)
    let conflict = try await post(["pair_id": 1, "annotator": "ann", "choice": "b"])
    #expect(conflict.status == 409, "\(conflict.status) \(conflict.text)")
    #expect(try store.annotations().map(\.choice) == [.b])

    // K = 1: pair 1 is done, so bob gets pair 2; ann gets pair 2 too, answers it, then has nothing left (204).
    #expect(try await http("GET", server.url("/api/next?annotator=bob"), token: token).json?["pair_id"] as? Int == 2)
    let skip = try await http("POST", server.url("/api/skip"), token: token, json: ["pair_id": 2, "annotator": "bob"])
    #expect(skip.status == 204)
    #expect(try await http("GET", server.url("/api/next?annotator=bob"), token: token).status == 204)
    #expect(try await http("GET", server.url("/api/next?annotator=ann"), token: token).json?["pair_id"] as? Int == 2)
    #expect(try await post(["pair_id": 2, "annotator": "ann", "choice": "tie", "comment": "same thing"]).status == 201)
    #expect(try await http("GET", server.url("/api/next?annotator=ann"), token: token).status == 204)

    // Undo gives the last pair back.
    let undo = try await http("POST", server.url("/api/undo"), token: token, json: ["annotator": "ann"])
    #expect(undo.status == 200 && undo.json?["pair_id"] as? Int == 2)
    #expect(try store.annotations().count == 1)

    let stats = try await http("GET", server.url("/api/stats"), token: token)
    #expect(stats.status == 200 && stats.json?["annotations"] as? Int == 1 && stats.json?["pairs"] as? Int == 2)
    await server.stop()
  }

  @Test func annotatorTokensActOnlyForTheirOwner() async throws {
    let folder = try scratchFolder("tokens")
    defer { cleanUp(folder) }
    let store = try makeStore(in: folder, prompts: 2)
    let alice = try store.addAnnotator(name: "alice")
    let server = try await InProcessServer(store: store)
    let who = try await http("GET", server.url("/api/whoami"), token: alice)
    #expect(who.json?["annotator"] as? String == "alice")
    let next = try await http("GET", server.url("/api/next"), token: alice)
    #expect(next.status == 200 && next.json?["annotator"] as? String == "alice")
    let other = try await http("POST", server.url("/api/annotations"), token: alice, json: ["pair_id": 1, "annotator": "bob", "choice": "a"])
    #expect(other.status == 403 && other.json?["field"] as? String == "annotator")
    let own = try await http("POST", server.url("/api/annotations"), token: alice, json: ["pair_id": 1, "choice": "a"])
    #expect(own.status == 201, "\(own.status) \(own.text)")
    #expect(try store.annotations().map(\.annotator) == ["alice"])
    // An annotator added while the server runs can use their token at once.
    let bob = try store.addAnnotator(name: "bob")
    #expect(try await http("GET", server.url("/api/next"), token: bob).status == 200)
    await server.stop()
  }

  @Test func thePageIsSelfContainedAndLocked() async throws {
    let folder = try scratchFolder("page")
    defer { cleanUp(folder) }
    let store = try makeStore(in: folder, prompts: 1) { _, c in c == 0 ? "<script>alert(1)</script>" : "fine" }
    let server = try await InProcessServer(store: store)
    let page = try await http("GET", server.url("/"), token: server.token)
    #expect(page.status == 200)
    // No model text in the HTML itself: it arrives as JSON and is set as textContent.
    #expect(!page.text.contains("alert(1)"))
    #expect(page.text.contains("textContent") && !page.text.contains("innerHTML"))
    // One nonce for the inline style and script; nothing else may run.
    let nonce = try #require(page.text.firstMatch(of: #/<script nonce="([0-9a-f]{64})">/#)?.1)
    #expect(page.text.contains("<style nonce=\"\(nonce)\">"))
    let policy = try #require(page.headers["content-security-policy"])
    #expect(policy.hasPrefix("default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; connect-src 'self'"))
    #expect(page.headers["referrer-policy"] == "no-referrer")
    #expect(try await http("GET", server.url("/no/such/path"), token: server.token).status == 404)
    await server.stop()
  }
}
