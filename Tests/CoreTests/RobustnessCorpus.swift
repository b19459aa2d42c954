@testable import Core
import PacketBuilder
import TestSupport
import Testing
import Wire

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
                    // The SYN's ISN is one before the data's first byte (where a PROXY protocol header goes).
                    let sequence: UInt32 = flags == [.syn] ? 999 : 1000
                    add(Lab.ip(toVIP, f, from: f.client, to: f.vip).tcp(sourcePort: cport, destinationPort: vp,
                                                                        flags: flags, sequence: sequence).payload(payload),
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
