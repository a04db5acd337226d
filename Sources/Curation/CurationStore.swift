// CurationStore.swift — one SQLite database per curation project (GRDB, WAL, synchronous commits, migrations):
// prompts, candidates, pairs, annotators, showings and annotations, and every query the commands and server make.
import ChatTemplates
import Foundation
import GRDB
import Support

/// What an annotator can answer about a pair: the first candidate is better, the second, a tie, or both are bad.
public enum Choice: String, CaseIterable, Codable, Sendable {
  case a, b, tie
  case bothBad = "both_bad"

  /// The same judgement with the two candidates swapped (what "a" means when the page showed b on the left).
  public var swapped: Choice {
    switch self {
    case .a: return .b
    case .b: return .a
    case .tie, .bothBad: return self
    }
  }
}

/// A problem with the curation database or a request to it, in words a user can act on.
public struct CurationError: Error, CustomStringConvertible, Equatable, Sendable {
  public enum Kind: Sendable { case badInput, notFound, conflict, storage }
  public var kind: Kind
  /// The request or file field at fault (`pair_id`, `choice`), when there is one.
  public var field: String?
  public var message: String

  public init(_ kind: Kind = .badInput, field: String? = nil, _ message: String) {
    self.kind = kind
    self.field = field
    self.message = message
  }

  public var description: String { field.map { "field \"\($0)\": \(message)" } ?? message }
}

/// A prompt as stored: the conversation so far (usually one user message).
public struct StoredPrompt: Equatable, Sendable {
  public var id: Int64
  public var messages: [ChatMessage]

  /// The prompt as the page shows it: the message text alone for one user message, else "role: text" turns.
  public var displayText: String {
    if messages.count == 1, messages[0].role == "user" { return messages[0].content }
    return messages.map { "\($0.role): \($0.content)" }.joined(separator: "\n\n")
  }
}

/// One candidate response and where it came from.
public struct StoredCandidate: Equatable, Sendable {
  public var id: Int64
  public var promptID: Int64
  public var text: String
  /// The model's label (file or folder name, `+adapter` when one was applied) or `import:FILE`.
  public var model: String
  /// The sampling settings as a JSON object (temperature, top_p, top_k, max_new_tokens, seed), or "{}".
  public var settings: String
}

/// A pair as shown to an annotator: its id, the prompt, and the two candidates in the order shown.
public struct PairShowing: Equatable, Sendable {
  public var pairID: Int64
  public var showingID: Int64
  public var prompt: String
  /// The candidate shown first (left, key 1) and second (right, key 2).
  public var first: String
  public var second: String
  /// True when the pair's candidate b is shown first.
  public var swapped: Bool
}

/// One stored judgement, in the pair's own a/b terms (the order shown is kept separately).
public struct StoredAnnotation: Equatable, Sendable {
  public var id: Int64
  public var pairID: Int64
  public var annotator: String
  public var choice: Choice
  /// "ab" when a was shown first, "ba" when b was, "both" for a judge that saw both orders.
  public var displayOrder: String
  public var createdAt: Date
  public var comment: String?
}

/// What recording an annotation did: stored it (201), or found the same one already stored (a retried request).
public enum AnnotationOutcome: Equatable, Sendable {
  case stored(StoredAnnotation)
  case alreadyStored(StoredAnnotation)
}

/// The curation database. All writes are transactions committed with `synchronous = FULL` in WAL mode, so a write
/// that returned is on disk and survives the process being killed.
public final class CurationStore: Sendable {
  public let url: URL
  let pool: DatabasePool
  /// How long a pair shown to one annotator stays reserved for them before others may get it instead.
  public static let showingLease: TimeInterval = 600

  /// Opens (creating if needed) the database at `url` and brings its schema up to date.
  public init(url: URL) throws {
    self.url = url
    var configuration = Configuration()
    configuration.busyMode = .timeout(10)
    configuration.prepareDatabase { db in
      try db.execute(sql: "PRAGMA synchronous = FULL")
    }
    do {
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      pool = try DatabasePool(path: url.path, configuration: configuration)
      try Self.migrator.migrate(pool)
    } catch let error as DatabaseError {
      throw CurationError(.storage, "\(url.path): \(error.message ?? error.description)")
    }
  }

