// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "swift-batch",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Batch", targets: ["Batch"]),
        .library(name: "BatchPostgres", targets: ["BatchPostgres"]),
        .library(name: "BatchRabbitMQ", targets: ["BatchRabbitMQ"]),
        .library(name: "BatchWorker", targets: ["BatchWorker"]),
        .executable(name: "swiftbatch", targets: ["swiftbatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "Batch",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                "CZlib",
            ],
            swiftSettings: strict
        ),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "BatchTestKit",
            dependencies: ["Batch"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BatchTests",
            dependencies: ["Batch", "BatchTestKit", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // -- PostgreSQL targets (CLibPQ, BatchPostgres, BatchPostgresTests) go here --
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "BatchPostgres",
            dependencies: [
                "Batch",
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BatchPostgresTests",
            dependencies: [
                "Batch", "BatchPostgres", "BatchTestKit", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "PostgresBenchmarks",
            dependencies: ["Batch", "BatchPostgres", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/PostgresBenchmarks",
            swiftSettings: strict
        ),
        // -- RabbitMQ targets (CRabbitMQ, CRabbitMQShim, BatchRabbitMQ, BatchRabbitMQTests) go here --
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .target(name: "CRabbitMQShim", dependencies: ["CRabbitMQ"]),
        .target(
            name: "BatchRabbitMQ",
            dependencies: [
                "Batch", "CRabbitMQ", "CRabbitMQShim",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BatchRabbitMQTests",
            dependencies: ["BatchRabbitMQ", "Batch"],
            swiftSettings: strict
        ),
        .target(name: "RabbitMQBareLoop", dependencies: ["CRabbitMQ"], path: "Benchmarks/RabbitMQBareLoop"),
        .executableTarget(
            name: "RabbitMQBenchmarks",
            dependencies: ["BatchRabbitMQ", "RabbitMQBareLoop"],
            path: "Benchmarks/RabbitMQBenchmarks",
            swiftSettings: strict
        ),
        .target(
            name: "BatchWorker",
            dependencies: [
                "Batch", "BatchPostgres", "BatchRabbitMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "swiftbatch",
            dependencies: ["BatchWorker", "Batch", "BatchPostgres"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BatchWorkerTests",
            dependencies: [
                "Batch", "BatchPostgres", "BatchRabbitMQ", "BatchWorker",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "WorkerBenchmarks",
            dependencies: ["Batch", "BatchPostgres", "BatchRabbitMQ", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/WorkerBenchmarks",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "FileBenchmarks",
            dependencies: ["Batch", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/FileBenchmarks",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "BatchBenchmarks",
            dependencies: ["Batch", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/BatchBenchmarks",
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
