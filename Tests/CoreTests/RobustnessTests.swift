@testable import Core
import PacketBuilder
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
        self.config = config
    }
}

// MARK: - Seed corpus

/// Seed frames, flattened into one array, each with its interface and the offsets of the
/// header fields worth overwriting.
struct Corpus {
    static let clientPorts: [UInt16] = (0..<16).map { 40000 + $0 }
    static let localPorts: ClosedRange<UInt16> = 1024...1087
    static let otherMAC = MACAddress("02:00:00:00:0e:0e")!

    var bytes: [UInt8] = []
    var start: [Int] = []
    var length: [Int] = []
    var interface: [Int] = []
    var fieldStart: [Int] = []
    var fieldCount: [Int] = []
    var fields: [Int] = []

    var count: Int { start.count }

    mutating func add(_ frame: [UInt8], interface i: Int) {
        start.append(bytes.count)
        length.append(frame.count)
        interface.append(i)
        bytes += frame
        let f = Self.fieldOffsets(frame)
        fieldStart.append(fields.count)
        fieldCount.append(f.count)
        fields += f
    }

    mutating func add(_ frame: Frame, interface i: Int) { add(frame.bytes, interface: i) }

    init(_ method: ForwardingMethod) {
        let cmac = Lab.clientMAC, dcmac = Lab.directorClientMAC, dsmac = Lab.directorServerMAC
        let vp = Lab.virtualPort
        let rp = method == .directRouting || method == .tunnel ? Lab.virtualPort : Lab.realPort
        let tcpFlags: [TCPFlags] = [[.syn], [.ack], [.fin, .ack], [.rst], [.psh, .ack], [.syn, .ack], [.syn, .rst], []]
        let replyFlags: [TCPFlags] = [[.syn, .ack], [.ack], [.fin, .ack], [.rst], [.psh, .ack]]

        for f in [Lab.v4, Lab.v6] {
            let toVIP = Frame.ethernet(destination: dcmac, source: cmac)
            // Client → VIP, every flag class, TCP and UDP, 16 client ports.
            for cport in Self.clientPorts {
                for flags in tcpFlags {
                    let payload = flags.contains(.psh) ? "GET / HTTP/1.0\r\n\r\n" : ""
                    add(Lab.ip(toVIP, f, from: f.client, to: f.vip).tcp(sourcePort: cport, destinationPort: vp,
                                                                        flags: flags, sequence: 1000).payload(payload),
                        interface: 0)
                }
                add(Lab.ip(toVIP, f, from: f.client, to: f.vip).udp(sourcePort: cport, destinationPort: vp)
                        .payload("query"), interface: 0)
            }
            // Replies from the real servers: to CIP:cport (NAT) and to LIP:lport (FullNAT).
            for (rs, rsMAC) in [(f.rs1, Lab.rs1MAC), (f.rs2, Lab.rs2MAC)] {
                let fromRS = Frame.ethernet(destination: dsmac, source: rsMAC)
                var targets: [(String, UInt16)] = Self.clientPorts.map { (f.client, $0) }
                if method == .fullNAT { targets += Self.localPorts.map { (f.lip, $0) } }
                for (to, port) in targets {
                    for flags in replyFlags {
                        add(Lab.ip(fromRS, f, from: rs, to: to).tcp(sourcePort: rp, destinationPort: port, flags: flags,
                                                                   sequence: 5000, acknowledgment: 1001)
                                .payload(flags.contains(.psh) ? "HTTP/1.0 200 OK\r\n\r\n" : ""), interface: 1)
                    }
                    add(Lab.ip(fromRS, f, from: rs, to: to).udp(sourcePort: rp, destinationPort: port).payload("answer"),
                        interface: 1)
                }
                // ICMP errors from the real-server side about what the director sent it.
                for (src, port) in [(f.client, Self.clientPorts[0]), (f.client, Self.clientPorts[1]),
                                    (f.lip, Self.localPorts.lowerBound), (f.lip, Self.localPorts.lowerBound + 1)] {
                    for proto in TransportProtocol.allCases {
                        let inner = Lab.l4(Lab.ip(.raw, f, from: src, to: rs), proto, from: port, to: rp, flags: [.syn])
                        for limit in [nil, 28, 48, 24] as [Int?] {
                            add(Self.icmpError(Lab.ip(fromRS, f, from: rs, to: src), f, quoting: inner, limit: limit),
                                interface: 1)
                        }
                    }
                }
            }
            // ICMP errors from the client side about replies (VIP:vport → CIP:cport).
            for cport in Self.clientPorts.prefix(4) {
                for proto in TransportProtocol.allCases {
                    let inner = Lab.l4(Lab.ip(.raw, f, from: f.vip, to: f.client), proto, from: vp, to: cport,
                                       flags: [.syn, .ack])
                    for limit in [nil, 28, 48, 20, 8] as [Int?] {
                        add(Self.icmpError(Lab.ip(toVIP, f, from: f.client, to: f.vip), f, quoting: inner, limit: limit),
                            interface: 0)
                    }
                    if !f.isIPv6 {
                        for type: UInt8 in [11, 4, 5, 12] {  // time exceeded, quench, redirect, parameter problem
                            add(Lab.ip(toVIP, f, from: f.client, to: f.vip).icmpv4(type: type, code: 0).quoting(inner),
                                interface: 0)
                        }
                    }
                }
            }
            // Echo to the VIP and elsewhere, echo reply.
            for dst in [f.vip, f.rs1] {
                let ip = Lab.ip(toVIP, f, from: f.client, to: dst)
                add((f.isIPv6 ? ip.icmpv6(type: 128, code: 0, rest: 0x1234_0001) : ip.icmpv4(type: 8, code: 0, rest: 0x1234_0001))
                        .payload("ping"), interface: 0)
            }
            add(Lab.ip(toVIP, f, from: f.client, to: f.vip).icmpv4(type: 0, code: 0).payload("pong"), interface: 0)
            // TTL 1 and 0, oversized datagrams (TUN: fragmentation needed / unsupported).
            for ttl: UInt8 in [0, 1] {
                add(Lab.fromClient(f, .tcp, flags: [.syn], ttl: ttl), interface: 0)
            }
            let big = String(repeating: "x", count: 1440)
            add(Lab.fromClient(f, .tcp, flags: [.syn], payload: big), interface: 0)
            add(Lab.fromClient(f, .udp, payload: big + "12345678901234567890"), interface: 0)
            // VLAN tagged, single.
            add(Lab.l4(Lab.ip(.ethernet(destination: dcmac, source: cmac, vlan: 42), f, from: f.client, to: f.vip),
                       .tcp, from: Self.clientPorts[2], to: vp, flags: [.syn]), interface: 0)
            // To a VIP port with no service, and to an address that is not the director's.
            add(Lab.ip(toVIP, f, from: f.client, to: f.vip).tcp(sourcePort: 40000, destinationPort: 81, flags: [.syn]),
                interface: 0)
            add(Lab.ip(toVIP, f, from: f.client, to: f.rs2).udp(sourcePort: 40000, destinationPort: 53), interface: 0)
        }

        let v4 = Lab.v4, v6 = Lab.v6
        let toVIP = Frame.ethernet(destination: dcmac, source: cmac)
        // QinQ and three tags (one too many), built from a tagged frame.
        let tagged = Lab.l4(Lab.ip(.ethernet(destination: dcmac, source: cmac, vlan: 7), v4, from: v4.client, to: v4.vip),
                            .udp, from: 40003, to: vp, flags: []).bytes
        add(Self.insertingTag(tagged, tpid: 0x88A8), interface: 0)
        add(Self.insertingTag(Self.insertingTag(tagged, tpid: 0x88A8), tpid: 0x8100), interface: 0)
        // IPv4 options, UDP without checksum, unknown protocol to the VIP, IPIP to the VIP.
        add(toVIP.ipv4(source: v4.client, destination: v4.vip, options: [1, 1, 1, 1, 0x94, 4, 0, 0])
                .tcp(sourcePort: 40004, destinationPort: vp, flags: [.syn]), interface: 0)
        add(toVIP.ipv4(source: v4.client, destination: v4.vip).udp(sourcePort: 40005, destinationPort: vp, checksum: false)
                .payload("nocsum"), interface: 0)
        add(toVIP.ipv4(source: v4.client, destination: v4.vip).protocolNumber(47).payload([0, 0, 8, 0, 1, 2, 3, 4]),
            interface: 0)
        let innerIP = Frame.raw.ipv4(source: v4.client, destination: v4.vip).tcp(sourcePort: 40006, destinationPort: vp,
                                                                                 flags: [.syn])
        add(toVIP.ipv4(source: v4.client, destination: v4.vip).quoting(innerIP), interface: 0)
        // IPv4 fragments: first (with ports) and later ones of the same datagrams.
        for (id, proto) in [(UInt16(0x1111), TransportProtocol.udp), (0x2222, .tcp)] {
            let first = toVIP.ipv4(source: v4.client, destination: v4.vip, identification: id, dontFragment: false,
                                   moreFragments: true)
            add(Lab.l4(first, proto, from: 40007, to: vp, flags: [.syn]).payload(String(repeating: "a", count: 64)),
                interface: 0)
            for (offset, more) in [(72, true), (144, false)] {
                add(toVIP.ipv4(source: v4.client, destination: v4.vip, identification: id, dontFragment: false,
                               moreFragments: more, fragmentOffset: offset)
                        .protocolNumber(proto == .tcp ? 6 : 17).payload(String(repeating: "b", count: 72)), interface: 0)
            }
        }
        // IPv6 extension headers before TCP/UDP: hop-by-hop, routing, destination options, AH.
        let base6 = toVIP.ipv6(source: v6.client, destination: v6.vip)
        add(base6.ipv6Extension(0).tcp(sourcePort: 40008, destinationPort: vp, flags: [.syn]), interface: 0)
        add(base6.ipv6Extension(0).ipv6Extension(43, optionBytes: 14).ipv6Extension(60)
                .udp(sourcePort: 40009, destinationPort: vp).payload("ext"), interface: 0)
        add(base6.ipv6Extension(51, optionBytes: 14).tcp(sourcePort: 40010, destinationPort: vp, flags: [.syn]),
            interface: 0)
        var chain = base6
        for _ in 0..<9 { chain = chain.ipv6Extension(60) }
        add(chain.tcp(sourcePort: 40011, destinationPort: vp, flags: [.syn]), interface: 0)
        // IPv6 fragments.
        for (id, proto) in [(UInt32(0xABCD), TransportProtocol.udp), (0xBCDE, .tcp)] {
            add(Lab.l4(base6.ipv6Fragment(offset: 0, more: true, identification: id), proto, from: 40012, to: vp,
                       flags: [.syn]).payload(String(repeating: "c", count: 64)), interface: 0)
            add(base6.ipv6Fragment(offset: 80, more: false, identification: id).protocolNumber(proto == .tcp ? 6 : 17)
                    .payload(String(repeating: "d", count: 40)), interface: 0)
        }
        add(base6.ipv6Extension(0).ipv6Fragment(offset: 0, more: false, identification: 9)
                .udp(sourcePort: 40013, destinationPort: vp), interface: 0)
        // IPv6 addressed to an IPv4-mapped VIP: must not be taken for the IPv4 service.
        add(toVIP.ipv6(source: "::ffff:198.18.0.100", destination: "::ffff:198.18.0.10")
                .tcp(sourcePort: 40014, destinationPort: vp, flags: [.syn]), interface: 0)
        // ARP: requests for the VIP, for a LIP, for someone else; a reply; a non-IPv4 ARP.
        let bcast = MACAddress("ff:ff:ff:ff:ff:ff")!
        for target in [v4.vip, v4.lip, v4.rs1] {
            add(Frame.ethernet(destination: bcast, source: cmac)
                    .arp(operation: 1, senderMAC: cmac, senderIP: v4.client, targetMAC: .zero, targetIP: target),
                interface: 0)
        }
        add(Frame.ethernet(destination: dcmac, source: cmac)
                .arp(operation: 2, senderMAC: cmac, senderIP: v4.client, targetMAC: dcmac, targetIP: v4.vip), interface: 0)
        var arp6 = Frame.ethernet(destination: bcast, source: cmac)
            .arp(operation: 1, senderMAC: cmac, senderIP: v4.client, targetMAC: .zero, targetIP: v4.vip).bytes
        arp6[16] = 0x86; arp6[17] = 0xDD
        add(arp6, interface: 0)
        // Not IP at all (LLDP), and a minimum-size frame with Ethernet padding.
        add(Frame.ethernet(destination: dcmac, source: Self.otherMAC).payload([UInt8](repeating: 0, count: 46)).bytes
                .enumerated().map { $0.offset == 12 ? 0x88 : $0.offset == 13 ? 0xCC : $0.element }, interface: 0)
        add(Lab.fromClient(v4, .tcp, flags: [.ack]).bytes + [UInt8](repeating: 0, count: 6), interface: 0)
    }

