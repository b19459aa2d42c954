import Wire

/// TCP and UDP, and the first bytes of a transport header quoted inside an ICMP error.
extension FrameDecoder {
    /// - Parameter pseudo: the IP pseudo-header sum, or nil when the checksum cannot be
    ///   verified (a first fragment holds only part of what it covers).
    mutating func tcp(_ base: UnsafeMutableRawPointer, length: Int, pseudo: UInt32?,
                      source: IPAddress, destination: IPAddress) {
        let tcp: TCPSegment
        do { tcp = try TCPSegment(base, length: length) } catch {
            malformed("tcp", "TCP segment", error, length: length)
            return
        }
        let flags = Describe.tcpFlags(tcp.flags)
        add("tcp", "sport", "\(tcp.sourcePort)")
        add("tcp", "dport", "\(tcp.destinationPort)")
        add("tcp", "flags", flags)
        add("tcp", "seq", "\(tcp.sequenceNumber)")
        add("tcp", "ack", "\(tcp.acknowledgmentNumber)")
        add("tcp", "window", "\(tcp.window)")
        add("tcp", "checksum", pseudo.map { Describe.checksum(tcp.checksum, sum: Checksum.sum(base, count: length, initial: $0)) }
            ?? Describe.hex(tcp.checksum) + " (fragment, not verified)")
        if tcp.headerLength > TCPSegment.minimumHeaderLength {
            add("tcp", "options", "\(tcp.headerLength - TCPSegment.minimumHeaderLength) bytes")
        }
        add("tcp", "data", "\(tcp.payloadLength) bytes")
        var line = "TCP \(Endpoint(source, tcp.sourcePort)) → \(Endpoint(destination, tcp.destinationPort)) \(flags) seq \(tcp.sequenceNumber)"
        if tcp.flags.contains(.ack) { line += " ack \(tcp.acknowledgmentNumber)" }
        line += " win \(tcp.window) len \(tcp.payloadLength)"
        summary.append(line)
    }

    /// - Parameter zeroMeansNone: over IPv4 a zero UDP checksum means "not computed" (RFC 768).
    mutating func udp(_ base: UnsafeMutableRawPointer, length: Int, pseudo: UInt32?, zeroMeansNone: Bool,
                      source: IPAddress, destination: IPAddress) {
        let udp: UDPDatagram
        do { udp = try UDPDatagram(base, length: length) } catch {
            malformed("udp", "UDP datagram", error, length: length)
            return
        }
        add("udp", "sport", "\(udp.sourcePort)")
        add("udp", "dport", "\(udp.destinationPort)")
        add("udp", "length", "\(udp.length)")
        let checksum: String
        if udp.checksum == 0 && zeroMeansNone {
            checksum = "0x0000 (none)"
        } else if let pseudo {
            checksum = Describe.checksum(udp.checksum, sum: Checksum.sum(base, count: udp.length, initial: pseudo))
        } else {
            checksum = Describe.hex(udp.checksum) + " (fragment, not verified)"
        }
        add("udp", "checksum", checksum)
        summary.append("UDP \(Endpoint(source, udp.sourcePort)) → \(Endpoint(destination, udp.destinationPort)) len \(udp.payloadLength)")
    }

    /// The transport header at the end of an ICMP error's quote: ports always, then what fits.
    ///
    /// - Parameter pseudo: the quoted datagram's pseudo-header sum when the whole datagram is
    ///   quoted, so its checksum can be verified; nil for a partial quote.
    mutating func quotedTransport(_ base: UnsafeMutableRawPointer, length: Int, proto: IPProtocol, pseudo: UInt32?,
                                  zeroMeansNone: Bool, source: IPAddress, destination: IPAddress) -> String {
        let name = proto == .tcp ? "tcp" : proto == .udp ? "udp" : nil
        guard let name, length >= 4 else {
            return "\(Describe.ipProtocol(proto)) \(source) → \(destination)"
        }
        let layer = "quoted " + name
        let sport = RawRead.u16(base, 0), dport = RawRead.u16(base, 2)
        add(layer, "sport", "\(sport)")
        add(layer, "dport", "\(dport)")
        if name == "tcp", let tcp = try? TCPSegment(base, length: length) {
            add(layer, "seq", "\(tcp.sequenceNumber)")
            add(layer, "flags", Describe.tcpFlags(tcp.flags))
            add(layer, "checksum", pseudo.map { Describe.checksum(tcp.checksum, sum: Checksum.sum(base, count: length, initial: $0)) }
                ?? Describe.hex(tcp.checksum) + " (partial quote)")
        } else if name == "udp", length >= UDPDatagram.headerLength {
            let declared = Int(RawRead.u16(base, UDPDatagram.Offset.length))
            let value = RawRead.u16(base, UDPDatagram.Offset.checksum)
            add(layer, "length", "\(declared)")
            if value == 0 && zeroMeansNone {
                add(layer, "checksum", "0x0000 (none)")
            } else if let pseudo, declared <= length {
                add(layer, "checksum", Describe.checksum(value, sum: Checksum.sum(base, count: declared, initial: pseudo)))
            } else {
                add(layer, "checksum", Describe.hex(value) + " (partial quote)")
            }
        }
        return "\(name.uppercased()) \(Endpoint(source, sport)) → \(Endpoint(destination, dport))"
    }
}
