import Wire

extension Director {
    /// Runs one received frame through the director and says what to do with it.
    ///
    /// The frame is rewritten in place (and may move within `packet` for encapsulation:
    /// read `packet.offset`/`length` again). Never traps, never allocates: malformed input
    /// becomes `.drop(reason)` and bumps that reason's counter.
    public func process(_ packet: inout PacketBuffer, now: UInt64) -> Verdict {
        framesReceived &+= 1
        lastEvent = PacketEvent()
        if now >> ConnectionTable.tickShift > table.wheelTick { expireSome(now: now) }
        let verdict = classify(&packet, now: now)
        switch verdict {
        case .forward: framesForwarded &+= 1
        case .answer:
            framesAnswered &+= 1
            // The director's own answer is a finished ordinary frame, whatever the kernel said
            // of the frame it replaced.
            packet.segmentation = nil
            packet.checksumPartial = false
            packet.needsSoftwareSegmentation = false
        case .pass(let r): passCounters[Int(r.rawValue)] &+= 1
        case .drop(let r): dropCounters[Int(r.rawValue)] &+= 1
        }
        return verdict
    }

    // MARK: Layer 2 and 3

    @inline(__always)
    func classify(_ packet: inout PacketBuffer, now: UInt64) -> Verdict {
        let eth: EthernetFrame
        do { eth = try EthernetFrame(packet.frame, length: packet.length) } catch {
            return .drop(error == .truncated ? .frameTruncated : .tooManyVLANTags)
        }
        switch eth.etherType {
        case .ipv4: return classifyIPv4(eth, &packet, now: now)
        case .ipv6: return classifyIPv6(eth, &packet, now: now)
        case .arp: return answerARP(eth, &packet)
        default: return .pass(.notIP)
        }
    }

    @inline(__always)
    func classifyIPv4(_ eth: EthernetFrame, _ packet: inout PacketBuffer, now: UInt64) -> Verdict {
        let ip: IPv4Packet
        do { ip = try IPv4Packet(eth.payload, length: eth.payloadLength) } catch {
            switch error {
            case .badVersion: return .drop(.ipv4BadVersion)
            case .badHeaderLength: return .drop(.ipv4BadHeaderLength)
            case .badTotalLength: return .drop(.ipv4BadTotalLength)
            default: return .drop(.ipv4Truncated)
            }
        }
        guard ip.isChecksumValid else { return .drop(.ipv4BadChecksum) }
        var p = ParsedPacket(
            l2Length: eth.headerLength, l3: eth.payload, l3Length: ip.totalLength, isIPv6: false,
            proto: ip.protocol, l4: ip.payload, l4Length: ip.payloadLength,
            source: ip.sourceAddress, destination: ip.destinationAddress,
            hasTransportHeader: ip.carriesTransportHeader, isFragment: ip.isFragment,
            fragmentID: UInt32(ip.identification))
        return classifyTransport(&p, eth, &packet, now: now)
    }

    @inline(__always)
    func classifyIPv6(_ eth: EthernetFrame, _ packet: inout PacketBuffer, now: UInt64) -> Verdict {
        let ip: IPv6Packet
        do { ip = try IPv6Packet(eth.payload, length: eth.payloadLength) } catch {
            switch error {
            case .badVersion: return .drop(.ipv6BadVersion)
            case .badTotalLength: return .drop(.ipv6BadTotalLength)
            case .badExtensionHeader: return .drop(.ipv6BadExtensionHeader)
            default: return .drop(.ipv6Truncated)
            }
        }
        // One address shape serves both families (IPv4 is stored ::ffff:a.b.c.d), so a mapped
        // address on the wire would alias IPv4 services and connections.
        guard !ip.source.isIPv4 && !ip.destination.isIPv4 else { return .drop(.ipv6MappedAddress) }
        var p = ParsedPacket(
            l2Length: eth.headerLength, l3: eth.payload, l3Length: ip.totalLength, isIPv6: true,
            proto: ip.upperProtocol, l4: ip.upper, l4Length: ip.upperLength,
            source: ip.source, destination: ip.destination,
            hasTransportHeader: ip.carriesTransportHeader, isFragment: ip.isFragment,
            fragmentID: ip.fragmentIdentification)
        return classifyTransport(&p, eth, &packet, now: now)
    }

