import Testing
@testable import ChatTemplates

@Test func ChatTemplatesModuleLinks() { #expect(Bool(true)) }
