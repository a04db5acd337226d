import Testing
@testable import Data

@Test func DataModuleLinks() { #expect(Bool(true)) }
