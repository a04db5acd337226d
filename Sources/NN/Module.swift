// Module.swift — what every layer is: a `Module` built from a `ParameterSource` at its checkpoint path, which it
// keeps; parameter listings, linear-layer listings (LoRA targets, PEFT names, export) all derive from that path.
import Torch

/// Named parameters, keyed by Hugging Face checkpoint paths (`model.layers.3.self_attn.q_proj.weight`).
public typealias ParameterStore = [String: Tensor]

/// A layer or a block of layers. Each module remembers the checkpoint path it was built under, so the path is
/// written once, where the layer is built (`Linear(weights["q_proj"], …)`), and every listing derives from it.
///
/// Children are found by reflection over stored properties (as mlx-swift's `Module` does): a property holding a
/// module, an array or optional of modules, or a `@LinearSlot` is a child; anything else (tensors, sizes) is not.
public protocol Module: AnyObject {
  /// The checkpoint path this module was built under (`model.layers.0.self_attn.q_proj`); "" for a root.
  var path: String { get }
  /// Tensors this module holds itself, by local name ("weight", "bias"); children report their own.
  var localParameters: [(name: String, tensor: Tensor)] { get }
}

extension Module {
  public var localParameters: [(name: String, tensor: Tensor)] { [] }

  /// Direct children, in declaration order.
  public var children: [any Module] {
    var found: [any Module] = []
    for child in Mirror(reflecting: self).children { collectModules(child.value, into: &found) }
    return found
  }

  /// This module and every module under it, depth first in declaration order.
  public var modules: [any Module] {
    var all: [any Module] = [self]
    for child in children { all += child.modules }
    return all
  }

  /// Every parameter by its checkpoint key, in declaration order. A tensor shared by two modules (a tied lm_head)
  /// is listed once, under its first key, as PyTorch's `named_parameters()` and Hugging Face's safetensors do.
  /// Adapter weights are not checkpoint parameters: see `loraLayers`.
  public func namedParameters() -> [(key: String, tensor: Tensor)] {
    var seen = Set<ObjectIdentifier>()
    var result: [(key: String, tensor: Tensor)] = []
    for module in modules {
      for (name, tensor) in module.localParameters where seen.insert(ObjectIdentifier(tensor)).inserted {
        result.append((module.path.isEmpty ? name : "\(module.path).\(name)", tensor))
      }
    }
    return result
  }

  /// `namedParameters()` as a dictionary.
  public var parameters: ParameterStore { Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.key, $0.tensor) }) }

  /// Every `@LinearSlot` under this module, in declaration order: the layers LoRA can wrap and a quantized layer
  /// can stand in. A slot's layer may itself be a wrapper (`LoRALinear`); its base is not listed again.
  public var linearSlots: [LinearSlot] {
    var slots: [LinearSlot] = []
    visitSlots { slots.append($0) }
    return slots
  }

  /// Every linear layer with its module path (`model.layers.0.self_attn.q_proj`, …, `lm_head`).
  public var linearLayers: [(path: String, layer: any LinearLayer)] {
    linearSlots.map { ($0.wrappedValue.path, $0.wrappedValue) }
  }

  private func visitSlots(_ body: (LinearSlot) -> Void) {
    for child in Mirror(reflecting: self).children {
      if let slot = child.value as? LinearSlot {
        body(slot)
      } else {
        var found: [any Module] = []
        collectModules(child.value, into: &found)
        for module in found { module.visitSlots(body) }
      }
    }
  }
}

/// Modules inside one stored property's value: the module itself, a slot's layer, or the elements of an array or
/// optional.
private func collectModules(_ value: Any, into found: inout [any Module]) {
  if let slot = value as? LinearSlot {
    found.append(slot.wrappedValue)
  } else if let module = value as? any Module {
    found.append(module)
  } else {
    let mirror = Mirror(reflecting: value)
    guard mirror.displayStyle == .collection || mirror.displayStyle == .optional else { return }
    for element in mirror.children { collectModules(element.value, into: &found) }
  }
}

/// A linear layer a module holds, replaceable in place: LoRA wraps what is there, merging unwraps it, and a
/// quantized layer can stand where a dense one was (mlx-swift's `@ModuleInfo`, for linear layers).
@propertyWrapper public final class LinearSlot {
  public var wrappedValue: any LinearLayer
  public init(wrappedValue: any LinearLayer) { self.wrappedValue = wrappedValue }
}

/// A checkpoint's tensors seen from one module path (candle's `VarBuilder`): `weights["model"]["layers"][3]`
/// names `model.layers.3`; a layer built from it keeps that path and reads its tensors under it. Tensors are looked
/// up one at a time as layers are built, so a loader can read (and quantize) a checkpoint tensor by tensor, and
/// `linear(_:shape:bias:)` builds whatever linear layer the loader makes (dense unless it quantizes).
public struct ParameterSource {
  /// Builds the linear layer under a source: (source, expected [out, in] or nil, has a bias).
  public typealias LinearFactory = (ParameterSource, [Int]?, Bool) throws -> any LinearLayer

  /// The tensor stored under a full key, or nil.
  let lookup: (String) throws -> Tensor?
  let linearFactory: LinearFactory?
  public let path: String

  public init(_ tensors: ParameterStore, path: String = "") {
    self.init(path: path, lookup: { tensors[$0] })
  }

  /// A source that reads each tensor when a layer asks for it; `linear` makes the linear layers (nil: dense).
  public init(path: String = "", lookup: @escaping (String) throws -> Tensor?, linear: LinearFactory? = nil) {
    self.lookup = lookup
    self.linearFactory = linear
    self.path = path
  }

  /// The source one level down: `path.key`.
  public subscript(_ key: String) -> ParameterSource {
    ParameterSource(path: path.isEmpty ? key : "\(path).\(key)", lookup: lookup, linear: linearFactory)
  }

  /// The source of the `index`-th element of a list of layers: `path.index`.
  public subscript(_ index: Int) -> ParameterSource { self[String(index)] }

  /// The tensor `path.name`, or an error naming the missing key; with `shape`, also an error when it differs.
  public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
    let key = self[name].path
    guard let t = try lookup(key) else { throw NNError("checkpoint has no tensor \"\(key)\"") }
    if let shape, t.shape != shape {
      throw NNError("tensor \"\(key)\" has shape \(t.shape), expected \(shape)")
    }
    return t
  }

  /// Whether the checkpoint has `path.name`.
  public func contains(_ name: String) throws -> Bool { try lookup(self[name].path) != nil }

  /// The linear layer `path.name` ([out, in] = `shape` when given): a dense `Linear`, or what the loader's factory
  /// builds there (a quantized layer).
  public func linear(_ name: String, shape: [Int]? = nil, bias: Bool = false) throws -> any LinearLayer {
    let source = self[name]
    if let linearFactory { return try linearFactory(source, shape, bias) }
    return try Linear(source, shape: shape, bias: bias)
  }
}

/// Why a layer could not be built, loaded, adapted or run: what was being done, on which key, what was expected.
public struct NNError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }
}
