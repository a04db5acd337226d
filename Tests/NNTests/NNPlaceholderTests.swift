import Testing
@testable import NN

@Test func NNModuleLinks() { #expect(Bool(true)) }
