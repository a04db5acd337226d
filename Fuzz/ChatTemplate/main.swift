// Fuzz/ChatTemplate/main.swift — libFuzzer harness for the Jinja subset: any text parses or throws ChatTemplateError;
// a template that parses renders a short conversation within the sandbox's limits (loops, output size,
// recursion) or throws. `make fuzz`.
import FuzzDriver
import Foundation
import ChatTemplates

private let messages = [
  ChatMessage(role: "system", content: "Be brief."),
  ChatMessage(role: "user", content: "What is 2+2?"),
  ChatMessage(role: "assistant", content: "4"),
]

func fuzzChatTemplate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  guard var template = try? ChatTemplate(source) else { return 0 }
  template.date = TemplateDate(year: 2024, month: 7, day: 26)
  // Tighter than the defaults (1 MB, 1 M iterations): the same limit checks, more executions per second.
  template.limits = ChatTemplateLimits(maxOutputBytes: 65_536, maxLoopIterations: 10_000)
  _ = try? template.render(messages: messages, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
  return 0
}

exit(orpo_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzChatTemplate(data, size) })
