// swift-tools-version:6.0
// ORPOQuickstart — a package of your own that uses orpo-swift's ORPOKit: load a model, train a few ORPO steps,
// save the LoRA adapter. See README "ORPOKit in your own package" (at the repository root) for libtorch set-up.
import PackageDescription

let package = Package(
  name: "ORPOQuickstart",
  platforms: [.macOS(.v14)],
  dependencies: [
    // In this repository, by path. From your own package, by URL:
    //   .package(url: "https://github.com/<owner>/orpo-swift", from: "<version>"),
    .package(name: "orpo-swift", path: "../.."),
  ],
  targets: [
    .executableTarget(name: "ORPOQuickstart", dependencies: [.product(name: "ORPOKit", package: "orpo-swift")]),
  ],
  swiftLanguageModes: [.v5]
)
