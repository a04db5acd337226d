// CurationServer.swift — `orpo curate serve`: the comparison page and its JSON API on Hummingbird, bound to loopback
// by default, every request authenticated by the server token or an annotator's own token (Bearer).
//
// API (JSON bodies; every request sends `Authorization: Bearer TOKEN`; the page itself also takes `?token=`):
//   GET  /                               the page
//   GET  /api/whoami                     {"annotator": NAME or null, "annotations_per_pair": K}
//   GET  /api/next?annotator=NAME        200 {"pair_id", "prompt", "a", "b", "progress": {"annotated", "total"}},
//                                        204 when nothing is left for NAME
//   POST /api/annotations                {"pair_id", "annotator", "choice": "a"|"b"|"tie"|"both_bad", "comment"?}
//                                        → 201 stored, 200 the same answer was already stored, 400 naming the
//                                        field, 409 a different answer is stored (undo first)
//   POST /api/undo                       {"annotator"} → 200 the pair again (as /api/next), 204 nothing to undo
//   POST /api/skip                       {"pair_id", "annotator"} → 204; the pair is not offered to NAME again
//   GET  /api/stats                      agreement statistics (as `orpo curate stats --json`)
// "a" and "b" in /api/next and in choices are the responses as shown (left/right); the server stores the answer in
// the pair's own order with the order shown.
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Support

/// Who a request comes from: the holder of the server token (may act as any annotator) or one named annotator.
public enum RequestIdentity: Sendable, Equatable {
  case server
  case annotator(String)
}

/// The request context: Hummingbird's core storage plus the authenticated identity.
public struct CurationRequestContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  public var identity: RequestIdentity?

  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    identity = nil
  }
}

/// Rejects every request without a valid token with 401, before any route runs.
struct TokenMiddleware: RouterMiddleware {
  typealias Context = CurationRequestContext
  let store: CurationStore
  let serverToken: String

  func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
    var token: String?
    if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
      token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    } else if request.method == .get, request.uri.path == "/" {
      // A browser opening the page cannot send a header: the address printed at start carries the token.
      token = request.uri.queryParameters.get("token")
    }
    guard let token, !token.isEmpty else { return unauthorized() }
    var context = context
    if constantTimeEqual(token, serverToken) {
      context.identity = .server
    } else if let name = try await offload({ try store.annotator(token: token) }) {
      context.identity = .annotator(name)
    } else {
      return unauthorized()
    }
    return try await next(request, context)
  }

  func unauthorized() -> Response {
    var response = jsonResponse(.unauthorized, .object([("error", .string("missing or wrong token: send Authorization: "
                                                  + "Bearer TOKEN (the address `orpo curate serve` printed carries it)"))]))
    response.headers[.wwwAuthenticate] = "Bearer"
    return response
  }
}

/// The curation server: routes, the page, and the Hummingbird application around them.
public struct CurationServer: Sendable {
  public let store: CurationStore
  public let host: String
  public let port: Int
  public let token: String
  /// Randomises which candidate is shown first (tests pin it).
  public var swapOrder: @Sendable () -> Bool = { Bool.random() }
  /// What the server logs (Hummingbird's messages); tests that cancel it raise this above its shutdown notice.
  public var logLevel: Logger.Level = .warning

  public init(store: CurationStore, host: String = "127.0.0.1", port: Int = 8080, token: String) {
    self.store = store
    self.host = host
    self.port = port
    self.token = token
  }

