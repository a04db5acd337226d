// The BPE model: vocabulary, ranked merges applied lowest-rank-first with a priority queue (as `tokenizers`'
// Word::merge_all does), byte fallback to <0xNN> tokens, unknown-token fusing, and a per-word cache.
import Foundation

final class BPEModel {
  /// token -> id (byte-exact keys).
  let vocabulary: [ExactString: Int]
  /// id -> token for ids the model owns.
  let tokensByID: [Int: String]
  /// The largest id the model owns (-1 when empty).
  let largestID: Int
  let unknownToken: String?
  let fuseUnknown: Bool
  let byteFallback: Bool
  let ignoreMerges: Bool
  let continuingSubwordPrefix: String?
  let endOfWordSuffix: String?

  struct Merge { let rank: Int32; let newID: Int32 }
  /// (left id << 32 | right id) -> rank and merged id (read by Tokenizer+Export to write the merges back out).
  let merges: [UInt64: Merge]
  /// Ids of single-character tokens, for the fast path.
  private let scalarIDs: [UInt32: Int32]
  /// Ids of <0x00>…<0xFF> when present.
  private let byteIDs: [Int32?]
  private let unknownID: Int?

  private var cache: [ExactString: [Int]] = [:]
  private let cacheCapacity = 50_000
  private let cacheLock = NSLock()

