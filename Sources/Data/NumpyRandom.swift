// NumpyRandom.swift — numpy's `default_rng(seed)` (SeedSequence → PCG64) and `Generator.permutation(n)`, exactly,
// because Hugging Face datasets draws `shuffle(seed)` and `train_test_split(seed=...)` from them. Written from
// numpy's random/bit_generator.pyx (SeedSequence), random/src/pcg64/pcg64.h (PCG64 XSL-RR 128/64),
// random/src/distributions/distributions.c (`random_interval`) and random/_generator.pyx (`_shuffle_raw`).

/// The stream of `numpy.random.default_rng(seed)`.
struct NumpyRandom {
  /// 128-bit state and increment as (high, low) words.
  private var state: (high: UInt64, low: UInt64)
  private let increment: (high: UInt64, low: UInt64)
  /// PCG64 hands out 32-bit values in halves of a 64-bit one: the high half is kept for the next call.
  private var bufferedHalf: UInt32?

  private static let multiplier: (high: UInt64, low: UInt64) = (2_549_297_995_355_413_924, 4_865_540_595_714_422_341)

  /// `default_rng(seed)` for a non-negative integer seed.
  init(seed: UInt64) {
    var words: [UInt32] = []
    var rest = seed
    repeat {
      words.append(UInt32(truncatingIfNeeded: rest))
      rest >>= 32
    } while rest > 0
    self.init(entropy: words)
  }

  /// `default_rng(seed)` for a seed given as its 32-bit words, lowest first (numpy's `_coerce_to_uint32_array`).
  init(entropy: [UInt32]) {
    let words = Self.seedSequenceState(entropy: entropy)
    // pcg64_set_seed: initstate = words[0] << 64 | words[1], initseq = words[2] << 64 | words[3].
    let initialState = (high: words[0], low: words[1])
    increment = (high: words[2] << 1 | words[3] >> 63, low: words[3] << 1 | 1)
    state = (0, 0)
    step()
    state = Self.add(state, initialState)
    step()
  }

  // MARK: SeedSequence

  /// `SeedSequence(entropy).generate_state(4, np.uint64)`: the entropy's 32-bit words (lowest first) hashed into a
  /// pool of four words, which is then hashed out into eight 32-bit words, read as four little-endian 64-bit ones.
  static func seedSequenceState(entropy entropyWords: [UInt32]) -> [UInt64] {
    var hashConstant: UInt32 = 0x43B0_D7E5
    func hashmix(_ input: UInt32) -> UInt32 {
      var value = input ^ hashConstant
      hashConstant = hashConstant &* 0x931E_8875
      value = value &* hashConstant
      return value ^ (value >> 16)
    }
    func mix(_ x: UInt32, _ y: UInt32) -> UInt32 {
      let result = 0xCA01_F9DD &* x &- 0x4973_F715 &* y
      return result ^ (result >> 16)
    }
    var pool = [UInt32](repeating: 0, count: 4)
    for index in 0..<4 { pool[index] = hashmix(index < entropyWords.count ? entropyWords[index] : 0) }
    for source in 0..<4 {
      for destination in 0..<4 where source != destination {
        pool[destination] = mix(pool[destination], hashmix(pool[source]))
      }
    }
    for source in 4..<max(4, entropyWords.count) {
      for destination in 0..<4 { pool[destination] = mix(pool[destination], hashmix(entropyWords[source])) }
    }
    var outputConstant: UInt32 = 0x8B51_F9DD
    var state32: [UInt32] = []
    for index in 0..<8 {
      var value = pool[index % 4] ^ outputConstant
      outputConstant = outputConstant &* 0x58F3_8DED
      value = value &* outputConstant
      state32.append(value ^ (value >> 16))
    }
    return (0..<4).map { UInt64(state32[2 * $0]) | UInt64(state32[2 * $0 + 1]) << 32 }
  }

  // MARK: PCG64

  private static func add(_ a: (high: UInt64, low: UInt64), _ b: (high: UInt64, low: UInt64)) -> (high: UInt64, low: UInt64) {
    let (low, carry) = a.low.addingReportingOverflow(b.low)
    return (a.high &+ b.high &+ (carry ? 1 : 0), low)
  }

  private static func multiply(_ a: (high: UInt64, low: UInt64), _ b: (high: UInt64, low: UInt64)) -> (high: UInt64, low: UInt64) {
    let (high, low) = a.low.multipliedFullWidth(by: b.low)
    return (high &+ a.low &* b.high &+ a.high &* b.low, low)
  }

  private mutating func step() {
    state = Self.add(Self.multiply(state, Self.multiplier), increment)
  }

  /// The next 64-bit output: advance, then XSL-RR (xor the halves, rotate right by the top 6 bits).
  mutating func nextUInt64() -> UInt64 {
    step()
    let mixed = state.high ^ state.low
    let rotation = state.high >> 58
    return mixed >> rotation | mixed << ((64 - rotation) & 63)
  }

  mutating func nextUInt32() -> UInt32 {
    if let half = bufferedHalf {
      bufferedHalf = nil
      return half
    }
    let next = nextUInt64()
    bufferedHalf = UInt32(truncatingIfNeeded: next >> 32)
    return UInt32(truncatingIfNeeded: next)
  }

  // MARK: Generator

  /// `random_interval(max)`: a value in 0...max by masked rejection (32-bit draws while max fits in 32 bits).
  mutating func interval(_ maximum: UInt64) -> UInt64 {
    if maximum == 0 { return 0 }
    var mask = maximum
    for shift in [1, 2, 4, 8, 16, 32] as [UInt64] { mask |= mask >> shift }
    if maximum <= 0xFFFF_FFFF {
      while true {
        let value = UInt64(nextUInt32()) & mask
        if value <= maximum { return value }
      }
    }
    while true {
      let value = nextUInt64() & mask
      if value <= maximum { return value }
    }
  }

  /// `permutation(count)`: `arange(count)` shuffled by Fisher–Yates from the end (numpy's `_shuffle_raw`).
  mutating func permutation(_ count: Int) -> [Int] {
    var values = Array(0..<count)
    var index = count - 1
    while index >= 1 {
      let other = Int(interval(UInt64(index)))
      values.swapAt(index, other)
      index -= 1
    }
    return values
  }
}
