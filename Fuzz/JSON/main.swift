// Fuzz/JSON/main.swift — libFuzzer harness for Support's JSON parser: any bytes parse or throw JSONSyntaxError; what
// parses writes back out (two styles) and the compact text parses again to the same value. `make fuzz`.
import FuzzDriver
import Foundation
import Support

func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = UnsafeBufferPointer(start: data, count: size)
  guard let value = try? JSONValue.parse(bytes, options: .init(maximumDepth: 64)) else { return 0 }
  var compact = JSONWriter(style: .serdeCompact)
  compact.write(value)
  var python = JSONWriter(style: .python(indent: 2))
  python.write(value)
  guard let again = try? JSONValue.parse(compact.output) else {
    fatalError("written JSON does not parse again: \(compact.text)")
  }
  precondition(again == value, "JSON round trip changed the value: \(compact.text)")
  _ = value[first: "a"]
  return 0
}

exit(orpo_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzJSON(data, size) })
