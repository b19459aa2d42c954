import Wire

/// The FTP application helper on the data path: IPVS's `ip_vs_ftp` (net/netfilter/ipvs/
/// ip_vs_ftp.c, with ip_vs_app.c's sequence bookkeeping), as behaviour, for NAT and FullNAT.
///
/// On a control connection (a NAT or FullNAT TCP connection whose virtual port is one of
/// `tunable ftp_ports`):
/// - a rewrite that changes a line's length records it in the connection's stream shift
///   (`StreamShift`, Docs/adr/0009), through which every segment is translated after its
///   forwarding method, together with a PROXY protocol header or a SYN proxy's offset;
/// - a client's `PORT`/`EPRT` creates the active data connection RIP:(rport−1) → CIP:port as
///   the control connection's real server will open it, and under FullNAT is rewritten to the
///   local address and a new local port, which the real server must connect to;
/// - a server's `227`/`229` reply expects the passive data connection CIP → VIP:port for the
///   same real server, and a 227 is rewritten to name the VIP.
/// Lines are recognised only at the start of a segment and whole (`FTPControlLine`).
extension Director {
    /// The FTP helper's counters on this worker.
    public var ftpCounters: FTPCounters { ftp.counters }

    /// Expected passive data connections waiting on this worker.
    public var ftpExpectationCount: Int { ftp.expectations?.count ?? 0 }

    /// Whether connection `c` is an FTP control connection.
    @inline(__always)
    func isFTPControl(_ c: UnsafeMutablePointer<Connection>) -> Bool {
        c.pointee.proto == .tcp && c.pointee.method.repliesTraverseDirector
            && !c.pointee.flags.contains(.template) && ftp.ports.contains(c.pointee.virtualPort)
    }

    /// Turns the helper on when the snapshot has an FTP service (off the data path).
    func configureFTP() {
        ftp.ports = tunables.ftpPorts
        ftp.enabled = ftp.ports.count > 0 && services.contains { s in
            s.key.proto == .tcp && !s.key.isFirewallMark && ftp.ports.contains(s.key.port)
                && s.config.realServers.contains { $0.method.repliesTraverseDirector }
        }
        if ftp.enabled && ftp.expectations == nil {
            // Once, with the first FTP service, one link per handle (0 unused).
            let links = UnsafeMutablePointer<FTPDataLink>.allocate(capacity: table.capacity + 1)
            links.initialize(repeating: FTPDataLink(), count: table.capacity + 1)
            ftp.links = links
            ftp.expectations = FTPExpectations()
        }
    }

    /// The command or reply a control connection's segment starts with, in the sender's own
    /// numbering (before the stream shift), if the helper acts on it; a malformed one counted.
    @inline(__always)
    func ftpLine(_ p: ParsedPacket, fromClient: Bool) -> (TCPSegment, FTPControlLine.Endpoint)? {
        guard p.hasTransportHeader, let tcp = try? TCPSegment(p.l4, length: p.l4Length), tcp.payloadLength > 0 else {
            return nil
        }
        let payload = UnsafeRawBufferPointer(start: p.l4 + tcp.headerLength, count: tcp.payloadLength)
        switch fromClient ? FTPControlLine.scanClient(payload) : FTPControlLine.scanServer(payload) {
        case .none: return nil
        case .malformed:
            ftp.counters.malformed &+= 1
            return nil
        case .found(let endpoint): return (tcp, endpoint)
        }
    }

    /// Records that a rewrite changed the length of the segment at `sequence` of one
    /// direction of connection `h`.
    @inline(__always)
    func ftpRecord(_ h: ConnectionHandle, fromClient: Bool, sequence: UInt32, diff: Int) {
        guard diff != 0, let e = streamShifts.map({ $0 + Int(h) }) else { return }
        if fromClient {
            e.pointee.adjustment.fromClient.record(sequence: sequence, diff: diff)
        } else {
            e.pointee.adjustment.fromServer.record(sequence: sequence, diff: diff)
        }
        e.pointee.changed = true
    }

