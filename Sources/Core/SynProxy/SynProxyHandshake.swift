import Wire

/// What the director announces in its own SYN-ACKs (Linux SYNPROXY's `--mss --wscale`,
/// DPVS's `synack_options`): it speaks for a real server it has not contacted yet.
public struct SynProxySettings: Equatable, Sendable {
    /// MSS announced to IPv4 clients; IPv6 clients get 20 bytes less (the longer header).
    public var maximumSegmentSize: UInt16
    /// Window scale announced to clients that offer one (and send timestamps).
    public var windowScale: UInt8
    /// The SYN-ACK's window (never scaled, RFC 7323 §2.2).
    public var window: UInt16

    public init(maximumSegmentSize: UInt16 = 1460, windowScale: UInt8 = 7, window: UInt16 = 65535) {
        self.maximumSegmentSize = maximumSegmentSize
        self.windowScale = windowScale
        self.window = window
    }
}

/// A header-only TCP segment the director writes itself during a proxied handshake.
public struct HandshakeSegment: Equatable, Sendable {
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequence: UInt32
    public var acknowledgment: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    public var options: TCPSynOptions

    public init(source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16,
                sequence: UInt32, acknowledgment: UInt32, flags: TCPFlags, window: UInt16, options: TCPSynOptions) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.window = window
        self.options = options
    }

    /// Bytes of the IP packet `emit` writes.
    public var packetLength: Int {
        (source.isIPv4 ? IPv4Packet.minimumHeaderLength : IPv6Packet.headerLength)
            + TCPSegment.minimumHeaderLength + options.encodedLength
    }

    /// Writes the segment as an IP packet (IPv4 with DF and no options, or IPv6 with no
    /// extension headers) at `l3`, checksums filled; nil when `room` is too small.
    public func emit(into l3: UnsafeMutableRawPointer, room: Int) -> Int? {
        let total = packetLength
        guard room >= total else { return nil }
        let tcpLength = TCPSegment.minimumHeaderLength + options.encodedLength
        let l4: UnsafeMutableRawPointer
        let pseudo: UInt32
        if source.isIPv4 {
            IPv4Packet.emit(into: l3, totalLength: total, protocol: .tcp, source: source.ipv4, destination: destination.ipv4)
            l4 = l3 + IPv4Packet.minimumHeaderLength
            pseudo = Checksum.pseudoHeaderIPv4(source: source.ipv4, destination: destination.ipv4, protocol: .tcp,
                                               length: tcpLength)
        } else {
            IPv6Packet.emit(into: l3, payloadLength: tcpLength, nextHeader: .tcp, source: source, destination: destination)
            l4 = l3 + IPv6Packet.headerLength
            pseudo = Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: .tcp,
                                               length: tcpLength)
        }
        TCPSegment.emit(into: l4, sourcePort: sourcePort, destinationPort: destinationPort, sequence: sequence,
                        acknowledgment: acknowledgment, headerLength: tcpLength, flags: flags, window: window)
        options.write(into: l4 + TCPSegment.minimumHeaderLength)
        // Safety of the view: the header was just written with this length.
        guard let tcp = try? TCPSegment(l4, length: tcpLength) else { return nil }
        tcp.fillChecksum(pseudoHeaderSum: pseudo)
        return total
    }
}

/// The three segments of a proxied handshake and the translation they leave behind
/// (Docs/adr/0007-syn-proxy.md; DPVS ip_vs_synproxy.c, Linux nf_synproxy_core.c, as behaviour).
public enum SynProxyHandshake {
    /// ECN setup on a SYN is ECE and CWR together (RFC 3168 §6.1.1).
    static let ecnSetup: TCPFlags = [.ece, .cwr]

