// PythonRandom.swift — a Mersenne Twister that draws exactly what Python's `random.Random(seed)` draws.
// Used for shuffling, splitting and synthetic data, so every result is reproducible across platforms and can be
// recomputed in Python (`random.Random(seed).shuffle(rows)` gives the same order as `shuffled(seed:)`).

/// MT19937 seeded and consumed with CPython's semantics (`Modules/_randommodule.c`, `Lib/random.py`):
/// integer seeding via `init_by_array`, `random()`, `getrandbits(k)`, `randrange`, `randint`, `choice` and
/// `shuffle`, all bit-identical to CPython 3.2+ for non-negative integer seeds.
public struct PythonRandom: Sendable {
  private var state = [UInt32](repeating: 0, count: 624)
  private var index = 625

  /// Seeds like `random.Random(seed)`: the magnitude of `seed`, split into 32-bit words (least significant
  /// first), goes through `init_by_array` (CPython takes `abs(seed)` too).
  public init(seed: Int) {
    let magnitude = seed.magnitude
    var key: [UInt32] = [UInt32(truncatingIfNeeded: magnitude)]
    if magnitude >> 32 != 0 { key.append(UInt32(truncatingIfNeeded: magnitude >> 32)) }
    seedByArray(key)
  }

  private mutating func seedLinear(_ seed: UInt32) {
    state[0] = seed
    for i in 1..<624 {
      state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
    }
    index = 624
  }

  private mutating func seedByArray(_ key: [UInt32]) {
    seedLinear(19_650_218)
    var i = 1
    var j = 0
    for _ in 0..<max(624, key.count) {
      state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
      i += 1
      j += 1
      if i >= 624 { state[0] = state[623]; i = 1 }
      if j >= key.count { j = 0 }
    }
    for _ in 0..<623 {
      state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
      i += 1
      if i >= 624 { state[0] = state[623]; i = 1 }
    }
    state[0] = 0x8000_0000
  }

  private mutating func regenerate() {
    for k in 0..<624 {
      let y = (state[k] & 0x8000_0000) | (state[(k + 1) % 624] & 0x7fff_ffff)
      state[k] = state[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : 0x9908_b0df)
    }
    index = 0
  }

  /// The next tempered 32-bit output (`genrand_uint32`).
  public mutating func nextUInt32() -> UInt32 {
    if index >= 624 { regenerate() }
    var y = state[index]
    index += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9d2c_5680
    y ^= (y << 15) & 0xefc6_0000
    y ^= y >> 18
    return y
  }

  /// `random.random()`: a double in [0, 1) with 53 random bits.
  public mutating func nextDouble() -> Double {
    let a = Double(nextUInt32() >> 5)
    let b = Double(nextUInt32() >> 6)
    return (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
  }

  /// `random.getrandbits(bitCount)` for 0...64 bits.
  public mutating func randomBits(_ bitCount: Int) -> UInt64 {
    precondition((0...64).contains(bitCount), "randomBits supports 0...64 bits")
    if bitCount == 0 { return 0 }
    if bitCount <= 32 { return UInt64(nextUInt32() >> UInt32(32 - bitCount)) }
    // CPython fills 32-bit words from the least significant one; the last word keeps its high bits.
    let low = UInt64(nextUInt32())
    let high = UInt64(nextUInt32() >> UInt32(64 - bitCount))
    return low | (high << 32)
  }

  /// `random._randbelow(upperBound)`: uniform in 0..<upperBound by rejection on `getrandbits(bit_length)`.
  public mutating func below(_ upperBound: Int) -> Int {
    precondition(upperBound > 0, "below(_:) needs a positive bound")
    let bitCount = Int.bitWidth - upperBound.leadingZeroBitCount
    var draw = randomBits(bitCount)
    while draw >= UInt64(upperBound) { draw = randomBits(bitCount) }
    return Int(draw)
  }

  /// `random.randint(lower, upper)`: uniform in the closed range.
  public mutating func integer(in range: ClosedRange<Int>) -> Int {
    range.lowerBound + below(range.upperBound - range.lowerBound + 1)
  }

  /// `random.choice(elements)`.
  public mutating func choice<C: RandomAccessCollection>(_ elements: C) -> C.Element {
    precondition(!elements.isEmpty, "choice(_:) from an empty collection")
    return elements[elements.index(elements.startIndex, offsetBy: below(elements.count))]
  }

  /// `random.shuffle(elements)`: Fisher–Yates from the back, `j = _randbelow(i + 1)`.
  public mutating func shuffle<T>(_ elements: inout [T]) {
    var i = elements.count - 1
    while i >= 1 {
      let j = below(i + 1)
      elements.swapAt(i, j)
      i -= 1
    }
  }
}
