// ORPOKit — the umbrella library: `import ORPOKit` gives the whole toolkit.
@_exported import ChatTemplates
@_exported import Comparison
@_exported import Data
@_exported import Evaluation
@_exported import GGUF
@_exported import Hub
@_exported import RunMetrics
@_exported import Models
@_exported import NN
@_exported import Support
@_exported import Tokenization
@_exported import Torch
@_exported import Training