    /// A segment of control connection `h` from the client, before its forwarding method.
    func ftpFromClient(_ h: ConnectionHandle, _ c: UnsafeMutablePointer<Connection>, _ p: inout ParsedPacket,
                       _ packet: inout PacketBuffer, now: UInt64) {
        guard let (tcp, found) = ftpLine(p, fromClient: true) else { return }
        ftp.counters.activeLines &+= 1
        // The data connection goes to the client that asked for it, never elsewhere (RFC 2577 §3).
        guard let address = found.address, address == c.pointee.clientAddress else {
            ftp.counters.foreignAddress &+= 1
            return
        }
        guard c.pointee.virtualPort > 1, c.pointee.destinationPort > 1 else { return }
        // The real server opens it from the port below its control port (RFC 959 §3.2: L−1),
        // as ip_vs_ftp expects: vport−1 and rport−1.
        let virtualPort = c.pointee.virtualPort - 1, realPort = c.pointee.destinationPort - 1
        let bucket = table.bucket(.tcp, source: address, sourcePort: found.port,
                                  destination: c.pointee.virtualAddress, destinationPort: virtualPort)
        var d = table.lookupIn(bucket: bucket, .tcp, client: address, clientPort: found.port,
                               virtual: c.pointee.virtualAddress, virtualPort: virtualPort)
        if d == 0 {
            let link = FTPDataLink(control: h, controlClientPort: c.pointee.clientPort,
                                   controlVirtualPort: c.pointee.virtualPort)
            d = insertFTPData(c.pointee, clientPort: found.port, port: virtualPort, realPort: realPort,
                              localPool: Int(c.pointee.localPool), link: link, now: now)
            guard d != 0 else {
                ftp.counters.noDataConnection &+= 1
                return
            }
        }
        guard c.pointee.method == .fullNAT else { return }
        // A line in the segment that carries a PROXY protocol header would be a second change
        // at one position, which one shift cannot hold (clients send USER first): left as sent.
        if let e = streamShifts?[Int(h)], e.proxyProtocol != 0, tcp.sequenceNumber == e.firstSequence {
            ftp.counters.notRewritable &+= 1
            return
        }
        // FullNAT: the real server must connect to the local address and the data connection's port.
        let data = table[d]
        guard rewrite(found, address: data.localAddress, port: data.localPort, &p, &packet) else { return }
        ftpRecord(h, fromClient: true, sequence: tcp.sequenceNumber, diff: p.l4Length - tcp.headerLength - tcp.payloadLength)
    }

    /// A segment of control connection `h` from its real server, before the reverse rewrite.
    func ftpFromServer(_ h: ConnectionHandle, _ c: UnsafeMutablePointer<Connection>, _ p: inout ParsedPacket,
                       _ packet: inout PacketBuffer, now: UInt64) {
        guard let (tcp, found) = ftpLine(p, fromClient: false) else { return }
        ftp.counters.passiveReplies &+= 1
        var expectation = FTPExpectation()
        expectation.client = c.pointee.clientAddress
        expectation.virtual = c.pointee.virtualAddress
        expectation.destination = c.pointee.destinationAddress
        expectation.port = found.port
        expectation.realServer = c.pointee.realServer
        expectation.localPool = c.pointee.localPool
        expectation.method = c.pointee.method
        expectation.clientMAC = c.pointee.clientMAC
        expectation.ingressInterface = c.pointee.ingressInterface
        expectation.control = h
        expectation.controlClientPort = c.pointee.clientPort
        expectation.controlVirtualPort = c.pointee.virtualPort
        expectation.expires = now &+ FTPHelper.expectationTimeout
        guard ftp.expectations?.add(expectation, now: now) == true else {
            ftp.counters.expectationTableFull &+= 1
            return
        }
        // A 227 names the real server's address: the client must be told the VIP. A 229 names
        // a port only, the same on the VIP.
        guard found.kind == .passiveReply, c.pointee.virtualAddress.isIPv4 else { return }
        guard rewrite(found, address: c.pointee.virtualAddress, port: found.port, &p, &packet) else { return }
        ftpRecord(h, fromClient: false, sequence: tcp.sequenceNumber, diff: p.l4Length - tcp.headerLength - tcp.payloadLength)
    }

