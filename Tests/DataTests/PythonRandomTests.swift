// PythonRandomTests.swift — PythonRandom against values printed by CPython 3.11's `random.Random`.

import Testing
@testable import Data

@Suite struct PythonRandomTests {
  @Test func rawOutputsMatchCPython() {
    var random = PythonRandom(seed: 42)
    #expect([random.nextUInt32(), random.nextUInt32(), random.nextUInt32()] == [2746317213, 478163327, 107420369])
    var zero = PythonRandom(seed: 0)
    #expect([zero.nextUInt32(), zero.nextUInt32()] == [3626764237, 1654615998])
    // Seeds above 2^32 use two key words; negative seeds use their magnitude.
    var wide = PythonRandom(seed: (1 << 40) + 7)
    #expect([wide.nextUInt32(), wide.nextUInt32()] == [2635837658, 3209733218])
    var negative = PythonRandom(seed: -9)
    #expect(negative.nextUInt32() == 1988601454)
  }

  @Test func randomDoubleMatchesCPython() {
    var random = PythonRandom(seed: 42)
    #expect(random.nextDouble() == 0.6394267984578837)
    #expect(random.nextDouble() == 0.025010755222666936)
  }

  @Test func randomBitsMatchesCPython() {
    // random.Random(7): getrandbits(40), getrandbits(64), getrandbits(1)
    var random = PythonRandom(seed: 7)
    #expect(random.randomBits(40) == 1040772936760)
    #expect(random.randomBits(64) == 7283207964119141687)
    #expect(random.randomBits(1) == 1)
  }

  @Test func randintRandrangeAndChoiceMatchCPython() {
    // random.Random(5): [randint(1, 6) for _ in range(10)], randrange(1000000), choice("abcdefg")
    var random = PythonRandom(seed: 5)
    #expect((0..<10).map { _ in random.integer(in: 1...6) } == [5, 3, 6, 3, 6, 6, 6, 5, 1, 4])
    #expect(random.below(1_000_000) == 813651)
    #expect(random.choice(Array("abcdefg")) == "b")
  }

  @Test func shuffleMatchesCPython() {
    var three = PythonRandom(seed: 3)
    var numbers = Array(0..<10)
    three.shuffle(&numbers)
    #expect(numbers == [1, 5, 6, 0, 9, 4, 7, 2, 8, 3])
    var other = PythonRandom(seed: 123)
    numbers = Array(0..<10)
    other.shuffle(&numbers)
    #expect(numbers == [8, 7, 5, 9, 2, 3, 6, 1, 4, 0])
  }
}
