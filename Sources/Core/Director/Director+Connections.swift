import Wire

extension Director {
    // MARK: New connections

    /// The virtual service a new flow belongs to, in IPVS's order (ip_vs_service_find,
    /// ip_vs_ctl.c): the firewall-mark service of the packet's mark first, then the exact
    /// (protocol, VIP, port) service, then the VIP's port-0 service.
    @inline(__always)
    func lookupService(_ proto: TransportProtocol, _ destination: IPAddress, _ port: UInt16) -> Int? {
        if !fwmarkClassifier.isEmpty {
            let mark = fwmarkClassifier.mark(proto, destination, port)
            if mark != 0 {
                if let si = fwmarkLookup.lookup(0, ServiceKey.markAddress(mark, ipv4: destination.isIPv4), 0) { return si }
            }
        }
        if let si = serviceLookup.lookup(proto.rawValue, destination, port) { return si }
        if hasPortZero { return serviceLookup.lookup(proto.rawValue, destination, 0) }
        return nil
    }

    /// The table missed: schedule a real server if this is a new flow for a virtual service.
    func newConnection(_ p: inout ParsedPacket, _ eth: EthernetFrame, _ packet: inout PacketBuffer,
                       _ proto: TransportProtocol, now: UInt64) -> Verdict {
        guard let si = lookupService(proto, p.destination, p.destinationPort) else {
            if virtualAddressLookup.contains(p.destination) { return .drop(.noService) }
            if localAddressLookup.contains(p.destination) { return .drop(.noConnection) }
            return .pass(.notForDirector)
        }
        let key = services[si].key
        // ip_vs_schedule: a port-0 service schedules only through persistence.
        if p.destinationPort != key.port && services[si].persistence == nil && !key.isFirewallMark {
            return .drop(.noService)
        }
        if proto == .tcp && services[si].synProxy { return synProxyNewFlow(si, &p, eth, &packet, now: now) }
        // Only a SYN starts a TCP connection (tcp_conn_schedule, ip_vs_proto_tcp.c); a SYN
        // with RST set does not. With sloppy_tcp any segment without RST does, so a connection
        // established before a restart continues.
        if proto == .tcp && (p.tcpFlags.contains(.rst) || !(p.tcpFlags.contains(.syn) || tunables.sloppyTCP)) {
            return .drop(.noConnection)
        }
        if refusedUnderPressure() { return .drop(.tablePressure) }
        let (h, failure) = insertScheduled(si, p, eth, interface: packet.interface, proto, now: now)
        guard h != 0 else { return .drop(failure) }
        rememberFirstFragment(p, h, now: now)
        let verdict = fromClient(h, &p, eth, &packet, now: now)
        if proto == .udp && services[si].onePacket {
            // One-packet scheduling: the datagram went out; nothing is kept for the next one.
            _ = expireConnection(&table, h, now: now)
            return verdict
        }
        shortenHalfOpenUnderPressure(h, now: now)
        return verdict
    }

