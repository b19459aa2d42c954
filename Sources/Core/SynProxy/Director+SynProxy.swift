import Wire

/// What the SYN proxy keeps per connection for the handshake with the real server, beside the
/// table (whose 128-byte entries have no room); the translation it sets afterwards goes into
/// the connection's `StreamShift`.
@usableFromInline
struct SynProxyEntry {
    /// The director's ISN toward the client (the cookie).
    var cookie: UInt32 = 0
    /// The TSval the director gave the client, and the client's latest, when it sends them.
    var directorTimestamp: UInt32 = 0
    var clientTimestamp: UInt32 = 0
    var timestamps = false
    /// The window scale the client was told; 0xFF when none.
    var announcedWindowScale: UInt8 = 0xFF
    /// The client's window on its ACK (in its own scale, which the server learns from the SYN).
    var clientWindow: UInt16 = 0
    /// The client's ISN, which the SYN to the real server carried and its SYN-ACK acknowledges.
    var clientSequence: UInt32 = 0
}

/// The SYN proxy on the data path (Docs/adr/0007-syn-proxy.md; DPVS ip_vs_synproxy.c as
/// behaviour): a SYN to a `syn_proxy` service is answered with a cookie and leaves nothing
/// behind; the client's ACK with a valid cookie opens the connection and the real server's
/// half; the server's SYN-ACK sets the translation every later segment goes through.
extension Director {
    /// A TCP segment for a `syn_proxy` service that matched no connection.
    func synProxyNewFlow(_ si: Int, _ p: inout ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                         now: UInt64) -> Verdict {
        let flags = p.tcpFlags
        guard !flags.contains(.rst), !p.isFragment, let tcp = try? TCPSegment(p.l4, length: p.l4Length) else {
            return .drop(.noConnection)
        }
        let room = packet.capacity - packet.offset - p.l2Length
        if flags.contains(.syn) && !flags.contains(.ack) {
            let cookie = synCookies.cookie(
                client: p.source, clientPort: p.sourcePort, virtual: p.destination, virtualPort: p.destinationPort,
                clientSequence: tcp.sequenceNumber, maximumSegmentSize: tcp.synOptions.maximumSegmentSize ?? 536,
                ipv6: p.isIPv6, now: now)
            let answer = SynProxyHandshake.synAck(answering: tcp, client: p.source, virtual: p.destination, cookie: cookie,
                                                  settings: synProxySettings, nowMilliseconds: Self.milliseconds(now))
            guard let length = answer.emit(into: p.l3, room: room) else { return .drop(.noRoom) }
            synProxyCookiesSent &+= 1
            return answerBack(eth, &packet, length: p.l2Length + length)
        }
        guard flags.contains(.ack), !flags.contains(.syn) else { return .drop(.noConnection) }
        guard let mss = synCookies.check(
            cookie: tcp.acknowledgmentNumber &- 1, client: p.source, clientPort: p.sourcePort, virtual: p.destination,
            virtualPort: p.destinationPort, clientSequence: tcp.sequenceNumber &- 1, ipv6: p.isIPv6, now: now) else {
            return .drop(.synProxyBadCookie)
        }
        guard let entries = synProxyEntries else { return .drop(.noConnection) }
        if refusedUnderPressure() { return .drop(.tablePressure) }
        let timestamp = tcp.synOptions.timestamp
        let carried = SynCookies.options(maximumSegmentSize: mss, timestampEcho: timestamp?.echo)
        let syn = SynProxyHandshake.serverSyn(from: tcp, client: p.source, virtual: p.destination, carried: carried)
        guard syn.packetLength <= room else { return .drop(.noRoom) }
        var entry = SynProxyEntry()
        entry.cookie = tcp.acknowledgmentNumber &- 1
        entry.timestamps = timestamp != nil
        entry.directorTimestamp = timestamp?.echo ?? 0
        entry.clientTimestamp = timestamp?.value ?? 0
        entry.announcedWindowScale = carried.windowScale == nil ? 0xFF : synProxySettings.windowScale
        entry.clientWindow = tcp.window
        entry.clientSequence = tcp.sequenceNumber &- 1

        let (h, failure) = insertScheduled(si, p, eth, interface: packet.interface, .tcp, now: now)
        guard h != 0 else { return .drop(failure) }
        entries[Int(h)] = entry
        table.entry(h).pointee.flags.insert(.synProxy)

        // The client's ACK becomes the SYN to the real server (its payload, if any, is
        // dropped: the client sends it again once the server has answered).
        guard let length = syn.emit(into: p.l3, room: room) else { return .drop(.noRoom) }
        replaceSegment(&p, &packet, length: length, flags: syn.flags)
        let verdict = fromClient(h, &p, eth, &packet, now: now)
        // The server has the half-open floor of table pressure to answer (Docs/adr/0006).
        let c = table.entry(h)
        if c.pointee.flags.contains(.inUse) {
            c.pointee.flags.insert(.synProxyAwaitingServer)
            c.pointee.expires = now &+ min(Self.halfOpenFloor, timeoutNanos[Int(c.pointee.state.rawValue)])
            table.rearm(h)
        }
        return verdict
    }

