// TrainingError.swift — the one error type of the training layer (trainer set-up, optimizer state, checkpoints):
// what went wrong, after what was being done ("restoring runs/x/checkpoint-5: …"). Configuration problems are
// ConfigurationError (they name the key); libtorch failures stay TorchError unless given context here.

public struct TrainingError: Error, CustomStringConvertible, Equatable {
  /// What was being done, outermost first.
  public var context: [String]
  public var message: String

  public init(_ message: String, context: [String] = []) {
    self.message = message
    self.context = context
  }

  public var description: String { (context + [message]).joined(separator: ": ") }

  /// A number as messages show it: nan and ±inf spelled plainly (without a NaN's payload).
  public static func text(of x: Double) -> String {
    x.isNaN ? "nan" : x.isInfinite ? (x > 0 ? "inf" : "-inf") : "\(x)"
  }

  /// The same error inside `what` ("writing checkpoint-10").
  public func adding(context what: String) -> TrainingError {
    TrainingError(message, context: [what] + context)
  }
}

/// Runs `body`; any error it throws comes back as a TrainingError that says it happened while doing `what`.
func withContext<R>(_ what: String, _ body: () throws -> R) throws -> R {
  do {
    return try body()
  } catch let error as TrainingError {
    throw error.adding(context: what)
  } catch {
    throw TrainingError("\(error)", context: [what])
  }
}
