import Wire

/// What the director keeps per connection to hand the client's address to the real server
/// (PROXY protocol, TOA; Docs/adr/0008), beside the table, whose 128-byte entries have no
/// room: allocated once with the first service that asks for either, one entry per handle.
@usableFromInline
struct ClientAddressEntry {
    /// `clientSequenceOffset` is the PROXY protocol header's length: the bytes the director
    /// puts before the client's first byte, which shift the rest of its stream.
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

    @inline(__always) var isActive: Bool { proxyProtocol != 0 || toa }
}

extension Director {
    /// A new connection of service `si` takes the service's settings; a slot reused by a
    /// service without them is cleared.
    @inline(__always)
    func armClientAddress(_ si: Int, _ h: ConnectionHandle) {
        guard let entries = clientAddressEntries else { return }
        var entry = ClientAddressEntry()
        let runtime = services[si]
        if let version = runtime.proxyProtocol {
            let c = table.entry(h)
            let header = ProxyProtocolHeader(version: version, source: c.pointee.clientAddress,
                                             sourcePort: c.pointee.clientPort, destination: c.pointee.virtualAddress,
                                             destinationPort: c.pointee.virtualPort)
            entry.proxyProtocol = version.rawValue
            entry.adjustment.clientSequenceOffset = UInt32(header.encodedLength)
        }
        entry.toa = runtime.toa
        entries[Int(h)] = entry
    }

    /// A connection that did not come through scheduling (connection sync) carries nothing.
    @inline(__always)
    func clearClientAddress(_ h: ConnectionHandle) {
        clientAddressEntries?[Int(h)] = ClientAddressEntry()
    }
}
