// Env.swift — `orpo env`: what this binary runs on (libtorch, threads, devices, default model).
import ArgumentParser
import Foundation
import ORPOKit

struct Env: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Show libtorch's version, threads, devices, CUDA and where the default model is.")

  @Flag(help: "Print as one JSON object.") var json = false

  func run() throws {
    let cuda = CUDA.load()
    let model = DefaultModel.locate()
    var info: [(String, String)] = [
      ("orpo", ORPOVersion.string),
      ("libtorch", Torch.version),
      ("libtorch_path", Torch.libraryPath),
      ("threads", String(Torch.threadCount)),
      ("cuda_available", String(cuda.available)),
      ("cuda_devices", String(CUDA.deviceCount)),
      ("cuda_note", cuda.message),
      ("default_model", model?.path ?? "not found (run `make setup`)"),
    ]
    if let model { info.append(("default_model_verified", String(DefaultModel.isVerified(model)))) }
    if json {
      print(JSONValue.object(info.map { ($0.0, .string($0.1)) }).formatted(.python(ensureASCII: false, sortKeys: true)))
    } else {
      let width = info.map(\.0.count).max() ?? 0
      for (k, v) in info { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
    }
  }
}
