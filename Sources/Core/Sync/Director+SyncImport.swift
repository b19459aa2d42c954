import Wire

/// What `installSynced` did with one entry.
public enum SyncInstallOutcome: Equatable, Sendable {
    /// A new connection or template, at this handle.
    case installed(ConnectionHandle)
    /// An existing one took the entry's state, flags and timeout.
    case updated(ConnectionHandle)
    case dropped(SyncDropReason)
}

/// The sync backup's half (IPVS `ip_vs_process_message`, `ip_vs_proc_sync_conn`,
/// `ip_vs_proc_conn`, net/netfilter/ipvs/ip_vs_sync.c): entries become connections that
/// forward nothing until a packet of theirs arrives, bound to the real server the snapshot's
/// identities name for (service, RIP:rport).
extension Director {
    /// Validates a received datagram and installs its entries. A message of another sync
    /// group (when `syncID` is not 0) is ignored; a malformed one changes nothing and is
    /// counted by its `SyncError`; a valid one's entries are installed or dropped one by one.
    /// `accept`, when given, picks the entries this director takes (a backup with several
    /// workers hands every datagram to each, and each takes the connections the fanout steers
    /// to it); the others are passed over without a count.
    @discardableResult
    public func receiveSyncMessage(_ base: UnsafeMutableRawPointer, length: Int, syncID: UInt8 = 0,
                                   now: UInt64, accept: ((SyncConnectionRecord) -> Bool)? = nil) -> SyncError? {
        sync.counters.messagesReceived &+= 1
        let message: SyncMessage
        do { message = try SyncMessage(base, length: length) } catch {
            sync.counters.rejected[error, default: 0] &+= 1
            return error
        }
        if syncID != 0 && message.syncID != syncID {
            sync.counters.messagesOtherGroup &+= 1
            return nil
        }
        message.forEachConnection { entry in
            let record = entry.record
            if let accept, !accept(record) { return }
            _ = installSynced(record, now: now)
        }
        return nil
    }

    /// Inserts or updates the connection (or template) `record` describes, forwarding nothing.
    ///
    /// - A new connection is bound to the real server found by (service, RIP:rport) and
    ///   counted as `ip_vs_bind_dest` does from the entry's flags: active unless
    ///   IP_VS_CONN_F_INACTIVE, a template as persistent. Its timeout is the entry's, armed
    ///   from `now` (0: the state's, or 3 minutes for a template, as the kernel falls back).
    /// - An existing one takes the state and timeout, and moves between active and inactive
    ///   when the entry's INACTIVE flag differs (`ip_vs_proc_conn`).
    /// - An existing connection to another real server (or FullNAT endpoint) is replaced by an
    ///   active entry; an inactive one is the end of the connection it replaced, and ignored.
    /// - A connection of a persistent service is linked to its template, which is made from
    ///   the service's persistence if the entry for it has not arrived yet.
    /// - FullNAT's LIP:lport (lvsd's option) is taken out of the local address's pool, so the
    ///   port is never handed out twice.
    @discardableResult
    public func installSynced(_ record: SyncConnectionRecord, now: UInt64) -> SyncInstallOutcome {
        let outcome = install(record, now: now)
        switch outcome {
        case .installed: sync.counters.connectionsInstalled &+= 1
        case .updated: sync.counters.connectionsUpdated &+= 1
        case .dropped(let reason): sync.counters.dropped[reason, default: 0] &+= 1
        }
        return outcome
    }

