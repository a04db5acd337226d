// MetricsSink.swift — where training metrics go: the MetricsSink protocol, fan-out to several sinks, and the
// `report_to` choices (tensorboard, jsonl, mlflow, all, none) that pick them.
import Foundation

/// Which phase a row of metrics comes from.
public enum MetricsSplit: String, Codable, CaseIterable, Sendable {
  case train, eval
}

/// A destination for scalar metrics. `values` keep their order (TRL's metric names: `loss`,
/// `rewards/chosen`, …; no `eval_` prefix needed, the split says which phase they belong to).
public protocol MetricsSink: AnyObject {
  func log(step: Int, epoch: Double?, values: [(String, Double)], split: MetricsSplit) throws
  func close() throws
}

extension MetricsSink {
  public func log(step: Int, epoch: Double? = nil, values: [(String, Double)]) throws {
    try log(step: step, epoch: epoch, values: values, split: .train)
  }
}

public enum MetricsError: Error, CustomStringConvertible, Equatable {
  case unsupportedReportTo(String)
  /// `report_to: wandb`: said once, with what to do instead, rather than a crash or a silent no-op.
  case wandbNotWritten
  case cannotWrite(path: String, reason: String)
  case closed(path: String)

  public var description: String {
    switch self {
    case .unsupportedReportTo(let value):
      return "report_to \"\(value)\" is not supported; use one of "
        + MetricsSinkKind.allCases.map(\.rawValue).joined(separator: ", ")
    case .wandbNotWritten:
      return "wandb (Weights & Biases) is not written directly: report to tensorboard (report_to: [jsonl, tensorboard]) "
        + "and upload the event files with `wandb sync --sync-tensorboard <output_dir>/tensorboard`"
    case .cannotWrite(let path, let reason): return "cannot write metrics to \(path): \(reason)"
    case .closed(let path): return "metrics file \(path) is already closed"
    }
  }
}

/// The `report_to` values we understand. `all` means every sink we have (TensorBoard, JSONL and MLflow, as
/// transformers' `all` means every integration installed); HF's list form (`report_to: [tensorboard, jsonl]`) is a
/// list of these, resolved with `resolve(_:)`.
public enum MetricsSinkKind: String, Codable, CaseIterable, Sendable {
  case tensorboard, jsonl, mlflow, none, all

  /// The concrete sinks this choice stands for.
  public var expanded: [MetricsSinkKind] {
    switch self {
    case .tensorboard, .jsonl, .mlflow: return [self]
    case .none: return []
    case .all: return [.tensorboard, .jsonl, .mlflow]
    }
  }

  /// `wandb` (any case), which gets its own message.
  public static func isWandb(_ value: String) -> Bool {
    value.trimmingCharacters(in: .whitespaces).lowercased() == "wandb"
  }

  /// `report_to` as HF accepts it (one string or a list) to concrete, de-duplicated sink kinds, in order.
  /// `none` contributes nothing; anything we do not write (wandb, comet_ml, …) is an error, not silently dropped.
  public static func resolve(_ values: [String]) throws -> [MetricsSinkKind] {
    var kinds: [MetricsSinkKind] = []
    for value in values {
      guard let kind = MetricsSinkKind(rawValue: value.trimmingCharacters(in: .whitespaces).lowercased()) else {
        throw isWandb(value) ? MetricsError.wandbNotWritten : MetricsError.unsupportedReportTo(value)
      }
      for concrete in kind.expanded where !kinds.contains(concrete) { kinds.append(concrete) }
    }
    return kinds
  }
}

/// Sends every row to several sinks. A failing sink does not stop the others; the first error is rethrown.
public final class CompositeSink: MetricsSink {
  public let sinks: [MetricsSink]

  public init(_ sinks: [MetricsSink]) {
    self.sinks = sinks
  }

  /// The sinks `report_to` asks for, laid out as HF Trainer does: TensorBoard events under `loggingDirectory`
  /// (default `<output_dir>/runs/<Mon DD_HH-MM-SS>_<hostname>`, transformers' `default_logdir`), JSONL rows in
  /// `<output_dir>/metrics.jsonl`, an MLflow run in the file store `MLflowRunWriter.trackingRoot()` names
  /// (`./mlruns` unless `MLFLOW_TRACKING_URI` says otherwise), in the experiment `MLFLOW_EXPERIMENT_NAME` (default
  /// `Default`), named `runName` (default the output folder, as transformers' `run_name`).
  public convenience init(reportTo kinds: [MetricsSinkKind], outputDirectory: URL, loggingDirectory: URL? = nil,
                          runName: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment)
    throws
  {
    var sinks: [MetricsSink] = []
    var seen: [MetricsSinkKind] = []
    for kind in kinds.flatMap(\.expanded) where !seen.contains(kind) {
      seen.append(kind)
      switch kind {
      case .tensorboard:
        let directory = loggingDirectory ?? CompositeSink.defaultLoggingDirectory(outputDirectory: outputDirectory)
        sinks.append(try TensorBoardWriter(directory: directory))
      case .jsonl:
        sinks.append(try JSONLMetricsWriter(url: outputDirectory.appendingPathComponent("metrics.jsonl")))
      case .mlflow:
        let experiment = environment["MLFLOW_EXPERIMENT_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "Default"
        sinks.append(try MLflowRunWriter(root: MLflowRunWriter.trackingRoot(environment: environment),
                                         experimentName: experiment, runName: runName ?? outputDirectory.relativePath,
                                         tags: [("mlflow.source.name", "orpo"), ("mlflow.source.type", "LOCAL")]))
      case .none, .all:
        break
      }
    }
    self.init(sinks)
  }

  /// transformers' `default_logdir()`: `runs/<%b%d_%H-%M-%S>_<hostname>` under the output folder, local time.
  public static func defaultLoggingDirectory(outputDirectory: URL, date: Date = Date(), hostname: String = currentHostname())
    -> URL
  {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "MMMdd_HH-mm-ss"
    return outputDirectory.appendingPathComponent("runs").appendingPathComponent("\(formatter.string(from: date))_\(hostname)")
  }

  public func log(step: Int, epoch: Double?, values: [(String, Double)], split: MetricsSplit) throws {
    var firstError: Error?
    for sink in sinks {
      do { try sink.log(step: step, epoch: epoch, values: values, split: split) } catch { firstError = firstError ?? error }
    }
    if let firstError { throw firstError }
  }

  /// The MLflow run among the sinks, if `report_to` asked for one (for params, tags and artifacts).
  public var mlflowRun: MLflowRunWriter? { sinks.lazy.compactMap { $0 as? MLflowRunWriter }.first }

  public func close() throws {
    var firstError: Error?
    for sink in sinks {
      do { try sink.close() } catch { firstError = firstError ?? error }
    }
    if let firstError { throw firstError }
  }
}

/// The host name as Python's `socket.gethostname()` reports it (not a DNS lookup).
public func currentHostname() -> String {
  var buffer = [CChar](repeating: 0, count: 256)
  guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
  return String(cString: buffer)
}
