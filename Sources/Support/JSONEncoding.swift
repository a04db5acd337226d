// JSONEncoding.swift — Encodable types to JSONValue, so Codable configurations are written by the one writer (in
// the layout the reading library itself writes, e.g. transformers' `json.dumps(indent=2, sort_keys=True)`).

extension JSONValue {
  /// The value `value.encode(to:)` describes. Keyed containers keep their keys in encoding order (a layout may
  /// sort them); `nil` optionals are left out, as synthesized `Encodable` conformances ask; Doubles and Floats are
  /// spelled as Python spells them, so a whole number keeps its `.0` (`10000.0`) as in a Hugging Face config.
  public init<T: Encodable>(encoding value: T) throws {
    let encoder = ValueEncoder(codingPath: [])
    try value.encode(to: encoder)
    self = encoder.storage.value ?? .object([])
  }
}

/// A value under construction: containers are shared boxes so that nested containers fill them in place.
private final class Box {
  enum Content {
    case value(JSONValue)
    case object([(String, Box)])
    case array([Box])
  }
  var content: Content?

  init(_ content: Content? = nil) { self.content = content }

  var value: JSONValue? {
    switch content {
    case nil: return nil
    case .value(let v)?: return v
    case .object(let members)?: return .object(members.map { ($0.0, $0.1.value ?? .null) })
    case .array(let items)?: return .array(items.map { $0.value ?? .null })
    }
  }
}

private struct AnyKey: CodingKey {
  var stringValue: String
  var intValue: Int?
  init(stringValue: String) { self.stringValue = stringValue }
  init(intValue: Int) {
    stringValue = String(intValue)
    self.intValue = intValue
  }
}

private func scalar<T: Encodable>(_ value: T) -> JSONValue? {
  switch value {
  case let v as Bool: return .bool(v)
  case let v as String: return .string(v)
  case let v as Double: return .double(v)
  case let v as Float: return .number(JSONNumber(v))
  case let v as Int: return .int(v)
  case let v as Int8: return .int(v)
  case let v as Int16: return .int(v)
  case let v as Int32: return .int(v)
  case let v as Int64: return .int(v)
  case let v as UInt: return .int(v)
  case let v as UInt8: return .int(v)
  case let v as UInt16: return .int(v)
  case let v as UInt32: return .int(v)
  case let v as UInt64: return .int(v)
  case let v as JSONValue: return v
  default: return nil
  }
}

private final class ValueEncoder: Encoder {
  let codingPath: [CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }
  let storage: Box

  init(codingPath: [CodingKey], storage: Box = Box()) {
    self.codingPath = codingPath
    self.storage = storage
  }

  /// Encodes `value` into `box`: scalars directly, anything else through its own `encode(to:)`.
  static func encode<T: Encodable>(_ value: T, into box: Box, codingPath: [CodingKey]) throws {
    if let json = scalar(value) {
      box.content = .value(json)
    } else {
      try value.encode(to: ValueEncoder(codingPath: codingPath, storage: box))
    }
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    if case .object? = storage.content {} else { storage.content = .object([]) }
    return KeyedEncodingContainer(KeyedContainer<Key>(box: storage, codingPath: codingPath))
  }

  func unkeyedContainer() -> UnkeyedEncodingContainer {
    if case .array? = storage.content {} else { storage.content = .array([]) }
    return UnkeyedContainer(box: storage, codingPath: codingPath)
  }

  func singleValueContainer() -> SingleValueEncodingContainer { SingleContainer(box: storage, codingPath: codingPath) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let box: Box
  let codingPath: [CodingKey]

  /// The box for `key`: a key encoded twice replaces its value in place.
  private func child(_ key: CodingKey) -> Box {
    guard case .object(var members)? = box.content else { preconditionFailure("keyed container over a non-object") }
    if let existing = members.first(where: { $0.0 == key.stringValue }) { return existing.1 }
    let child = Box()
    members.append((key.stringValue, child))
    box.content = .object(members)
    return child
  }

  mutating func encodeNil(forKey key: Key) throws { child(key).content = .value(.null) }

  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
    try ValueEncoder.encode(value, into: child(key), codingPath: codingPath + [key])
  }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                      forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
    ValueEncoder(codingPath: codingPath + [key], storage: child(key)).container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
    ValueEncoder(codingPath: codingPath + [key], storage: child(key)).unkeyedContainer()
  }

  mutating func superEncoder() -> Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

  mutating func superEncoder(forKey key: Key) -> Encoder {
    ValueEncoder(codingPath: codingPath + [key], storage: child(key))
  }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
  let box: Box
  let codingPath: [CodingKey]
  var count: Int {
    if case .array(let items)? = box.content { return items.count }
    return 0
  }

  private func append() -> Box {
    guard case .array(var items)? = box.content else { preconditionFailure("unkeyed container over a non-list") }
    let child = Box()
    items.append(child)
    box.content = .array(items)
    return child
  }

  mutating func encodeNil() throws { append().content = .value(.null) }

  mutating func encode<T: Encodable>(_ value: T) throws {
    try ValueEncoder.encode(value, into: append(), codingPath: codingPath + [AnyKey(intValue: count)])
  }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
    -> KeyedEncodingContainer<NestedKey> {
    ValueEncoder(codingPath: codingPath + [AnyKey(intValue: count)], storage: append()).container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
    ValueEncoder(codingPath: codingPath + [AnyKey(intValue: count)], storage: append()).unkeyedContainer()
  }

  mutating func superEncoder() -> Encoder {
    ValueEncoder(codingPath: codingPath + [AnyKey(intValue: count)], storage: append())
  }
}

private struct SingleContainer: SingleValueEncodingContainer {
  let box: Box
  let codingPath: [CodingKey]

  mutating func encodeNil() throws { box.content = .value(.null) }

  mutating func encode<T: Encodable>(_ value: T) throws {
    try ValueEncoder.encode(value, into: box, codingPath: codingPath)
  }
}