    static func icmpError(_ ip: Frame, _ f: Lab.Family, quoting inner: Frame, limit: Int?) -> Frame {
        f.isIPv6 ? ip.icmpv6(type: 1, code: 4).quoting(inner, limit: limit)
                 : ip.icmpv4(type: 3, code: 3).quoting(inner, limit: limit)
    }

    /// Puts one more tag in front of the frame's first EtherType field.
    static func insertingTag(_ frame: [UInt8], tpid: UInt16) -> [UInt8] {
        Array(frame[0..<12]) + [UInt8(tpid >> 8), UInt8(tpid & 0xFF), 0x00, 0x05] + Array(frame[12...])
    }

    /// Offsets of the header fields a mutation should aim at: EtherTypes and tags, IP version,
    /// IHL, lengths, fragment fields, TTL, protocol / next header, extension header lengths,
    /// ports, TCP data offset and flags, UDP length, ICMP type and code, and the same inside
    /// ICMP quotes and IPIP.
    static func fieldOffsets(_ b: [UInt8]) -> [Int] {
        var out: [Int] = []
        func u16(_ i: Int) -> Int { i + 1 < b.count ? Int(b[i]) << 8 | Int(b[i + 1]) : -1 }
        func transport(_ at: Int, _ proto: Int, depth: Int) {
            guard at < b.count else { return }
            switch proto {
            case 6: out += [at, at + 1, at + 2, at + 3, at + 12, at + 13]
            case 17: out += [at, at + 1, at + 2, at + 3, at + 4, at + 5]
            case 1, 58:
                out += [at, at + 1]
                if depth == 0, at + 8 < b.count { ip(at + 8, depth: 1) }
            case 4: if depth == 0 { ip(at, depth: 1) }
            default: break
            }
        }
        func ip(_ l3: Int, depth: Int) {
            guard l3 < b.count else { return }
            if b[l3] >> 4 == 4 {
                out += [l3, l3 + 2, l3 + 3, l3 + 6, l3 + 7, l3 + 8, l3 + 9]
                transport(l3 + Int(b[l3] & 0x0F) * 4, l3 + 9 < b.count ? Int(b[l3 + 9]) : -1, depth: depth)
            } else if b[l3] >> 4 == 6 {
                out += [l3, l3 + 4, l3 + 5, l3 + 6, l3 + 7]
                var next = l3 + 6 < b.count ? Int(b[l3 + 6]) : -1
                var off = l3 + 40
                for _ in 0..<10 where off + 1 < b.count {
                    switch next {
                    case 0, 43, 60, 51:
                        out += [off, off + 1]
                        let size = next == 51 ? (Int(b[off + 1]) + 2) * 4 : (Int(b[off + 1]) + 1) * 8
                        next = Int(b[off])
                        off += size
                    case 44:
                        out += [off, off + 2, off + 3]
                        next = Int(b[off])
                        off += 8
                    default:
                        transport(off, next, depth: depth)
                        return
                    }
                }
            }
        }
        var off = 12
        var type = u16(off)
        while type == 0x8100 || type == 0x88A8 {
            out += [off, off + 1]
            off += 4
            type = u16(off)
        }
        out += [off, off + 1]
        switch type {
        case 0x0800, 0x86DD: ip(off + 2, depth: 0)
        case 0x0806: out += (0..<8).map { off + 2 + $0 }
        default: break
        }
        return out.filter { $0 >= 0 && $0 < b.count }
    }
}