    /// Schedules a real server for a new flow of service `si` and inserts its connection;
    /// handle 0 and the reason when it cannot.
    func insertScheduled(_ si: Int, _ p: ParsedPacket, _ eth: EthernetFrame, interface: Int,
                         _ proto: TransportProtocol, now: UInt64) -> (ConnectionHandle, DropReason) {
        let flow = FlowTuple(proto: proto, clientAddress: p.source, clientPort: p.sourcePort,
                             virtualAddress: p.destination, virtualPort: p.destinationPort, now: now)
        var template: ConnectionHandle = 0
        let rs: Int
        if let persistence = services[si].persistence {
            guard let (chosen, t) = schedulePersistent(si, persistence, flow, now: now) else {
                return (0, lastPersistentFailure)
            }
            rs = chosen
            template = t
        } else {
            let pool = pool(si)
            guard let i = services[si].scheduler.select(from: pool, flow: flow) else {
                return (0, .noDestinationAvailable)
            }
            rs = pool.id(at: i).slot
        }

        let server = realServers[rs]
        let key = services[si].key
        let exactPort = p.destinationPort == key.port && !key.isFirewallMark
        // A server of port 0 takes the client's destination port. Through persistence a
        // server's port applies only to the service's own port, so port-0 and firewall-mark
        // services keep the client's (ip_vs_sched_persist); without, a port is a port
        // (ip_vs_schedule).
        let serverPortApplies = exactPort || services[si].persistence == nil
        let state: ConnectionState = proto == .tcp ? .none : .udp
        var c = Connection(proto, client: p.source, clientPort: p.sourcePort, virtual: p.destination,
                           virtualPort: p.destinationPort, destination: server.address,
                           destinationPort: serverPortApplies && server.port != 0 ? server.port : p.destinationPort,
                           method: server.method, realServer: UInt32(rs), state: state, timeout: timeouts[state],
                           now: now, clientMAC: eth.source, ingressInterface: UInt8(truncatingIfNeeded: interface))
        c.template = template
        if server.method == .fullNAT {
            guard let (pool, lip, lport) = allocateLocalPort(si, family: server.address) else {
                return (0, .localPortsExhausted)
            }
            c.localPool = UInt16(pool)
            c.localAddress = lip
            c.localPort = lport
        }
        guard let h = table.insert(c) else {
            if server.method == .fullNAT { localPools[Int(c.localPool)].pool.release(c.localPort) }
            return (0, .connectionTableFull)
        }
        if template != 0 { table[template].controlled &+= 1 }
        armStreamShift(si, h)
        bind(rs, template: false)
        realServerStats[rs].connections &+= 1
        services[si].stats.connections &+= 1
        lastEvent.newConnection = true
        return (h, .noConnection)
    }

    // MARK: Table pressure (Docs/adr/0006)

    /// Random early drop of new flows as the table nears full: none below 7/8 of capacity,
    /// then each new flow is refused with a probability rising linearly to 1 at a full table.
    /// A flood of spoofed SYNs fills the table only to where each new entry costs it a coin
    /// toss, and the entries it made expire early (below), so legitimate new clients keep
    /// getting in; established connections are never dropped. IPVS's `drop_packet` defence
    /// refuses new connections at a rate in the same way (ip_vs_ctl.c, update_defense_level),
    /// keyed there on free memory, here on the preallocated table's fill.
    @inline(__always)
    func refusedUnderPressure() -> Bool {
        let capacity = table.capacity, used = table.count
        let start = capacity - capacity / 8
        guard used >= start else { return false }
        pressureRandom ^= pressureRandom << 13
        pressureRandom ^= pressureRandom >> 7
        pressureRandom ^= pressureRandom << 17
        let span = UInt64(max(capacity - start, 1))
        return pressureRandom % span < UInt64(used - start)
    }

    /// A new TCP connection's SYN_RECV timeout shrinks from the table's (60 s by default) to
    /// 3 s as the table fills from 3/4 to full, as IPVS's `secure_tcp` defence switches to
    /// short half-open timeouts under memory pressure: a spoofed SYN's entry leaves in
    /// seconds, a real client's handshake completes long before.
    @inline(__always)
    func shortenHalfOpenUnderPressure(_ h: ConnectionHandle, now: UInt64) {
        let capacity = table.capacity, used = table.count
        let start = capacity - capacity / 4
        guard used >= start else { return }
        let c = table.entry(h)
        guard c.pointee.flags.contains(.inUse), c.pointee.state == .synRecv else { return }
        let normal = timeoutNanos[Int(ConnectionState.synRecv.rawValue)]
        let floor = min(Self.halfOpenFloor, normal)
        let span = UInt64(max(capacity - start, 1)), over = UInt64(min(used - start, capacity - start))
        let timeout = normal - (normal - floor) / span * over
        c.pointee.expires = now &+ timeout
        table.rearm(h)
    }