    // MARK: Layer 4

    @inline(__always)
    func classifyTransport(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                           now: UInt64) -> Verdict {
        // VRRP: a VIP or LIP this director is not MASTER of gets nothing, new or known.
        if hasStandby && standbyLookup.contains(p.destination) { return .drop(.vipOnStandby) }
        switch p.proto {
        case .tcp:
            if p.hasTransportHeader {
                let tcp: TCPSegment
                do { tcp = try TCPSegment(p.l4, length: p.l4Length) } catch {
                    return .drop(error == .truncated ? .tcpTruncated : .tcpBadHeaderLength)
                }
                p.sourcePort = tcp.sourcePort
                p.destinationPort = tcp.destinationPort
                p.tcpFlags = tcp.flags
            }
        case .udp:
            if p.hasTransportHeader {
                // A first fragment holds only part of the datagram the UDP length describes.
                if p.isFragment {
                    guard p.l4Length >= UDPDatagram.headerLength else { return .drop(.udpTruncated) }
                } else {
                    do { _ = try UDPDatagram(p.l4, length: p.l4Length) } catch {
                        return .drop(error == .truncated ? .udpTruncated : .udpBadLength)
                    }
                }
                let udp = p.transportHeader
                p.sourcePort = udp.sourcePort
                p.destinationPort = udp.destinationPort
            }
        case .icmp where !p.isIPv6, .icmpv6 where p.isIPv6:
            guard p.hasTransportHeader else { return .pass(.icmpNotRelated) }
            return handleICMP(&p, eth, &packet, now: now)
        default:
            if virtualAddressLookup.contains(p.destination) { return .drop(.unsupportedProtocol) }
            return .pass(.notForDirector)
        }
        guard let proto = p.transport else { return .pass(.notForDirector) }
        guard p.hasTransportHeader else { return forwardLaterFragment(&p, eth, &packet, proto, now: now) }

        let bucket = table.bucket(proto, source: p.source, sourcePort: p.sourcePort,
                                  destination: p.destination, destinationPort: p.destinationPort)
        var h = table.lookupIn(bucket: bucket, proto, client: p.source, clientPort: p.sourcePort,
                               virtual: p.destination, virtualPort: p.destinationPort)
        if h != 0 && !isLive(h, now: now, newTCPConnection: proto == .tcp && isNewTCPConnection(p.tcpFlags)) {
            h = 0
        }
        if h != 0 {
            // expire_nodest_conn 0: the removed server's connection stays, its packets go nowhere.
            if !tunables.expireNodestConn && !hasDestination(table.entry(h)) { return .drop(.noDestinationAvailable) }
            rememberFirstFragment(p, h, now: now)
            return fromClient(h, &p, eth, &packet, now: now)
        }
        if hasReplyMethods {
            let o = table.lookupOut(bucket: bucket, proto, realServer: p.source, realPort: p.sourcePort,
                                    replyDestination: p.destination, replyPort: p.destinationPort)
            if o != 0 && isLive(o, now: now, newTCPConnection: false) {
                if isStandby(table.entry(o).pointee.virtualAddress) { return .drop(.vipOnStandby) }
                rememberFirstFragment(p, o, now: now)
                return fromRealServer(o, &p, eth, &packet, now: now)
            }
        }
        if proto == .tcp && ftp.enabled, let verdict = ftpExpectedConnection(&p, eth, &packet, now: now) { return verdict }
        return newConnection(&p, eth, &packet, proto, now: now)
    }

    /// IPVS `is_new_conn` for TCP: the SYN bit, whatever else is set (ip_vs_core.c).
    @inline(__always)
    func isNewTCPConnection(_ flags: TCPFlags) -> Bool { flags.contains(.syn) }

