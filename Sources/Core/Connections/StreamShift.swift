import Wire

/// Everything the director keeps per connection about moving its TCP streams, beside the
/// table, whose 128-byte entries have no room: one entry per handle, allocated once with the
/// first service that has a SYN proxy, PROXY protocol, TOA or the FTP helper
/// (Docs/adr/0009). The SYN proxy's handshake, the PROXY protocol header, TOA and the FTP
/// helper all record into the one `adjustment`, and every segment of the connection is
/// translated once, after its forwarding method (`shiftFromClient`, `shiftFromServer`); the
/// same value travels in connection sync (IPVS's sequence option and lvsd's own) and serves
/// ICMP errors quoting one of its segments.
@usableFromInline
struct StreamShift {
    /// Sequence, acknowledgment, timestamp and window translation for both directions.
    var adjustment = SequenceAdjustment.identity
    /// The PROXY protocol version to insert (`ProxyProtocolHeader.Version` raw value), 0: none.
    var proxyProtocol: UInt8 = 0
    var toa = false
    /// The client's ISN + 1: where its first byte, and the header, go. Known from its SYN.
    var firstSequence: UInt32 = 0
    var synSeen = false
    /// The header went out at least once (a retransmission of the first data gets it again).
    var headerSent = false
    /// The real server's ISN + 1 (DPVS `fdata_seq`): a client segment acknowledging exactly
    /// this completes the handshake or follows it before the server sent data, and gets TOA.
    var serverFirstSequence: UInt32 = 0
    var synAckSeen = false
    /// The adjustment changed since the connection was last noted for sync.
    var changed = false

    /// The service hands the client's address on (PROXY protocol, TOA; Docs/adr/0008).
    @inline(__always) var wantsClientAddress: Bool { proxyProtocol != 0 || toa }
    /// Whether a segment of this connection may need anything done.
    @inline(__always) var isActive: Bool { wantsClientAddress || !adjustment.isIdentity }
}

extension Director {
    /// Allocates the entries once, when the first service needs them (off the data path).
    func allocateStreamShifts() {
        guard streamShifts == nil,
              services.contains(where: { $0.synProxy || $0.proxyProtocol != nil || $0.toa }) || ftp.enabled else { return }
        // One entry per handle (0 unused).
        let entries = UnsafeMutablePointer<StreamShift>.allocate(capacity: table.capacity + 1)
        entries.initialize(repeating: StreamShift(), count: table.capacity + 1)
        streamShifts = entries
    }

    /// A new connection of service `si` starts clean and takes the service's PROXY protocol
    /// and TOA settings: a slot reused from another connection keeps nothing of it.
    @inline(__always)
    func armStreamShift(_ si: Int, _ h: ConnectionHandle) {
        guard let entries = streamShifts else { return }
        var entry = StreamShift()
        let runtime = services[si]
        if let version = runtime.proxyProtocol { entry.proxyProtocol = version.rawValue }
        entry.toa = runtime.toa
        entries[Int(h)] = entry
    }

    /// A connection that did not come through scheduling (an FTP data connection, one from
    /// connection sync before its options are read) starts with nothing.
    @inline(__always)
    func clearStreamShift(_ h: ConnectionHandle) {
        streamShifts?[Int(h)] = StreamShift()
    }

    /// The PROXY protocol header connection `c` gets, as its service asks.
    @inline(__always)
    func proxyProtocolHeader(_ version: ProxyProtocolHeader.Version, _ c: UnsafeMutablePointer<Connection>) -> ProxyProtocolHeader {
        ProxyProtocolHeader(version: version, source: c.pointee.clientAddress, sourcePort: c.pointee.clientPort,
                            destination: c.pointee.virtualAddress, destinationPort: c.pointee.virtualPort)
    }

    /// A client segment of connection `h` after its forwarding method: the PROXY protocol
    /// header inserted at the first byte, the stream translated, TOA added. False: the header
    /// was due and did not fit (`proxy-protocol-no-room`; the client sends the segment again).
    @inline(__always)
    func shiftFromClient(_ h: ConnectionHandle, _ c: UnsafeMutablePointer<Connection>, _ p: inout ParsedPacket,
                         _ packet: inout PacketBuffer, out: Int) -> Bool {
        guard let entries = streamShifts, entries[Int(h)].isActive, p.hasTransportHeader,
              let tcp = try? TCPSegment(p.l4, length: p.l4Length) else { return true }
        let e = entries + Int(h)
        if e.pointee.wantsClientAddress {
            let mtu = out < interfaceMTUs.count ? interfaceMTUs[out] : 1500
            return carryClientAddress(e, c, &p, &packet, tcp: tcp, mtu: mtu)
        }
        if tcp.flags.contains(.syn) && !tcp.flags.contains(.ack) {
            openStream(e, c, first: tcp.sequenceNumber &+ 1)
            return true
        }
        e.pointee.adjustment.translateFromClient(tcp)
        return true
    }

    /// A real server's segment of connection `h` after its forwarding method, translated
    /// into the client's numbering.
    @inline(__always)
    func shiftFromServer(_ h: ConnectionHandle, _ p: ParsedPacket) {
        guard let entries = streamShifts, entries[Int(h)].isActive, p.hasTransportHeader,
              let tcp = try? TCPSegment(p.l4, length: p.l4Length) else { return }
        let e = entries + Int(h)
        if e.pointee.wantsClientAddress && tcp.flags.isSuperset(of: [.syn, .ack]) {
            e.pointee.serverFirstSequence = tcp.sequenceNumber &+ 1
            e.pointee.synAckSeen = true
        }
        e.pointee.adjustment.translateFromServer(tcp)
    }
}