    /// IPVS `ip_vs_sched_persist`: reuse the client's template if it is still valid, else
    /// schedule and create one. Templates are keyed by the masked client address with
    /// client port 0, and live for the persistence timeout after their last use. The virtual
    /// side of the key is the service's port for a packet to it, port 0 for a port-0 service
    /// (one template for all the VIP's ports), and the mark for a firewall-mark service (one
    /// for every address, port and protocol of the mark; TCP stands for IPVS's IPPROTO_IP).
    func schedulePersistent(_ si: Int, _ persistence: Persistence, _ flow: FlowTuple,
                            now: UInt64) -> (Int, ConnectionHandle)? {
        let client = flow.clientAddress.masked(prefixLength: flow.clientAddress.isIPv4
            ? min(persistence.prefixLength, 32) : persistence.prefixLength)
        let (proto, virtual, virtualPort) = templateKey(si, flow.proto, flow.virtualAddress, flow.virtualPort)
        let bucket = table.bucket(proto, source: client, sourcePort: 0,
                                  destination: virtual, destinationPort: virtualPort)
        let timeoutNanos = UInt64(persistence.timeout) * 1_000_000_000
        var t = table.lookupIn(bucket: bucket, proto, client: client, clientPort: 0,
                               virtual: virtual, virtualPort: virtualPort, template: true)
        if t != 0 {
            // ip_vs_check_template: a template whose server was removed is dropped, and with
            // expire_quiescent_template one whose server is quiescent (weight 0) too.
            let server = realServers[Int(table[t].realServer)]
            if server.isRemoved || table[t].expires <= now
                || (tunables.expireQuiescentTemplate && server.weight == 0) {
                if table[t].controlled == 0 {
                    _ = expireConnection(&table, t, now: now)
                } else {
                    table.unhashTemplate(t)
                }
                t = 0
            }
        }
        if t != 0 {
            table[t].expires = now &+ timeoutNanos
            lastEvent.viaTemplate = true
            return (Int(table[t].realServer), t)
        }
        let pool = pool(si)
        guard let i = services[si].scheduler.select(from: pool, flow: flow) else {
            lastPersistentFailure = .noDestinationAvailable
            return nil
        }
        let rs = pool.id(at: i).slot
        let c = Connection(template: proto, client: client, virtual: virtual, virtualPort: virtualPort,
                           destination: realServers[rs].address, destinationPort: realServers[rs].port,
                           method: realServers[rs].method, realServer: UInt32(rs), timeout: persistence.timeout, now: now)
        guard let h = table.insert(c) else {
            lastPersistentFailure = .connectionTableFull
            return nil
        }
        bind(rs, template: true)
        return (rs, h)
    }

    /// The virtual side of service `si`'s persistence template for a flow to
    /// (`proto`, `address`, `port`): the flow's own for a packet to the service's port, port 0
    /// for a port-0 service, and (TCP, mark, 0) for a firewall-mark service.
    @inline(__always)
    func templateKey(_ si: Int, _ proto: TransportProtocol, _ address: IPAddress,
                     _ port: UInt16) -> (TransportProtocol, IPAddress, UInt16) {
        let key = services[si].key
        if key.isFirewallMark { return (.tcp, key.markAddress, 0) }
        return (proto, address, port == key.port ? port : 0)
    }

    /// The service a synced connection or template belongs to, as the data path would find
    /// it: a template's virtual side is its key (`templateKey`), a mark template's address
    /// the mark; and the real server it names, by address and port, or by address alone for
    /// the services whose connections keep the client's port.
    func syncedService(_ proto: TransportProtocol, _ address: IPAddress, _ port: UInt16, template: Bool,
                       destination: IPAddress, destinationPort: UInt16) -> (service: Int, realServer: RealServerID?)? {
        var found: Int?
        if template {
            found = fwmarkLookup.lookup(0, address, 0) ?? serviceLookup.lookup(proto.rawValue, address, port)
        } else {
            found = lookupService(proto, address, port)
        }
        guard let si = found else { return nil }
        let key = services[si].key
        if let id = snapshot.identities.realServers[RealServerKey(service: key, address: destination, port: destinationPort)] {
            return (si, id)
        }
        guard key.isFirewallMark || key.port == 0 else { return (si, nil) }
        let ids = snapshot.realServerIDs(ofService: si)
        let match = zip(services[si].config.realServers, ids).first { $0.0.address == destination }
        return (si, match?.1)
    }

