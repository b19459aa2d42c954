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
        // Already in the graph through benchmark; named here so the packet loops can read the
        // interposer's counters themselves (mallocs inside the loop only, no harness noise).
        .package(url: "https://github.com/ordo-one/malloc-interposer.git", from: "1.6.1"),
    ],
    targets: [
        // The lab, frame writer and replay loops every benchmark and the profile driver share.
        .target(
            name: "DirectorWorkload",
            dependencies: [
                .product(name: "Core", package: "SwiftLVS"),
                .product(name: "Wire", package: "SwiftLVS"),
                // Frames with options and payloads for the stream scenarios (StreamWorkload).
                .product(name: "PacketBuilder", package: "SwiftLVS"),
            ]
        ),
        // The data-path benchmarks (ordo-one/benchmark discovers Benchmarks/<Name>/).
        .executableTarget(
            name: "DirectorBenchmarks",
            dependencies: [
                "DirectorWorkload",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
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
        // A plain loop over one scenario for perf/callgrind (no benchmark harness in the profile).
        .executableTarget(name: "ProfileDriver", dependencies: ["DirectorWorkload"]),
    ]
)
