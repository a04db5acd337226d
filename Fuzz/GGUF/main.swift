// Fuzz/GGUF/main.swift — libFuzzer harness for the GGUF reader: header, metadata, tensor infos, then the dequantization
// of every (small) tensor and the tokenizer built from the metadata. Any bytes give a value or a thrown error,
// never a crash or an out-of-bounds read. `make fuzz`.
import FuzzDriver
import Foundation
import GGUF
import Support
import Tokenization

func fuzzGGUF(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
  guard let file = try? GGUFFile(mapping: MappedFile(copying: bytes, name: "fuzz.gguf")) else { return 0 }
  for info in file.tensors where info.elementCount <= 4096 {
    _ = try? file.rawBytes(of: info)
    _ = try? file.dequantize(info, threads: 1)
  }
  if let tokenizer = try? Tokenizer(gguf: file) {
    let ids = tokenizer.encode("Hello world! 123 <|im_start|> ünïcödé")
    _ = tokenizer.decode(ids)
  }
  return 0
}

exit(orpo_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzGGUF(data, size) })