    /// Whether a connection found by lookup still stands: a connection past its expiry is
    /// expired now, as its timer would have done; with conn_reuse_mode, a new SYN on a
    /// TIME_WAIT connection that no template controls (and with bit 2, on a FIN_WAIT one whose
    /// replies bypass the director) expires it so the SYN is scheduled afresh
    /// (`is_new_conn_expected`, ip_vs_core.c); and with expire_nodest_conn a connection whose
    /// real server (or FullNAT local address) left the configuration is expired on its first
    /// packet since (ip_vs_in). Without it that packet is dropped (`destinationRemoved`) and
    /// the connection runs out its timeout.
    @inline(__always)
    func isLive(_ h: ConnectionHandle, now: UInt64, newTCPConnection: Bool) -> Bool {
        let e = table.entry(h)
        var stale = e.pointee.expires <= now
        if !stale && !hasDestination(e) {
            guard tunables.expireNodestConn else { return true }
            stale = true
        }
        if !stale && newTCPConnection && e.pointee.template == 0 && tunables.connReuseMode != 0 {
            let state = e.pointee.state
            if state == .timeWait || state == .close
                || (tunables.connReuseMode & 2 != 0 && state == .finWait && e.pointee.flags.contains(.noOutput)) {
                stale = true
            }
        }
        guard stale else { return true }
        // A connection that controls others (an FTP control connection mid-transfer) stays.
        return !expireConnection(&table, h, now: now)
    }

    /// Whether the connection's real server, and for FullNAT its local address, are still
    /// configured.
    @inline(__always)
    func hasDestination(_ c: UnsafeMutablePointer<Connection>) -> Bool {
        if realServers[Int(c.pointee.realServer)].isRemoved { return false }
        return c.pointee.method != .fullNAT || c.pointee.flags.contains(.template)
            || !localPoolRetired[Int(c.pointee.localPool)]
    }

    @inline(__always)
    func rememberFirstFragment(_ p: ParsedPacket, _ h: ConnectionHandle, now: UInt64) {
        if p.isFragment {
            fragments.remember(p.source, p.destination, p.fragmentID, p.proto, sourcePort: p.sourcePort,
                               destinationPort: p.destinationPort, connection: h, now: now)
        }
    }

    /// A non-first fragment: it has no ports, so it follows its datagram's first fragment.
    func forwardLaterFragment(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                              _ proto: TransportProtocol, now: UInt64) -> Verdict {
        let (h, sport, dport) = fragments.connection(p.source, p.destination, p.fragmentID, p.proto, now: now)
        // The handle is only a hint: since the first fragment its connection may have expired
        // and the slot been reused, so the whole tuple must still match, in one direction.
        if h != 0 {
            let c = table[h]
            if c.flags.contains(.inUse) && !c.flags.contains(.template) && c.proto == proto && hasDestination(table.entry(h)) {
                if c.clientAddress == p.source && c.clientPort == sport
                    && c.virtualAddress == p.destination && c.virtualPort == dport {
                    return fromClient(h, &p, eth, &packet, now: now)
                }
                let (rd, rp) = c.replyDestination
                if c.flags.contains(.hashedOut) && c.destinationAddress == p.source && c.destinationPort == sport
                    && rd == p.destination && rp == dport {
                    return fromRealServer(h, &p, eth, &packet, now: now)
                }
            }
        }
        if virtualAddressLookup.contains(p.destination) || localAddressLookup.contains(p.destination) {
            return .drop(.fragmentWithoutConnection)
        }
        return .pass(.notForDirector)
    }

    // MARK: Known connections

