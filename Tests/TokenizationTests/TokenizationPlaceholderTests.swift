import Testing
@testable import Tokenization

@Test func TokenizationModuleLinks() { #expect(Bool(true)) }
