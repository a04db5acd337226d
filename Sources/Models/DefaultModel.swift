// DefaultModel.swift — where the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) lives once `make setup` ran.
import Foundation

public enum DefaultModel {
  public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
  public static let sha256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

  /// Search order: $ORPO_MODELS_DIR, ./models, then models/ beside the repository the binary was built in
  /// (the binary sits in <repo>/.build/<config>/orpo).
  public static func locate() -> URL? {
    var dirs: [URL] = []
    if let env = ProcessInfo.processInfo.environment["ORPO_MODELS_DIR"] { dirs.append(URL(fileURLWithPath: env)) }
    dirs.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("models"))
    let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    for _ in 0..<4 {
      dirs.append(dir.appendingPathComponent("models"))
      dir = dir.deletingLastPathComponent()
    }
    for d in dirs {
      let f = d.appendingPathComponent(fileName)
      if FileManager.default.fileExists(atPath: f.path) { return f }
    }
    return nil
  }

  /// True when set-up verified the file's SHA-256 (it leaves a marker beside the file).
  public static func isVerified(_ url: URL) -> Bool {
    FileManager.default.fileExists(atPath: url.path + ".sha256-ok")
  }
}
