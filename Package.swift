// swift-tools-version:6.0
// orpo-swift: ORPO fine-tuning of open-weight LLMs, in Swift, on libtorch.
// libtorch comes from the `torch` wheel, installed into .torch/ by scripts/setup.sh (`make setup`).
import PackageDescription
import Foundation

let root = Context.packageDirectory
let torchRoot = Context.environment["ORPO_TORCH_DIR"] ?? "\(root)/.torch/site"
let torchLib = "\(torchRoot)/torch/lib"
let torchInclude = "\(torchRoot)/torch/include"

// Shared by every Swift target: Swift 5 language mode keeps libtorch handles simple to pass around.
let swiftSettings: [SwiftSetting] = [
  .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
]

let package = Package(
  name: "orpo-swift",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "orpo", targets: ["orpo"]),
    .library(name: "ORPOKit", targets: ["ORPOKit"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
    // Curation: SQLite (WAL, migrations) for the annotation store, an HTTP server for the comparison page.
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
  ],
  targets: [
    // extern "C" shim over libtorch (C++20). The only target that sees C++.
    .target(
      name: "CTorch",
      cxxSettings: [
        .unsafeFlags(["-isystem", torchInclude, "-isystem", "\(torchInclude)/torch/csrc/api/include", "-O2",
                      "-Wno-deprecated-declarations"]),
      ],
      linkerSettings: [
        .unsafeFlags(["-L\(torchLib)", "-Xlinker", "-rpath", "-Xlinker", torchLib,
                      "-Xlinker", "-rpath", "-Xlinker", "$ORIGIN/../lib/torch",
                      "-Xlinker", "--no-as-needed"]),
        .linkedLibrary("torch_cpu"), .linkedLibrary("c10"), .linkedLibrary("dl"),
      ]
    ),
    // JSON value/parser/writer, memory-mapped files, atomic file and folder writes: the plumbing every module
    // shares. No dependencies, no libtorch.
    .target(name: "Support", swiftSettings: swiftSettings),
    .target(name: "Torch", dependencies: ["CTorch", "Support"], swiftSettings: swiftSettings),
    .target(name: "NN", dependencies: ["Torch"], swiftSettings: swiftSettings),
    // Tokenizers and chat templates: pure Swift, no libtorch.
    // GGUF container: header, metadata, tensor infos, dequantization. Pure Swift, no libtorch.
    .target(name: "GGUF", dependencies: ["Support"], swiftSettings: swiftSettings),
    // Jinja-subset interpreter and chat-template rendering. Pure Swift.
    .target(name: "ChatTemplates", dependencies: ["Support"], swiftSettings: swiftSettings),
    .target(name: "Tokenization", dependencies: ["GGUF", "Support"], swiftSettings: swiftSettings),
    // Parquet reading (footer, pages, encodings, snappy; gzip and zstd from the system libraries). Pure Swift, no libtorch.
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .target(name: "Parquet", dependencies: ["CZlib", "CZstd"], swiftSettings: swiftSettings),
    // Preference records, readers, collation inputs, synthetic data: pure Swift, no libtorch.
    .target(name: "Data", dependencies: ["Support", "Tokenization", "ChatTemplates", "Parquet"], swiftSettings: swiftSettings),
    .target(name: "Models", dependencies: ["Support", "NN", "GGUF", "Tokenization", "ChatTemplates"], swiftSettings: swiftSettings),
    // Where metrics go: progress on stderr, JSONL rows, TensorBoard event files. Pure Swift, no libtorch, so
    // reports and tools read and write runs without it.
    .target(name: "Metrics", dependencies: ["Support"], swiftSettings: swiftSettings),
    // Preference accuracy (overall, per family), ROUGE, run readers, SVG plots. Pure Swift, no libtorch: the
    // trainer's evaluation loop tallies its scores here, and reports read runs without libtorch.
    .target(name: "Evaluation", dependencies: ["Support", "Metrics"], swiftSettings: swiftSettings),
    .target(name: "Training", dependencies: ["Support", "Models", "Data", "Metrics", "Evaluation", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings),
    // orpo compare and the generation side of orpo evaluate: pipelines of training stages, measured alike.
    .target(name: "Comparison", dependencies: ["Support", "Training", "Evaluation", "Metrics", "Models"], swiftSettings: swiftSettings),
    .target(name: "ORPOKit", dependencies: ["Support", "Torch", "NN", "GGUF", "ChatTemplates", "Tokenization", "Data", "Models", "Metrics", "Training", "Evaluation", "Comparison"],
            swiftSettings: swiftSettings),
    // Preference-data curation: SQLite store, candidate generation, the comparison server and page, agreement, export.
    .target(name: "Curation",
            dependencies: ["Support", "Models", "Data", "Parquet", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Hummingbird", package: "hummingbird", moduleAliases: ["Metrics": "SwiftMetrics"])],
            swiftSettings: swiftSettings),
    .executableTarget(
      name: "orpo",
      dependencies: ["ORPOKit", "Curation", "Support", .product(name: "ArgumentParser", package: "swift-argument-parser")],
      swiftSettings: swiftSettings
    ),
    .testTarget(name: "SupportTests", dependencies: ["Support"], resources: [.copy("Fixtures")],
                swiftSettings: swiftSettings),
    .testTarget(name: "TorchTests", dependencies: ["Torch"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "NNTests", dependencies: ["NN"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "TokenizationTests", dependencies: ["Tokenization", "Support"], resources: [.copy("Fixtures")],
                swiftSettings: swiftSettings),
    .testTarget(name: "GGUFTests", dependencies: ["GGUF", "Support"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "ChatTemplatesTests", dependencies: ["ChatTemplates", "Support"], resources: [.copy("Fixtures")],
                swiftSettings: swiftSettings),
    .testTarget(name: "ParquetTests", dependencies: ["Parquet"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "DataTests", dependencies: ["Data"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "ModelsTests", dependencies: ["Models"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "CurationTests", dependencies: ["Curation", .product(name: "GRDB", package: "GRDB.swift")], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "MetricsTests", dependencies: ["Metrics"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "ComparisonTests", dependencies: ["Comparison", "Evaluation", "Training", "CZlib"],
                swiftSettings: swiftSettings),
    .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"], resources: [.copy("Fixtures")],
                swiftSettings: swiftSettings),
    .testTarget(name: "TrainingTests", dependencies: ["Training"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    // The `orpo` executable run as a process (built beside the tests): help texts, exit codes, messages.
    .testTarget(name: "CLITests", dependencies: ["Models"], swiftSettings: swiftSettings),
  ],
  swiftLanguageModes: [.v5],
  cxxLanguageStandard: .cxx20
)
