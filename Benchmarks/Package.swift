// swift-tools-version:6.1
import PackageDescription

// The benchmarks of swift-batch, a package of their own so the product's Package.swift shows only the product.
// Build them in release mode from this folder, for example `swift run -c release BatchBenchmarks 1000000 7`.

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "swift-batch-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-batch", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // What the benchmarks share: the plain chunk loop they measure the engine against, a timed job run, medians.
        .target(
            name: "BenchmarkSupport", dependencies: [.product(name: "Batch", package: "swift-batch")],
            path: "BenchmarkSupport", swiftSettings: strict),
        .executableTarget(
            name: "BatchBenchmarks",
            dependencies: [
                "BenchmarkSupport", .product(name: "Batch", package: "swift-batch"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "BatchBenchmarks", swiftSettings: strict),
        // What metrics, spans and progress cost the chunk step: no-op backends and Prometheus, alternating.
        .executableTarget(
            name: "ObservabilityBenchmarks",
            dependencies: [
                "BenchmarkSupport", .product(name: "Batch", package: "swift-batch"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "ObservabilityBenchmarks", swiftSettings: strict),
        .executableTarget(
            name: "FileBenchmarks",
            dependencies: [
                "BenchmarkSupport", .product(name: "Batch", package: "swift-batch"),
                .product(name: "BatchFiles", package: "swift-batch"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "FileBenchmarks", swiftSettings: strict),
        .executableTarget(
            name: "PostgresBenchmarks",
            dependencies: [
                "BenchmarkSupport", .product(name: "Batch", package: "swift-batch"),
                .product(name: "BatchFiles", package: "swift-batch"),
                .product(name: "BatchPostgres", package: "swift-batch"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "PostgresBenchmarks", swiftSettings: strict),
        // The bare librabbitmq loop the RabbitMQ benchmark compares against: plain C, linked straight to the library.
        .target(
            name: "RabbitMQBareLoop", path: "RabbitMQBareLoop", linkerSettings: [.linkedLibrary("rabbitmq")]),
        .executableTarget(
            name: "RabbitMQBenchmarks",
            dependencies: [
                "BenchmarkSupport", .product(name: "BatchRabbitMQ", package: "swift-batch"), "RabbitMQBareLoop",
            ],
            path: "RabbitMQBenchmarks", swiftSettings: strict),
        .executableTarget(
            name: "WorkerBenchmarks",
            dependencies: [
                "BenchmarkSupport", .product(name: "Batch", package: "swift-batch"),
                .product(name: "BatchPostgres", package: "swift-batch"),
                .product(name: "BatchRabbitMQ", package: "swift-batch"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "WorkerBenchmarks", swiftSettings: strict),
        .executableTarget(
            name: "SchedulerBenchmarks",
            dependencies: [
                .product(name: "Batch", package: "swift-batch"),
                .product(name: "BatchPostgres", package: "swift-batch"),
                .product(name: "BatchRabbitMQ", package: "swift-batch"),
                .product(name: "BatchWorker", package: "swift-batch"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "SchedulerBenchmarks", swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