  /// - Parameter merges: pairs in rank order (rank = position).
  init(vocabulary: [(String, Int)], merges pairs: [(String, String)], unknownToken: String?, fuseUnknown: Bool,
       byteFallback: Bool, ignoreMerges: Bool, continuingSubwordPrefix: String? = nil,
       endOfWordSuffix: String? = nil) throws {
    var vocab: [ExactString: Int] = [:]
    vocab.reserveCapacity(vocabulary.count)
    var byID: [Int: String] = [:]
    byID.reserveCapacity(vocabulary.count)
    var scalars: [UInt32: Int32] = [:]
    for (token, id) in vocabulary {
      vocab[ExactString(token)] = id
      byID[id] = token
      var it = token.unicodeScalars.makeIterator()
      if let first = it.next(), it.next() == nil { scalars[first.value] = Int32(id) }
    }
    var table: [UInt64: Merge] = [:]
    table.reserveCapacity(pairs.count)
    let prefixLength = continuingSubwordPrefix?.utf8.count ?? 0
    for (rank, (a, b)) in pairs.enumerated() {
      guard let left = vocab[ExactString(a)] else { throw BPEModelError.mergeTokenMissing(a) }
      guard let right = vocab[ExactString(b)] else { throw BPEModelError.mergeTokenMissing(b) }
      let mergedText = prefixLength > 0 && b.utf8.starts(with: continuingSubwordPrefix!.utf8)
        ? a + String(decoding: Array(b.utf8.dropFirst(prefixLength)), as: UTF8.self) : a + b
      guard let merged = vocab[ExactString(mergedText)] else { throw BPEModelError.mergeTokenMissing(mergedText) }
      table[UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))] = Merge(rank: Int32(rank), newID: Int32(merged))
    }
    var bytes = [Int32?](repeating: nil, count: 256)
    if byteFallback {
      for b in 0..<256 {
        let name = "<0x" + String(format: "%02X", b) + ">"
        if let id = vocab[ExactString(name)] { bytes[b] = Int32(id) }
      }
    }
    self.vocabulary = vocab
    self.tokensByID = byID
    self.largestID = byID.keys.max() ?? -1
    self.merges = table
    self.scalarIDs = scalars
    self.byteIDs = bytes
    self.unknownToken = unknownToken
    self.unknownID = unknownToken.flatMap { vocab[ExactString($0)] }
    self.fuseUnknown = fuseUnknown
    self.byteFallback = byteFallback
    self.ignoreMerges = ignoreMerges
    self.continuingSubwordPrefix = continuingSubwordPrefix
    self.endOfWordSuffix = endOfWordSuffix
  }

  func id(of token: String) -> Int? { vocabulary[ExactString(token)] }

  /// Token ids for one pre-tokenized word.
  func tokenize(_ word: [Unicode.Scalar]) -> [Int] {
    if word.isEmpty { return [] }
    let key = ExactString(String(scalars: word))
    if ignoreMerges, let id = vocabulary[key] { return [id] }
    cacheLock.lock()
    let hit = cache[key]
    cacheLock.unlock()
    if let hit { return hit }
    let ids = mergeWord(word)
    cacheLock.lock()
    if cache.count < cacheCapacity { cache[key] = ids }
    cacheLock.unlock()
    return ids
  }

  private func lookUpSymbol(_ scalar: Unicode.Scalar, isFirst: Bool, isLast: Bool) -> Int? {
    if continuingSubwordPrefix == nil && endOfWordSuffix == nil {
      return scalarIDs[scalar.value].map(Int.init)
    }
    var text = String(scalar)
    if !isFirst, let prefix = continuingSubwordPrefix { text = prefix + text }
    if isLast, let suffix = endOfWordSuffix { text += suffix }
    return vocabulary[ExactString(text)]
  }

  /// `BPE::merge_word`: initial symbols (with byte fallback / unknown handling), then all merges.
  private func mergeWord(_ word: [Unicode.Scalar]) -> [Int] {
    var symbols: [Int32] = []
    symbols.reserveCapacity(word.count)
    var pendingUnknown = false
    for (index, scalar) in word.enumerated() {
      if let id = lookUpSymbol(scalar, isFirst: index == 0, isLast: index == word.count - 1) {
        if pendingUnknown, let unknownID { symbols.append(Int32(unknownID)) }
        pendingUnknown = false
        symbols.append(Int32(id))
        continue
      }
      if byteFallback {
        let bytes = Array(String(scalar).utf8)
        let ids = bytes.map { byteIDs[Int($0)] }
        if ids.allSatisfy({ $0 != nil }) {
          // Hugging Face adds byte tokens without flushing a pending unknown first.
          for id in ids { symbols.append(id!) }
          continue
        }
      }
      if let unknownID {
        if pendingUnknown && !fuseUnknown { symbols.append(Int32(unknownID)) }
        pendingUnknown = true
      }
    }
    if pendingUnknown, let unknownID { symbols.append(Int32(unknownID)) }
    if symbols.count < 2 || merges.isEmpty { return symbols.map(Int.init) }
    return applyMerges(symbols)
  }

  /// Word::merge_all: pop the lowest (rank, position) pair, merge if still valid, queue the new neighbours.
  private func applyMerges(_ initial: [Int32]) -> [Int] {
    var ids = initial
    let n = ids.count
    var previous = [Int32](repeating: 0, count: n)
    var next = [Int32](repeating: 0, count: n)
    var alive = [Bool](repeating: true, count: n)
    for i in 0..<n { previous[i] = Int32(i - 1); next[i] = i + 1 < n ? Int32(i + 1) : -1 }

    var heap = MergeHeap()
    for i in 0..<(n - 1) {
      if let m = merges[UInt64(UInt32(ids[i])) << 32 | UInt64(UInt32(ids[i + 1]))] {
        heap.push(MergeHeap.Entry(rank: m.rank, position: Int32(i), newID: m.newID))
      }
    }
    while let top = heap.pop() {
      let pos = Int(top.position)
      if !alive[pos] { continue }
      let nextPos = next[pos]
      if nextPos < 0 { continue }
      let right = Int(nextPos)
      guard let m = merges[UInt64(UInt32(ids[pos])) << 32 | UInt64(UInt32(ids[right]))], m.newID == top.newID else {
        continue
      }
      ids[pos] = top.newID
      alive[right] = false
      let afterRight = next[right]
      next[pos] = afterRight
      if afterRight >= 0 { previous[Int(afterRight)] = Int32(pos) }
      let before = previous[pos]
      if before >= 0, let m = merges[UInt64(UInt32(ids[Int(before)])) << 32 | UInt64(UInt32(ids[pos]))] {
        heap.push(MergeHeap.Entry(rank: m.rank, position: before, newID: m.newID))
      }
      if afterRight >= 0, let m = merges[UInt64(UInt32(ids[pos])) << 32 | UInt64(UInt32(ids[Int(afterRight)]))] {
        heap.push(MergeHeap.Entry(rank: m.rank, position: Int32(pos), newID: m.newID))
      }
    }
    var out: [Int] = []
    out.reserveCapacity(n)
    for i in 0..<n where alive[i] { out.append(Int(ids[i])) }
    return out
  }
}

enum BPEModelError: Error { case mergeTokenMissing(String) }

/// A binary min-heap ordered by (rank, position), like `tokenizers`' BinaryHeap<Merge>.
private struct MergeHeap {
  struct Entry { let rank: Int32; let position: Int32; let newID: Int32 }
  private var items: [Entry] = []

  @inline(__always) private static func less(_ a: Entry, _ b: Entry) -> Bool {
    a.rank != b.rank ? a.rank < b.rank : a.position < b.position
  }

  mutating func push(_ e: Entry) {
    items.append(e)
    var child = items.count - 1
    while child > 0 {
      let parent = (child - 1) / 2
      if Self.less(items[child], items[parent]) { items.swapAt(child, parent); child = parent } else { break }
    }
  }

  mutating func pop() -> Entry? {
    guard let first = items.first else { return nil }
    let last = items.removeLast()
    if !items.isEmpty {
      items[0] = last
      var parent = 0
      while true {
        let left = 2 * parent + 1, right = left + 1
        var smallest = parent
        if left < items.count && Self.less(items[left], items[smallest]) { smallest = left }
        if right < items.count && Self.less(items[right], items[smallest]) { smallest = right }
        if smallest == parent { break }
        items.swapAt(parent, smallest)
        parent = smallest
      }
    }
    return first
  }
}
