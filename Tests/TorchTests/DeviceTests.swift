// DeviceTests.swift — what the CUDA start-up relies on, checked where it runs on the CPU: device-aware generators,
// the default generators' states, the attention kernel SDPA selects, values sent to a device, and CUDA's absence
// reported without a crash.
import Testing
@testable import Torch

@Suite(.serialized) struct DeviceTests {
  @Test func aGeneratorKnowsItsDeviceAndEqualsTheDefaultCPUGeneratorSeededAlike() throws {
    let g = try Generator(seed: 0, device: .cpu)
    #expect(g.device == .cpu)
    Torch.manualSeed(0)
    let global = try Tensor.randn([3]).scalars(as: Float.self)
    #expect(try Tensor.randn([3], generator: g).scalars(as: Float.self) == global)
  }

  /// torch.get_rng_state / set_rng_state for the CPU: restoring the state replays the same draws.
  @Test func theDefaultGeneratorStateRoundTrips() throws {
    Torch.manualSeed(5)
    let state = try Torch.rngState(device: .cpu)
    let first = try Tensor.rand([4]).scalars(as: Float.self)
    try Torch.setRNGState(state, device: .cpu)
    #expect(try Tensor.rand([4]).scalars(as: Float.self) == first)
    #expect(try Torch.rngState().scalars(as: UInt8.self) == Torch.rngState(device: .cpu).scalars(as: UInt8.self))
  }

  /// On a machine without CUDA, asking for a CUDA generator or CUDA state is a TorchError, not a crash.
  @Test(.enabled(if: !CUDA.isAvailable)) func cudaGeneratorsAreRefusedCleanlyWithoutCUDA() throws {
    #expect(throws: TorchError.self) { try Generator(seed: 0, device: .cuda(0)) }
    #expect(throws: TorchError.self) { try Torch.rngState(device: .cuda(0)) }
    #expect(throws: TorchError.self) { try CUDA.properties(device: 0) }
  }

  /// torch.use_deterministic_algorithms round-trips (the self-test's resume check turns it on for CUDA).
  @Test func deterministicAlgorithmsRoundTrip() {
    let was = Torch.deterministicAlgorithms
    defer { Torch.deterministicAlgorithms = was }
    Torch.deterministicAlgorithms = true
    #expect(Torch.deterministicAlgorithms)
    Torch.deterministicAlgorithms = false
    #expect(!Torch.deterministicAlgorithms)
  }

  /// `Tensor(_:on:)`: on the CPU the values as `Tensor(_:)` holds them; a CUDA device without CUDA is a TorchError.
  @Test func valuesSentToADevice() throws {
    let values: [Int64] = [3, -1, 1 << 40, 0]
    let t = try Tensor(values, on: .cpu)
    #expect(t.device == .cpu && t.dtype == .int64 && t.shape == [4])
    #expect(try t.scalars(as: Int64.self) == values)
    #expect(try Tensor([Float](), on: .cpu).shape == [0])
    if !CUDA.isAvailable { #expect(throws: TorchError.self) { try Tensor(values, on: .cuda(0)) } }
  }

  /// The CPU runs causal fp32 attention with its flash kernel (PyTorch's _fused_sdp_choice_cpp) and always with math;
  /// the CUDA-only kernels are not usable there.
  @Test func theCPUAttentionKernels() throws {
    let q = try Tensor.randn([1, 2, 16, 8], generator: Generator(seed: 1))
    #expect(try AttentionKernel.selected(query: q, key: q, value: q, isCausal: true) == .flash)
    let usable = try AttentionKernel.usable(device: .cpu, dtype: .float32)
    #expect(usable == [.math, .flash])
    // Asking about one kernel alone leaves the settings as they were: the choice is the same afterwards.
    #expect(try AttentionKernel.selected(query: q, key: q, value: q, isCausal: true) == .flash)
  }
}