  /// Opens an existing database; a missing file is an error naming it (commands other than import need one).
  public static func open(existing url: URL) throws -> CurationStore {
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw CurationError(.notFound, "\(url.path): no such curation database (create one with `orpo curate import`)")
    }
    return try CurationStore(url: url)
  }

  static var migrator: DatabaseMigrator {
    var migrator = DatabaseMigrator()
    migrator.registerMigration("v1") { db in
      try db.execute(sql: """
        CREATE TABLE prompt (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          messages TEXT NOT NULL UNIQUE,          -- JSON list of {"role", "content"}
          source TEXT NOT NULL,
          created_at REAL NOT NULL);
        CREATE TABLE candidate (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          prompt_id INTEGER NOT NULL REFERENCES prompt(id),
          text TEXT NOT NULL,
          model TEXT NOT NULL,
          settings TEXT NOT NULL,                 -- JSON object of sampling settings
          created_at REAL NOT NULL);
        CREATE INDEX candidate_by_prompt ON candidate(prompt_id, model);
        CREATE TABLE pair (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          prompt_id INTEGER NOT NULL REFERENCES prompt(id),
          candidate_a INTEGER NOT NULL REFERENCES candidate(id),
          candidate_b INTEGER NOT NULL REFERENCES candidate(id),
          UNIQUE (candidate_a, candidate_b));
        CREATE TABLE annotator (
          name TEXT PRIMARY KEY,
          token TEXT UNIQUE,
          kind TEXT NOT NULL CHECK (kind IN ('human', 'model')),
          created_at REAL NOT NULL);
        CREATE TABLE showing (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          pair_id INTEGER NOT NULL REFERENCES pair(id),
          annotator TEXT NOT NULL,
          swapped INTEGER NOT NULL,
          skipped INTEGER NOT NULL DEFAULT 0,
          shown_at REAL NOT NULL);
        CREATE INDEX showing_by_pair ON showing(pair_id, annotator);
        CREATE TABLE annotation (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          pair_id INTEGER NOT NULL REFERENCES pair(id),
          annotator TEXT NOT NULL,
          choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'tie', 'both_bad')),
          display_order TEXT NOT NULL CHECK (display_order IN ('ab', 'ba', 'both')),
          created_at REAL NOT NULL,
          comment TEXT,
          UNIQUE (pair_id, annotator));
        CREATE INDEX annotation_by_annotator ON annotation(annotator, id);
        CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """)
    }
    return migrator
  }

  // MARK: Settings

  /// How many different annotators each pair is shown to (the server's K); 2 until set.
  public func annotationsPerPair() throws -> Int {
    try read { db in try Int.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM setting WHERE key = 'annotations_per_pair'") ?? 2 }
  }

  public func setAnnotationsPerPair(_ k: Int) throws {
    guard k >= 1 else { throw CurationError(field: "annotations_per_pair", "must be at least 1, got \(k)") }
    try write { db in
      try db.execute(sql: "INSERT INTO setting(key, value) VALUES ('annotations_per_pair', ?) "
                       + "ON CONFLICT(key) DO UPDATE SET value = excluded.value", arguments: [String(k)])
    }
  }

  // MARK: Prompts and candidates

  /// Adds a prompt unless the same conversation is stored; returns its id and whether it was new.
  @discardableResult
  public func addPrompt(_ messages: [ChatMessage], source: String) throws -> (id: Int64, isNew: Bool) {
    try write { db in try Self.addPrompt(db, messages, source: source) }
  }

  static func addPrompt(_ db: Database, _ messages: [ChatMessage], source: String) throws -> (id: Int64, isNew: Bool) {
    let key = encodeMessages(messages)
    if let id = try Int64.fetchOne(db, sql: "SELECT id FROM prompt WHERE messages = ?", arguments: [key]) {
      return (id, false)
    }
    try db.execute(sql: "INSERT INTO prompt(messages, source, created_at) VALUES (?, ?, ?)",
                   arguments: [key, source, Date().timeIntervalSince1970])
    return (db.lastInsertedRowID, true)
  }

  /// Adds candidates to a prompt and a pair for every two different texts among all its candidates. Returns the
  /// number of pairs created.
  @discardableResult
  public func addCandidates(promptID: Int64, texts: [String], model: String, settings: String) throws -> Int {
    try write { db in try Self.addCandidates(db, promptID: promptID, texts: texts, model: model, settings: settings) }
  }

  static func addCandidates(_ db: Database, promptID: Int64, texts: [String], model: String, settings: String) throws -> Int {
    let now = Date().timeIntervalSince1970
    // The prompt's candidates, the first of each text only.
    var existing: [(id: Int64, text: String)] = []
    for row in try Row.fetchAll(db, sql: "SELECT id, text FROM candidate WHERE prompt_id = ? ORDER BY id", arguments: [promptID]) {
      let text: String = row["text"]
      if !existing.contains(where: { $0.text == text }) { existing.append((row["id"], text)) }
    }
    var pairs = 0
    for text in texts {
      try db.execute(sql: "INSERT INTO candidate(prompt_id, text, model, settings, created_at) VALUES (?, ?, ?, ?, ?)",
                     arguments: [promptID, text, model, settings, now])
      let id = db.lastInsertedRowID
      // A text already among the prompt's candidates adds no pair: identical texts have nothing to compare, and
      // its first copy is paired with every other text already.
      if existing.contains(where: { $0.text == text }) { continue }
      for other in existing {
        try db.execute(sql: "INSERT INTO pair(prompt_id, candidate_a, candidate_b) VALUES (?, ?, ?)",
                       arguments: [promptID, other.id, id])
        pairs += 1
      }
      existing.append((id, text))
    }
    return pairs
  }

  /// Every prompt, in id order.
  public func prompts() throws -> [StoredPrompt] {
    try read { db in
      try Row.fetchAll(db, sql: "SELECT id, messages FROM prompt ORDER BY id").map {
        StoredPrompt(id: $0["id"], messages: try Self.decodeMessages($0["messages"]))
      }
    }
  }

  /// Candidates per prompt id from one model label.
  public func candidateCounts(model: String) throws -> [Int64: Int] {
    try read { db in
      var counts: [Int64: Int] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT prompt_id, COUNT(*) AS n FROM candidate WHERE model = ? GROUP BY prompt_id",
                                  arguments: [model]) {
        counts[row["prompt_id"]] = row["n"]
      }
      return counts
    }
  }

  public func candidates(promptID: Int64) throws -> [StoredCandidate] {
    try read { db in
      try Row.fetchAll(db, sql: "SELECT * FROM candidate WHERE prompt_id = ? ORDER BY id", arguments: [promptID]).map {
        StoredCandidate(id: $0["id"], promptID: $0["prompt_id"], text: $0["text"], model: $0["model"], settings: $0["settings"])
      }
    }
  }

  /// Adds the candidates of several prompts in one transaction (a generation batch: all of it or none).
  public func addCandidateBatch(_ batch: [(promptID: Int64, texts: [String])], model: String, settings: String) throws {
    try write { db in
      for item in batch { _ = try Self.addCandidates(db, promptID: item.promptID, texts: item.texts, model: model, settings: settings) }
    }
  }

  /// Counts of what the database holds.
  public func counts() throws -> (prompts: Int, candidates: Int, pairs: Int, annotations: Int) {
    try read { db in
      (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM prompt") ?? 0,
       try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM candidate") ?? 0,
       try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pair") ?? 0,
       try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM annotation") ?? 0)
    }
  }

  // MARK: Pairs

  /// A pair with its prompt and both candidates' texts, in the pair's own a/b order.
  public struct PairContent: Equatable, Sendable {
    public var id: Int64
    public var prompt: StoredPrompt
    public var a: String
    public var b: String
  }

  public func pairs() throws -> [PairContent] {
    try read { db in try Self.pairContents(db, whereClause: "1", arguments: []) }
  }

  public func pair(id: Int64) throws -> PairContent? {
    try read { db in try Self.pairContents(db, whereClause: "pair.id = ?", arguments: [id]).first }
  }

  static func pairContents(_ db: Database, whereClause: String, arguments: StatementArguments) throws -> [PairContent] {
    try Row.fetchAll(db, sql: """
      SELECT pair.id, prompt.id AS prompt_id, prompt.messages, ca.text AS a, cb.text AS b
      FROM pair JOIN prompt ON prompt.id = pair.prompt_id
        JOIN candidate ca ON ca.id = pair.candidate_a JOIN candidate cb ON cb.id = pair.candidate_b
      WHERE \(whereClause) ORDER BY pair.id
      """, arguments: arguments).map {
      PairContent(id: $0["id"], prompt: StoredPrompt(id: $0["prompt_id"], messages: try decodeMessages($0["messages"])),
                  a: $0["a"], b: $0["b"])
    }
  }

  /// The next pair for `annotator`: the lowest-numbered pair they have neither annotated nor skipped that still has
  /// room for one more annotator (fewer than K annotations plus live reservations by others). Showing it reserves it
  /// and records the order shown, randomised (`swap` decides, for tests). nil when nothing is left.
  public func nextPair(for annotator: String, swap: Bool = Bool.random(), now: Date = Date()) throws -> PairShowing? {
    let k = try annotationsPerPair()
    return try write { db in
      let cutoff = now.timeIntervalSince1970 - Self.showingLease
      guard let pairID = try Int64.fetchOne(db, sql: """
        SELECT p.id FROM pair p
        WHERE NOT EXISTS (SELECT 1 FROM annotation a WHERE a.pair_id = p.id AND a.annotator = :me)
          AND NOT EXISTS (SELECT 1 FROM showing s WHERE s.pair_id = p.id AND s.annotator = :me AND s.skipped)
          AND (SELECT COUNT(*) FROM annotation a WHERE a.pair_id = p.id)
            + (SELECT COUNT(DISTINCT s.annotator) FROM showing s
               WHERE s.pair_id = p.id AND s.annotator != :me AND NOT s.skipped AND s.shown_at > :cutoff
                 AND NOT EXISTS (SELECT 1 FROM annotation a WHERE a.pair_id = p.id AND a.annotator = s.annotator)) < :k
        ORDER BY p.id LIMIT 1
        """, arguments: ["me": annotator, "cutoff": cutoff, "k": k])
      else { return nil }
      return try Self.show(db, pairID: pairID, annotator: annotator, swap: swap, now: now)
    }
  }

  /// Records a showing of a pair to an annotator and returns what to display.
  static func show(_ db: Database, pairID: Int64, annotator: String, swap: Bool, now: Date) throws -> PairShowing {
    guard let content = try pairContents(db, whereClause: "pair.id = ?", arguments: [pairID]).first else {
      throw CurationError(.notFound, field: "pair_id", "no pair \(pairID)")
    }
    try db.execute(sql: "INSERT INTO showing(pair_id, annotator, swapped, shown_at) VALUES (?, ?, ?, ?)",
                   arguments: [pairID, annotator, swap, now.timeIntervalSince1970])
    return PairShowing(pairID: pairID, showingID: db.lastInsertedRowID, prompt: content.prompt.displayText,
                       first: swap ? content.b : content.a, second: swap ? content.a : content.b, swapped: swap)
  }

  /// Marks the pair as skipped by `annotator`: it is not offered to them again.
  public func skip(pairID: Int64, annotator: String) throws {
    try write { db in
      guard try Bool.fetchOne(db, sql: "SELECT 1 FROM pair WHERE id = ?", arguments: [pairID]) != nil else {
        throw CurationError(.notFound, field: "pair_id", "no pair \(pairID)")
      }
      try db.execute(sql: "UPDATE showing SET skipped = 1 WHERE pair_id = ? AND annotator = ?", arguments: [pairID, annotator])
      if db.changesCount == 0 {
        try db.execute(sql: "INSERT INTO showing(pair_id, annotator, swapped, skipped, shown_at) VALUES (?, ?, 0, 1, ?)",
                       arguments: [pairID, annotator, Date().timeIntervalSince1970])
      }
    }
  }

  // MARK: Annotations

  /// Records `annotator`'s `choice` about a pair, `choice` being in the terms of what they were shown (first/second
  /// = a/b of the page); it is stored in the pair's own terms, with the order shown. The order shown is the one of
  /// their latest showing of the pair (a pair posted without one was shown as stored, "ab"), unless `displayOrder`
  /// says otherwise. The same annotator answering the same pair again with the same choice is a retried request and
  /// stores nothing; with another choice it is a conflict (undo first).
  public func annotate(pairID: Int64, annotator: String, shownChoice: Choice, displayOrder: String? = nil,
                       comment: String? = nil, now: Date = Date()) throws -> AnnotationOutcome {
    try write { db in
      guard try Bool.fetchOne(db, sql: "SELECT 1 FROM pair WHERE id = ?", arguments: [pairID]) != nil else {
        throw CurationError(.notFound, field: "pair_id", "no pair \(pairID)")
      }
      let order: String
      if let displayOrder {
        guard ["ab", "ba", "both"].contains(displayOrder) else {
          throw CurationError(field: "display_order", "expected \"ab\", \"ba\" or \"both\", got \"\(displayOrder)\"")
        }
        order = displayOrder
      } else {
        let swapped = try Bool.fetchOne(db, sql: "SELECT swapped FROM showing WHERE pair_id = ? AND annotator = ? ORDER BY id DESC LIMIT 1",
                                        arguments: [pairID, annotator]) ?? false
        order = swapped ? "ba" : "ab"
      }
      let choice = order == "ba" ? shownChoice.swapped : shownChoice
      if let existing = try Self.annotation(db, pairID: pairID, annotator: annotator) {
        if existing.choice == choice { return .alreadyStored(existing) }
        throw CurationError(.conflict, field: "pair_id",
                            "\(annotator) already answered pair \(pairID) with \"\(existing.choice.rawValue)\" (undo it first)")
      }
      try db.execute(sql: """
        INSERT INTO annotation(pair_id, annotator, choice, display_order, created_at, comment) VALUES (?, ?, ?, ?, ?, ?)
        """, arguments: [pairID, annotator, choice.rawValue, order, now.timeIntervalSince1970, comment])
      // Read back, so the time is what is stored (a Date round-trips through seconds since 1970 inexactly).
      return .stored(try Self.annotation(db, pairID: pairID, annotator: annotator)!)
    }
  }

  static func annotation(_ db: Database, pairID: Int64, annotator: String) throws -> StoredAnnotation? {
    try Row.fetchOne(db, sql: "SELECT * FROM annotation WHERE pair_id = ? AND annotator = ?", arguments: [pairID, annotator])
      .map(Self.annotation(row:))
  }

  static func annotation(row: Row) -> StoredAnnotation {
    StoredAnnotation(id: row["id"], pairID: row["pair_id"], annotator: row["annotator"],
                     choice: Choice(rawValue: row["choice"]) ?? .tie, displayOrder: row["display_order"],
                     createdAt: Date(timeIntervalSince1970: row["created_at"]), comment: row["comment"])
  }

  /// Deletes `annotator`'s latest annotation and shows its pair to them again (nil when they have none).
  public func undoLast(annotator: String, swap: Bool = Bool.random(), now: Date = Date()) throws -> PairShowing? {
    try write { db in
      guard let row = try Row.fetchOne(db, sql: "SELECT id, pair_id FROM annotation WHERE annotator = ? ORDER BY id DESC LIMIT 1",
                                       arguments: [annotator]) else { return nil }
      try db.execute(sql: "DELETE FROM annotation WHERE id = ?", arguments: [row["id"] as Int64])
      return try Self.show(db, pairID: row["pair_id"], annotator: annotator, swap: swap, now: now)
    }
  }

  /// Every annotation, in the order stored.
  public func annotations() throws -> [StoredAnnotation] {
    try read { db in try Row.fetchAll(db, sql: "SELECT * FROM annotation ORDER BY id").map(Self.annotation(row:)) }
  }

  /// Pairs `annotator` has answered, and the pairs they could still be shown (their progress).
  public func progress(annotator: String) throws -> (annotated: Int, total: Int) {
    try read { db in
      (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM annotation WHERE annotator = ?", arguments: [annotator]) ?? 0,
       try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM pair") ?? 0)
    }
  }

  // MARK: Annotators

  /// Adds a named annotator with a new random token (or a new token for an existing one when `replace` is set) and
  /// returns the token.
  public func addAnnotator(name: String, kind: String = "human", replace: Bool = false) throws -> String {
    try Self.validateAnnotatorName(name)
    let token = Self.randomToken()
    try write { db in
      let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM annotator WHERE name = ?", arguments: [name]) != nil
      if exists && !replace {
        throw CurationError(.conflict, "annotator \"\(name)\" exists (pass --new-token to give them a new token)")
      }
      try db.execute(sql: """
        INSERT INTO annotator(name, token, kind, created_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(name) DO UPDATE SET token = excluded.token
        """, arguments: [name, token, kind, Date().timeIntervalSince1970])
    }
    return token
  }

  /// Registers a model annotator (a judge) under `name`, without a token.
  public func registerModelAnnotator(name: String) throws {
    try Self.validateAnnotatorName(name)
    try write { db in
      try db.execute(sql: "INSERT INTO annotator(name, token, kind, created_at) VALUES (?, NULL, 'model', ?) ON CONFLICT(name) DO NOTHING",
                     arguments: [name, Date().timeIntervalSince1970])
    }
  }

  /// Annotator names with their tokens (nil for model annotators).
  public func annotatorTokens() throws -> [(name: String, token: String?)] {
    try read { db in
      try Row.fetchAll(db, sql: "SELECT name, token FROM annotator ORDER BY name").map { ($0["name"], $0["token"]) }
    }
  }

  /// The annotator holding `token`, if any.
  public func annotator(token: String) throws -> String? {
    try read { db in try String.fetchOne(db, sql: "SELECT name FROM annotator WHERE token = ?", arguments: [token]) }
  }

  /// Kinds by annotator name ("human" or "model"); annotators who never registered are absent.
  public func annotatorKinds() throws -> [String: String] {
    try read { db in
      Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT name, kind FROM annotator").map { ($0["name"], $0["kind"]) })
    }
  }

  /// Names may hold letters, digits and `._:@+-`, 1 to 64 characters: they appear in URLs, files and reports.
  public static func validateAnnotatorName(_ name: String) throws {
    let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._:@+-"))
    guard !name.isEmpty, name.count <= 64, name.unicodeScalars.allSatisfy(allowed.contains) else {
      throw CurationError(field: "annotator", "expected 1 to 64 letters, digits or ._:@+- , got \"\(name)\"")
    }
  }

  /// 32 random bytes as 64 hex digits.
  public static func randomToken() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
  }

  // MARK: Plumbing

  func read<T>(_ body: (Database) throws -> T) throws -> T {
    do { return try pool.read(body) } catch let error as DatabaseError { throw Self.storageError(error, url) }
  }

  func write<T>(_ body: (Database) throws -> T) throws -> T {
    do { return try pool.write(body) } catch let error as DatabaseError { throw Self.storageError(error, url) }
  }

  static func storageError(_ error: DatabaseError, _ url: URL) -> CurationError {
    CurationError(.storage, "\(url.lastPathComponent): \(error.message ?? error.description)")
  }

  /// A conversation as stored (and compared for duplicates): compact JSON, `role` before `content`.
  static func encodeMessages(_ messages: [ChatMessage]) -> String {
    JSONValue.array(messages.map { .object([("role", .string($0.role)), ("content", .string($0.content))]) }).formatted(.serdeCompact)
  }

  static func decodeMessages(_ text: String) throws -> [ChatMessage] {
    guard let list = (try? JSONValue.parse(text))?.arrayValue else {
      throw CurationError(.storage, "a stored prompt is not a JSON list of messages: \(text.prefix(80))")
    }
    return try list.map {
      guard let role = $0[last: "role"]?.stringValue, let content = $0[last: "content"]?.stringValue else {
        throw CurationError(.storage, "a stored prompt message lacks role or content: \(text.prefix(80))")
      }
      return ChatMessage(role: role, content: content)
    }
  }
}
