// DurabilityTests.swift — four annotators posting 100 answers each through the API of a real `orpo curate serve`
// process, which is killed with SIGKILL mid-load and restarted: every answer that got a 201 (or a 200 for a
// retried one) is in the database, none twice, and no pair has more than K answers.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import Curation

/// What the clients were told was stored, and where the server currently listens.
actor LoadState {
  var base: URL
  var stored: [String: String] = [:]  // "pair/annotator" -> stored choice
  var created = 0, retried = 0
  init(base: URL) { self.base = base }
  func record(pair: Int, annotator: String, storedChoice: String, status: Int) {
    stored["\(pair)/\(annotator)"] = storedChoice
    if status == 201 { created += 1 } else { retried += 1 }
  }
  func move(to url: URL) { base = url }
  var count: Int { stored.count }
}

struct LoadFailure: Error, CustomStringConvertible { var description: String }

@Suite(.serialized, .enabled(if: orpoExecutable() != nil, "the orpo executable is not built beside the tests"))
struct DurabilityTests {
  static let annotators = ["ann", "bob", "cy", "dee"]
  static let perAnnotator = 100
  static let choices = ["a", "b", "tie", "both_bad"]

  @Test(.timeLimit(.minutes(3))) func killNineUnderLoadLosesNothingAcknowledged() async throws {
    let folder = try scratchFolder("kill9")
    defer { cleanUp(folder) }
    let store = try makeStore(in: folder, prompts: 250)  // 250 pairs × K = 2 places: room for all 400 answers
    try store.setAnnotationsPerPair(2)
    let token = "durability-test-token"
    let first = try ServerProcess(database: store.url, token: token)
    let state = LoadState(base: first.base)
    let deadline = Date().addingTimeInterval(150)
    var killedAt = -1
    var second: ServerProcess?
    defer { second?.stop(); first.stop() }

    try await withThrowingTaskGroup(of: Void.self) { group in
      for (index, name) in Self.annotators.enumerated() {
        group.addTask { try await Self.annotate(as: name, index: index, token: token, state: state, deadline: deadline) }
      }
      // Kill the server once well into the load, then start it again on a new port.
      while await state.count < 150 {
        guard Date() < deadline else { throw LoadFailure(description: "the load stalled at \(await state.count) answers") }
        try await Task.sleep(nanoseconds: 5_000_000)
      }
      first.kill9()
      killedAt = await state.count
      let restarted = try ServerProcess(database: store.url, token: token)
      second = restarted
      await state.move(to: restarted.base)
      try await group.waitForAll()
    }
    second?.stop()

    print("durability: killed at \(killedAt) acknowledged answers; \(await state.created) created (201), \(await state.retried) retried (200)")
    #expect(killedAt >= 150 && killedAt < 400, "killed mid-load (\(killedAt) answers acknowledged)")
    let stored = await state.stored
    let created = await state.created, retried = await state.retried
    #expect(stored.count == 400 && created + retried == 400 && created > 0)
    let annotations = try store.annotations()
    #expect(annotations.count == 400, "400 answers stored, none twice")
    let byKey = Dictionary(uniqueKeysWithValues: annotations.map { ("\($0.pairID)/\($0.annotator)", $0.choice.rawValue) })
    for (key, choice) in stored {
      #expect(byKey[key] == choice, "acknowledged answer \(key) = \(choice) is stored")
    }
    for name in Self.annotators { #expect(annotations.filter { $0.annotator == name }.count == Self.perAnnotator) }
    let perPair = Dictionary(grouping: annotations, by: \.pairID).mapValues(\.count)
    #expect(perPair.values.allSatisfy { $0 <= 2 }, "no pair has more than K = 2 answers")
  }

  /// One annotator's loop: next pair, answer, repeat, retrying the same step when the server is unreachable.
  static func annotate(as name: String, index: Int, token: String, state: LoadState, deadline: Date) async throws {
    var done = 0, pending: Int?, unreachable = 0
    while done < perAnnotator {
      guard Date() < deadline else { throw LoadFailure(description: "\(name) timed out after \(done) answers") }
      let base = await state.base
      do {
        if pending == nil {
          let next = try await http("GET", URL(string: "/api/next?annotator=\(name)", relativeTo: base)!.absoluteURL, token: token)
          guard next.status == 200, let id = next.json?["pair_id"] as? Int else {
            throw LoadFailure(description: "\(name): GET /api/next answered \(next.status) \(next.text) after \(done) answers")
          }
          pending = id
        }
        let pair = pending!
        let choice = choices[(pair + index) % choices.count]
        let reply = try await http("POST", URL(string: "/api/annotations", relativeTo: base)!.absoluteURL, token: token,
                                   json: ["pair_id": pair, "annotator": name, "choice": choice])
        guard reply.status == 201 || reply.status == 200, let stored = reply.json?["stored_choice"] as? String else {
          throw LoadFailure(description: "\(name): POST answered \(reply.status) \(reply.text)")
        }
        await state.record(pair: pair, annotator: name, storedChoice: stored, status: reply.status)
        pending = nil
        done += 1
      } catch is URLError {
        // The server is down (killed) or restarting: try the same step again shortly.
        unreachable += 1
        guard unreachable < 2000 else { throw LoadFailure(description: "\(name): the server stayed unreachable") }
        try await Task.sleep(nanoseconds: 20_000_000)
      }
    }
  }
}
