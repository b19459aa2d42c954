import Wire

/// How values read from headers are written in the teaching view: names for numbers
/// (protocols, ICMP types, ARP operations), tcpdump's TCP flag letters, and checksums with
/// their verification.
enum Describe {
    static func hex(_ value: UInt8) -> String { "0x" + padded(String(value, radix: 16), 2) }
    static func hex(_ value: UInt16) -> String { "0x" + padded(String(value, radix: 16), 4) }

    static func padded(_ text: String, _ width: Int) -> String {
        String(repeating: "0", count: max(0, width - text.count)) + text
    }

    /// `0x1c46 (ok)` when the sum over everything the checksum covers (the field included)
    /// folds to 0xFFFF (RFC 1071 §2), else `0x1c46 (BAD, want 0x1c47)`.
    static func checksum(_ field: UInt16, sum: UInt32) -> String {
        if Checksum.fold(sum) == 0xFFFF { return "\(hex(field)) (ok)" }
        // Take the field back out of the sum (ones' complement subtraction adds ~field).
        let want = Checksum.finish(sum &+ UInt32(~field))
        return "\(hex(field)) (BAD, want \(hex(want)))"
    }

    /// tcpdump's letters in tcpdump's order (print-tcp.c `tcp_flag_values`): F S R P . U E W.
    static func tcpFlags(_ flags: TCPFlags) -> String {
        let letters: [(TCPFlags, String)] = [
            (.fin, "F"), (.syn, "S"), (.rst, "R"), (.psh, "P"), (.ack, "."), (.urg, "U"), (.ece, "E"), (.cwr, "W"),
        ]
        let text = letters.filter { flags.contains($0.0) }.map(\.1).joined()
        return "[" + (text.isEmpty ? "none" : text) + "]"
    }

    static func ipv4Flags(_ ip: IPv4Packet) -> String {
        var parts: [String] = []
        if ip.dontFragment { parts.append("DF") }
        if ip.moreFragments { parts.append("MF") }
        var text = parts.isEmpty ? "none" : parts.joined(separator: " ")
        if ip.fragmentOffset != 0 { text += ", offset \(ip.fragmentOffset)" }
        return text
    }

    static func etherType(_ value: UInt16) -> String {
        switch value {
        case EtherType.ipv4: "\(hex(value)) (IPv4)"
        case EtherType.ipv6: "\(hex(value)) (IPv6)"
        case EtherType.arp: "\(hex(value)) (ARP)"
        default: hex(value)
        }
    }

    static func ipProtocol(_ value: UInt8) -> String {
        let name: String? = switch value {
        case IPProtocolNumber.hopByHop: "hop-by-hop"
        case IPProtocolNumber.icmp: "ICMP"
        case IPProtocolNumber.ipip: "IPIP"
        case IPProtocolNumber.tcp: "TCP"
        case IPProtocolNumber.udp: "UDP"
        case IPProtocolNumber.ipv6: "IPv6"
        case IPProtocolNumber.routing: "routing"
        case IPProtocolNumber.fragment: "fragment"
        case IPProtocolNumber.esp: "ESP"
        case IPProtocolNumber.authentication: "AH"
        case IPProtocolNumber.icmpv6: "ICMPv6"
        case IPProtocolNumber.noNextHeader: "no next header"
        case IPProtocolNumber.destinationOptions: "destination options"
        default: nil
        }
        return name.map { "\(value) (\($0))" } ?? "\(value)"
    }

    static func arpOperation(_ value: UInt16) -> String {
        switch value {
        case ARPPacket.Operation.request: "1 (request)"
        case ARPPacket.Operation.reply: "2 (reply)"
        default: "\(value)"
        }
    }

    /// RFC 792 type names and, for destination unreachable, RFC 792 / RFC 1812 code names.
    static func icmpv4(type: UInt8, code: UInt8) -> (String, String?) {
        switch type {
        case ICMPv4Message.Kind.echoReply: return ("echo reply", nil)
        case ICMPv4Message.Kind.echoRequest: return ("echo request", nil)
        case ICMPv4Message.Kind.sourceQuench: return ("source quench", nil)
        case ICMPv4Message.Kind.redirect: return ("redirect", nil)
        case ICMPv4Message.Kind.parameterProblem: return ("parameter problem", nil)
        case ICMPv4Message.Kind.timeExceeded:
            return ("time exceeded", code == 0 ? "ttl exceeded in transit" : code == 1 ? "fragment reassembly time exceeded" : nil)
        case ICMPv4Message.Kind.destinationUnreachable:
            let codes = ["network unreachable", "host unreachable", "protocol unreachable", "port unreachable",
                         "fragmentation needed", "source route failed", "network unknown", "host unknown",
                         "source host isolated", "network prohibited", "host prohibited",
                         "network unreachable for tos", "host unreachable for tos", "administratively prohibited"]
            return ("destination unreachable", Int(code) < codes.count ? codes[Int(code)] : nil)
        default: return ("type \(type)", nil)
        }
    }

    /// RFC 4443 / RFC 4861 type names and destination-unreachable code names.
    static func icmpv6(type: UInt8, code: UInt8) -> (String, String?) {
        switch type {
        case ICMPv6Message.Kind.destinationUnreachable:
            let codes = ["no route to destination", "administratively prohibited", "beyond scope of source address",
                         "address unreachable", "port unreachable", "source address failed policy", "reject route"]
            return ("destination unreachable", Int(code) < codes.count ? codes[Int(code)] : nil)
        case ICMPv6Message.Kind.packetTooBig: return ("packet too big", nil)
        case ICMPv6Message.Kind.timeExceeded:
            return ("time exceeded", code == 0 ? "hop limit exceeded in transit" : code == 1 ? "fragment reassembly time exceeded" : nil)
        case ICMPv6Message.Kind.parameterProblem: return ("parameter problem", nil)
        case ICMPv6Message.Kind.echoRequest: return ("echo request", nil)
        case ICMPv6Message.Kind.echoReply: return ("echo reply", nil)
        case 133: return ("router solicitation", nil)
        case 134: return ("router advertisement", nil)
        case ICMPv6Message.Kind.neighborSolicitation: return ("neighbor solicitation", nil)
        case ICMPv6Message.Kind.neighborAdvertisement: return ("neighbor advertisement", nil)
        default: return ("type \(type)", nil)
        }
    }

    static func wireError(_ error: WireError) -> String {
        switch error {
        case .truncated: "truncated"
        case .badVersion: "wrong version"
        case .badHeaderLength: "bad header length"
        case .badTotalLength: "length field disagrees with the bytes present"
        case .badExtensionHeader: "bad extension header chain"
        case .unsupported: "unsupported variant"
        }
    }
}