    /// A client segment of a proxied connection still waiting for the real server's SYN-ACK.
    /// The client finished its handshake with the director, so it never sends its SYN again:
    /// it retransmits its ACK or first data. Each such retransmission sends the SYN to the real
    /// server again (DPVS resends it on a timer, ip_vs_synproxy.c `syn_retry`), so a SYN lost
    /// on its way (the first frame to a real server whose neighbour lvsd had yet to resolve)
    /// does not leave the connection hanging. Anything else is dropped.
    func synProxyClientWhileAwaiting(_ h: ConnectionHandle, _ p: inout ParsedPacket, _ eth: EthernetFrame,
                                     _ packet: inout PacketBuffer, now: UInt64) -> Verdict {
        guard let entries = synProxyEntries, !p.isFragment, let tcp = try? TCPSegment(p.l4, length: p.l4Length) else {
            return .drop(.synProxyAwaitingServer)
        }
        let entry = entries[Int(h)]
        let flags = tcp.flags
        guard flags.contains(.ack), !flags.contains(.syn), !flags.contains(.rst),
              tcp.sequenceNumber == entry.clientSequence &+ 1, tcp.acknowledgmentNumber == entry.cookie &+ 1,
              let mss = synCookies.check(
                cookie: entry.cookie, client: p.source, clientPort: p.sourcePort, virtual: p.destination,
                virtualPort: p.destinationPort, clientSequence: entry.clientSequence, ipv6: p.isIPv6, now: now) else {
            return .drop(.synProxyAwaitingServer)
        }
        let carried = SynCookies.options(maximumSegmentSize: mss, timestampEcho: tcp.synOptions.timestamp?.echo)
        let syn = SynProxyHandshake.serverSyn(from: tcp, client: p.source, virtual: p.destination, carried: carried)
        let room = packet.capacity - packet.offset - p.l2Length
        guard let length = syn.emit(into: p.l3, room: room) else { return .drop(.noRoom) }
        replaceSegment(&p, &packet, length: length, flags: syn.flags)
        let c = table.entry(h)
        let expires = c.pointee.expires
        c.pointee.flags.remove(.synProxyAwaitingServer)
        let verdict = fromClient(h, &p, eth, &packet, now: now)
        if c.pointee.flags.contains(.inUse) {
            c.pointee.flags.insert(.synProxyAwaitingServer)
            c.pointee.expires = expires
            table.rearm(h)
        }
        synProxyServerSynsResent &+= 1
        return verdict
    }

