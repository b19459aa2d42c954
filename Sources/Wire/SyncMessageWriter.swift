/// Builds a version-1 sync message in a buffer the caller owns, as `ip_vs_sync_conn` fills
/// its sync buffer: header first, then entries each padded to 4 bytes, until the next one
/// would pass `capacity` (the daemon's `sync-maxlen`) or the count's 255.
public struct SyncMessageWriter {
    @usableFromInline let base: UnsafeMutableRawPointer
    public let capacity: Int
    /// Bytes written so far, the size field (padding of the last entry excluded).
    public private(set) var length: Int
    public private(set) var connectionCount = 0
    /// Where the next entry goes: `length` rounded up to 4.
    var next: Int

    /// Starts an empty message; `capacity` must hold at least the header.
    public init(_ base: UnsafeMutableRawPointer, capacity: Int, syncID: UInt8) {
        precondition(capacity >= SyncMessage.headerLength, "a sync message needs room for its header")
        self.base = base
        self.capacity = capacity
        SyncMessage.emitHeader(into: base, syncID: syncID)
        length = SyncMessage.headerLength
        next = SyncMessage.headerLength
    }

    public var isEmpty: Bool { connectionCount == 0 }

    /// Whether `record` still fits.
    public func fits(_ record: SyncConnectionRecord) -> Bool {
        connectionCount < SyncMessage.maximumConnections && next + record.encodedLength <= capacity
    }

    /// Appends `record`, or returns false (writing nothing) when it does not fit.
    /// - Precondition: the record's three addresses are of one family.
    @discardableResult
    public mutating func append(_ record: SyncConnectionRecord) -> Bool {
        guard fits(record) else { return false }
        let v6 = record.isIPv6
        precondition(record.isSingleFamily, "a sync entry's addresses are of one family")
        // Padding of the previous entry (ip_vs_sync_conn zeroes it).
        for k in length..<next { base.wireSetU8(0, k) }
        let p = base + next
        let size = record.encodedLength
        p.wireSetU8(v6 ? SyncConnection.typeIPv6 : 0, SyncConnection.Offset.type)
        p.wireSetU8(record.proto.rawValue, SyncConnection.Offset.proto)
        p.wireSetU16(UInt16(size) & SyncConnection.sizeMask, SyncConnection.Offset.versionAndSize)
        // IP_VS_CONN_F_HASHED is the sender's own business (ip_vs_sync_conn masks it off).
        var flags = record.flags
        flags.remove(.hashed)
        // ip_vs_sync_conn sends the option when either direction's flag is set; an entry that
        // names neither gets both, so a kernel backup applies what it carries.
        if record.sequence != nil && flags.isDisjoint(with: [.inputSequence, .outputSequence]) {
            flags.formUnion([.inputSequence, .outputSequence])
        }
        p.wireSetU32(flags.rawValue, SyncConnection.Offset.flags)
        p.wireSetU16(record.state, SyncConnection.Offset.state)
        p.wireSetU16(record.clientPort, SyncConnection.Offset.clientPort)
        p.wireSetU16(record.virtualPort, SyncConnection.Offset.virtualPort)
        p.wireSetU16(record.destinationPort, SyncConnection.Offset.destinationPort)
        p.wireSetU32(record.firewallMark, SyncConnection.Offset.firewallMark)
        p.wireSetU32(record.timeout, SyncConnection.Offset.timeout)
        var offset = SyncConnection.Offset.clientAddress
        func address(_ a: IPAddress) {
            if v6 { p.wireSetIPv6(a, offset); offset += 16 } else { p.wireSetU32(a.ipv4, offset); offset += 4 }
        }
        address(record.clientAddress)
        address(record.virtualAddress)
        address(record.destinationAddress)
        if let seq = record.sequence {
            p.wireSetU8(SyncOptionType.sequence.rawValue, offset)
            p.wireSetU8(24, offset + 1)
            // hton_seq: each direction's init_seq, delta, previous_delta.
            p.wireSetU32(seq.input.initial, offset + 2)
            p.wireSetU32(seq.input.delta, offset + 6)
            p.wireSetU32(seq.input.previousDelta, offset + 10)
            p.wireSetU32(seq.output.initial, offset + 14)
            p.wireSetU32(seq.output.delta, offset + 18)
            p.wireSetU32(seq.output.previousDelta, offset + 22)
            offset += 26
        }
        if let local = record.localEndpoint {
            p.wireSetU8(SyncOptionType.lvsdLocalEndpoint.rawValue, offset)
            p.wireSetU8(UInt8(2 + (v6 ? 16 : 4)), offset + 1)
            p.wireSetU16(local.port, offset + 2)
            offset += 4
            address(local.address)
        }
        if let peer = record.clientPeer {
            p.wireSetU8(SyncOptionType.lvsdClientPeer.rawValue, offset)
            p.wireSetU8(7, offset + 1)
            p.wireSetMAC(peer.mac, offset + 2)
            p.wireSetU8(peer.interface, offset + 8)
            offset += 9
        }
        if let key = record.steeringKey {
            p.wireSetU8(SyncOptionType.lvsdSteeringKey.rawValue, offset)
            p.wireSetU8(4, offset + 1)
            p.wireSetU32(key, offset + 2)
            offset += 6
        }
        if let shift = record.streamShift {
            p.wireSetU8(SyncOptionType.lvsdStreamShift.rawValue, offset)
            p.wireSetU8(UInt8(SyncStreamShift.length), offset + 1)
            p.wireSetU32(shift.timestampOffset, offset + 2)
            p.wireSetU8(UInt8(bitPattern: shift.serverWindowShift), offset + 6)
            p.wireSetU8(shift.proxyProtocol, offset + 7)
            p.wireSetU8(shift.state.rawValue, offset + 8)
            p.wireSetU32(shift.firstSequence, offset + 9)
            p.wireSetU32(shift.serverFirstSequence, offset + 13)
            offset += 2 + SyncStreamShift.length
        }
        length = next + size
        next = (length + 3) & ~3
        connectionCount += 1
        base.wireSetU16(UInt16(length), SyncMessage.Offset.size)
        base.wireSetU8(UInt8(connectionCount), SyncMessage.Offset.connectionCount)
        return true
    }
}