  /// Runs until the task is cancelled (or, with `handleSignals`, until SIGINT/SIGTERM); `onListening(port)` is
  /// called once the socket is bound (port 0 picks a free one).
  public func run(handleSignals: Bool = false, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
    var logger = Logger(label: "orpo-curate")
    logger.logLevel = logLevel
    let app = Application(
      router: makeRouter(),
      configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "orpo-curate"),
      onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
      logger: logger)
    if handleSignals { try await app.runService() } else { try await app.run() }
  }

  func makeRouter() -> Router<CurationRequestContext> {
    let router = Router(context: CurationRequestContext.self)
    router.middlewares.add(TokenMiddleware(store: store, serverToken: token))
    let store = self.store
    let swapOrder = self.swapOrder

    router.get("/") { _, _ -> Response in
      let nonce = CurationStore.randomToken()
      var response = Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                              body: ResponseBody(byteBuffer: ByteBuffer(string: AnnotationPage.html(nonce: nonce))))
      response.headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; "
        + "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
      response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
      response.headers[.cacheControl] = "no-store"
      response.headers[.xContentTypeOptions] = "nosniff"
      return response
    }

    router.get("/api/whoami") { _, context -> Response in
      let k = try await offload { try store.annotationsPerPair() }
      var name = JSONValue.null
      if case .annotator(let who) = context.identity { name = .string(who) }
      return jsonResponse(.ok, .object([("annotator", name), ("annotations_per_pair", .int(k))]))
    }

    router.get("/api/next") { request, context -> Response in
      try await respond {
        let annotator = try resolveAnnotator(request.uri.queryParameters.get("annotator"), context)
        let showing = try await offload { try store.nextPair(for: annotator, swap: swapOrder()) }
        return try await showingResponse(showing, annotator: annotator, store: store)
      }
    }

    router.post("/api/annotations") { request, context -> Response in
      try await respond {
        let (body, annotator) = try await postedBody(request, context)
        let pairID = try pairIDField(body)
        guard let choiceText = body[last: "choice"]?.stringValue, let choice = Choice(rawValue: choiceText) else {
          throw CurationError(field: "choice", "expected \"a\", \"b\", \"tie\" or \"both_bad\", got \(describe(body[last: "choice"]))")
        }
        let comment = try optionalString(body, "comment")
        let outcome = try await offload {
          try store.annotate(pairID: pairID, annotator: annotator, shownChoice: choice, comment: comment)
        }
        switch outcome {
        case .stored(let a): return jsonResponse(.created, annotationJSON(a, shown: choice))
        case .alreadyStored(let a): return jsonResponse(.ok, annotationJSON(a, shown: choice))
        }
      }
    }

    router.post("/api/undo") { request, context -> Response in
      try await respond {
        let annotator = try await postedBody(request, context).annotator
        let showing = try await offload { try store.undoLast(annotator: annotator, swap: swapOrder()) }
        return try await showingResponse(showing, annotator: annotator, store: store)
      }
    }

    router.post("/api/skip") { request, context -> Response in
      try await respond {
        let (body, annotator) = try await postedBody(request, context)
        let pairID = try pairIDField(body)
        try await offload { try store.skip(pairID: pairID, annotator: annotator) }
        return Response(status: .noContent)
      }
    }

    router.get("/api/stats") { _, _ -> Response in
      try await respond { jsonResponse(.ok, try await offload { try store.agreementReport() }.json) }
    }
    return router
  }
}

// MARK: Request and response helpers

/// The annotator a request acts for: its own name for an annotator token (a different `annotator` is refused), the
/// `annotator` field for the server token.
func resolveAnnotator(_ requested: String?, _ context: CurationRequestContext) throws -> String {
  switch context.identity {
  case .annotator(let name):
    if let requested, requested != name {
      throw CurationError(.conflict, field: "annotator", "this token belongs to \"\(name)\", not \"\(requested)\"")
    }
    return name
  case .server, .none:
    guard let requested else { throw CurationError(field: "annotator", "missing (who is annotating?)") }
    try CurationStore.validateAnnotatorName(requested)
    return requested
  }
}