    /// A packet from the client side of connection `h`.
    func fromClient(_ h: ConnectionHandle, _ p: inout ParsedPacket, _ eth: EthernetFrame,
                    _ packet: inout PacketBuffer, now: UInt64) -> Verdict {
        let c = table.entry(h)
        if c.pointee.flags.contains(.synProxyAwaitingServer) { return synProxyClientWhileAwaiting(h, &p, eth, &packet, now: now) }
        let before = c.pointee.state
        if p.hasTransportHeader && c.pointee.proto == .tcp {
            let direction: TCPDirection = c.pointee.flags.contains(.noOutput) ? .inputOnly : .input
            setState(h, TCPStateTable.next(before, direction, flags: p.tcpFlags))
        }
        c.pointee.expires = now &+ timeoutNanos[Int(c.pointee.state.rawValue)]
        // A connection a sync master made has no client-side peer yet: its first packet here teaches it.
        if c.pointee.clientMAC == .zero { learnClientSide(c, eth, interface: packet.interface) }
        if syncMaster { noteSync(h, c, before: before) }
        let rs = Int(c.pointee.realServer)
        record(.fromClient, h, realServer: rs, before: before, after: c.pointee.state)
        realServerStats[rs].packetsIn &+= 1
        realServerStats[rs].bytesIn &+= UInt64(p.l3Length)

        if realServerRoute[rs].resolved,
           let tooBig = answerIfTooBig(&p, eth, &packet, egress: realServerRoute[rs].interface,
                                       overhead: c.pointee.method == .tunnel
                                           ? tunnelOverhead(realServer: rs, p, checksumPartial: packet.checksumPartial) : 0) {
            return tooBig
        }
        guard p.decrementTimeToLive() else { return .drop(.ttlExceeded) }
        if ftp.enabled && isFTPControl(c) { ftpFromClient(h, c, &p, &packet, now: now) }
        var verdict: Verdict
        switch c.pointee.method {
        case .directRouting: verdict = transmitDirectRouting(&p, eth, realServer: rs)
        case .nat: verdict = transmitNAT(&p, eth, c, realServer: rs)
        case .fullNAT: verdict = transmitFullNAT(&p, eth, c, realServer: rs)
        case .tunnel: verdict = transmitTunnel(&p, eth, &packet, realServer: rs)
        }
        // Every stream shift (SYN proxy, PROXY protocol, TOA, FTP) in one place, on the
        // rewritten frame: the features above recorded in the client's own numbering.
        if case .forward(let out) = verdict, streamShifts != nil {
            if !shiftFromClient(h, c, &p, &packet, out: out) { verdict = .drop(.proxyProtocolNoRoom) }
            if syncMaster { noteShiftChange(h, c) }
        }
        // Only a forwarded frame is still the parsed packet; an answer replaced it.
        if case .forward = verdict { finishChecksum(&p, &packet) }
        return verdict
    }

    /// A reply from the real server of NAT or FullNAT connection `h`.
    func fromRealServer(_ h: ConnectionHandle, _ p: inout ParsedPacket, _ eth: EthernetFrame,
                        _ packet: inout PacketBuffer, now: UInt64) -> Verdict {
        let c = table.entry(h)
        if c.pointee.flags.contains(.synProxyAwaitingServer) { return synProxyServerAnswer(h, &p, eth, &packet, now: now) }
        let before = c.pointee.state
        if p.hasTransportHeader && c.pointee.proto == .tcp {
            setState(h, TCPStateTable.next(before, .output, flags: p.tcpFlags))
        }
        c.pointee.expires = now &+ timeoutNanos[Int(c.pointee.state.rawValue)]
        let rs = Int(c.pointee.realServer)
        record(.fromRealServer, h, realServer: rs, before: before, after: c.pointee.state)
        realServerStats[rs].packetsOut &+= 1
        realServerStats[rs].bytesOut &+= UInt64(p.l3Length)

        // A synced connection whose client has sent nothing here yet: no peer to send to.
        guard c.pointee.clientMAC != .zero else { return .drop(.neighbourUnresolved) }
        if let tooBig = answerIfTooBig(&p, eth, &packet, egress: Int(c.pointee.ingressInterface), overhead: 0) {
            return tooBig
        }
        guard p.decrementTimeToLive() else { return .drop(.ttlExceeded) }
        if ftp.enabled && isFTPControl(c) { ftpFromServer(h, c, &p, &packet, now: now) }
        let verdict = c.pointee.method == .fullNAT ? transmitFullNATReply(&p, eth, c) : transmitNATReply(&p, eth, c)
        if case .forward = verdict, streamShifts != nil {
            shiftFromServer(h, p)
            if syncMaster { noteShiftChange(h, c) }
        }
        // Only a forwarded frame is still the parsed packet; an answer replaced it.
        if case .forward = verdict { finishChecksum(&p, &packet) }
        return verdict
    }

    /// Notes what happened to this frame for tracing (a handful of stores).
    @inline(__always)
    func record(_ direction: PacketEvent.Direction, _ h: ConnectionHandle, realServer: Int,
                before: ConnectionState, after: ConnectionState) {
        lastEvent.direction = direction
        lastEvent.connection = h
        lastEvent.realServer = realServer
        lastEvent.stateBefore = before
        lastEvent.stateAfter = after
    }

