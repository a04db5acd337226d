// Collation.swift — preference pairs to one padded batch, as TRL's DPODataCollatorWithPadding followed by
// ORPOTrainer.concatenated_inputs: right padding (ids -> pad id, mask -> 0, labels -> -100), chosen rows first.
import Data
import Torch

public struct PairCollator {
  public let padTokenID: Int
  public let device: Device

  public init(padTokenID: Int, device: Device = .cpu) {
    self.padTokenID = padTokenID
    self.device = device
  }

  public func callAsFunction(_ pairs: [EncodedPair]) throws -> PairBatch {
    let rows = pairs.map(\.chosenIDs) + pairs.map(\.rejectedIDs)
    let labels = pairs.map(\.chosenLabels) + pairs.map(\.rejectedLabels)
    let length = rows.map(\.count).max() ?? 0
    var ids = [Int64](), mask = [Int64](), lab = [Int64]()
    ids.reserveCapacity(rows.count * length)
    for (row, label) in zip(rows, labels) {
      let pad = length - row.count
      ids += row.map(Int64.init) + Array(repeating: Int64(padTokenID), count: pad)
      mask += Array(repeating: 1, count: row.count) + Array(repeating: 0, count: pad)
      lab += label.map(Int64.init) + Array(repeating: -100, count: pad)
    }
    let shape = [rows.count, length]
    return PairBatch(inputIDs: try Tensor(ids, shape: shape).to(device),
                     attentionMask: try Tensor(mask, shape: shape).to(device),
                     labels: try Tensor(lab, shape: shape).to(device),
                     pairs: pairs.count, realTokens: rows.reduce(0) { $0 + $1.count })
  }
}
