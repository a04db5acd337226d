// ChatFormatTests.swift — setup_chat_format on a base model: ChatML tokens, special-token roles, resized embeddings.
import Foundation
import Testing
@testable import Models
import Tokenization
import Torch

@Suite struct ChatFormatTests {
  @Test func setUpChatFormatAddsChatMLAndResizes() throws {
    let folder = try fixtureURL("llama3")
    let (config, parameters, _) = try Checkpoint.load(folder)
    let model = try LlamaForCausalLM(config: config, parameters: parameters)
    // A base tokenizer without a chat template.
    let json = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "added_tokens": []}"#
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("orpo-chatformat-\(UInt32.random(in: 0...UInt32.max)).json")
    try json.write(to: url, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: url) }
    let tokenizer = try Tokenizer(tokenizerJSON: url)
    #expect(tokenizer.chatTemplate == nil)
    let oldRows = model.embedTokens.weight.size(0)
    let oldFirst = try model.embedTokens.weight.narrow(0, start: 0, length: 1).clone()
    try model.setUpChatFormat(tokenizer: tokenizer, multipleOf: 64)
    #expect(tokenizer.bosToken == "<|im_start|>" && tokenizer.eosToken == "<|im_end|>" && tokenizer.padToken == "<|im_end|>")
    #expect(tokenizer.chatTemplate != nil)
    #expect(model.config.vocabSize == 128)  // max(vocab 96, tokens) rounded up to a multiple of 64
    #expect(try model.embedTokens.weight.shape == [128, 32] && model.lmHead.denseWeight().shape == [128, 32])
    #expect(try model.embedTokens.weight.narrow(0, start: 0, length: 1).equals(oldFirst))  // old rows kept
    let mean = try model.embedTokens.weight.narrow(0, start: 0, length: oldRows).mean(dim: 0)
    #expect(try model.embedTokens.weight.select(0, 127).isClose(to: mean, relativeTolerance: 1e-5, absoluteTolerance: 1e-6))
    let ids = try Tensor([1, 2, 3] as [Int64], shape: [1, 3])
    #expect(try withNoGrad { try model(ids) }.shape == [1, 3, 128])
    #expect(throws: ModelError.self) { try model.setUpChatFormat(tokenizer: tokenizer) }  // already has a template
  }
}