// MARK: - The loop

/// What the test expects the director's counters to read, kept from the verdicts.
struct CounterMirror {
    var forwarded: UInt64 = 0
    var answered: UInt64 = 0
    var drops = [UInt64](repeating: 0, count: DropReason.allCases.count)
    var passes = [UInt64](repeating: 0, count: PassReason.allCases.count)
}

struct Fuzzer {
    static let maxFrame = 1600
    static let maxHeadroom = 80
    static let maxTailroom = 2048
    static let areaSize = maxHeadroom + 4096 + maxTailroom
    static let interestingBytes: [UInt8] = [0, 1, 2, 4, 5, 6, 8, 0x0F, 0x10, 0x11, 0x14, 0x28, 0x2C, 0x33, 0x3A, 0x3B,
                                            0x40, 0x45, 0x46, 0x4F, 0x50, 0x5F, 0x60, 0x7F, 0x80, 0x81, 0x86, 0xDD,
                                            0xF0, 0xFE, 0xFF]
    static let oddInterfaces = [0, 1, 2, 3, 7, 64, 255, 256, 1000]

    let scenario: Scenario
    let corpus: Corpus
    var rng: SplitMix64
    let director: Director
    var now: UInt64 = 1_000_000_000_000
    var mirror = CounterMirror()
    var failures: [String] = []
    var failureCount = 0
    var connectionsSeen = 0
    var repliesForwarded = 0

