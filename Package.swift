// swift-tools-version:6.0
// orpo-swift: ORPO fine-tuning of open-weight LLMs, in Swift, on libtorch.
// libtorch comes from the `torch` wheel, installed into .torch/ by scripts/setup.sh (`make setup`).
import PackageDescription
import Foundation

let root = Context.packageDirectory

// How CTorch finds libtorch. SwiftPM refuses unsafeFlags in a package that another package requires by version,
// and keeps only -I, -L and -l from pkg-config, hence two ways:
// - this checkout (the root package, or a path dependency): the install scripts/setup.sh made in .torch/ (or
//   ORPO_TORCH_DIR), by flags: include and library paths, plus rpaths so `orpo` and the test runner find
//   libtorch without LD_LIBRARY_PATH.
// - a checkout SwiftPM or Xcode made for a dependent package (<scratch>/checkouts/orpo-swift), or any build with
//   ORPO_LIBTORCH=pkg-config: the CLibTorch system-library target and pkg-config's `orpo-libtorch`, a .pc file
//   scripts/setup.sh writes (PKG_CONFIG_PATH must name its folder); the program that links it finds libtorch at
//   run time through LD_LIBRARY_PATH or an rpath of its own. README "ORPOKit in your own package".
// Decided from the environment and the checkout's path, never from files on disk: SwiftPM caches the evaluated
// manifest and would not notice a file appearing.
let isDependencyCheckout = URL(fileURLWithPath: root).deletingLastPathComponent().lastPathComponent == "checkouts"
let libtorchFromPkgConfig = Context.environment["ORPO_LIBTORCH"].map { $0 == "pkg-config" } ?? isDependencyCheckout
let torchRoot = Context.environment["ORPO_TORCH_DIR"] ?? "\(root)/.torch/site"
let torchLib = "\(torchRoot)/torch/lib"
let torchInclude = "\(torchRoot)/torch/include"

// Shared by every Swift target (none needed today; one list so a setting is added in one place). Release builds
// use SwiftPM's -O, bounds and overflow checks kept: -Ounchecked, removed after measuring, saved about 2% of the
// instructions of GGUF dequantization and tokenizer encoding, not worth unchecked parsers of untrusted files.
let swiftSettings: [SwiftSetting] = []

