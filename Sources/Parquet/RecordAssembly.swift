// RecordAssembly.swift — turns decoded columns back into rows (Dremel record assembly): definition levels say how
// deep a value is defined (shallower = a null or an empty list somewhere above it), repetition levels say at which
// list a new entry starts another element. Lists and maps follow parquet-format's LogicalTypes.md, including its
// backward-compatibility rules for two-level lists.

/// Walks the columns of one row group, one row at a time.
struct RecordAssembler {
  let columns: [ColumnData]
  private var entryPositions: [Int]
  private var valuePositions: [Int]

  /// `columns[i]` holds leaf `i` (leaves that are not read stay empty and are never visited).
  init(columns: [ColumnData]) {
    self.columns = columns
    entryPositions = Array(repeating: 0, count: columns.count)
    valuePositions = Array(repeating: 0, count: columns.count)
  }

  /// The next row: a record of `fields` (top-level schema nodes).
  mutating func row(_ fields: [SchemaNode]) throws -> ParquetValue {
    var members: [(name: String, value: ParquetValue)] = []
    members.reserveCapacity(fields.count)
    for field in fields {
      let leaf = field.leafRange.lowerBound
      if let repetition = try repetitionLevel(leaf), repetition != 0 {
        throw ParquetError(column: field.path, message: "a row starts with repetition level \(repetition), expected 0")
      }
      members.append((field.name, try self.field(field)))
    }
    return .record(members)
  }

  /// Checks that every column of `fields` was used up exactly.
  func checkFinished(_ fields: [SchemaNode], leaves: [SchemaNode], rowCount: Int) throws {
    for field in fields {
      for leaf in field.leafRange where entryPositions[leaf] != columns[leaf].entryCount
        || valuePositions[leaf] != columns[leaf].values.count {
        throw ParquetError(column: leaves[leaf].path, message: "the column holds \(columns[leaf].entryCount) entries and "
          + "\(columns[leaf].values.count) values, but the row group's \(rowCount) rows use \(entryPositions[leaf]) and "
          + "\(valuePositions[leaf])")
      }
    }
  }

  // MARK: Levels

  private func definitionLevel(_ leaf: Int, of node: SchemaNode) throws -> Int {
    let position = entryPositions[leaf]
    let column = columns[leaf]
    guard position < column.entryCount else {
      throw ParquetError(column: node.path, message: "the column ends before the row group's last row")
    }
    return column.definitionLevels.isEmpty ? 0 : Int(column.definitionLevels[position])
  }

  /// The repetition level of the leaf's next entry; nil when the column is used up.
  private func repetitionLevel(_ leaf: Int) throws -> Int? {
    let position = entryPositions[leaf]
    let column = columns[leaf]
    guard position < column.entryCount else { return nil }
    return column.repetitionLevels.isEmpty ? 0 : Int(column.repetitionLevels[position])
  }

  /// Consumes one entry (a null or an empty list at `node`) in every column under `node`.
  private mutating func skipEntry(_ node: SchemaNode) {
    for leaf in node.leafRange { entryPositions[leaf] += 1 }
  }

  // MARK: Assembly

  /// One occurrence of a field inside a present parent.
  private mutating func field(_ node: SchemaNode) throws -> ParquetValue {
    if node.repetition == .repeated { return .list(try elements(node, unwrapping: false)) }  // a bare repeated field
    if node.repetition == .optional {
      if try definitionLevel(node.leafRange.lowerBound, of: node) < node.definitionLevel {
        skipEntry(node)
        return .null
      }
    }
    return try present(node)
  }

  /// The value of a node known to be defined at its own level.
  private mutating func present(_ node: SchemaNode) throws -> ParquetValue {
    let first = node.leafRange.lowerBound
    if node.isLeaf {
      guard try definitionLevel(first, of: node) == node.definitionLevel else {
        throw ParquetError(column: node.path, message: "definition levels disagree with the column's parents")
      }
      let position = valuePositions[first]
      guard position < columns[first].values.count else {
        throw ParquetError(column: node.path, message: "the definition levels announce more values than the column holds")
      }
      valuePositions[first] += 1
      entryPositions[first] += 1
      return columns[first].values[position]
    }
    if node.children.count == 1, node.children[0].repetition == .repeated {
      let repeated = node.children[0]
      if node.isListAnnotated {
        // LogicalTypes.md: a repeated group with one field is the element's wrapper, unless it is called "array"
        // or "<list>_tuple" (two-level lists written by old tools), where the group itself is the element.
        let unwrapping = !repeated.isLeaf && repeated.children.count == 1 && repeated.name != "array"
          && repeated.name != node.name + "_tuple"
        return .list(try elements(repeated, unwrapping: unwrapping))
      }
      if node.isMapAnnotated && repeated.children.count == 2 {
        var entries: [(key: ParquetValue, value: ParquetValue)] = []
        for entry in try elements(repeated, unwrapping: false) {
          guard case .record(let pair) = entry else { continue }
          entries.append((pair[0].value, pair[1].value))
        }
        return .map(entries)
      }
    }
    var members: [(name: String, value: ParquetValue)] = []
    members.reserveCapacity(node.children.count)
    for child in node.children { members.append((child.name, try field(child))) }
    return .record(members)
  }

  /// The elements of a repeated node: none when the first entry says the list is empty, else one per entry until
  /// an entry's repetition level is shallower than the node's.
  private mutating func elements(_ node: SchemaNode, unwrapping: Bool) throws -> [ParquetValue] {
    let first = node.leafRange.lowerBound
    if try definitionLevel(first, of: node) < node.definitionLevel {
      skipEntry(node)
      return []
    }
    var items: [ParquetValue] = []
    while true {
      items.append(unwrapping ? try field(node.children[0]) : try present(node))
      guard let repetition = try repetitionLevel(first) else { break }
      if repetition < node.repetitionLevel { break }
      guard repetition == node.repetitionLevel else {
        throw ParquetError(column: node.path, message: "repetition level \(repetition) continues a list deeper than \(node.repetitionLevel)")
      }
    }
    return items
  }
}
