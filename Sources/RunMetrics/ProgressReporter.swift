// ProgressReporter.swift — training progress on stderr: one redrawn bar line on a terminal
// (`step 12/200 ━━━━━━╸──── 6% · 1.23 s/step · ETA 3m51s · 310 tok/s · loss 1.2340`), plain log lines elsewhere.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One moment of a run, everything a progress line shows. Formatting is pure so it can be tested.
public struct ProgressSnapshot {
  public var step: Int
  public var totalSteps: Int
  public var secondsPerStep: Double?
  public var eta: Double?
  public var tokensPerSecond: Double?
  public var loss: Double?
  public var learningRate: Double?
  /// Further metrics, shown in this order after the loss (bar) or the learning rate (plain lines).
  public var extra: [(String, Double)]

  public init(step: Int, totalSteps: Int, secondsPerStep: Double? = nil, eta: Double? = nil, tokensPerSecond: Double? = nil,
              loss: Double? = nil, learningRate: Double? = nil, extra: [(String, Double)] = [])
  {
    self.step = step
    self.totalSteps = totalSteps
    self.secondsPerStep = secondsPerStep
    self.eta = eta
    self.tokensPerSecond = tokensPerSecond
    self.loss = loss
    self.learningRate = learningRate
    self.extra = extra
  }

  /// Whole percent done, rounded down (12/200 -> 6).
  public var percent: Int { totalSteps > 0 ? min(100, max(0, step * 100 / totalSteps)) : 0 }

  /// The plain line for logs and pipes: `step 12/200 (6%) loss=1.2340 lr=4.9e-04 tok/s=310 eta=3m51s`;
  /// values not known yet are left out, extras come after the learning rate.
  public func plainLine() -> String {
    var parts = ["step \(step)/\(totalSteps) (\(percent)%)"]
    if let loss { parts.append("loss=\(formatMetric(loss))") }
    if let learningRate { parts.append("lr=\(String(format: "%.1e", learningRate))") }
    for (name, value) in extra { parts.append("\(name)=\(formatMetric(value))") }
    if let tokensPerSecond { parts.append("tok/s=\(String(format: "%.0f", tokensPerSecond))") }
    if let eta { parts.append("eta=\(formatDuration(eta))") }
    return parts.joined(separator: " ")
  }

  /// The terminal line, at most `columns - 1` characters wide (the last column is left free so the line never
  /// wraps). When it does not fit, the bar shrinks from 20 to 10 cells, then the least useful fields go (extras,
  /// tok/s, s/step, loss, ETA, in that order), then the bar, then the text is cut.
  public func barLine(columns: Int) -> String {
    let limit = max(1, columns - 1)
    var fields: [(priority: Int, text: String)] = []
    if let secondsPerStep { fields.append((3, "\(String(format: secondsPerStep >= 10 ? "%.1f" : "%.2f", secondsPerStep)) s/step")) }
    if let eta { fields.append((1, "ETA \(formatDuration(eta))")) }
    if let tokensPerSecond { fields.append((4, "\(String(format: "%.0f", tokensPerSecond)) tok/s")) }
    if let loss { fields.append((2, "loss \(formatMetric(loss))")) }
    for (name, value) in extra { fields.append((5, "\(name) \(formatMetric(value))")) }

    let head = "step \(step)/\(totalSteps)"
    func compose(barWidth: Int, keeping maxPriority: Int) -> String {
      var text = head
      if barWidth > 0 { text += " " + progressBar(fraction: Double(step) / Double(max(totalSteps, 1)), width: barWidth) }
      text += " \(percent)%"
      for field in fields where field.priority <= maxPriority { text += " · " + field.text }
      return text
    }
    for barWidth in stride(from: 20, through: 10, by: -1) {
      let line = compose(barWidth: barWidth, keeping: 5)
      if line.count <= limit { return line }
    }
    for maxPriority in stride(from: 4, through: 0, by: -1) {
      let line = compose(barWidth: 10, keeping: maxPriority)
      if line.count <= limit { return line }
    }
    return String(compose(barWidth: 0, keeping: 0).prefix(limit))
  }
}

/// A bar of `width` cells: `━` done, `╸` a half cell, `─` to go.
public func progressBar(fraction: Double, width: Int) -> String {
  let clamped = fraction.isFinite ? min(1, max(0, fraction)) : 0
  let halves = Int((clamped * Double(width) * 2).rounded(.down))
  let full = halves / 2, half = halves % 2
  return String(repeating: "━", count: full) + String(repeating: "╸", count: half)
    + String(repeating: "─", count: width - full - half)
}

/// Durations as people read them: `42s`, `3m51s`, `1h02m`, `2d03h`; `?` when unknown or negative.
public func formatDuration(_ seconds: Double) -> String {
  guard seconds.isFinite, seconds >= 0 else { return "?" }
  let total = Int(seconds.rounded())
  if total < 60 { return "\(total)s" }
  if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
  if total < 86400 { return String(format: "%dh%02dm", total / 3600, total % 3600 / 60) }
  return String(format: "%dd%02dh", total / 86400, total % 86400 / 3600)
}

