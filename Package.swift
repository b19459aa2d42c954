// swift-tools-version: 6.1
// SwiftLVS: Linux Virtual Server without kernel IPVS.
//
// Layers (see Docs/architecture.md): C shims, POSIX → Wire → Core → Control / PacketIO / Trace → executables.
import PackageDescription

let package = Package(
    name: "SwiftLVS",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Wire", targets: ["Wire"]),
        .library(name: "Core", targets: ["Core"]),
        .library(name: "Control", targets: ["Control"]),
        .library(name: "PacketIO", targets: ["PacketIO"]),
        .library(name: "Trace", targets: ["Trace"]),
        .library(name: "PacketBuilder", targets: ["PacketBuilder"]),
        .library(name: "Health", targets: ["Health"]),
        .library(name: "VRRP", targets: ["VRRP"]),
        .executable(name: "lvsd", targets: ["lvsd"]),
        .executable(name: "lvsadm", targets: ["lvsadm"]),
        .library(name: "AdminSocket", targets: ["AdminSocket"]),
        .library(name: "Lab", targets: ["Lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // C shims: include and wrap only.
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(name: "CNet", providers: [.apt(["libnet1-dev"])]),
        .target(name: "CSupport"),
        // AF_PACKET / TPACKET_V3 structs, macros and ring atomics Glibc lacks.
        .target(name: "CLinuxPacket"),
        // System OpenSSL (TLS for SSL_GET, EVP MD5 for HTTP digests): include and wrap its macros.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // fork/exec for checker and notify scripts (uid/gid, process group, pidfd) Swift cannot do safely.
        .target(name: "CHealth"),

        // The one EINTR/EAGAIN policy for system calls; imports only the C library, so every
        // module that makes system calls can share it without reaching across layers.
        .target(name: "POSIX"),

        // Typed views over bytes someone else owns. Imports nothing.
        .target(name: "Wire"),
        // The director's brain: no syscalls, injected clock.
        .target(
            name: "Core", dependencies: ["Wire", "CSupport"],
            // The Director is a class whose stored properties the data path touches a dozen
            // times per frame; Swift's dynamic exclusivity checks cost 30-76% per packet
            // (Docs/adr/0005). Core never aliases them: checked in debug tests, unchecked in
            // release.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // Text → immutable configuration snapshots (ipvsadm rules, keepalived.conf).
        .target(name: "Control", dependencies: ["Core", "Wire"]),
        // The only module that talks to the kernel or libpcap for packets.
        .target(name: "PacketIO", dependencies: ["CPcap", "CLinuxPacket", "POSIX", "Wire"]),
        // Builds frames from a readable description, for golden tests and sample pcaps.
        .target(name: "PacketBuilder", dependencies: ["Wire"]),
        // Human-readable packet decoding for `lvsd replay --trace`.
        .target(name: "Trace", dependencies: ["Core", "Wire"]),
        // SO_PEERCRED and per-thread setresuid, which Glibc's Swift module lacks.
        .target(name: "CAdminSocket"),
        // capget/capset and the bounding set (prctl), for lvsd to keep only the capabilities it uses.
        .target(name: "CPrivileges"),
        // lvsd's control socket: a Unix-domain server (root only) and client carrying Control's messages.
        .target(name: "AdminSocket", dependencies: ["Control", "CAdminSocket", "POSIX", .product(name: "Logging", package: "swift-log")]),
        // keepalived's checkers, off the packet path: checkers, health state machine, scheduler.
        .target(name: "Health", dependencies: ["Core", "Wire", "COpenSSL", "CHealth", "POSIX"]),
        // keepalived.conf's checker blocks (Control) as a Health plan; neither layer imports the other.
        .target(name: "KeepalivedHealth", dependencies: ["Control", "Health", "Core", "Wire"]),
        // VRRP (RFC 3768, RFC 5798) as keepalived runs it: configuration model and a pure state
        // machine with an injected clock; its socket I/O lives elsewhere.
        .target(name: "VRRP", dependencies: ["Wire"]),
        // keepalived.conf's vrrp_instance / vrrp_script / vrrp_sync_group blocks (Control) as a
        // VRRPConfig; neither layer imports the other.
        .target(name: "KeepalivedVRRP", dependencies: ["Control", "Core", "VRRP", "Wire"]),
        // VRRP running in lvsd: raw protocol-112 sockets, the router's thread, links, scripts.
        .target(name: "VRRPRuntime", dependencies: ["VRRP", "Wire", "POSIX", "Health", .product(name: "Logging", package: "swift-log")]),
        // The live director: worker loop over AF_PACKET rings, ARP via libnet, host settings.
        .target(name: "Engine", dependencies: ["Core", "Wire", "PacketIO", "POSIX", "CNet", .product(name: "Logging", package: "swift-log")]),

        // `lvsd lab`: namespaces, real servers and lvsd itself as a director, driven from outside
        // through processes (it imports no layer above Foundation).
        .target(name: "Lab"),

        // Observability, off the packet path: lvsd's counters as Prometheus metrics, the kernel's
        // /proc/net/ip_vs text for node_exporter, and the web monitor, on their own event loop.
        .target(name: "Observability", dependencies: [
            "Control", "Core", "Wire",
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            // HTTPS on the listener (--metrics-tls-cert): swift-nio-ssl's BoringSSL.
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .executableTarget(
            name: "lvsd",
            dependencies: [
                "Core", "Control", "PacketIO", "Trace", "Wire", "PacketBuilder", "Engine", "Health",
                "KeepalivedHealth", "AdminSocket", "Lab", "VRRP", "KeepalivedVRRP", "VRRPRuntime", "CPrivileges", "Observability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // ipvsadm's command line against lvsd: wiring only.
        .executableTarget(name: "lvsadm", dependencies: ["Control", "AdminSocket"]),

        // What several test targets share: running programs (both pipes drained), finding the
        // built executables and Samples/, a seeded generator, a classic BPF checker/interpreter.
        .target(name: "TestSupport", dependencies: ["PacketIO"], path: "Tests/TestSupport"),

        .testTarget(name: "WireTests", dependencies: ["Wire", "PacketBuilder", "TestSupport"]),
        .testTarget(name: "CoreTests", dependencies: ["Core", "Wire", "PacketBuilder", "TestSupport"]),
        // Fixtures/ holds configuration files the tests read by path (#filePath).
        .testTarget(name: "ControlTests", dependencies: ["Control", "Core", "Wire", "AdminSocket", "CAdminSocket", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "PacketIOTests", dependencies: ["PacketIO", "Core", "Wire", "PacketBuilder", "TestSupport"]),
        .testTarget(name: "TraceTests", dependencies: ["Trace", "Control", "Core", "PacketIO", "Wire", "PacketBuilder", "TestSupport"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Core", "PacketIO", "POSIX", "Wire", "PacketBuilder", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "HealthTests", dependencies: ["Health", "KeepalivedHealth", "Control", "Core", "Wire", "PacketIO", "TestSupport"]),
        .testTarget(name: "ObservabilityTests", dependencies: [
            "Observability", "Control", "Core", "Wire", "TestSupport",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
        ]),
                .testTarget(name: "VRRPTests", dependencies: ["VRRP", "KeepalivedVRRP", "Control", "Core", "Wire"]),
        // Root and network namespaces, real peers and the built lvsd/lvsadm (`swift build --build-tests` builds them).
        .testTarget(name: "EndToEndTests", dependencies: ["Control", "Core", "PacketIO", "Wire", "PacketBuilder", "TestSupport"]),
    ]
)
