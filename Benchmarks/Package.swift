// swift-tools-version: 6.1
// SwiftLVS benchmarks: a separate package so the main build and CI never pay for
// ordo-one/benchmark. Run with `swift package --disable-sandbox benchmark` from this
// directory, or `Scripts/bench.sh` from the repository root.
import PackageDescription

let package = Package(
    name: "SwiftLVSBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "SwiftLVS", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The data-path benchmarks (ordo-one/benchmark discovers Benchmarks/<Name>/).
        .executableTarget(
            name: "DirectorBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Core", package: "SwiftLVS"),
                .product(name: "Wire", package: "SwiftLVS"),
            ],
            path: "Benchmarks/DirectorBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Table memory per connection and the RSS a 1M-capacity director costs.
        .executableTarget(
            name: "TableFootprint",
            dependencies: [
                .product(name: "Core", package: "SwiftLVS"),
                .product(name: "Wire", package: "SwiftLVS"),
            ],
            path: "Sources/TableFootprint"
        ),
    ]
)
