import Wire

/// IPv4 (with IPIP: the outer header is the `outer ipv4` layer, the inner one `ipv4`) and IPv6.
extension FrameDecoder {
    static let maximumTunnelDepth = 3

    mutating func ipv4(_ base: UnsafeMutableRawPointer, length: Int) {
        let ip: IPv4Packet
        do { ip = try IPv4Packet(base, length: length) } catch {
            malformed("ipv4", "IPv4 packet", error, length: length)
            return
        }
        let encapsulates = ip.protocol == .ipip && tunnelDepth < Self.maximumTunnelDepth
        let layer = encapsulates ? (tunnelDepth == 0 ? "outer ipv4" : "outer ipv4 \(tunnelDepth + 1)") : "ipv4"
        let source = ip.sourceAddress, destination = ip.destinationAddress
        add(layer, "tos", Describe.hex(ip.typeOfService))
        add(layer, "length", "\(ip.totalLength)")
        add(layer, "id", "\(ip.identification)")
        add(layer, "flags", Describe.ipv4Flags(ip))
        add(layer, "ttl", "\(ip.timeToLive)")
        add(layer, "protocol", Describe.ipProtocol(ip.protocol))
        add(layer, "checksum", Describe.checksum(ip.checksum, sum: Checksum.sum(base, count: ip.headerLength)))
        add(layer, "src", source.description)
        add(layer, "dst", destination.description)
        if ip.optionsLength > 0 { add(layer, "options", "\(ip.optionsLength) bytes") }

        guard ip.carriesTransportHeader else {
            summary.append("IPv4 \(source) → \(destination) \(Describe.ipProtocol(ip.protocol)) fragment at offset \(ip.fragmentOffset), \(ip.payloadLength) bytes")
            return
        }
        // A first fragment holds only part of the segment its transport checksum covers.
        let pseudo: UInt32? = ip.isFragment ? nil : ip.pseudoHeaderSum
        switch ip.protocol {
        case .ipip where encapsulates:
            summary.append("IPIP \(source) → \(destination) carrying")
            tunnelDepth += 1
            ipv4(ip.payload, length: ip.payloadLength)
        case .tcp:
            tcp(ip.payload, length: ip.payloadLength, pseudo: pseudo, source: source, destination: destination)
        case .udp:
            udp(ip.payload, length: ip.payloadLength, pseudo: pseudo, zeroMeansNone: true,
                source: source, destination: destination)
        case .icmp:
            icmpv4(ip.payload, length: ip.payloadLength, source: source, destination: destination)
        default:
            summary.append("IPv4 \(source) → \(destination) \(Describe.ipProtocol(ip.protocol)), \(ip.payloadLength) bytes")
        }
        if ip.isFragment { summary.append("(first fragment)") }
    }

    mutating func ipv6(_ base: UnsafeMutableRawPointer, length: Int) {
        let ip: IPv6Packet
        do { ip = try IPv6Packet(base, length: length) } catch {
            malformed("ipv6", "IPv6 packet", error, length: length)
            return
        }
        let layer = "ipv6"
        let source = ip.source, destination = ip.destination
        add(layer, "traffic class", Describe.hex(ip.trafficClass))
        add(layer, "flow label", "\(ip.flowLabel)")
        add(layer, "payload length", "\(ip.payloadLength)")
        add(layer, "next header", Describe.ipProtocol(ip.nextHeader))
        add(layer, "hop limit", "\(ip.hopLimit)")
        add(layer, "src", source.description)
        add(layer, "dst", destination.description)
        if ip.upperOffset > IPv6Packet.headerLength {
            add(layer, "extensions", "\(ip.upperOffset - IPv6Packet.headerLength) bytes, then \(Describe.ipProtocol(ip.upperProtocol))")
        }
        if ip.isFragment {
            add(layer, "fragment", "id \(ip.fragmentIdentification), offset \(ip.fragmentOffset)\(ip.moreFragments ? ", more follow" : ", last")")
        }
        guard ip.carriesTransportHeader else {
            summary.append("IPv6 \(source) → \(destination) fragment at offset \(ip.fragmentOffset), \(ip.upperLength) bytes")
            return
        }
        let pseudo: UInt32? = ip.isFragment ? nil : ip.pseudoHeaderSum
        switch ip.upperProtocol {
        case .tcp:
            tcp(ip.upper, length: ip.upperLength, pseudo: pseudo, source: source, destination: destination)
        case .udp:
            udp(ip.upper, length: ip.upperLength, pseudo: pseudo, zeroMeansNone: false,
                source: source, destination: destination)
        case .icmpv6:
            icmpv6(ip.upper, length: ip.upperLength, pseudo: pseudo, source: source, destination: destination)
        default:
            summary.append("IPv6 \(source) → \(destination) \(Describe.ipProtocol(ip.upperProtocol)), \(ip.upperLength) bytes")
        }
        if ip.isFragment { summary.append("(first fragment)") }
    }
}