    /// A SYN that missed the connection table: the passive data connection a 227/229 reply
    /// announced, if one is expected, created for the control connection's real server.
    func ftpExpectedConnection(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                               now: UInt64) -> Verdict? {
        guard p.tcpFlags.contains(.syn), !p.tcpFlags.contains(.ack), !p.tcpFlags.contains(.rst),
              var expectations = ftp.expectations, expectations.count > 0 else { return nil }
        let e = expectations.take(client: p.source, virtual: p.destination, port: p.destinationPort, now: now)
        ftp.expectations = expectations
        guard let e else { return nil }
        guard var control = controlLike(e) else { return nil }
        control.clientMAC = eth.source
        control.ingressInterface = UInt8(truncatingIfNeeded: packet.interface)
        let link = FTPDataLink(control: e.control, controlClientPort: e.controlClientPort,
                               controlVirtualPort: e.controlVirtualPort)
        let h = insertFTPData(control, clientPort: p.sourcePort, port: e.port, realPort: e.port,
                              localPool: Int(e.localPool), link: link, now: now)
        guard h != 0 else {
            ftp.counters.noDataConnection &+= 1
            return .drop(.noConnection)
        }
        return fromClient(h, &p, eth, &packet, now: now)
    }

    /// A connection value carrying an expectation's control-side facts, for `insertFTPData`.
    func controlLike(_ e: FTPExpectation) -> Connection? {
        guard Int(e.realServer) < realServerCount, !realServers[Int(e.realServer)].isRemoved else { return nil }
        var c = Connection(.tcp, client: e.client, clientPort: 0, virtual: e.virtual, virtualPort: 0,
                           destination: e.destination, destinationPort: 0, method: e.method, realServer: e.realServer,
                           state: .none, timeout: 0, now: 0, clientMAC: e.clientMAC, ingressInterface: e.ingressInterface)
        c.localPool = e.localPool
        return c
    }

    /// Inserts a data connection CIP:clientPort → VIP:port → RIP:realPort for the control
    /// connection's real server (ip_vs_conn_new with the control connection's dest), with a
    /// new local port under FullNAT; 0 when no port or slot is left. It lives
    /// `expectationTimeout` until its first packet sets its state's timeout, and holds the
    /// control connection `link` names while it lives (`linkFTPData`).
    func insertFTPData(_ control: Connection, clientPort: UInt16, port: UInt16, realPort: UInt16,
                       localPool: Int, link: FTPDataLink, now: UInt64) -> ConnectionHandle {
        let rs = Int(control.realServer)
        var c = Connection(.tcp, client: control.clientAddress, clientPort: clientPort, virtual: control.virtualAddress,
                           virtualPort: port, destination: control.destinationAddress, destinationPort: realPort,
                           method: control.method, realServer: UInt32(rs), state: .none,
                           timeout: UInt32(FTPHelper.expectationTimeout / 1_000_000_000), now: now,
                           clientMAC: control.clientMAC, ingressInterface: control.ingressInterface)
        if c.method == .fullNAT {
            guard localPool < localPools.count, !localPoolRetired[localPool],
                  localPools[localPool].pool.address.isIPv4 == c.destinationAddress.isIPv4,
                  let lport = localPools[localPool].pool.allocate() else { return 0 }
            c.localPool = UInt16(localPool)
            c.localAddress = localPools[localPool].pool.address
            c.localPort = lport
        }
        guard let h = table.insert(c) else {
            if c.method == .fullNAT { localPools[localPool].pool.release(c.localPort) }
            return 0
        }
        clearStreamShift(h)
        bind(rs, template: false)
        realServerStats[rs].connections &+= 1
        ftp.counters.dataConnections &+= 1
        lastEvent.newConnection = true
        linkFTPData(h, link)
        return h
    }

    // MARK: Data connections under their control connection (IPVS cp->control)

