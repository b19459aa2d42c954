@testable import Core
import PacketBuilder
import TestSupport
import Testing
import Wire

/// A million random and mutated frames through `Director.process`, 250,000 per forwarding
/// method, with the clock moving so expiry runs between them.
///
/// Seeds are real frames from PacketBuilder (TCP SYN/ACK/FIN/RST, UDP, ICMP errors with
/// quotes from both sides, echo, ARP, IPv6 extension headers and fragments, IPv4 fragments
/// and options, VLAN and QinQ tags, IPIP, NAT and FullNAT replies, oversized datagrams).
/// Mutations: truncation at every length class, bit flips, overwrites of header fields
/// (lengths, IHL, data offset, protocol, next header, extension lengths, quoted headers),
/// splicing, random garbage of 0...1600 bytes, random interfaces. Headroom 0 or 64 and
/// tailroom 0 to 2048; each buffer ends where the allocation ends, so under AddressSanitizer
/// a read past the buffer's capacity is reported.
///
/// Checked: no crash; every frame counted once, under the counter its verdict names; a
/// forwarded or answered frame lies inside its buffer, parses, and leaves IPv4 with a valid
/// header checksum (and a valid transport checksum when it came in with one); and the
/// connection table's invariants at checkpoints and at the end.
///
/// The loop allocates nothing: frames are mutated in one scratch area and copied into one
/// buffer. Failures are collected and reported once, since `#expect` per frame would dominate
/// a debug run.
@Suite struct RobustnessTests {
    static let framesPerMethod = 250_000

    /// RFC 4291 §2.5.5.2: IPv4-mapped addresses are not for the wire. `IPAddress` stores IPv4
    /// as ::ffff:a.b.c.d, so an IPv6 packet to ::ffff:VIP must not reach the IPv4 service.
    @Test func ipv6ToAnIPv4MappedVIPIsNotBalanced() {
        let h = Harness(Lab.config(.nat))
        let frame = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
            .ipv6(source: "::ffff:198.18.0.100", destination: "::ffff:198.18.0.10")
            .tcp(sourcePort: 40000, destinationPort: 80, flags: [.syn])
        let (verdict, _) = h.run(frame)
        #expect(verdict == .drop(.ipv6MappedAddress))
        #expect(h.director.table.count == 0)
    }

    /// Regression: a later fragment followed the connection handle its first fragment hit even
    /// after that connection expired and another client's connection took the slot, and was
    /// then sent to that client as a "reply" (fuzzer find, DR and TUN).
    @Test func laterFragmentDoesNotFollowAReusedConnectionSlot() {
        var config = Lab.config(.directRouting)
        config.timeouts.set(tcp: 0, tcpFin: 0, udp: 5)
        let h = Harness(config)
        let eth = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
        let first = eth.ipv4(source: "198.18.0.100", destination: "198.18.0.10", identification: 0x77,
                             dontFragment: false, moreFragments: true)
            .udp(sourcePort: 40000, destinationPort: 80).payload(String(repeating: "a", count: 64))
        #expect(h.run(first).0 == .forward(interface: 1))
        h.advance(seconds: 6)
        #expect(h.director.table.count == 0)
        let other = Frame.ethernet(destination: Lab.directorClientMAC, source: Corpus.otherMAC)
            .ipv4(source: "198.18.0.101", destination: "198.18.0.10").udp(sourcePort: 40001, destinationPort: 80)
        #expect(h.run(other).0 == .forward(interface: 1))
        let later = eth.ipv4(source: "198.18.0.100", destination: "198.18.0.10", identification: 0x77,
                             dontFragment: false, fragmentOffset: 72).protocolNumber(17).payload("tail")
        #expect(h.run(later).0 == .drop(.fragmentWithoutConnection))
        #expect(h.director.lastEvent.direction == .none)
    }

    @Test(arguments: [ForwardingMethod.nat, .directRouting, .fullNAT, .tunnel])
    func mutatedFramesKeepEveryInvariant(_ method: ForwardingMethod) throws {
        let scenario = Scenario(method)
        let corpus = Corpus(method)
        var fuzzer = Fuzzer(scenario: scenario, corpus: corpus, seed: 0x5157_4C56 &+ UInt64(method.rawValue))
        fuzzer.run(frames: Self.framesPerMethod)

        let d = fuzzer.director
        #expect(fuzzer.failures.isEmpty, "\(fuzzer.failureCount) failures, first: \(fuzzer.failures)")
        #expect(d.framesReceived == UInt64(Self.framesPerMethod))
        #expect(d.framesReceived == d.framesForwarded + d.framesAnswered + d.framesPassed + d.framesDropped)
        #expect(DropReason.allCases.reduce(0) { $0 + d.count($1) } == d.framesDropped)
        #expect(PassReason.allCases.reduce(0) { $0 + d.count($1) } == d.framesPassed)
        #expect(d.framesForwarded == fuzzer.mirror.forwarded)
        #expect(d.framesAnswered == fuzzer.mirror.answered)
        for r in DropReason.allCases { #expect(d.count(r) == fuzzer.mirror.drops[Int(r.rawValue)], "\(r)") }
        for r in PassReason.allCases { #expect(d.count(r) == fuzzer.mirror.passes[Int(r.rawValue)], "\(r)") }
        let problems = TableInvariants.check(d)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        // The run reached the deep paths, not only the parsers' rejections.
        #expect(d.framesForwarded > 10_000)
        #expect(fuzzer.connectionsSeen > 100)
        if method != .directRouting && method != .tunnel {
            #expect(fuzzer.repliesForwarded > 100)
            // The PROXY protocol's insertion ran on mutated frames in random buffers.
            #expect(d.proxyProtocolHeadersSent > 0, "\(d.proxyProtocolHeadersSent) headers, \(d.toaAdded) TOA")
        }
    }
}

// MARK: - Scenario: one configuration per forwarding method

struct Scenario {
    let method: ForwardingMethod
    let config: DirectorConfig
    let capacity: Int

    init(_ method: ForwardingMethod) {
        self.method = method
        var config: DirectorConfig
        switch method {
        case .nat:
            // Long timeouts put expiries more than one wheel turn (~1100 s) ahead.
            config = Lab.config(.nat, scheduler: .weightedLeastConnection)
            config.timeouts.set(tcp: 7200, tcpFin: 0, udp: 1500)
            capacity = 1024
        case .directRouting:
            // Short persistence churns templates; a small table fills up.
            config = Lab.config(.directRouting, persistence: Persistence(timeout: 30, prefixLength: 24))
            capacity = 64
        case .fullNAT:
            // 64 local ports per LIP: exhaustion, reuse, and replies that hit them all.
            config = Lab.config(.fullNAT, persistence: Persistence(timeout: 1800, prefixLength: 32),
                                localPortRange: Corpus.localPorts)
            capacity = 512
        case .tunnel:
            config = Lab.config(.tunnel, scheduler: .sourceHashing, upper: 40, lower: 20)
            capacity = 256
        }
        // NAT and FullNAT carry the client's address too (Docs/adr/0008): headers inserted into
        // random buffers, streams shifted both ways.
        for i in config.services.indices where config.services[i].key.proto == .tcp {
            if method == .nat { config.services[i].proxyProtocol = .v1 }
            if method == .fullNAT {
                config.services[i].proxyProtocol = .v2
                config.services[i].toa = true
            }
        }
        self.config = config
    }
}

// MARK: - Seed corpus
