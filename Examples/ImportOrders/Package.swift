// swift-tools-version:6.1
import PackageDescription

// An application of its own that uses swift-batch: the `import-orders` job and the command line that runs it.
// It depends on swift-batch by path so that it builds against this checkout; a real application writes
// `.package(url: "https://github.com/<owner>/swift-batch", from: "1.0.0")` instead.

let package = Package(
    name: "ImportOrders",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "import-orders", targets: ["ImportOrders"])
    ],
    dependencies: [
        .package(name: "swift-batch", path: "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "ImportOrders",
            dependencies: [
                .product(name: "Batch", package: "swift-batch"),
                .product(name: "BatchFiles", package: "swift-batch"),
                .product(name: "BatchPostgres", package: "swift-batch"),
                .product(name: "BatchWorker", package: "swift-batch"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        )
    ],
    swiftLanguageModes: [.v6]
)