    /// Leaves the L4 checksum right for how the frame leaves. A finished checksum was kept
    /// right by the rewrites' RFC 1624 updates. A partial one stays partial (the pseudo-header
    /// sum written afresh for the new addresses, its position recorded) when the frame is a
    /// super-frame, whose segments get their checksums when they are cut, or when the sink
    /// finishes checksums (the kernel, as for the frame the sender handed it); otherwise it
    /// is computed over the whole segment here.
    @inline(__always)
    func finishChecksum(_ p: inout ParsedPacket, _ packet: inout PacketBuffer) {
        guard packet.checksumPartial else { return }
        if packet.segmentation != nil || (packet.sinkFinishesChecksum && !packet.needsSoftwareSegmentation
                                          && p.hasTransportHeader && !p.isFragment && p.pseudoChecksumOffset != nil
                                          && !isEncapsulated(p, packet)) {
            p.fillPseudoHeaderChecksum()
            packet.checksumStart = p.l4 - packet.frame
            packet.checksumOffset = p.pseudoChecksumOffset ?? 0
            return
        }
        p.fillL4Checksum()
        packet.checksumPartial = false
    }

    /// Whether the frame now starts with headers the parsed packet does not (TUN's outer
    /// IPv4 header): a sink finishing the checksum would need the inner offsets.
    @inline(__always)
    func isEncapsulated(_ p: ParsedPacket, _ packet: PacketBuffer) -> Bool {
        p.l3 - packet.frame != p.l2Length
    }

    /// IPVS's `ensure_mtu_is_adequate` (net/netfilter/ipvs/ip_vs_xmit.c): a datagram larger
    /// than the egress MTU (plus `overhead`, TUN's outer headers) is answered with ICMP
    /// fragmentation-needed (IPv4 with DF) or packet-too-big (IPv6, RFC 8201) carrying the
    /// MTU it must fit, and dropped by name when IPv4 allows fragmenting (lvsd does not
    /// fragment). A super-frame is judged by its segments, which are what leaves; one of
    /// unknown segment size (libpcap) is cut to the MTU and always fits. nil: it fits.
    @inline(__always)
    func answerIfTooBig(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                        egress: Int, overhead: Int) -> Verdict? {
        let mtu = egress >= 0 && egress < interfaceMTUs.count ? interfaceMTUs[egress] : 1500
        let leaving: Int
        if let segmentation = packet.segmentation {
            guard segmentation.segmentSize > 0 else { return nil }
            leaving = (p.l4 - p.l3) + p.transportHeaderLength + segmentation.segmentSize
        } else {
            leaving = p.l3Length
        }
        guard leaving + overhead > mtu else { return nil }
        // An ICMP error is never answered with another (RFC 1122 §3.2.2).
        if p.proto == .icmp || p.proto == .icmpv6 { return .drop(.fragmentationUnsupported) }
        if p.isIPv6 {
            return answerPacketTooBig(p, eth, &packet, mtu: max(mtu - overhead, IPv6Packet.minimumMTU))
        }
        guard p.ipv4.dontFragment else {
            return .drop(overhead > 0 ? .tunnelFragmentationUnsupported : .fragmentationUnsupported)
        }
        return answerFragmentationNeeded(p, eth, &packet, mtu: mtu - overhead)
    }

    // MARK: Layer 2 helpers shared by the forwarding methods

    /// Addresses the frame to a real server's next hop; false when its MAC is unknown.
    @inline(__always)
    func addressToRealServer(_ eth: EthernetFrame, realServer rs: Int) -> Int? {
        let hop = realServerRoute[rs]
        guard hop.resolved else { return nil }
        eth.destination = hop.mac
        eth.source = interfaceMAC(hop.interface)
        return hop.interface
    }

    /// Addresses the frame back to the client side peer the connection came from.
    @inline(__always)
    func addressToClient(_ eth: EthernetFrame, _ c: UnsafeMutablePointer<Connection>) -> Int {
        let i = Int(c.pointee.ingressInterface)
        eth.destination = c.pointee.clientMAC
        eth.source = interfaceMAC(i)
        return i
    }

    @inline(__always)
    func interfaceMAC(_ i: Int) -> MACAddress { i >= 0 && i < interfaceMACs.count ? interfaceMACs[i] : .zero }
}
