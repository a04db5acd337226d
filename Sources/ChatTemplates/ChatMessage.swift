// ChatMessage.swift — one turn of a conversation, as chat templates and preference data see it.

/// A chat message: `role` ("system", "user", "assistant", …) and its text `content`.
public struct ChatMessage: Codable, Equatable, Hashable, Sendable {
  public var role: String
  public var content: String

  public init(role: String, content: String) {
    self.role = role
    self.content = content
  }
}