    private func install(_ r: SyncConnectionRecord, now: UInt64) -> SyncInstallOutcome {
        if r.carriesUnknownMandatoryOption { return .dropped(.unknownMandatoryOption) }
        if r.carriesPersistenceEngine { return .dropped(.persistenceEngineUnsupported) }
        let isTemplate = r.flags.contains(.template)
        // A kernel master's firewall-mark template has protocol IPPROTO_IP (0); lvsd keys
        // those templates as TCP (`Director.templateKey`).
        guard let proto = TransportProtocol(r.proto) ?? (isTemplate && r.proto.rawValue == 0 ? .tcp : nil) else {
            return .dropped(.unsupportedProtocol)
        }
        // The kernel only logs a template's odd state; a template here has none.
        let state: ConnectionState
        if isTemplate {
            state = .none
        } else {
            guard let s = ConnectionState(syncNumber: r.state, proto: proto) else { return .dropped(.badState) }
            state = s
        }
        guard let method = ForwardingMethod(syncForwardingCode: r.flags.forwarding) else {
            return .dropped(.unsupportedForwarding)
        }
        guard let (si, found) = syncedService(proto, r.virtualAddress, r.virtualPort, template: isTemplate,
                                              destination: r.destinationAddress, destinationPort: r.destinationPort) else {
            return .dropped(.unknownService)
        }
        guard let id = found, id.slot < realServerCount,
              realServerConfigured[id.slot], !realServers[id.slot].isRemoved else {
            return .dropped(.unknownRealServer)
        }
        let rs = id.slot
        let fullNAT = method == .fullNAT && !isTemplate
        if fullNAT && r.localEndpoint == nil { return .dropped(.missingLocalEndpoint) }
        let inactive = r.flags.contains(.inactive)
        let timeout = r.timeout != 0 ? r.timeout : isTemplate ? 180 : timeouts[state]

        // ip_vs_conn_in_get / ip_vs_ct_in_get: the same connection (or template) here?
        let bucket = table.bucket(proto, source: r.clientAddress, sourcePort: r.clientPort,
                                  destination: r.virtualAddress, destinationPort: r.virtualPort)
        var h = table.lookupIn(bucket: bucket, proto, client: r.clientAddress, clientPort: r.clientPort,
                               virtual: r.virtualAddress, virtualPort: r.virtualPort, template: isTemplate)
        if h != 0 && isTemplate && table[h].expires <= now {
            retireTemplate(h, now: now)
            h = 0
        } else if h != 0 && !isTemplate && !isLive(h, now: now, newTCPConnection: false) {
            h = 0
        }
        if h != 0 {
            let c = table.entry(h)
            let sameEnd = c.pointee.realServer == UInt32(rs) && c.pointee.destinationAddress == r.destinationAddress
                && c.pointee.destinationPort == r.destinationPort
                && (!fullNAT || Endpoint(c.pointee.localAddress, c.pointee.localPort) == r.localEndpoint)
            if sameEnd {
                if c.pointee.clientMAC == .zero, let peer = clientPeer(r) {
                    c.pointee.clientMAC = peer.mac
                    c.pointee.ingressInterface = peer.interface
                }
                update(h, c, state: state, inactive: inactive, timeout: timeout, now: now)
                importStreamShift(r, h)
                return .updated(h)
            }
            if isTemplate {
                // As ip_vs_check_template: the old template goes, or leaves the hash while
                // connections it placed live on.
                retireTemplate(h, now: now)
            } else {
                if inactive || !expireConnection(&table, h, now: now) { return .dropped(.replacedConnection) }
            }
        }

        var c = isTemplate
            ? Connection(template: proto, client: r.clientAddress, clientPort: r.clientPort, virtual: r.virtualAddress,
                         virtualPort: r.virtualPort, destination: r.destinationAddress, destinationPort: r.destinationPort,
                         method: method, realServer: UInt32(rs), state: state, timeout: timeout, now: now)
            : Connection(proto, client: r.clientAddress, clientPort: r.clientPort, virtual: r.virtualAddress,
                         virtualPort: r.virtualPort, destination: r.destinationAddress, destinationPort: r.destinationPort,
                         method: method, realServer: UInt32(rs), state: state, timeout: timeout, now: now, inactive: inactive)
        // ip_vs_proc_conn: the packet count starts at the threshold, so a backup that takes
        // over resyncs on the period, not at once.
        c.syncPackets = sync.settings.threshold
        if !isTemplate, let peer = clientPeer(r) {
            c.clientMAC = peer.mac
            c.ingressInterface = peer.interface
        }
        if fullNAT, let local = r.localEndpoint {
            guard let slot = localAddressIndex[local.address] else { return .dropped(.unknownLocalAddress) }
            let pool = localPools[slot]
            guard pool.pool.range.contains(local.port), workerSlice.owns(local.port) else {
                return .dropped(.foreignLocalPort)
            }
            guard pool.pool.take(local.port) else { return .dropped(.localPortInUse) }
            c.localPool = UInt16(slot)
            c.localAddress = local.address
            c.localPort = local.port
        }
        if !isTemplate, let persistence = services[si].persistence {
            c.template = syncedTemplate(si, persistence, c, now: now)
        }
        guard let new = table.insert(c) else {
            if fullNAT { localPools[Int(c.localPool)].pool.release(c.localPort) }
            return .dropped(.connectionTableFull)
        }
        if c.template != 0 { table[c.template].controlled &+= 1 }
        clearStreamShift(new)
        if !isTemplate { importStreamShift(r, new) }
        bind(rs, template: isTemplate)
        if !isTemplate && !inactive {
            realServers[rs].inactiveConnections &-= 1
            realServers[rs].activeConnections &+= 1
        }
        return .installed(new)
    }

