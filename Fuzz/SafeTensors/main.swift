// Fuzz/SafeTensors/main.swift — libFuzzer harness for the safetensors reader (in Torch, so it links libtorch): the header
// is checked, then every tensor is read, zero-copy and copied. Any bytes give tensors or a SafeTensorsError.
// The input goes through a file in /dev/shm because the reader maps files. `make fuzz`.
import FuzzDriver
import Foundation
import Torch

private let path = "/dev/shm/orpo-fuzz-\(getpid()).safetensors"

func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = Data(UnsafeBufferPointer(start: data, count: size))
  guard FileManager.default.createFile(atPath: path, contents: bytes) else { fatalError("cannot write \(path)") }
  guard let file = try? SafeTensorsFile(url: URL(fileURLWithPath: path)) else { return 0 }
  for name in file.names {
    guard let info = try? file.info(name), info.shape.reduce(1, *) <= 1 << 16 else { continue }
    _ = try? file.tensor(name)
    _ = try? file.tensor(name, copy: true)
  }
  return 0
}

exit(orpo_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzSafeTensors(data, size) })
