// Schema.swift — the schema tree rebuilt from the footer's flat, depth-first list of elements, with each node's
// maximum definition and repetition levels (the Dremel encoding of nulls and lists) and the leaf columns under it.

/// A field of the schema: a group (with children) or a leaf column (with a physical type).
public final class SchemaNode: Sendable {
  public let name: String
  public let repetition: Repetition
  /// The physical type of a leaf; nil for groups.
  public let physicalType: PhysicalType?
  /// The byte width of a FIXED_LEN_BYTE_ARRAY leaf.
  public let typeLength: Int
  public let logicalType: LogicalType?
  /// The legacy converted type (parquet.thrift `ConvertedType`), when the writer set one.
  public let convertedType: Int32?
  public let children: [SchemaNode]
  /// The definition level of a value present at this node: optional and repeated nodes from the root down to here.
  public let definitionLevel: Int
  /// The repetition level of this node: repeated nodes from the root down to here.
  public let repetitionLevel: Int
  /// The leaf columns under this node (the node itself for a leaf), as indices into `ParquetSchema.leaves`.
  public let leafRange: Range<Int>
  /// The dotted path from the root, as pyarrow's `path_in_schema` (`chosen.list.element.content`).
  public let path: String

  init(name: String, repetition: Repetition, physicalType: PhysicalType?, typeLength: Int, logicalType: LogicalType?,
       convertedType: Int32?, children: [SchemaNode], definitionLevel: Int, repetitionLevel: Int,
       leafRange: Range<Int>, path: String) {
    self.name = name
    self.repetition = repetition
    self.physicalType = physicalType
    self.typeLength = typeLength
    self.logicalType = logicalType
    self.convertedType = convertedType
    self.children = children
    self.definitionLevel = definitionLevel
    self.repetitionLevel = repetitionLevel
    self.leafRange = leafRange
    self.path = path
  }

  public var isLeaf: Bool { physicalType != nil }

  /// A group annotated as a list (logical type LIST, or the legacy converted type LIST = 3).
  var isListAnnotated: Bool { logicalType == .list || (logicalType == nil && convertedType == 3) }
  /// A group annotated as a map (logical type MAP, or converted types MAP = 1 / MAP_KEY_VALUE = 2).
  var isMapAnnotated: Bool { logicalType == .map || (logicalType == nil && (convertedType == 1 || convertedType == 2)) }
  /// A byte array holding UTF-8 text (STRING, ENUM or JSON; legacy UTF8 = 0, ENUM = 4, JSON = 19).
  var isText: Bool {
    switch logicalType {
    case .string?, .enumeration?, .json?: return true
    case nil: return convertedType == 0 || convertedType == 4 || convertedType == 19
    default: return false
    }
  }
  /// An integer the writer marked unsigned (logical INTEGER, or converted UINT_8 … UINT_64 = 11 … 14).
  var isUnsigned: Bool {
    if case .integer(_, let signed)? = logicalType { return !signed }
    return logicalType == nil && convertedType.map { (11...14).contains($0) } == true
  }
}

/// The schema of a file: its top-level fields and its leaf columns in column-chunk order.
public struct ParquetSchema: Sendable {
  public let root: SchemaNode
  /// Leaf columns, depth first: the order of the column chunks in every row group.
  public let leaves: [SchemaNode]
  public var fields: [SchemaNode] { root.children }

  /// Nesting deeper than this is refused (levels are stored in bytes, and assembly recurses once per level).
  static let maximumDepth = 64

  init(elements: [SchemaElement]) throws {
    guard let first = elements.first else { throw ParquetError(message: "the schema is empty") }
    guard let rootChildren = first.childCount, rootChildren >= 0 else {
      throw ParquetError(message: "the schema's root \"\(first.name)\" is not a group")
    }
    var builder = Builder(elements: elements)
    builder.position = 1
    var children: [SchemaNode] = []
    for _ in 0..<Int(rootChildren) {
      children.append(try builder.node(parentPath: "", definitionLevel: 0, repetitionLevel: 0, depth: 1))
    }
    guard builder.position == elements.count else {
      throw ParquetError(message: "the schema lists \(elements.count) elements but its groups account for \(builder.position)")
    }
    root = SchemaNode(name: first.name, repetition: .required, physicalType: nil, typeLength: 0, logicalType: nil,
                      convertedType: nil, children: children, definitionLevel: 0, repetitionLevel: 0,
                      leafRange: 0..<builder.leaves.count, path: "")
    leaves = builder.leaves
  }

  /// Rebuilds the tree from the depth-first list, checking child counts against what is there.
  private struct Builder {
    let elements: [SchemaElement]
    var position = 0
    var leaves: [SchemaNode] = []

    mutating func node(parentPath: String, definitionLevel: Int, repetitionLevel: Int, depth: Int) throws -> SchemaNode {
      guard position < elements.count else {
        throw ParquetError(message: "the schema ends inside a group (\(elements.count) elements)")
      }
      guard depth <= ParquetSchema.maximumDepth else {
        throw ParquetError(message: "the schema nests more than \(ParquetSchema.maximumDepth) levels deep")
      }
      let element = elements[position]
      position += 1
      let path = parentPath.isEmpty ? element.name : parentPath + "." + element.name
      guard let rawRepetition = element.repetition, let repetition = Repetition(rawValue: rawRepetition) else {
        throw ParquetError(message: "schema field \"\(path)\" has no valid repetition (found \(element.repetition.map(String.init) ?? "none"))")
      }
      let definition = definitionLevel + (repetition == .required ? 0 : 1)
      let repetitionHere = repetitionLevel + (repetition == .repeated ? 1 : 0)
      let firstLeaf = leaves.count
      if let childCount = element.childCount {
        guard childCount > 0 && Int(childCount) <= elements.count - position else {
          throw ParquetError(message: "schema group \"\(path)\" claims \(childCount) children, "
            + "\(elements.count - position) elements are left")
        }
        var children: [SchemaNode] = []
        for _ in 0..<Int(childCount) {
          children.append(try node(parentPath: path, definitionLevel: definition, repetitionLevel: repetitionHere,
                                   depth: depth + 1))
        }
        return SchemaNode(name: element.name, repetition: repetition, physicalType: nil, typeLength: 0,
                          logicalType: element.logicalType, convertedType: element.convertedType, children: children,
                          definitionLevel: definition, repetitionLevel: repetitionHere,
                          leafRange: firstLeaf..<leaves.count, path: path)
      }
      guard let rawType = element.type, let type = PhysicalType(rawValue: rawType) else {
        throw ParquetError(message: "schema column \"\(path)\" has no valid physical type (found \(element.type.map(String.init) ?? "none"))")
      }
      let typeLength = Int(element.typeLength ?? 0)
      if type == .fixedLengthByteArray && typeLength < 0 {
        throw ParquetError(message: "schema column \"\(path)\" has a negative fixed length \(typeLength)")
      }
      let leaf = SchemaNode(name: element.name, repetition: repetition, physicalType: type, typeLength: typeLength,
                            logicalType: element.logicalType, convertedType: element.convertedType, children: [],
                            definitionLevel: definition, repetitionLevel: repetitionHere,
                            leafRange: firstLeaf..<(firstLeaf + 1), path: path)
      leaves.append(leaf)
      return leaf
    }
  }
}
