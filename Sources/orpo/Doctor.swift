// Doctor.swift — `orpo doctor RUN_DIR`: reads a finished or running run folder and prints findings (what the
// metrics show, with steps and values, and the setting to try next); `--json` prints {"findings": [...]}.
import ArgumentParser
import Foundation
import ORPOKit

struct Doctor: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Diagnose an ORPO run from its folder: weak preference term, flat accuracy, falling log-probs, and more.",
    discussion: """
      Reads RUN_DIR/metrics.jsonl, and summary.json and run.json when present. Findings: non_finite, \
      weak_preference_term, flat_accuracy, both_logps_falling, rising_eval_loss, truncation, lambda_schedule.
      """)

  @Argument(help: "A run folder (output_dir of orpo train), finished or still running.")
  var runDir: String

  @Flag(help: "Print {\"findings\": [...]} as one JSON object.")
  var json = false

  func run() throws {
    let findings = try RunDoctor(folder: RunFolder(URL(fileURLWithPath: runDir))).findings()
    if json {
      printJSON(RunDoctor.json(findings))
    } else {
      print(RunDoctor.text(findings))
    }
  }
}
