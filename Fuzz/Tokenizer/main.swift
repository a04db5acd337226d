// Fuzz/Tokenizer/main.swift — libFuzzer harness for tokenizer.json loading (model, normalizer, pre-tokenizer,
// post-processor, decoder, added tokens); a tokenizer that loads encodes and decodes a fixed text. Any bytes give
// a tokenizer or a TokenizerError. The input goes through a file in /dev/shm (the loader reads files). `make fuzz`.
import FuzzDriver
import Foundation
import Tokenization

private let path = "/dev/shm/orpo-fuzz-\(getpid())-tokenizer.json"

func fuzzTokenizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = Data(UnsafeBufferPointer(start: data, count: size))
  guard FileManager.default.createFile(atPath: path, contents: bytes) else { fatalError("cannot write \(path)") }
  guard let tokenizer = try? Tokenizer(tokenizerJSON: URL(fileURLWithPath: path)) else { return 0 }
  let ids = tokenizer.encode("Hello  world!\n12345 ünïcödé 🙂 <s></s><|im_start|>user")
  _ = tokenizer.decode(ids)
  _ = tokenizer.decode(ids, skipSpecialTokens: true)
  _ = tokenizer.decode([0, 1, 2, 3, 1_000_000])
  return 0
}

exit(orpo_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzTokenizer(data, size) })
