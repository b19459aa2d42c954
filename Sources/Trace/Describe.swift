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

    static func etherType(_ type: EtherType) -> String {
        let value = type.rawValue
        return switch type {
        case .ipv4: "\(hex(value)) (IPv4)"
        case .ipv6: "\(hex(value)) (IPv6)"
        case .arp: "\(hex(value)) (ARP)"
        default: hex(value)
        }
    }

    static func ipProtocol(_ proto: IPProtocol) -> String {
        let value = proto.rawValue
        let name: String? = switch proto {
        case .hopByHop: "hop-by-hop"
        case .icmp: "ICMP"
        case .ipip: "IPIP"
        case .tcp: "TCP"
        case .udp: "UDP"
        case .ipv6: "IPv6"
        case .routing: "routing"
        case .fragment: "fragment"
        case .esp: "ESP"
        case .authentication: "AH"
        case .icmpv6: "ICMPv6"
        case .noNextHeader: "no next header"
        case .destinationOptions: "destination options"
        default: nil
        }
        return name.map { "\(value) (\($0))" } ?? "\(value)"
    }

    static func arpOperation(_ operation: ARPPacket.Operation) -> String {
        switch operation {
        case .request: "1 (request)"
        case .reply: "2 (reply)"
        default: "\(operation.rawValue)"
        }
    }

    /// RFC 792 type names and, for destination unreachable, RFC 792 / RFC 1812 code names.
    static func icmpv4(type: ICMPv4Type, code typed: ICMPv4Code) -> (String, String?) {
        let code = typed.rawValue
        switch type {
        case .echoReply: return ("echo reply", nil)
        case .echoRequest: return ("echo request", nil)
        case .sourceQuench: return ("source quench", nil)
        case .redirect: return ("redirect", nil)
        case .parameterProblem: return ("parameter problem", nil)
        case .timeExceeded:
            return ("time exceeded", code == 0 ? "ttl exceeded in transit" : code == 1 ? "fragment reassembly time exceeded" : nil)
        case .destinationUnreachable:
            let codes = ["network unreachable", "host unreachable", "protocol unreachable", "port unreachable",
                         "fragmentation needed", "source route failed", "network unknown", "host unknown",
                         "source host isolated", "network prohibited", "host prohibited",
                         "network unreachable for tos", "host unreachable for tos", "administratively prohibited"]
            return ("destination unreachable", Int(code) < codes.count ? codes[Int(code)] : nil)
        default: return ("type \(type)", nil)
        }
    }

    /// RFC 4443 / RFC 4861 type names and destination-unreachable code names.
    static func icmpv6(type: ICMPv6Type, code typed: ICMPv6Code) -> (String, String?) {
        let code = typed.rawValue
        switch type {
        case .destinationUnreachable:
            let codes = ["no route to destination", "administratively prohibited", "beyond scope of source address",
                         "address unreachable", "port unreachable", "source address failed policy", "reject route"]
            return ("destination unreachable", Int(code) < codes.count ? codes[Int(code)] : nil)
        case .packetTooBig: return ("packet too big", nil)
        case .timeExceeded:
            return ("time exceeded", code == 0 ? "hop limit exceeded in transit" : code == 1 ? "fragment reassembly time exceeded" : nil)
        case .parameterProblem: return ("parameter problem", nil)
        case .echoRequest: return ("echo request", nil)
        case .echoReply: return ("echo reply", nil)
        case .routerSolicitation: return ("router solicitation", nil)
        case .routerAdvertisement: return ("router advertisement", nil)
        case .neighborSolicitation: return ("neighbor solicitation", nil)
        case .neighborAdvertisement: return ("neighbor advertisement", nil)
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
