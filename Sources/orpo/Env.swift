// Env.swift — `orpo env`: what this binary runs on (libtorch, threads, devices, default model).
import ArgumentParser
import Foundation
import ORPOKit
import Support

struct Env: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show libtorch's version, threads, devices, CUDA and where the default model is.")

  @Flag(help: "Print as one JSON object.") var json = false

  func run() throws {
    let cuda = CUDA.load()
    let model = DefaultModel.locate()
    var info: [JSONMember] = [
      ("orpo", .string(ORPOVersion.string)),
      ("libtorch", .string(Torch.version)),
      ("libtorch_path", .string(Torch.libraryPath)),
      ("threads", .int(Torch.threadCount)),
      ("cuda_available", .bool(cuda.available)),
      ("cuda_devices", .int(CUDA.deviceCount)),
      ("cuda_note", .string(cuda.message)),
      ("default_model", model.map { .string($0.path) } ?? .null),
    ]
    if let model { info.append(("default_model_verified", .bool(DefaultModel.isVerified(model)))) }
    if json {
      printJSON(.object(info))
      return
    }
    let width = info.map(\.key.count).max() ?? 0
    for (key, value) in info {
      let text = value.stringValue ?? (value.isNull ? "not found (run `make setup`)" : value.formatted(.serdeCompact))
      print(key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + text)
    }
  }
}