/// Four decimals in the usual range (`1.2340`), scientific outside it (`3.142e-05`), so small metrics such as
/// `logits/chosen` do not print as 0.0000.
public func formatMetric(_ value: Double) -> String {
  if value.isNaN { return "nan" }
  if value.isInfinite { return value > 0 ? "inf" : "-inf" }
  let magnitude = Swift.abs(value)
  if magnitude == 0 || (magnitude >= 1e-3 && magnitude < 1e5) { return String(format: "%.4f", value) }
  return String(format: "%.3e", value)
}

/// Draws progress on stderr (or any injected writer). Use from one thread: `start`, then `update` after steps
/// (on a terminal every step is fine; as plain lines only every `logEvery`-th step and the last one print),
/// `message` for lines that must appear above the bar, and `finish` at the end.
public final class ProgressReporter {
  public enum Style: Equatable { case bar, plain }

  public let style: Style
  private let columns: () -> Int
  private let clock: () -> Double
  private let write: (String) -> Void

  private var totalSteps = 0
  private var initialStep = 0
  private var logEvery = 1
  private var startTime = 0.0
  private var firstUpdate: (step: Int, time: Double)?
  private var lastSnapshot: ProgressSnapshot?
  private var lastPrintedStep: Int?
  private var barShown = false

  /// - Parameters:
  ///   - style: nil picks `.bar` when stderr is a terminal (and TERM is not `dumb`), `.plain` otherwise.
  ///   - columns: fixed width; nil reads `COLUMNS`, then the terminal size (TIOCGWINSZ), then uses 100.
  ///   - clock: monotonic seconds. - write: where the text goes (default: stderr, unbuffered).
  public init(style: Style? = nil, columns: Int? = nil,
              clock: @escaping () -> Double = { ProcessInfo.processInfo.systemUptime },
              write: @escaping (String) -> Void = { FileHandle.standardError.write(Foundation.Data($0.utf8)) })
  {
    self.style = style ?? (ProgressReporter.standardErrorIsTerminal() ? .bar : .plain)
    if let columns { self.columns = { columns } } else { self.columns = ProgressReporter.terminalColumns }
    self.clock = clock
    self.write = write
  }

  /// - Parameters:
  ///   - initialStep: the step a resumed run starts after (0 for a fresh run); timing counts from there.
  ///   - logEvery: in plain style, print every `logEvery`-th step (and the last).
  public func start(totalSteps: Int, initialStep: Int = 0, logEvery: Int = 1) {
    self.totalSteps = totalSteps
    self.initialStep = initialStep
    self.logEvery = max(1, logEvery)
    startTime = clock()
    firstUpdate = nil
    lastSnapshot = nil
    lastPrintedStep = nil
    barShown = false
  }

  /// Mean seconds per step since `start`; once more than two steps are done, measured from the first update
  /// instead, so the first step (compilation, allocator and cache warm-up) does not skew the ETA.
  public func secondsPerStep(step: Int, now: Double) -> Double? {
    let done = step - initialStep
    guard done > 0 else { return nil }
    if done > 2, let first = firstUpdate, first.step < step {
      return (now - first.time) / Double(step - first.step)
    }
    return (now - startTime) / Double(done)
  }

  public func update(step: Int, loss: Double? = nil, learningRate: Double? = nil, tokensPerSecond: Double? = nil,
                     extra: [(String, Double)] = [])
  {
    let now = clock()
    if firstUpdate == nil { firstUpdate = (step, now) }
    let perStep = secondsPerStep(step: step, now: now)
    let snapshot = ProgressSnapshot(
      step: step, totalSteps: totalSteps, secondsPerStep: perStep,
      eta: perStep.map { $0 * Double(max(0, totalSteps - step)) }, tokensPerSecond: tokensPerSecond, loss: loss,
      learningRate: learningRate, extra: extra)
    lastSnapshot = snapshot
    switch style {
    case .bar:
      draw(snapshot)
    case .plain:
      if (step - initialStep) % logEvery == 0 || step >= totalSteps { printPlain(snapshot) }
    }
  }

  /// A line of text above the bar (or simply a line, in plain style).
  public func message(_ text: String) {
    switch style {
    case .bar:
      write((barShown ? "\r\u{1B}[K" : "") + text + "\n")
      if barShown, let lastSnapshot { draw(lastSnapshot) }
    case .plain:
      write(text + "\n")
    }
  }

  /// Ends the bar's line (or prints the last step if its plain line was skipped).
  public func finish() {
    switch style {
    case .bar:
      if barShown { write("\n") }
      barShown = false
    case .plain:
      if let lastSnapshot, lastPrintedStep != lastSnapshot.step { printPlain(lastSnapshot) }
    }
  }

  private func draw(_ snapshot: ProgressSnapshot) {
    write("\r" + snapshot.barLine(columns: columns()) + "\u{1B}[K")
    barShown = true
  }

  private func printPlain(_ snapshot: ProgressSnapshot) {
    write(snapshot.plainLine() + "\n")
    lastPrintedStep = snapshot.step
  }

  public static func standardErrorIsTerminal() -> Bool {
    isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
  }

  /// `COLUMNS` if set, else the terminal's width from TIOCGWINSZ on stderr, else 100.
  public static func terminalColumns() -> Int {
    if let text = ProcessInfo.processInfo.environment["COLUMNS"], let value = Int(text), value > 0 { return value }
    var size = winsize()
    if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
    return 100
  }
}