    init(scenario: Scenario, corpus: Corpus, seed: UInt64) {
        self.scenario = scenario
        self.corpus = corpus
        rng = SplitMix64(seed: seed)
        director = Director(config: scenario.config, capacity: scenario.capacity, hashSeed: seed, now: now)
    }

    mutating func fail(_ message: String) {
        failureCount += 1
        if failures.count < 8 { failures.append(message) }
    }

    mutating func run(frames: Int) {
        // Safety: `area` and `work` are allocated here, used only inside this function and
        // freed on return; every copy below stays inside them (lengths are clamped).
        let area = UnsafeMutableRawPointer.allocate(byteCount: Self.areaSize, alignment: 16)
        let work = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 16)
        defer { area.deallocate(); work.deallocate() }
        area.initializeMemory(as: UInt8.self, repeating: 0xA5, count: Self.areaSize)
        work.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)

        corpus.bytes.withUnsafeBytes { seedBytes in
            for n in 0..<frames {
                step(n, area: area, work: work, seeds: seedBytes)
                if n % 50_000 == 49_999 {
                    checkCounters()
                    for p in TableInvariants.check(director).prefix(3) { fail("frame \(n): \(p)") }
                }
            }
        }
        checkCounters()
    }

    mutating func step(_ n: Int, area: UnsafeMutableRawPointer, work: UnsafeMutableRawPointer,
                       seeds: UnsafeRawBufferPointer) {
        // The clock: small steps, and now and then a jump (up to ~1.4 wheel turns).
        now &+= UInt64(rng.next(below: 40_000_000))
        if rng.next(below: 20_000) == 0 { now &+= UInt64(1 + rng.next(below: 1500)) * 1_000_000_000 }
        if rng.next(below: 5_000) == 0 { director.expire(now: now) }
        // Operator changes mid-run: quiesce one server, remove another, restore the weight.
        if n == 60_000 || n == 120_000 || n == 180_000 { operatorChange(n) }

        let s = rng.next(below: corpus.count)
        var len = corpus.length[s]
        work.copyMemory(from: seeds.baseAddress! + corpus.start[s], byteCount: len)
        var interface = corpus.interface[s]
        let pristine = rng.next(below: 100) < 35
        if !pristine {
            len = mutate(work, length: len, seed: s, seeds: seeds)
            if rng.chance(30) { Self.fixLengths(work, length: len) }
            if rng.chance(70) { Self.fixIPv4Checksum(work, length: len) }
            if rng.chance(10) { interface = Self.oddInterfaces[rng.next(below: Self.oddInterfaces.count)] }
        }

        let headroom = [0, 64, 64, rng.next(below: Self.maxHeadroom + 1)][rng.next(below: 4)]
        let tailroom = [0, 0, rng.next(below: 65), Self.maxTailroom][rng.next(below: 4)]
        let capacity = headroom + len + tailroom
        // The buffer ends where the allocation ends, so ASan sees any read past `capacity`.
        let base = area + (Self.areaSize - capacity)
        (base + headroom).copyMemory(from: work, byteCount: len)
        var packet = PacketBuffer(base: base, capacity: capacity, offset: headroom, length: len, interface: interface,
                                  checksumPartial: rng.chance(10))
        let checksumBefore = pristine ? Self.transportChecksumValid(base + headroom, length: len) : nil

        let verdict = director.process(&packet, now: now)

        if director.framesReceived != UInt64(n + 1) { fail("frame \(n): framesReceived \(director.framesReceived)") }
        switch verdict {
        case .forward(let out), .answer(let out):
            let isForward: Bool
            if case .forward = verdict { isForward = true } else { isForward = false }
            if isForward {
                mirror.forwarded += 1
                if director.framesForwarded != mirror.forwarded { fail("frame \(n): forward not counted") }
                if director.lastEvent.newConnection { connectionsSeen += 1 }
                if director.lastEvent.direction == .fromRealServer {
                    repliesForwarded += 1
                    let c = director.table[director.lastEvent.connection]
                    if !c.method.repliesTraverseDirector || c.flags.contains(.template) {
                        fail("frame \(n) seed \(s): forwarded as a reply of a \(c.method) connection (template: \(c.flags.contains(.template)))")
                    }
                }
            } else {
                mirror.answered += 1
                if director.framesAnswered != mirror.answered { fail("frame \(n): answer not counted") }
                if out != interface { fail("frame \(n): answer on \(out), arrived on \(interface)") }
            }
            if out < 0 { fail("frame \(n): \(verdict)") }
            guard packet.offset >= 0, packet.length >= EthernetFrame.headerLength,
                  packet.offset + packet.length <= capacity, packet.base == base, packet.capacity == capacity
            else {
                fail("frame \(n) seed \(s): \(verdict) left offset \(packet.offset) length \(packet.length) of \(capacity)")
                return
            }
            checkEmitted(n, s, verdict, packet.frame, length: packet.length, checksumBefore: checksumBefore)
        case .pass(let r):
            mirror.passes[Int(r.rawValue)] += 1
            if director.count(r) != mirror.passes[Int(r.rawValue)] { fail("frame \(n): pass \(r) not counted") }
        case .drop(let r):
            mirror.drops[Int(r.rawValue)] += 1
            if director.count(r) != mirror.drops[Int(r.rawValue)] { fail("frame \(n): drop \(r) not counted") }
        }
        if director.framesForwarded != mirror.forwarded || director.framesAnswered != mirror.answered {
            fail("frame \(n): \(verdict) moved another counter")
        }
    }

    /// A frame the director sends must parse, carry a valid IPv4 header checksum, and keep a
    /// valid transport checksum it arrived with.
    mutating func checkEmitted(_ n: Int, _ s: Int, _ verdict: Verdict, _ frame: UnsafeMutableRawPointer, length: Int,
                               checksumBefore: Bool?) {
        guard let eth = try? EthernetFrame(frame, length: length) else {
            fail("frame \(n) seed \(s): \(verdict) emitted an unparseable Ethernet frame")
            return
        }
        switch eth.etherType {
        case EtherType.ipv4:
            guard let ip = try? IPv4Packet(eth.payload, length: eth.payloadLength) else {
                fail("frame \(n) seed \(s): \(verdict) emitted a bad IPv4 header")
                return
            }
            if !ip.isChecksumValid { fail("frame \(n) seed \(s): \(verdict) emitted a bad IPv4 header checksum") }
        case EtherType.ipv6:
            if (try? IPv6Packet(eth.payload, length: eth.payloadLength)) == nil {
                fail("frame \(n) seed \(s): \(verdict) emitted a bad IPv6 packet")
            }
        case EtherType.arp:
            break
        default:
            fail("frame \(n) seed \(s): \(verdict) emitted EtherType \(eth.etherType)")
        }
        if checksumBefore == true, Self.transportChecksumValid(frame, length: length) == false {
            fail("frame \(n) seed \(s): \(verdict) broke a valid transport checksum")
        }
    }

    mutating func checkCounters() {
        if director.framesForwarded != mirror.forwarded { fail("forwarded \(director.framesForwarded) != \(mirror.forwarded)") }
        if director.framesAnswered != mirror.answered { fail("answered \(director.framesAnswered) != \(mirror.answered)") }
        for r in DropReason.allCases where director.count(r) != mirror.drops[Int(r.rawValue)] {
            fail("drop counter \(r) reads \(director.count(r)), verdicts say \(mirror.drops[Int(r.rawValue)])")
        }
        for r in PassReason.allCases where director.count(r) != mirror.passes[Int(r.rawValue)] {
            fail("pass counter \(r) reads \(director.count(r)), verdicts say \(mirror.passes[Int(r.rawValue)])")
        }
        let sum = director.framesForwarded + director.framesAnswered + director.framesPassed + director.framesDropped
        if sum != director.framesReceived { fail("received \(director.framesReceived) but verdicts sum to \(sum)") }
    }

    mutating func operatorChange(_ n: Int) {
        let f = n == 120_000 ? Lab.v6 : Lab.v4
        for proto in TransportProtocol.allCases {
            let key = ServiceKey(proto, IPAddress(f.vip)!, Lab.virtualPort)
            switch n {
            case 60_000: director.setWeight(0, service: key, realServer: 0)
            case 120_000: director.removeRealServer(service: key, realServer: 1)
            default: director.setWeight(3, service: key, realServer: 0)
            }
        }
    }

    // MARK: Mutations

    /// Mutates the frame in `work` (length `length`) in place; returns the new length.
    mutating func mutate(_ work: UnsafeMutableRawPointer, length: Int, seed s: Int, seeds: UnsafeRawBufferPointer) -> Int {
        let b = work.assumingMemoryBound(to: UInt8.self)
        var len = length
        let kind = rng.next(below: 100)
        switch kind {
        case 0..<16:  // truncation at a length class
            len = truncationLength(len, seed: s)
        case 16..<30:  // one bit
            if len > 0 { flip(b, len) }
        case 30..<40:  // several bits
            for _ in 0..<(2 + rng.next(below: 15)) where len > 0 { flip(b, len) }
        case 40..<66:  // header fields
            for _ in 0..<(1 + rng.next(below: 3)) { overwriteField(b, len, seed: s) }
            if rng.chance(25) { len = truncationLength(len, seed: s) }
        case 66..<76:  // splice with another seed
            let o = rng.next(below: corpus.count)
            let cut = rng.next(below: len + 1)
            let from = rng.next(below: corpus.length[o] + 1)
            let tail = min(corpus.length[o] - from, Self.maxFrame - cut)
            (work + cut).copyMemory(from: seeds.baseAddress! + corpus.start[o] + from, byteCount: tail)
            len = cut + tail
        case 76..<86:  // garbage, often behind the seed's own Ethernet (and IP) header
            let keep = [0, 14, 14, 34, 54][rng.next(below: 5)]
            let newLength = rng.next(below: Self.maxFrame + 1)
            var i = min(keep, len, newLength)
            while i + 8 <= newLength {
                (work + i).storeBytes(of: rng.next(), as: UInt64.self)
                i += 8
            }
            while i < newLength {
                b[i] = UInt8(truncatingIfNeeded: rng.next())
                i += 1
            }
            len = newLength
        case 86..<92:  // trailing bytes (Ethernet padding or junk past the IP length)
            let extra = min(rng.next(below: 64), Self.maxFrame - len)
            for i in 0..<max(extra, 0) { b[len + i] = rng.chance(50) ? 0 : UInt8(truncatingIfNeeded: rng.next()) }
            len += max(extra, 0)
        default:  // a bit of everything
            overwriteField(b, len, seed: s)
            if len > 0 { flip(b, len) }
            len = truncationLength(len, seed: s)
        }
        return len
    }

    mutating func flip(_ b: UnsafeMutablePointer<UInt8>, _ len: Int) {
        // Bias towards the headers, where the parsers live.
        let limit = rng.chance(75) ? min(len, 96) : len
        b[rng.next(below: limit)] ^= UInt8(1) << UInt8(rng.next(below: 8))
    }

    mutating func overwriteField(_ b: UnsafeMutablePointer<UInt8>, _ len: Int, seed s: Int) {
        let count = corpus.fieldCount[s]
        guard count > 0 else { return }
        let at = corpus.fields[corpus.fieldStart[s] + rng.next(below: count)]
        guard at < len else { return }
        b[at] = rng.chance(70) ? Self.interestingBytes[rng.next(below: Self.interestingBytes.count)]
                                : UInt8(truncatingIfNeeded: rng.next())
        if rng.chance(30) && at + 1 < len { b[at + 1] = UInt8(truncatingIfNeeded: rng.next()) }
    }

    /// Lengths where parsers change their minds: nothing, inside the Ethernet header, each
    /// header's edge and one either side, anywhere, one short.
    mutating func truncationLength(_ len: Int, seed s: Int) -> Int {
        let edges = [0, 1, 6, 12, 13, 14, 15, 17, 18, 22, 27, 33, 34, 35, 41, 42, 53, 54, 55, 61, 62, 66, 74, 75, 82,
                     94, 95, 102, 114]
        switch rng.next(below: 4) {
        case 0: return min(len, edges[rng.next(below: edges.count)])
        case 1:
            // Just before or after one of this frame's header fields.
            let count = corpus.fieldCount[s]
            guard count > 0 else { return len / 2 }
            let at = corpus.fields[corpus.fieldStart[s] + rng.next(below: count)]
            return min(len, max(0, at + rng.next(below: 3) - 1))
        case 2: return max(0, len - 1 - rng.next(below: 4))
        default: return rng.next(below: len + 1)
        }
    }

    // MARK: Fix-ups that let mutated frames past the first checks

    /// The offset of the L3 header and the EtherType, walking tags like the director does.
    static func l3(_ b: UnsafeMutablePointer<UInt8>, _ len: Int) -> (offset: Int, type: Int)? {
        guard len >= 14 else { return nil }
        var off = 12
        var type = Int(b[off]) << 8 | Int(b[off + 1])
        var tags = 0
        while (type == 0x8100 || type == 0x88A8) && tags < 2 && off + 6 <= len {
            off += 4
            tags += 1
            type = Int(b[off]) << 8 | Int(b[off + 1])
        }
        return (off + 2, type)
    }

    /// Makes the IPv4 total length or IPv6 payload length match the bytes present.
    static func fixLengths(_ work: UnsafeMutableRawPointer, length len: Int) {
        let b = work.assumingMemoryBound(to: UInt8.self)
        guard let (l3, type) = l3(b, len) else { return }
        if type == 0x0800 && l3 + 20 <= len {
            work.storeBytes(of: UInt16(len - l3).bigEndian, toByteOffset: l3 + 2, as: UInt16.self)
        } else if type == 0x86DD && l3 + 40 <= len {
            work.storeBytes(of: UInt16(len - l3 - 40).bigEndian, toByteOffset: l3 + 4, as: UInt16.self)
        }
    }

    /// Recomputes the outer IPv4 header checksum when the header fits.
    static func fixIPv4Checksum(_ work: UnsafeMutableRawPointer, length len: Int) {
        let b = work.assumingMemoryBound(to: UInt8.self)
        guard let (l3, type) = l3(b, len), type == 0x0800, l3 + 20 <= len else { return }
        let ihl = Int(b[l3] & 0x0F) * 4
        guard ihl >= 20, l3 + ihl <= len else { return }
        b[l3 + 10] = 0
        b[l3 + 11] = 0
        let sum = Checksum.finish(Checksum.sum(work + l3, count: ihl))
        work.storeBytes(of: sum.bigEndian, toByteOffset: l3 + 10, as: UInt16.self)
    }

    /// Whether the frame's TCP, UDP or ICMP checksum is right; nil when there is none to check
    /// (fragments, IPIP, other protocols, unparseable frames).
    static func transportChecksumValid(_ frame: UnsafeMutableRawPointer, length: Int) -> Bool? {
        guard let eth = try? EthernetFrame(frame, length: length) else { return nil }
        if eth.etherType == EtherType.ipv4 {
            guard let ip = try? IPv4Packet(eth.payload, length: eth.payloadLength), !ip.isFragment else { return nil }
            switch ip.protocol {
            case IPProtocol.tcp:
                return (try? TCPSegment(ip.payload, length: ip.payloadLength))?.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            case IPProtocol.udp:
                return (try? UDPDatagram(ip.payload, length: ip.payloadLength))?.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            case IPProtocol.icmp:
                return (try? ICMPv4Message(ip.payload, length: ip.payloadLength))?.isChecksumValid
            default: return nil
            }
        }
        if eth.etherType == EtherType.ipv6 {
            guard let ip = try? IPv6Packet(eth.payload, length: eth.payloadLength), !ip.isFragment else { return nil }
            switch ip.upperProtocol {
            case IPProtocol.tcp:
                return (try? TCPSegment(ip.upper, length: ip.upperLength))?.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            case IPProtocol.udp:
                return (try? UDPDatagram(ip.upper, length: ip.upperLength))?.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            case IPProtocol.icmpv6:
                return (try? ICMPv6Message(ip.upper, length: ip.upperLength))?.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
            default: return nil
            }
        }
        return nil
    }
}