    /// A segment from the real server of a proxied connection still waiting for its SYN-ACK:
    /// the SYN-ACK sets the translation and is answered with the client's ACK; an RST is
    /// passed on to the client as an RST in its numbering; anything else is dropped.
    func synProxyServerAnswer(_ h: ConnectionHandle, _ p: inout ParsedPacket, _ eth: EthernetFrame,
                              _ packet: inout PacketBuffer, now: UInt64) -> Verdict {
        guard let entries = synProxyEntries, !p.isFragment, let tcp = try? TCPSegment(p.l4, length: p.l4Length) else {
            return .drop(.synProxyAwaitingServer)
        }
        let c = table.entry(h)
        let entry = entries[Int(h)]
        let room = packet.capacity - packet.offset - p.l2Length
        let flags = tcp.flags
        if flags.contains(.rst) {
            // RFC 5961 §3.2: the client accepts an RST whose sequence is exactly what it expects next.
            let reset = HandshakeSegment(
                source: c.pointee.virtualAddress, destination: c.pointee.clientAddress, sourcePort: c.pointee.virtualPort,
                destinationPort: c.pointee.clientPort, sequence: entry.cookie &+ 1, acknowledgment: 0, flags: .rst,
                window: 0, options: TCPSynOptions())
            guard let length = reset.emit(into: p.l3, room: room) else { return .drop(.noRoom) }
            let out = addressToClient(eth, c)
            replaceSegment(&p, &packet, length: length, flags: .rst)
            synProxyServerResets &+= 1
            _ = expireConnection(&table, h, now: now)
            return .forward(interface: out)
        }
        guard flags.isSuperset(of: [.syn, .ack]), tcp.acknowledgmentNumber == entry.clientSequence &+ 1 else {
            return .drop(.synProxyAwaitingServer)
        }
        let adjustment = SynProxyHandshake.adjustment(
            serverSynAck: tcp, cookie: entry.cookie, directorTimestamp: entry.timestamps ? entry.directorTimestamp : nil,
            announcedWindowScale: entry.announcedWindowScale == 0xFF ? nil : entry.announcedWindowScale)
        let serverTimestamp = tcp.synOptions.timestamp?.value
        // Read before the ACK is written over the SYN-ACK.
        let serverFirstSequence = tcp.sequenceNumber &+ 1
        let (replyAddress, replyPort) = c.pointee.replyDestination
        var options = TCPSynOptions()
        if entry.timestamps, let echo = serverTimestamp { options.timestamp = (entry.clientTimestamp, echo) }
        let ack = HandshakeSegment(
            source: replyAddress, destination: c.pointee.destinationAddress, sourcePort: replyPort,
            destinationPort: c.pointee.destinationPort, sequence: tcp.acknowledgmentNumber,
            acknowledgment: tcp.sequenceNumber &+ 1, flags: .ack, window: entry.clientWindow,
            options: options)
        guard let length = ack.emit(into: p.l3, room: room), let shifts = streamShifts else { return .drop(.noRoom) }
        // The server's stream, its timestamps and windows move for the rest of the connection;
        // the client's keeps what a PROXY protocol header set.
        let shift = shifts + Int(h)
        shift.pointee.adjustment.fromServer = adjustment.fromServer
        shift.pointee.adjustment.timestampOffset = adjustment.timestampOffset
        shift.pointee.adjustment.serverWindowShift = adjustment.serverWindowShift
        shift.pointee.changed = true
        // Later client segments that acknowledge exactly the server's first byte get TOA as
        // without a SYN proxy (DPVS `fdata_seq`).
        shift.pointee.serverFirstSequence = serverFirstSequence
        shift.pointee.synAckSeen = true
        c.pointee.flags.remove(.synProxyAwaitingServer)
        // The client finished its handshake when its ACK came: the connection is established.
        setState(h, .established)
        c.pointee.expires = now &+ timeoutNanos[Int(c.pointee.state.rawValue)]
        let rs = Int(c.pointee.realServer)
        realServerStats[rs].packetsOut &+= 1
        realServerStats[rs].bytesOut &+= UInt64(p.l3Length)
        record(.fromRealServer, h, realServer: rs, before: .synRecv, after: .established)
        replaceSegment(&p, &packet, length: length, flags: .ack)
        if syncMaster { noteShiftChange(h, c) }
        let verdict = answerBack(eth, &packet, length: p.l2Length + length)
        // This ACK stands for the client's, which DPVS replays through FullNAT and so gives TOA
        // (ip_vs_synproxy.c, ip_vs_proto_tcp.c `tcp_in_add_toa`): the one segment a real server
        // reading TOA from the handshake looks at.
        if shift.pointee.toa, let segment = try? TCPSegment(p.l4, length: p.l4Length) {
            let out = packet.interface
            if addAddressOption(c, &p, &packet, tcp: segment, mtu: out < interfaceMTUs.count ? interfaceMTUs[out] : 1500) {
                toaAdded &+= 1
            } else {
                toaNoRoom &+= 1
            }
        }
        return verdict
    }

    /// After the director wrote a header-only segment of `length` bytes over the IP packet:
    /// the parsed view and the buffer describe it, an ordinary finished frame.
    @inline(__always)
    func replaceSegment(_ p: inout ParsedPacket, _ packet: inout PacketBuffer, length: Int, flags: TCPFlags) {
        let ipHeader = p.isIPv6 ? IPv6Packet.headerLength : IPv4Packet.minimumHeaderLength
        p.l3Length = length
        p.l4 = p.l3 + ipHeader
        p.l4Length = length - ipHeader
        p.tcpFlags = flags
        p.isFragment = false
        packet.length = p.l2Length + length
        packet.checksumPartial = false
        packet.segmentation = nil
        packet.needsSoftwareSegmentation = false
    }

    @inline(__always)
    static func milliseconds(_ now: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: now / 1_000_000) }
}