/// Runs a handler, turning a `CurationError` into its status with `{"error", "field"}`.
func respond(_ body: () async throws -> Response) async throws -> Response {
  do {
    return try await body()
  } catch let error as CurationError {
    let status: HTTPResponse.Status
    switch error.kind {
    case .badInput, .notFound: status = .badRequest
    case .conflict: status = error.field == "annotator" ? .forbidden : .conflict
    case .storage: status = .internalServerError
    }
    var members: [JSONMember] = [("error", .string(error.description))]
    if let field = error.field { members.append(("field", .string(field))) }
    return jsonResponse(status, .object(members))
  }
}

/// The request body as a JSON object (at most 64 KiB).
/// A POST's JSON body and the annotator it acts for (its "annotator" field, checked against the request's token).
func postedBody(_ request: Request, _ context: CurationRequestContext) async throws -> (body: JSONValue, annotator: String) {
  let body = try await jsonBody(request)
  return (body, try resolveAnnotator(try optionalString(body, "annotator"), context))
}

func jsonBody(_ request: Request) async throws -> JSONValue {
  var request = request
  let buffer: ByteBuffer
  do { buffer = try await request.collectBody(upTo: 64 << 10) } catch {
    throw CurationError(field: "body", "too large (64 KiB at most)")
  }
  guard let object = try? JSONValue.parse(Array(buffer.readableBytesView)), object.objectValue != nil else {
    throw CurationError(field: "body", "expected a JSON object")
  }
  return object
}

func pairIDField(_ body: JSONValue) throws -> Int64 {
  guard let id = body[last: "pair_id"]?.numberValue?.integer else {
    throw CurationError(field: "pair_id", "expected an integer pair id, got \(describe(body[last: "pair_id"]))")
  }
  return Int64(id)
}

func optionalString(_ body: JSONValue, _ key: String) throws -> String? {
  guard let value = body[last: key], !value.isNull else { return nil }
  guard let text = value.stringValue else { throw CurationError(field: key, "expected text, got \(describe(value))") }
  return text
}

/// A received value in an error message: short strings quoted, numbers as written, other values by kind.
func describe(_ value: JSONValue?) -> String {
  switch value {
  case nil: return "nothing"
  case .string(let text)?: return "\"\(text.prefix(40))\""
  case .number(let number)?: return number.text
  case let other?: return other.kindName
  }
}

/// 200 with the pair to show and the annotator's progress, or 204 when there is none.
func showingResponse(_ showing: PairShowing?, annotator: String, store: CurationStore) async throws -> Response {
  guard let showing else { return Response(status: .noContent) }
  return jsonResponse(.ok, try await showingJSON(showing, annotator: annotator, store: store))
}

func showingJSON(_ showing: PairShowing, annotator: String, store: CurationStore) async throws -> JSONValue {
  let progress = try await offload { try store.progress(annotator: annotator) }
  return .object([("pair_id", .int(showing.pairID)), ("prompt", .string(showing.prompt)), ("a", .string(showing.first)),
                  ("b", .string(showing.second)), ("annotator", .string(annotator)),
                  ("progress", .object([("annotated", .int(progress.annotated)), ("total", .int(progress.total))]))])
}

func annotationJSON(_ annotation: StoredAnnotation, shown: Choice) -> JSONValue {
  .object([("annotation_id", .int(annotation.id)), ("pair_id", .int(annotation.pairID)), ("annotator", .string(annotation.annotator)),
           ("choice", .string(shown.rawValue)), ("stored_choice", .string(annotation.choice.rawValue)),
           ("display_order", .string(annotation.displayOrder))])
}

func jsonResponse(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
  let bytes = value.utf8(.serdeCompact)
  var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
  buffer.writeBytes(bytes)
  return Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                  body: ResponseBody(byteBuffer: buffer))
}

/// Runs blocking database work on a dispatch queue, off Swift concurrency's few cooperative threads.
func offload<T>(_ body: @escaping () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
  }
}

/// Compares two tokens in time that depends only on their lengths.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
  let x = Array(a.utf8), y = Array(b.utf8)
  guard x.count == y.count else { return false }
  return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
}