    /// Whether `control` is still the control connection `link` was made for, data connection
    /// `data`'s: in use, and the same client, virtual address and ports (a freed handle may
    /// hold another connection since).
    @inline(__always)
    static func controlHolds(_ control: UnsafeMutablePointer<Connection>, _ link: FTPDataLink,
                             _ data: UnsafeMutablePointer<Connection>) -> Bool {
        control.pointee.flags.contains(.inUse) && !control.pointee.flags.contains(.template)
            && control.pointee.proto == .tcp
            && control.pointee.clientPort == link.controlClientPort
            && control.pointee.virtualPort == link.controlVirtualPort
            && control.pointee.clientAddress == data.pointee.clientAddress
            && control.pointee.virtualAddress == data.pointee.virtualAddress
    }

    /// Ties data connection `d` to its control connection (ip_vs_control_add, ip_vs_conn.c):
    /// the control's `controlled` count keeps it from expiring while the transfer runs, so a
    /// transfer longer than the control connection's idle timeout still finds it for the
    /// `226` and the `QUIT` after it. A control connection gone since (a passive expectation
    /// outlives it) ties nothing.
    func linkFTPData(_ d: ConnectionHandle, _ link: FTPDataLink) {
        guard let links = ftp.links else { return }
        links[Int(d)] = FTPDataLink()
        guard link.control != 0, link.control != d else { return }
        let control = table.entry(link.control)
        guard Self.controlHolds(control, link, table.entry(d)) else { return }
        control.pointee.controlled &+= 1
        links[Int(d)] = link
    }

    /// Data connection `d` leaves the table: its control connection is released
    /// (ip_vs_control_del) and expires on its own timer from then on.
    func unlinkFTPData(_ t: inout ConnectionTable, _ d: ConnectionHandle) {
        guard let links = ftp.links else { return }
        let link = links[Int(d)]
        guard link.control != 0 else { return }
        links[Int(d)] = FTPDataLink()
        let control = t.entry(link.control)
        guard Self.controlHolds(control, link, t.entry(d)), control.pointee.controlled > 0 else { return }
        control.pointee.controlled -= 1
    }

    /// Rewrites `endpoint`'s text to name `address`:`port` and fixes the IP length, the IP
    /// header checksum and (unless the kernel finishes it) the TCP checksum. False, with the
    /// segment left as sent, when it cannot be done in place.
    func rewrite(_ endpoint: FTPControlLine.Endpoint, address: IPAddress, port: UInt16,
                 _ p: inout ParsedPacket, _ packet: inout PacketBuffer) -> Bool {
        guard packet.segmentation == nil, !p.isFragment, let tcp = try? TCPSegment(p.l4, length: p.l4Length) else {
            ftp.counters.notRewritable &+= 1
            return false
        }
        let payload = p.l4 + tcp.headerLength
        let length = tcp.payloadLength
        let end = p.l2Length + p.l3Length
        let room = packet.capacity - packet.offset - end
        let diff: Int? = withUnsafeTemporaryAllocation(byteCount: FTPControlLine.maximumEndpointText, alignment: 1) { text in
            let n = FTPControlLine.writeEndpoint(endpoint.kind, address: address, port: port, delimiter: endpoint.delimiter,
                                                 into: text.baseAddress!)
            guard n > 0 else { return nil }
            return FTPControlLine.replace(endpoint, in: payload, length: length, room: room,
                                          with: UnsafeRawBufferPointer(rebasing: text[0..<n]))
        }
        guard let diff else {
            ftp.counters.notRewritable &+= 1
            return false
        }
        let newTotal = p.l3Length + diff
        if p.isIPv6 {
            p.ipv6.payloadLength = UInt16(truncatingIfNeeded: newTotal - IPv6Packet.headerLength)
        } else {
            let ip = p.ipv4
            ip.setTotalLength(UInt16(truncatingIfNeeded: newTotal))
            ip.checksum = Checksum.update(ip.checksum, old: UInt16(truncatingIfNeeded: p.l3Length),
                                          new: UInt16(truncatingIfNeeded: newTotal))
        }
        p.l3Length = newTotal
        p.l4Length += diff
        // Ethernet padding after a short frame is gone with the move: the frame ends with the packet.
        packet.length = p.l2Length + newTotal
        // A partial checksum is filled from the parsed packet afterwards (`finishChecksum`).
        if !packet.checksumPartial { p.fillL4Checksum() }
        if diff != 0 { ftp.counters.rewritten &+= 1 }
        return true
    }
}