    /// Takes a local port from the service's LIPs of the real server's family, round-robin
    /// over LIPs, skipping exhausted ones.
    func allocateLocalPort(_ si: Int, family: IPAddress) -> (Int, IPAddress, UInt16)? {
        let pools = services[si].localPools
        guard !pools.isEmpty else { return nil }
        for step in 0..<pools.count {
            let k = (services[si].nextLocalPool + step) % pools.count
            let box = localPools[pools[k]]
            guard box.pool.address.isIPv4 == family.isIPv4 else { continue }
            if let port = box.pool.allocate() {
                services[si].nextLocalPool = (k + 1) % pools.count
                return (pools[k], box.pool.address, port)
            }
        }
        return nil
    }

    // MARK: Counters: ip_vs_bind_dest / ip_vs_unbind_dest

    /// A new connection (inactive) or template counts against its server; reaching the upper
    /// threshold marks it overloaded.
    @inline(__always)
    func bind(_ rs: Int, template: Bool) {
        if template {
            realServers[rs].persistentConnections &+= 1
            return
        }
        realServers[rs].inactiveConnections &+= 1
        let upper = realServers[rs].upperThreshold
        if upper != 0 && UInt32(clamping: realServers[rs].totalConnections) >= upper {
            realServers[rs].isOverloaded = true
        }
    }

    /// The reverse of `bind`; the overload flag clears below the lower threshold, or below
    /// ¾ of the upper threshold when no lower one is set.
    @inline(__always)
    func unbind(_ rs: Int, template: Bool, inactive: Bool) {
        if template {
            realServers[rs].persistentConnections &-= 1
            return
        }
        if inactive { realServers[rs].inactiveConnections &-= 1 } else { realServers[rs].activeConnections &-= 1 }
        let total = UInt32(clamping: realServers[rs].totalConnections)
        let lower = realServers[rs].lowerThreshold, upper = realServers[rs].upperThreshold
        if lower != 0 {
            if total < lower { realServers[rs].isOverloaded = false }
        } else if upper != 0 {
            // In 64 bits: `-x` may be up to Int32.max, and upper * 3 in UInt32 traps above
            // 1,431,655,765 (issue 12; ThresholdTests, FuzzRegressionTests).
            if UInt64(total) * 4 < UInt64(upper) * 3 { realServers[rs].isOverloaded = false }
        } else {
            realServers[rs].isOverloaded = false
        }
    }

    // MARK: State and expiry

    /// Moves a TCP connection to `state`, keeping active/inactive counts as IPVS's
    /// set_tcp_state does: active only while ESTABLISHED.
    @inline(__always)
    func setState(_ h: ConnectionHandle, _ state: ConnectionState) {
        let c = table.entry(h)
        guard state != c.pointee.state else { return }
        let rs = Int(c.pointee.realServer)
        let inactive = c.pointee.flags.contains(.inactive)
        if !inactive && state != .established {
            realServers[rs].activeConnections &-= 1
            realServers[rs].inactiveConnections &+= 1
            c.pointee.flags.insert(.inactive)
        } else if inactive && state == .established {
            realServers[rs].inactiveConnections &-= 1
            realServers[rs].activeConnections &+= 1
            c.pointee.flags.remove(.inactive)
        }
        c.pointee.state = state
        c.pointee.timeout = timeouts[state]
        // The caller sets the new expiry; re-file so a shorter timeout is not found late.
        c.pointee.expires = 0
        table.rearm(h)
    }

    /// Expires connection `h` (IPVS ip_vs_conn_expire). Returns false, after re-arming it for
    /// its current timeout, for a connection that still controls others: a template with the
    /// connections it placed, an FTP control connection with its data connections (IPVS
    /// re-arms both alike, on `n_control`).
    func expireConnection(_ t: inout ConnectionTable, _ h: ConnectionHandle, now: UInt64) -> Bool {
        let c = t[h]
        if c.controlled > 0 {
            t[h].expires = now &+ UInt64(c.timeout) * 1_000_000_000
            return false
        }
        if c.template != 0 && t[c.template].controlled > 0 { t[c.template].controlled -= 1 }
        if ftp.links != nil { unlinkFTPData(&t, h) }
        unbind(Int(c.realServer), template: c.flags.contains(.template), inactive: c.flags.contains(.inactive))
        if c.method == .fullNAT && !c.flags.contains(.template) {
            localPools[Int(c.localPool)].pool.release(c.localPort)
        }
        t.remove(h)
        return true
    }
}