    /// A connection takes the stream shift its entry carries, as `ip_vs_proc_conn` copies
    /// `in_seq` and `out_seq` over the connection's whenever the entry has them; lvsd's option
    /// brings the rest. An entry with neither leaves the shift as it was.
    private func importStreamShift(_ r: SyncConnectionRecord, _ h: ConnectionHandle) {
        guard r.sequence != nil || r.streamShift != nil, r.proto == .tcp else { return }
        if streamShifts == nil {
            // A backup whose own services need no shift still translates what it takes over.
            let entries = UnsafeMutablePointer<StreamShift>.allocate(capacity: table.capacity + 1)
            entries.initialize(repeating: StreamShift(), count: table.capacity + 1)
            streamShifts = entries
        }
        guard let e = streamShifts.map({ $0 + Int(h) }) else { return }
        if let s = r.sequence {
            e.pointee.adjustment.fromClient = SequenceShift(initialSequence: s.input.initial, delta: s.input.delta,
                                                            previousDelta: s.input.previousDelta)
            e.pointee.adjustment.fromServer = SequenceShift(initialSequence: s.output.initial, delta: s.output.delta,
                                                            previousDelta: s.output.previousDelta)
        }
        if let x = r.streamShift {
            e.pointee.adjustment.timestampOffset = x.timestampOffset
            e.pointee.adjustment.serverWindowShift = x.serverWindowShift
            // Only a version this director can write: another is a PROXY header it cannot insert.
            e.pointee.proxyProtocol = ProxyProtocolHeader.Version(rawValue: x.proxyProtocol) != nil ? x.proxyProtocol : 0
            e.pointee.toa = x.state.contains(.toa)
            e.pointee.synSeen = x.state.contains(.synSeen)
            e.pointee.headerSent = x.state.contains(.headerSent)
            e.pointee.synAckSeen = x.state.contains(.synAckSeen)
            e.pointee.firstSequence = x.firstSequence
            e.pointee.serverFirstSequence = x.serverFirstSequence
        }
    }

    /// The entry's client-side peer, if it names one of this director's interfaces (a pair of
    /// directors configured alike agrees on the positions); otherwise the first client packet
    /// teaches it (`learnClientSide`).
    private func clientPeer(_ r: SyncConnectionRecord) -> SyncClientPeer? {
        guard let peer = r.clientPeer, peer.mac != .zero, Int(peer.interface) < snapshot.config.interfaces.count else { return nil }
        return peer
    }

    /// An existing connection takes what a sync entry may change (`IP_VS_CONN_F_BACKUP_UPD_MASK`,
    /// state, timeout), its server's counts following the INACTIVE flag.
    private func update(_ h: ConnectionHandle, _ c: UnsafeMutablePointer<Connection>, state: ConnectionState,
                        inactive: Bool, timeout: UInt32, now: UInt64) {
        if !c.pointee.flags.contains(.template) && c.pointee.flags.contains(.inactive) != inactive {
            let rs = Int(c.pointee.realServer)
            if inactive {
                realServers[rs].activeConnections &-= 1
                realServers[rs].inactiveConnections &+= 1
                c.pointee.flags.insert(.inactive)
            } else {
                realServers[rs].inactiveConnections &-= 1
                realServers[rs].activeConnections &+= 1
                c.pointee.flags.remove(.inactive)
            }
        }
        c.pointee.state = state
        c.pointee.timeout = timeout
        c.pointee.expires = now &+ UInt64(timeout) * 1_000_000_000
        c.pointee.syncPackets = sync.settings.threshold
        // The timeout may be shorter than the one the wheel holds it for.
        table.rearm(h)
    }

    /// As `ip_vs_check_template`: a template that no longer stands goes, or only leaves the
    /// hash while connections it placed live on.
    private func retireTemplate(_ t: ConnectionHandle, now: UInt64) {
        if table[t].controlled == 0 { _ = expireConnection(&table, t, now: now) } else { table.unhashTemplate(t) }
    }

    /// The template a synced connection of a persistent service belongs to: the client's
    /// template if it names the same real server, else a new one from the service's
    /// persistence (a kernel master sends the connection before its template; the template's
    /// own entry then updates it). 0 when the table is full or the client's template points
    /// elsewhere.
    private func syncedTemplate(_ si: Int, _ persistence: Persistence, _ c: Connection, now: UInt64) -> ConnectionHandle {
        let client = c.clientAddress.masked(prefixLength: c.clientAddress.isIPv4
            ? min(persistence.prefixLength, 32) : persistence.prefixLength)
        let (proto, virtual, virtualPort) = templateKey(si, c.proto, c.virtualAddress, c.virtualPort)
        let bucket = table.bucket(proto, source: client, sourcePort: 0,
                                  destination: virtual, destinationPort: virtualPort)
        let t = table.lookupIn(bucket: bucket, proto, client: client, clientPort: 0,
                               virtual: virtual, virtualPort: virtualPort, template: true)
        if t != 0 && table[t].expires > now { return table[t].realServer == c.realServer ? t : 0 }
        if t != 0 { retireTemplate(t, now: now) }
        let template = Connection(template: proto, client: client, virtual: virtual, virtualPort: virtualPort,
                                  destination: c.destinationAddress, destinationPort: c.destinationPort, method: c.method,
                                  realServer: c.realServer, timeout: persistence.timeout, now: now)
        guard let h = table.insert(template) else { return 0 }
        bind(Int(c.realServer), template: true)
        return h
    }
}

extension Director {
    /// A synced connection learns its client-side peer (MAC, interface) from the first client
    /// packet this director sees of it; out of line, as only synced connections take it.
    @inline(never)
    func learnClientSide(_ c: UnsafeMutablePointer<Connection>, _ eth: EthernetFrame, interface: Int) {
        c.pointee.clientMAC = eth.source
        c.pointee.ingressInterface = UInt8(truncatingIfNeeded: interface)
    }
}
