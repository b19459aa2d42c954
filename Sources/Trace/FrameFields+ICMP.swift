import Wire

/// ICMPv4 (RFC 792) and ICMPv6 (RFC 4443), with the datagram an error quotes decoded as
/// `quoted ipv4` / `quoted ipv6` and `quoted tcp` / `quoted udp` layers: the addresses and
/// ports a NAT director must rewrite inside the quote as well.
extension FrameDecoder {
    mutating func icmpv4(_ base: UnsafeMutableRawPointer, length: Int, source: IPAddress, destination: IPAddress) {
        let m: ICMPv4Message
        do { m = try ICMPv4Message(base, length: length) } catch {
            malformed("icmp", "ICMP message", error, length: length)
            return
        }
        let (typeName, codeName) = Describe.icmpv4(type: m.type, code: m.code)
        add("icmp", "type", "\(m.type) (\(typeName))")
        add("icmp", "code", codeName.map { "\(m.code) (\($0))" } ?? "\(m.code)")
        add("icmp", "checksum", Describe.checksum(m.checksum, sum: Checksum.sum(base, count: length)))
        var line = "ICMP \(source) → \(destination) \(typeName)" + (codeName.map { " (\($0))" } ?? "")
        switch m.type {
        case .echoRequest, .echoReply:
            add("icmp", "id", "\(m.rest >> 16)")
            add("icmp", "seq", "\(m.rest & 0xFFFF)")
            line += " id \(m.rest >> 16) seq \(m.rest & 0xFFFF)"
        case .destinationUnreachable where m.code == .fragmentationNeeded:
            add("icmp", "mtu", "\(m.nextHopMTU)")
            line += " mtu \(m.nextHopMTU)"
        default:
            break
        }
        if m.isError {
            if let quoted = quotedIPv4(m.payload, length: m.payloadLength) { line += " quoting " + quoted }
        }
        summary.append(line)
    }

    mutating func icmpv6(_ base: UnsafeMutableRawPointer, length: Int, pseudo: UInt32?,
                         source: IPAddress, destination: IPAddress) {
        let m: ICMPv6Message
        do { m = try ICMPv6Message(base, length: length) } catch {
            malformed("icmpv6", "ICMPv6 message", error, length: length)
            return
        }
        let (typeName, codeName) = Describe.icmpv6(type: m.type, code: m.code)
        add("icmpv6", "type", "\(m.type) (\(typeName))")
        add("icmpv6", "code", codeName.map { "\(m.code) (\($0))" } ?? "\(m.code)")
        add("icmpv6", "checksum", pseudo.map { Describe.checksum(m.checksum, sum: Checksum.sum(base, count: length, initial: $0)) }
            ?? Describe.hex(m.checksum) + " (fragment, not verified)")
        var line = "ICMPv6 \(source) → \(destination) \(typeName)" + (codeName.map { " (\($0))" } ?? "")
        switch m.type {
        case .echoRequest, .echoReply:
            add("icmpv6", "id", "\(m.rest >> 16)")
            add("icmpv6", "seq", "\(m.rest & 0xFFFF)")
            line += " id \(m.rest >> 16) seq \(m.rest & 0xFFFF)"
        case .packetTooBig:
            add("icmpv6", "mtu", "\(m.rest)")
            line += " mtu \(m.rest)"
        default:
            break
        }
        if m.isError {
            if let quoted = quotedIPv6(m.payload, length: m.payloadLength) { line += " quoting " + quoted }
        }
        summary.append(line)
    }

    /// Decodes the IPv4 header an ICMP error quotes; returns the quote's summary.
    mutating func quotedIPv4(_ base: UnsafeMutableRawPointer, length: Int) -> String? {
        let layer = "quoted ipv4"
        let ip: IPv4Packet
        do { ip = try IPv4Packet(quoted: base, length: length) } catch {
            add(layer, "error", "\(Describe.wireError(error)) (\(length) bytes)")
            return nil
        }
        let declared = Int(RawRead.u16(base, IPv4Packet.Offset.totalLength))
        let source = ip.sourceAddress, destination = ip.destinationAddress
        add(layer, "length", declared <= length ? "\(declared)" : "\(declared) (\(length) quoted)")
        add(layer, "ttl", "\(ip.timeToLive)")
        add(layer, "protocol", Describe.ipProtocol(ip.protocol))
        add(layer, "checksum", Describe.checksum(ip.checksum, sum: Checksum.sum(base, count: ip.headerLength)))
        add(layer, "src", source.description)
        add(layer, "dst", destination.description)
        let payloadLength = min(declared, length) - ip.headerLength
        let pseudo: UInt32? = declared <= length && !ip.isFragment
            ? Checksum.pseudoHeaderIPv4(source: ip.source, destination: ip.destination, protocol: ip.protocol,
                                        length: declared - ip.headerLength)
            : nil
        return quotedTransport(ip.payload, length: payloadLength, proto: ip.protocol, pseudo: pseudo,
                               zeroMeansNone: true, source: source, destination: destination)
    }

    /// Decodes the IPv6 header an ICMPv6 error quotes; returns the quote's summary.
    mutating func quotedIPv6(_ base: UnsafeMutableRawPointer, length: Int) -> String? {
        let layer = "quoted ipv6"
        let ip: IPv6Packet
        do { ip = try IPv6Packet(quoted: base, length: length) } catch {
            add(layer, "error", "\(Describe.wireError(error)) (\(length) bytes)")
            return nil
        }
        let declared = IPv6Packet.headerLength + Int(ip.payloadLength)
        add(layer, "payload length", declared <= length ? "\(ip.payloadLength)" : "\(ip.payloadLength) (\(length - IPv6Packet.headerLength) quoted)")
        add(layer, "next header", Describe.ipProtocol(ip.upperProtocol))
        add(layer, "hop limit", "\(ip.hopLimit)")
        add(layer, "src", ip.source.description)
        add(layer, "dst", ip.destination.description)
        let pseudo: UInt32? = declared <= length ? ip.pseudoHeaderSum : nil
        return quotedTransport(ip.upper, length: min(declared, length) - ip.upperOffset, proto: ip.upperProtocol,
                               pseudo: pseudo, zeroMeansNone: false, source: ip.source, destination: ip.destination)
    }
}
