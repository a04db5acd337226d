// JSONEncoding.swift — Encodable types to JSONValue, so Codable configurations are written by the one writer (in
// the layout the reading library itself writes, e.g. transformers' `json.dumps(indent=2, sort_keys=True)`).

extension JSONValue {
  /// The value `value.encode(to:)` describes. Keyed containers keep their keys in encoding order (a layout may
  /// sort them) and dictionaries with String keys are written with their keys sorted; `nil` optionals are left out, as synthesized `Encodable` conformances ask; Doubles and Floats are
  /// spelled as Python spells them, so a whole number keeps its `.0` (`10000.0`) as in a Hugging Face config.
  /// With `nonFiniteAsStrings`, NaN and ±infinity become the strings "NaN", "Infinity", "-Infinity" (which
  /// pandas and Python's `float()` read), instead of the bare words `json.dumps` writes.
  public init<T: Encodable>(encoding value: T, nonFiniteAsStrings: Bool = false) throws {
    let encoder = ValueEncoder(codingPath: [], nonFiniteAsStrings: nonFiniteAsStrings)
    try encoder.encode(value, into: encoder.storage, at: nil)
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

private func scalar<T: Encodable>(_ value: T, nonFiniteAsStrings: Bool) -> JSONValue? {
  switch value {
  case let v as Bool: return .bool(v)
  case let v as String: return .string(v)
  case let v as Double: return nonFiniteAsStrings && !v.isFinite ? .string(JSONNumber(v).text) : .double(v)
  case let v as Float:
    return nonFiniteAsStrings && !v.isFinite ? .string(JSONNumber(v).text) : .number(JSONNumber(v))
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
  let nonFiniteAsStrings: Bool

  init(codingPath: [CodingKey], storage: Box = Box(), nonFiniteAsStrings: Bool) {
    self.codingPath = codingPath
    self.storage = storage
    self.nonFiniteAsStrings = nonFiniteAsStrings
  }

  /// An encoder for a value nested at `key` in `box`.
  func nested(_ key: CodingKey, _ box: Box) -> ValueEncoder {
    ValueEncoder(codingPath: codingPath + [key], storage: box, nonFiniteAsStrings: nonFiniteAsStrings)
  }

  /// Encodes `value` into `box`: scalars directly, anything else through its own `encode(to:)`.
  func encode<T: Encodable>(_ value: T, into box: Box, at key: CodingKey?) throws {
    if let json = scalar(value, nonFiniteAsStrings: nonFiniteAsStrings) {
      box.content = .value(json)
    } else if let dictionary = value as? [String: any Encodable] {
      // A Swift dictionary has no order of its own: its keys are written sorted, so the text is reproducible.
      let encoder = key.map { nested($0, box) } ?? self
      var container = encoder.container(keyedBy: AnyKey.self)
      for name in dictionary.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
        try container.encode(dictionary[name]!, forKey: AnyKey(stringValue: name))
      }
    } else {
      try value.encode(to: key.map { nested($0, box) } ?? ValueEncoder(codingPath: codingPath, storage: box,
                                                                        nonFiniteAsStrings: nonFiniteAsStrings))
    }
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    if case .object? = storage.content {} else { storage.content = .object([]) }
    return KeyedEncodingContainer(KeyedContainer<Key>(box: storage, encoder: self))
  }

  func unkeyedContainer() -> UnkeyedEncodingContainer {
    if case .array? = storage.content {} else { storage.content = .array([]) }
    return UnkeyedContainer(box: storage, encoder: self)
  }

  func singleValueContainer() -> SingleValueEncodingContainer { SingleContainer(box: storage, encoder: self) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let box: Box
  let encoder: ValueEncoder
  var codingPath: [CodingKey] { encoder.codingPath }

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
    try encoder.encode(value, into: child(key), at: key)
  }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                      forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
    encoder.nested(key, child(key)).container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
    encoder.nested(key, child(key)).unkeyedContainer()
  }

  mutating func superEncoder() -> Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

  mutating func superEncoder(forKey key: Key) -> Encoder { encoder.nested(key, child(key)) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
  let box: Box
  let encoder: ValueEncoder
  var codingPath: [CodingKey] { encoder.codingPath }
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
    let key = AnyKey(intValue: count)
    try encoder.encode(value, into: append(), at: key)
  }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
    -> KeyedEncodingContainer<NestedKey> {
    let key = AnyKey(intValue: count)
    return encoder.nested(key, append()).container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer {
    let key = AnyKey(intValue: count)
    return encoder.nested(key, append()).unkeyedContainer()
  }

  mutating func superEncoder() -> Encoder {
    let key = AnyKey(intValue: count)
    return encoder.nested(key, append())
  }
}

private struct SingleContainer: SingleValueEncodingContainer {
  let box: Box
  let encoder: ValueEncoder
  var codingPath: [CodingKey] { encoder.codingPath }

  mutating func encodeNil() throws { box.content = .value(.null) }

  mutating func encode<T: Encodable>(_ value: T) throws { try encoder.encode(value, into: box, at: nil) }
}
