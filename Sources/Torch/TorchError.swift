// TorchError.swift — the one error type the shim's failures become, and the `checked` helpers every call uses.
import CTorch
import Foundation

/// A libtorch operation failed. Carries libtorch's message, the operation and the shapes it was given.
public struct TorchError: Error, CustomStringConvertible, Equatable {
  public var operation: String
  public var message: String
  public var operands: [String]

  public init(operation: String, message: String, operands: [String] = []) {
    self.operation = operation
    self.message = message
    self.operands = operands
  }

  public var description: String {
    let ops = operands.isEmpty ? "" : " on " + operands.joined(separator: ", ")
    return "\(operation)\(ops): \(message)"
  }
}

/// The last error the shim recorded on this thread (first line only: libtorch's messages can be long).
func lastShimError() -> String {
  let raw = String(cString: ct_last_error())
  return raw.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Runs a shim call that returns a status; a non-zero status becomes a `TorchError` naming the operands.
@inline(__always)
func checked(_ operation: @autoclosure () -> String, _ operands: [Tensor] = [], _ call: () -> Int32) throws {
  if call() != 0 {
    throw TorchError(operation: operation(), message: lastShimError(), operands: operands.map { $0.summary })
  }
}

/// Runs a shim call that yields one new tensor through an out-parameter.
@inline(__always)
func produce(_ operation: @autoclosure () -> String, _ a: Tensor? = nil, _ b: Tensor? = nil, _ c: Tensor? = nil,
             _ call: (UnsafeMutablePointer<ct_tensor?>) -> Int32) throws -> Tensor {
  var out: ct_tensor?
  let status = withExtendedLifetime((a, b, c)) { call(&out) }
  guard status == 0, let handle = out else {
    throw TorchError(operation: operation(), message: lastShimError(),
                     operands: [a, b, c].compactMap { $0?.summary })
  }
  return Tensor(handle: handle)
}

/// Runs a shim call that yields two tensors (values and indices).
@inline(__always)
func producePair(_ operation: @autoclosure () -> String, _ a: Tensor,
                 _ call: (UnsafeMutablePointer<ct_tensor?>, UnsafeMutablePointer<ct_tensor?>) -> Int32) throws
  -> (Tensor, Tensor)
{
  var first: ct_tensor?
  var second: ct_tensor?
  let status = withExtendedLifetime(a) { call(&first, &second) }
  guard status == 0, let f = first, let s = second else {
    throw TorchError(operation: operation(), message: lastShimError(), operands: [a.summary])
  }
  return (Tensor(handle: f), Tensor(handle: s))
}

