// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "swift-batch",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Batch", targets: ["Batch"]),
        .library(name: "BatchFiles", targets: ["BatchFiles"]),
        .library(name: "BatchPostgres", targets: ["BatchPostgres"]),
        .library(name: "BatchRabbitMQ", targets: ["BatchRabbitMQ"]),
        .library(name: "BatchServer", targets: ["BatchServer"]),
        .library(name: "BatchWorker", targets: ["BatchWorker"]),
        .library(name: "BatchTestKit", targets: ["BatchTestKit"]),
        .executable(name: "swiftbatch", targets: ["swiftbatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // The engine: jobs, steps, parameters, records, the repository protocol, the operator. No I/O of its own.
        .target(
            name: "Batch",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "BatchTestKit",
            dependencies: [
                "Batch", "BatchPostgres", "BatchRabbitMQ", "BatchWorker",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BatchTests",
            dependencies: [
                "Batch", "BatchTestKit", .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),

        // Files: CSV, TSV and JSON Lines readers and writers, gzip, checksums.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "BatchFiles",
            dependencies: ["Batch", "CZlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BatchFilesTests",
            dependencies: ["Batch", "BatchFiles", "BatchTestKit"],
            swiftSettings: strict
        ),

        // PostgreSQL through libpq: the job repository, the chunk transaction, readers and writers.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(
            name: "BatchPostgres",
            dependencies: ["Batch", "CLibPQ", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BatchPostgresTests",
            dependencies: [
                "Batch", "BatchPostgres", "BatchTestKit", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // RabbitMQ through librabbitmq: connection, consumers, confirms, the wire protocol.
        .systemLibrary(name: "CRabbitMQ", pkgConfig: "librabbitmq", providers: [.apt(["librabbitmq-dev"])]),
        .target(name: "CRabbitMQShim", dependencies: ["CRabbitMQ"]),
        .target(
            name: "BatchRabbitMQ",
            dependencies: [
                "Batch", "CRabbitMQ", "CRabbitMQShim", .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BatchRabbitMQTests",
            dependencies: [
                "BatchRabbitMQ", "Batch", "BatchTestKit",
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),

        // HTTP: the operators' JSON API and dashboard (`swiftbatch server`) and the workers' Prometheus endpoint.
        .target(
            name: "BatchServer",
            dependencies: [
                "Batch", "BatchPostgres", "BatchRabbitMQ",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Dashboard"), .copy("openapi.json")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BatchServerTests",
            dependencies: [
                "Batch", "BatchPostgres", "BatchRabbitMQ", "BatchServer", "BatchTestKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // The worker service and the CLI, and the example executable with the demo jobs.
        .target(
            name: "BatchWorker",
            dependencies: [
                "Batch", "BatchPostgres", "BatchRabbitMQ", "BatchServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "swiftbatch",
            dependencies: ["BatchWorker", "Batch", "BatchFiles", "BatchPostgres"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BatchWorkerTests",
            dependencies: [
                "Batch", "BatchPostgres", "BatchRabbitMQ", "BatchWorker", "BatchTestKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