// MARK: - Connection table invariants

enum TableInvariants {
    /// Everything that must hold between frames; returns what does not.
    static func check(_ d: Director) -> [String] {
        var problems: [String] = []
        var visited = 0
        var conns = [Int](repeating: 0, count: d.realServerCount)
        var active = [Int](repeating: 0, count: d.realServerCount)
        var templates = [Int](repeating: 0, count: d.realServerCount)
        var controlled: [ConnectionHandle: Int] = [:]
        var templateControlled: [ConnectionHandle: UInt32] = [:]
        var localPortsHeld = [Int](repeating: 0, count: d.localPools.count)
        var localPortsSeen: Set<UInt32> = []
        d.table.forEach { h, c in
            visited += 1
            let rs = Int(c.realServer)
            guard c.flags.contains(.inUse), rs < d.realServerCount else {
                problems.append("connection \(h) has flags \(c.flags.rawValue) and real server \(rs)")
                return
            }
            if c.flags.contains(.template) {
                templates[rs] += 1
                templateControlled[h] = c.controlled
                if c.flags.contains(.hashedOut) { problems.append("template \(h) is in the out-hash") }
            } else {
                conns[rs] += 1
                if !c.flags.contains(.inactive) {
                    active[rs] += 1
                    if c.state != .established { problems.append("connection \(h) active in state \(c.state)") }
                }
                if c.template != 0 { controlled[c.template, default: 0] += 1 }
                if c.flags.contains(.hashedOut) != c.method.repliesTraverseDirector {
                    problems.append("connection \(h) (\(c.method)) hashedOut=\(c.flags.contains(.hashedOut))")
                }
                if c.method == .fullNAT {
                    localPortsHeld[Int(c.localPool)] += 1
                    if !localPortsSeen.insert(UInt32(c.localPool) << 16 | UInt32(c.localPort)).inserted {
                        problems.append("local port \(c.localPort) of pool \(c.localPool) held twice")
                    }
                }
            }
            // Each hashed entry is what its own key finds.
            if !c.flags.contains(.unhashed) {
                let b = d.table.bucket(c.proto, source: c.clientAddress, sourcePort: c.clientPort,
                                       destination: c.virtualAddress, destinationPort: c.virtualPort)
                let found = d.table.lookupIn(bucket: b, c.proto, client: c.clientAddress, clientPort: c.clientPort,
                                             virtual: c.virtualAddress, virtualPort: c.virtualPort,
                                             template: c.flags.contains(.template))
                if found != h { problems.append("in-lookup of \(h) finds \(found)") }
            }
            if c.flags.contains(.hashedOut) {
                let (rd, rp) = c.replyDestination
                let b = d.table.bucket(c.proto, source: c.destinationAddress, sourcePort: c.destinationPort,
                                       destination: rd, destinationPort: rp)
                let found = d.table.lookupOut(bucket: b, c.proto, realServer: c.destinationAddress,
                                              realPort: c.destinationPort, replyDestination: rd, replyPort: rp)
                if found != h { problems.append("out-lookup of \(h) finds \(found)") }
            }
        }
        if visited != d.table.count { problems.append("table.count \(d.table.count) but forEach visits \(visited)") }
        for i in 0..<d.realServerCount {
            let rs = d.realServer(at: i)
            if Int(rs.activeConnections) + Int(rs.inactiveConnections) != conns[i] {
                problems.append("real server \(i): active \(rs.activeConnections) + inactive \(rs.inactiveConnections) but \(conns[i]) connections")
            }
            if Int(rs.activeConnections) != active[i] {
                problems.append("real server \(i): active \(rs.activeConnections) but \(active[i]) active connections")
            }
            if Int(rs.persistentConnections) != templates[i] {
                problems.append("real server \(i): persistent \(rs.persistentConnections) but \(templates[i]) templates")
            }
        }
        for (t, n) in templateControlled where Int(n) != controlled[t, default: 0] {
            problems.append("template \(t) says it controls \(n), \(controlled[t, default: 0]) point at it")
        }
        for (t, _) in controlled where templateControlled[t] == nil {
            problems.append("connections point at template \(t), which is not a live template")
        }
        for (k, box) in d.localPools.enumerated() {
            let size = box.pool.range.count
            if box.pool.available + localPortsHeld[k] != size {
                problems.append("local pool \(k): \(box.pool.available) free + \(localPortsHeld[k]) held != \(size)")
            }
        }
        return problems
    }
}
