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
      ("cpu_attention_kernels", .array(try AttentionKernel.usable(device: .cpu, dtype: .float32).map { .string($0.description) })),
      ("cuda_available", .bool(cuda.available)),
      ("cuda_devices", .int(CUDA.deviceCount)),
      ("cuda_note", .string(cuda.available ? cuda.message : "no CUDA device (\(cuda.message))")),
    ]
    if cuda.available {
      for index in 0..<CUDA.deviceCount { info.append(("cuda:\(index)", try Self.describe(device: index))) }
    }
    info.append(("default_model", model.map { .string($0.path) } ?? .null))
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

  /// Name, compute capability, memory, bf16 and the attention kernels usable in bf16 (fp16 before Ampere).
  static func describe(device index: Int) throws -> JSONValue {
    let p = try CUDA.properties(device: index)
    let dtype: DType = p.supportsBFloat16 ? .bfloat16 : .float16
    return .object([
      ("name", .string(p.name)),
      ("compute_capability", .string("\(p.computeCapability.major).\(p.computeCapability.minor)")),
      ("memory_gib", .rounded(Double(p.totalMemory) / 1_073_741_824, places: 1)),
      ("multiprocessors", .int(p.multiprocessors)),
      ("bf16", .bool(p.supportsBFloat16)),
      ("attention_kernels_\(dtype.recipeText)",
       .array(try AttentionKernel.usable(device: .cuda(index), dtype: dtype).map { .string($0.description) })),
    ])
  }
}
