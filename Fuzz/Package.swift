// swift-tools-version: 6.1
// SwiftLVS fuzz targets: a separate package so the main build and `swift test` never compile
// with fuzzer flags. Each `Fuzz*` executable is one libFuzzer target (it defines
// LLVMFuzzerTestOneInput and no main); build and run them with `Scripts/fuzz.sh`, which
// passes `--sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address` (Docs/fuzzing.md).
// `FuzzSeeds` writes the seed corpora under Corpus/ and is built without sanitizers.
import PackageDescription

let package = Package(
    name: "SwiftLVSFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "SwiftLVS", path: ".."),
    ],
    targets: [
        // The frame target's input format and its director configurations, shared with the
        // seed writer so seeds and target agree on every byte.
        .target(
            name: "FrameInput",
            dependencies: [
                .product(name: "Core", package: "SwiftLVS"),
                .product(name: "Wire", package: "SwiftLVS"),
            ]
        ),
        // lvsd's side of the control socket in process (AdminResponder over a small director).
        .target(
            name: "AdminHarness",
            dependencies: [
                .product(name: "Control", package: "SwiftLVS"),
                .product(name: "Core", package: "SwiftLVS"),
            ]
        ),
        // Director.process / process(batch:) in every forwarding method, IPv4 and IPv6.
        .executableTarget(name: "FuzzFrame", dependencies: ["FrameInput"]),
        // Health's HTTP response reader (HTTP_GET / SSL_GET), fed in chunks.
        .executableTarget(name: "FuzzHTTPResponse", dependencies: [.product(name: "Health", package: "SwiftLVS")]),
        // keepalived.conf → DirectorConfig → a director built from it.
        .executableTarget(
            name: "FuzzKeepalived",
            dependencies: [
                .product(name: "Control", package: "SwiftLVS"),
                .product(name: "Core", package: "SwiftLVS"),
            ]
        ),
        // The rules file (ipvsadm -S lines plus SwiftLVS's) → DirectorConfig, saved and read back.
        .executableTarget(
            name: "FuzzRules",
            dependencies: [
                .product(name: "Control", package: "SwiftLVS"),
                .product(name: "Core", package: "SwiftLVS"),
            ]
        ),
        // lvsadm's argv (and -R's standard input) against an in-process lvsd side.
        .executableTarget(
            name: "FuzzLvsadm",
            dependencies: [
                "AdminHarness",
                .product(name: "Control", package: "SwiftLVS"),
                .product(name: "Core", package: "SwiftLVS"),
            ]
        ),
        // A control-socket frame as lvsd reads it: header, JSON request, AdminResponder;
        // and a response frame as lvsadm reads and renders it.
        .executableTarget(
            name: "FuzzControlMessage",
            dependencies: [
                "AdminHarness",
                .product(name: "Control", package: "SwiftLVS"),
                .product(name: "Core", package: "SwiftLVS"),
            ]
        ),
        // A VRRP advertisement's bytes into a VRRPRouter (v2, v3, IPv6, unicast), timers between.
        .executableTarget(name: "FuzzVRRP", dependencies: [
            .product(name: "VRRP", package: "SwiftLVS"),
            .product(name: "Wire", package: "SwiftLVS"),
        ]),
        // `lvsd realserver`'s IPIP decapsulator: whole frames into TunnelDecapsulation.
        .executableTarget(name: "FuzzTunnel", dependencies: [.product(name: "Core", package: "SwiftLVS")]),
        // Writes Corpus/<target>/ (run without sanitizers: `swift run FuzzSeeds`).
        .executableTarget(
            name: "FuzzSeeds",
            dependencies: [
                "FrameInput",
                "AdminHarness",
                .product(name: "Control", package: "SwiftLVS"),
                .product(name: "Core", package: "SwiftLVS"),
                .product(name: "Wire", package: "SwiftLVS"),
                .product(name: "PacketBuilder", package: "SwiftLVS"),
            ]
        ),
    ]
)