// libFuzzer harnesses (Fuzz/), one executable per parser, declared only when ORPO_FUZZ is set: `make fuzz` builds
// them in .build-fuzz with `-sanitize=fuzzer,address` on every Swift module, so `swift build` and CI never see them.
// Each harness is one main.swift handing its test function to libFuzzer's driver (FuzzDriver).
let fuzzHarnesses: [(name: String, dependencies: [Target.Dependency])] = [
  ("FuzzJSON", ["Support"]), ("FuzzGGUF", ["GGUF", "Support", "Tokenization"]), ("FuzzSafeTensors", ["Torch"]),
  ("FuzzTokenizer", ["Tokenization"]), ("FuzzChatTemplate", ["ChatTemplates"]), ("FuzzParquet", ["Parquet"]),
]
let fuzzTargets: [Target] = Context.environment["ORPO_FUZZ"] == nil ? [] : [
  .target(name: "FuzzDriver", path: "Fuzz/Driver")
] + fuzzHarnesses.map { harness in
  .executableTarget(name: harness.name, dependencies: harness.dependencies + ["FuzzDriver"],
                    path: "Fuzz/\(harness.name.dropFirst(4))")
}

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
    // extern "C" shim over libtorch (C++20), the only target that sees C++. Through pkg-config: the paths
    // CLibTorch carries. From this checkout: libtorch's headers as system headers; -O2 in debug builds too, so the
    // tests call an optimised shim; rpaths to the install it was built against and to ../lib/torch beside the
    // binary (a carried binary, see README "GPUs").
    libtorchFromPkgConfig
      ? .target(
        name: "CTorch", dependencies: ["CLibTorch"], cxxSettings: [.headerSearchPath("gloo-declarations")],
        linkerSettings: [.linkedLibrary("torch_cpu"), .linkedLibrary("c10"), .linkedLibrary("dl")])
      : .target(
        name: "CTorch",
        cxxSettings: [
          .headerSearchPath("gloo-declarations"),  // distributed.cpp: the gloo names c10d's headers mention
          .unsafeFlags(["-isystem", torchInclude, "-isystem", "\(torchInclude)/torch/csrc/api/include", "-O2"]),
        ],
        linkerSettings: [
          .unsafeFlags(["-L\(torchLib)", "-Xlinker", "-rpath", "-Xlinker", torchLib,
                        "-Xlinker", "-rpath", "-Xlinker", "$ORIGIN/../lib/torch"]),
          .linkedLibrary("torch_cpu"), .linkedLibrary("c10"), .linkedLibrary("dl"),
        ]),
    // JSON value/parser/writer, memory-mapped files, atomic file and folder writes: the plumbing every module
    // shares. No dependencies, no libtorch.
    .target(name: "Support", swiftSettings: swiftSettings),
    .target(name: "Torch", dependencies: ["CTorch", "Support"], swiftSettings: swiftSettings),
    .target(name: "NN", dependencies: ["Torch"], swiftSettings: swiftSettings),
    // GGUF container: header, metadata, tensor infos, dequantization. Pure Swift, no libtorch.
    .target(name: "GGUF", dependencies: ["Support"], swiftSettings: swiftSettings),
    // Jinja-subset interpreter and chat-template rendering. Pure Swift.
    .target(name: "ChatTemplates", dependencies: ["Support"], swiftSettings: swiftSettings),
    // Byte-level and SentencePiece BPE from tokenizer.json or GGUF metadata. Pure Swift.
    .target(name: "Tokenization", dependencies: ["GGUF", "Support"], swiftSettings: swiftSettings),
    // Parquet reading (footer, pages, encodings, snappy; gzip and zstd from the system libraries). Pure Swift, no libtorch.
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .target(name: "Parquet", dependencies: ["CZlib", "CZstd"], swiftSettings: swiftSettings),
    // Preference records, readers, collation inputs, synthetic data: pure Swift, no libtorch.
    .target(name: "Data", dependencies: ["Support", "Tokenization", "ChatTemplates", "Parquet"], swiftSettings: swiftSettings),
    // Models named by Hub id: found in the Hugging Face cache as huggingface_hub lays it out, downloaded there when
    // missing (URLSession). Pure Swift, no libtorch.
    .target(name: "Hub", dependencies: ["Support"], swiftSettings: swiftSettings),
    .target(name: "Models", dependencies: ["Support", "NN", "GGUF", "Tokenization", "ChatTemplates"], swiftSettings: swiftSettings),
    // Where metrics go: progress on stderr, JSONL rows, TensorBoard event files, MLflow's file store. Pure Swift, no libtorch, so
    // reports and tools read and write runs without it.
    .target(name: "RunMetrics", dependencies: ["Support"], swiftSettings: swiftSettings),
    // Preference accuracy (overall, per family), ROUGE, run readers, SVG plots. Pure Swift, no libtorch: the
    // trainer's evaluation loop tallies its scores here, and reports read runs without libtorch.
    .target(name: "Evaluation", dependencies: ["Support", "RunMetrics"], swiftSettings: swiftSettings),
    .target(name: "Training", dependencies: ["Support", "Hub", "Models", "Data", "RunMetrics", "Evaluation", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings),
    // orpo compare and the generation side of orpo evaluate: pipelines of training stages, measured alike.
    .target(name: "Comparison", dependencies: ["Support", "Training", "Evaluation", "RunMetrics", "Models"], swiftSettings: swiftSettings),
    .target(name: "ORPOKit", dependencies: ["Support", "Hub", "Torch", "NN", "GGUF", "ChatTemplates", "Tokenization", "Data", "Models", "RunMetrics", "Training", "Evaluation", "Comparison"],
            swiftSettings: swiftSettings),
    // Preference-data curation: SQLite store, candidate generation, the comparison server and page, agreement, export.
    .target(name: "Curation",
            dependencies: ["Support", "Models", "Data", "Parquet", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Hummingbird", package: "hummingbird")],
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
    .testTarget(name: "HubTests", dependencies: ["Hub", .product(name: "Hummingbird", package: "hummingbird")],
                resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "ModelsTests", dependencies: ["Models"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "CurationTests", dependencies: ["Curation", .product(name: "GRDB", package: "GRDB.swift")], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "RunMetricsTests", dependencies: ["RunMetrics"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    .testTarget(name: "ComparisonTests", dependencies: ["Comparison", "Evaluation", "Training", "CZlib"],
                swiftSettings: swiftSettings),
    .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"], resources: [.copy("Fixtures")],
                swiftSettings: swiftSettings),
    .testTarget(name: "TrainingTests", dependencies: ["Training"], resources: [.copy("Fixtures")], swiftSettings: swiftSettings),
    // The `orpo` executable run as a process (built beside the tests): help texts, exit codes, messages.
    .testTarget(name: "CLITests", dependencies: ["Models", "Torch"], swiftSettings: swiftSettings),
  ] + (libtorchFromPkgConfig ? [.systemLibrary(name: "CLibTorch", pkgConfig: "orpo-libtorch")] : []) + fuzzTargets,
  // Swift 5 language mode: strict concurrency checking is not on, so libtorch handles pass between threads simply.
  swiftLanguageModes: [.v5],
  cxxLanguageStandard: .cxx20
)
