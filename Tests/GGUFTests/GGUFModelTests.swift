// GGUFModelTests.swift — the real default model (SmolLM2-135M-Instruct Q4_1): metadata, tensor table and a few
// dequantized rows against gguf-py. Skipped when models/SmolLM2-135M-Instruct.Q4_1.gguf is absent.
import Foundation
import Testing
@testable import GGUF

@Suite(.enabled(if: Fixtures.modelExists,
                "models/SmolLM2-135M-Instruct.Q4_1.gguf is absent (run scripts/setup.sh or set ORPO_TEST_GGUF)"))
struct GGUFModelTests {
  @Test func parsesSmolLM2() throws {
    let expected = try Fixtures.decode(ModelFixture.self, "smollm2_rows.json")
    #expect(expected.gguf == "0.19.0")
    let file = try GGUFFile(url: Fixtures.modelURL)
    #expect(file.fileSize == expected.size)
    #expect(file.version == 3)
    #expect(file.metadata.string("general.architecture") == "llama")
    #expect(file.metadata.count == expected.kv_count)
    #expect(file.tensors.count == expected.tensor_count)
    #expect(file.tensors.count == 272)
    #expect(file.metadata.int("llama.block_count") == 30)
    #expect(file.metadata.int("llama.embedding_length") == 576)
    #expect(file.metadata.int("llama.attention.head_count_kv") == 3)
    #expect(file.metadata.double("llama.rope.freq_base") == 100_000)
    #expect(file.metadata.string("tokenizer.ggml.model") == "gpt2")
    let tokens = try #require(file.metadata.strings("tokenizer.ggml.tokens"))
    #expect(tokens.count == 49152 && tokens.count == expected.token_count)
    #expect(Array(tokens.prefix(4)) == expected.first_tokens)
    #expect(file.metadata.ints("tokenizer.ggml.token_type")?.count == 49152)
    #expect(file.metadata.strings("tokenizer.ggml.merges")?.count == 48900)
    #expect(file.metadata.string("tokenizer.chat_template")?.contains("<|im_start|>") == true)

    let embed = try #require(file.tensor(named: "token_embd.weight"))
    #expect(embed.type == .q8_0 && embed.shape == [576, 49152] && embed.rowMajorShape == [49152, 576])
    let q = try #require(file.tensor(named: "blk.0.attn_q.weight"))
    #expect(q.type == .q4_1 && q.shape == [576, 576])
    #expect(file.tensor(named: "blk.0.attn_k.weight")?.rowMajorShape == [192, 576])
    #expect(file.tensor(named: "blk.29.ffn_down.weight")?.shape == [1536, 576])
    #expect(file.tensor(named: "output_norm.weight")?.type == .f32)
    #expect(Dictionary(grouping: file.tensors, by: \.type).mapValues(\.count) == [.q4_1: 210, .f32: 61, .q8_0: 1])

    for (name, spec) in expected.tensors {
      let info = try #require(file.tensor(named: name))
      #expect(info.type.description == spec.type)
      #expect(info.shape == spec.shape)
      for (row, values) in spec.rows {
        let r = Int(row)!
        expectClose(try file.dequantize(info, rows: r..<(r + 1)), values, "\(name) row \(r)")
      }
    }
  }

  @Test func dequantizesAWholeMatrix() throws {
    let file = try GGUFFile(url: Fixtures.modelURL)
    let info = try #require(file.tensor(named: "blk.0.attn_q.weight"))
    let all = try file.dequantize(info)
    #expect(all.count == 576 * 576)
    #expect(Array(all[(575 * 576)...]) == (try file.dequantize(info, rows: 575..<576)))
  }
}