    /// The director's SYN-ACK to a client SYN: ISN `cookie`, the client's ISN acknowledged,
    /// MSS from `settings`; window scale, SACK-permitted and a timestamp carrying them only
    /// when the client sent a timestamp (without one the cookie cannot carry them back).
    public static func synAck(answering syn: TCPSegment, client: IPAddress, virtual: IPAddress, cookie: UInt32,
                              settings: SynProxySettings, nowMilliseconds: UInt32) -> HandshakeSegment {
        let offered = syn.synOptions
        let ecn = syn.flags.isSuperset(of: ecnSetup)
        var options = TCPSynOptions(maximumSegmentSize: client.isIPv4
                                    ? settings.maximumSegmentSize : settings.maximumSegmentSize &- 20)
        if let ts = offered.timestamp {
            options.sackPermitted = offered.sackPermitted
            options.windowScale = offered.windowScale == nil ? nil : settings.windowScale
            options.timestamp = (SynCookies.timestamp(nowMilliseconds: nowMilliseconds, windowScale: offered.windowScale,
                                                      sackPermitted: offered.sackPermitted,
                                                      explicitCongestionNotification: ecn), ts.value)
        }
        return HandshakeSegment(source: virtual, destination: client, sourcePort: syn.destinationPort,
                                destinationPort: syn.sourcePort, sequence: cookie,
                                acknowledgment: syn.sequenceNumber &+ 1,
                                flags: ecn ? [.syn, .ack, .ece] : [.syn, .ack], window: settings.window, options: options)
    }

    /// The SYN the director sends toward the real server once the client's `ack` proved its
    /// cookie: the client's own ISN (so the client's numbers need no translation), the options
    /// the cookie carried, the ACK's TSval. Addressed as the client's ACK was (client → VIP):
    /// the connection's forwarding method rewrites it like any packet from the client.
    public static func serverSyn(from ack: TCPSegment, client: IPAddress, virtual: IPAddress,
                                 carried: SynCookieOptions) -> HandshakeSegment {
        var options = TCPSynOptions(maximumSegmentSize: carried.maximumSegmentSize)
        if carried.timestamps, let ts = ack.synOptions.timestamp {
            options.timestamp = (ts.value, 0)
            options.sackPermitted = carried.sackPermitted
            options.windowScale = carried.windowScale
        }
        // The ACK's window is scaled by the client's shift; a SYN's is not (RFC 7323 §2.2).
        let shift = UInt32(carried.windowScale ?? 0)
        let window = UInt16(truncatingIfNeeded: min(UInt32(ack.window) << shift, 0xFFFF))
        return HandshakeSegment(source: client, destination: virtual, sourcePort: ack.sourcePort,
                                destinationPort: ack.destinationPort, sequence: ack.sequenceNumber &- 1,
                                acknowledgment: 0,
                                flags: carried.explicitCongestionNotification ? [.syn, .ece, .cwr] : .syn,
                                window: window, options: options)
    }

    /// The translation for the rest of the connection, from the real server's SYN-ACK:
    /// its ISN against the cookie, its TSval against the one the director gave the client
    /// (`directorTimestamp`, the TSecr of the client's ACK), its window scale against the one
    /// announced (`announcedWindowScale`, nil when the client was told none).
    public static func adjustment(serverSynAck: TCPSegment, cookie: UInt32, directorTimestamp: UInt32?,
                                  announcedWindowScale: UInt8?) -> SequenceAdjustment {
        let options = serverSynAck.synOptions
        var adjustment = SequenceAdjustment(serverSequenceOffset: cookie &- serverSynAck.sequenceNumber)
        if let mine = directorTimestamp, let theirs = options.timestamp?.value {
            adjustment.timestampOffset = mine &- theirs
        }
        // Scaling is on only when both SYNs carried the option (RFC 7323 §2.2); the server's
        // shift is 0 when its SYN-ACK carried none.
        if let told = announcedWindowScale {
            let server = Int(min(options.windowScale ?? 0, SynCookies.maximumWindowScale))
            adjustment.serverWindowShift = Int8(server - Int(min(told, SynCookies.maximumWindowScale)))
        }
        return adjustment
    }
}
