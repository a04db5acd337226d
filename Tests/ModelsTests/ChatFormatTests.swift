// ChatFormatTests.swift — giving a base model a chat format: clone_chat_template against TRL 1.16
// (reference/make_clone_chat_template_fixtures.py) and setup_chat_format (ChatML tokens, roles, resized embeddings).
import ChatTemplates
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

  struct CloneExpected: Decodable {
    struct Added: Decodable { let id: Int; let content: String; let special: Bool }
    let old_embedding_rows: Int
    let added_token_ids: [Int]
    let added_tokens: [Added]
    let len_vocab: Int
    let vocab_size: Int
    let eos_token: String
    let eos_token_id: Int
    let config_eos_token_id: Int
    let bos_token: String
    let bos_token_id: Int
    let pad_token: String?
    let chat_template: String
    let messages: [ChatMessage]
    let rendered: String
    let rendered_ids: [Int]
    let prompt_ids: [Int]
    let text: String
    let text_ids: [Int]
    let new_embedding_row: [Double]
    let new_lm_head_row: [Double]
    let old_embedding_mean: [Double]
  }

  @Test func cloneChatTemplateMatchesTRL() throws {
    let folder = try fixtureURL("clone_chat_template")
    let expected = try JSONDecoder().decode(CloneExpected.self,
                                            from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
    let loaded = try ModelLoader.load(folder.appendingPathComponent("target"))
    let (model, tokenizer) = (loaded.model, loaded.tokenizer)
    #expect(tokenizer.chatTemplate == nil && model.config.vocabSize == expected.old_embedding_rows)
    let source = try Tokenizer(folder: folder.appendingPathComponent("source"))
    let added = try model.cloneChatTemplate(tokenizer: tokenizer, from: source, sourceName: "source")

    #expect(added == expected.added_token_ids)
    #expect(tokenizer.addedTokens.sorted { $0.id < $1.id }.map { "\($0.id) \($0.content) \($0.isSpecial)" }
              == expected.added_tokens.map { "\($0.id) \($0.content) \($0.special)" })
    #expect(tokenizer.vocabularyCount == expected.len_vocab && model.config.vocabSize == expected.vocab_size)
    #expect(tokenizer.eosToken == expected.eos_token && tokenizer.eosTokenID == expected.eos_token_id)
    #expect(model.config.eosTokenId == .one(expected.config_eos_token_id))
    #expect(tokenizer.bosToken == expected.bos_token && tokenizer.bosTokenID == expected.bos_token_id)
    #expect(tokenizer.padToken == expected.pad_token)
    #expect(tokenizer.chatTemplate == expected.chat_template)

    let template = try ChatTemplate(try #require(tokenizer.chatTemplate))
    let rendered = try template.render(messages: expected.messages)
    #expect(rendered == expected.rendered)
    #expect(tokenizer.encode(rendered, addSpecialTokens: false) == expected.rendered_ids)
    let prompt = try template.render(messages: Array(expected.messages.prefix(1)), addGenerationPrompt: true)
    #expect(tokenizer.encode(prompt, addSpecialTokens: false) == expected.prompt_ids)
    #expect(tokenizer.encode(expected.text, addSpecialTokens: false) == expected.text_ids)

    // New rows: transformers samples them around the old rows' mean with covariance 1e-9 x theirs; we take the mean.
    let weights = model.parameters
    let embed = try #require(weights["model.embed_tokens.weight"]), head = try #require(weights["lm_head.weight"])
    #expect(embed.shape == [expected.vocab_size, 16] && head.shape == [expected.vocab_size, 16])
    let mean = try Tensor(expected.old_embedding_mean.map(Float.init), shape: [16])
    #expect(try maxAbsDifference(embed.select(0, expected.old_embedding_rows), mean) < 1e-7)
    let row = try Tensor(expected.new_embedding_row.map(Float.init), shape: [16])
    #expect(try maxAbsDifference(embed.select(0, expected.old_embedding_rows), row) < 1e-5)
    let headRow = try Tensor(expected.new_lm_head_row.map(Float.init), shape: [16])
    #expect(try maxAbsDifference(head.select(0, expected.old_embedding_rows), headRow) < 1e-5)
    let ids = try Tensor([0, Int64(expected.eos_token_id), Int64(expected.vocab_size - 1)], shape: [1, 3])
    #expect(try withNoGrad { try model(ids) }.shape == [1, 3, expected.vocab_size])
  }

  @Test func cloneChatTemplateRefusesASourceWithoutTemplate() throws {
    let folder = try fixtureURL("clone_chat_template")
    let loaded = try ModelLoader.load(folder.appendingPathComponent("target"))
    let plain = try Tokenizer(folder: folder.appendingPathComponent("target"))  // no template
    #expect(throws: ModelError.self) {
      try loaded.model.cloneChatTemplate(tokenizer: loaded.tokenizer, from: plain, sourceName: "target")
    }
  }
}
