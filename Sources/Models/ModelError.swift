// ModelError.swift — the one error type of the Models layer (checkpoints, models, adapters, export, generation):
// the message says what was being done, on which file or key, and what was expected.
import Foundation
import NN
import Torch

public struct ModelError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }

  /// Runs `body`; an error from a layer below (NN, Torch, safetensors) comes back as a ModelError whose message
  /// starts with `context` ("model.safetensors: …"); a ModelError passes through, also prefixed.
  public static func context<R>(_ context: String, _ body: () throws -> R) throws -> R {
    do { return try body() } catch let error as ModelError {
      throw context.isEmpty ? error : ModelError("\(context): \(error.description)")
    } catch let error as NNError {
      throw ModelError(context.isEmpty ? error.description : "\(context): \(error.description)")
    } catch let error as TorchError {
      throw ModelError(context.isEmpty ? error.description : "\(context): \(error.description)")
    } catch let error as SafeTensorsError {
      throw ModelError(context.isEmpty ? "\(error)" : "\(context): \(error)")
    }
  }
}
