import Wire

/// The sync master's half (IPVS `ip_vs_sync_conn`, net/netfilter/ipvs/ip_vs_sync.c).
///
/// The data path only notes which connection to sync: on each client packet, after the state
/// transition, `noteSync` decides as `ip_vs_sync_conn_needed` does (a change into a closing
/// state at once; otherwise the `threshold`-th packet modulo `period`) and writes a 12-byte
/// note into the worker's preallocated ring — the connection's persistence template first,
/// so a backup can link the connection to it. Between batches the same worker calls
/// `drainSync`, which reads each noted connection from the table, checks it is still the
/// one noted, and packs entries into messages of at most `sync-maxlen` bytes. The worker owns
/// its table, so the drain runs on the worker (like its mailboxes), never on another thread;
/// what leaves it is finished message bytes for the sync socket.
extension Director {
    /// Starts noting connections for sync (`--start-daemon master`). Allocates the ring and
    /// the message buffer once.
    public func startSyncMaster(_ settings: SyncSettings = SyncSettings()) {
        sync = SyncState(settings)
        syncMaster = true
    }

    /// Stops noting (`--stop-daemon master`); notes not yet drained are dropped.
    public func stopSyncMaster() {
        syncMaster = false
        sync.count = 0
    }

    /// The sync counters of this worker (master and backup).
    public var syncCounters: SyncCounters { sync.counters }

    /// Notes waiting for `drainSync`.
    public var pendingSyncNotes: Int { sync.count }

    /// The data path's hook, for a client packet on connection `h` that found it in `before`.
    @inline(__always)
    func noteSync(_ h: ConnectionHandle, _ c: UnsafeMutablePointer<Connection>, before: ConnectionState) {
        let settings = sync.settings
        let packets = settings.counting(c.pointee.syncPackets)
        c.pointee.syncPackets = packets
        guard settings.needed(c.pointee.proto, before: before, after: c.pointee.state, packets: packets) else { return }
        // ip_vs_sync_conn syncs the controlling template along with the connection.
        let t = c.pointee.template
        if t != 0 { sync.append(SyncNote(t, table.entry(t))) }
        sync.append(SyncNote(h, c))
    }

    /// Notes connection `h` again when its stream shift changed (an FTP rewrite, the SYN
    /// proxy's server half), so a backup that takes over translates as this director does.
    @inline(__always)
    func noteShiftChange(_ h: ConnectionHandle, _ c: UnsafeMutablePointer<Connection>) {
        guard let e = streamShifts.map({ $0 + Int(h) }), e.pointee.changed else { return }
        e.pointee.changed = false
        sync.append(SyncNote(h, c))
    }

    /// Turns the notes taken so far (at most `limit`) into messages: `send` gets each one
    /// as soon as the next entry would not fit, and the last partly filled one at the end,
    /// so no entry waits for a message to fill. The bytes are valid only during the call.
    /// Returns the number of messages sent.
    @discardableResult
    public func drainSync(limit: Int = .max, send: (UnsafeRawBufferPointer) -> Void) -> Int {
        let settings = sync.settings
        var writer = SyncMessageWriter(sync.message, capacity: settings.maxMessageLength, syncID: settings.syncID)
        var messages = 0
        func flush() {
            send(UnsafeRawBufferPointer(start: sync.message, count: writer.length))
            sync.counters.messagesBuilt &+= 1
            sync.counters.connectionsSent &+= UInt64(writer.connectionCount)
            messages += 1
            writer = SyncMessageWriter(sync.message, capacity: settings.maxMessageLength, syncID: settings.syncID)
        }
        var taken = 0
        while taken < limit, let note = sync.pop() {
            taken += 1
            let c = table[note.handle]
            guard note.matches(c) else {
                sync.counters.notesStale &+= 1
                continue
            }
            let record = syncRecord(c, handle: note.handle)
            guard record.isSingleFamily else {
                sync.counters.notesMixedFamily &+= 1
                continue
            }
            if !writer.append(record) {
                flush()
                writer.append(record)
            }
        }
        if !writer.isEmpty { flush() }
        return messages
    }

    /// The entry IPVS would send for `c` (at `handle`, whose stream shift it carries).
    func syncRecord(_ c: Connection, handle: ConnectionHandle = 0) -> SyncConnectionRecord {
        var flags = SyncConnectionFlags.forwarding(c.method.syncForwardingCode)
        let template = c.flags.contains(.template)
        if template { flags.insert(.template) }
        if c.flags.contains(.inactive) { flags.insert(.inactive) }
        if c.flags.contains(.noOutput) { flags.insert(.noOutput) }
        // A firewall-mark template goes out as IPVS's `<IPPROTO_IP, caddr, 0, fwmark, 0>`.
        let markTemplate = template && c.virtualPort == 0 && fwmarkLookup.lookup(0, c.virtualAddress, 0) != nil
        var record = SyncConnectionRecord(
            proto: markTemplate ? IPProtocol(rawValue: 0) : c.proto.ipProtocol, flags: flags, state: template ? 0 : c.state.syncNumber,
            clientAddress: c.clientAddress, clientPort: c.clientPort, virtualAddress: c.virtualAddress,
            virtualPort: c.virtualPort, destinationAddress: c.destinationAddress, destinationPort: c.destinationPort,
            timeout: c.timeout)
        if c.method == .fullNAT && !template {
            record.localEndpoint = Endpoint(c.localAddress, c.localPort)
            record.steeringKey = sync.settings.steeringKey
        }
        // NAT and FullNAT replies go back through the director: a backup needs the client-side
        // peer to send them before the client has sent it anything (lvsd's option).
        if !template && c.method.repliesTraverseDirector && c.clientMAC != .zero {
            record.clientPeer = SyncClientPeer(mac: c.clientMAC, interface: c.ingressInterface)
        }
        if handle != 0, !template, let shifts = streamShifts { exportStreamShift(shifts[Int(handle)], into: &record) }
        return record
    }

    /// A connection's stream shift as IPVS carries it (`IPVS_OPT_SEQ_DATA` with
    /// `IP_VS_CONN_F_IN_SEQ`/`_OUT_SEQ` for each direction that moves, ip_vs_sync.c
    /// `ip_vs_sync_conn`) and the rest as lvsd's option, which a kernel backup skips.
    func exportStreamShift(_ e: StreamShift, into record: inout SyncConnectionRecord) {
        let a = e.adjustment
        if !a.fromClient.isIdentity || !a.fromServer.isIdentity {
            record.sequence = SyncSequence(
                input: .init(initial: a.fromClient.initialSequence, delta: a.fromClient.delta,
                             previousDelta: a.fromClient.previousDelta),
                output: .init(initial: a.fromServer.initialSequence, delta: a.fromServer.delta,
                              previousDelta: a.fromServer.previousDelta))
            if !a.fromClient.isIdentity { record.flags.insert(.inputSequence) }
            if !a.fromServer.isIdentity { record.flags.insert(.outputSequence) }
        }
        if a.timestampOffset != 0 || a.serverWindowShift != 0 || e.wantsClientAddress {
            var state: SyncStreamShift.State = []
            if e.toa { state.insert(.toa) }
            if e.synSeen { state.insert(.synSeen) }
            if e.headerSent { state.insert(.headerSent) }
            if e.synAckSeen { state.insert(.synAckSeen) }
            record.streamShift = SyncStreamShift(
                timestampOffset: a.timestampOffset, serverWindowShift: a.serverWindowShift, proxyProtocol: e.proxyProtocol,
                state: state, firstSequence: e.firstSequence, serverFirstSequence: e.serverFirstSequence)
        }
    }
}

extension ForwardingMethod {
    /// `IP_VS_CONN_F_MASQ`, `_TUNNEL`, `_DROUTE`, and DPVS's FullNAT code.
    var syncForwardingCode: UInt32 {
        switch self {
        case .nat: SyncConnectionFlags.forwardMasquerade
        case .tunnel: SyncConnectionFlags.forwardTunnel
        case .directRouting: SyncConnectionFlags.forwardDirectRoute
        case .fullNAT: SyncConnectionFlags.forwardFullNAT
        }
    }

    init?(syncForwardingCode code: UInt32) {
        switch code {
        case SyncConnectionFlags.forwardMasquerade: self = .nat
        case SyncConnectionFlags.forwardTunnel: self = .tunnel
        case SyncConnectionFlags.forwardDirectRoute: self = .directRouting
        case SyncConnectionFlags.forwardFullNAT: self = .fullNAT
        default: return nil
        }
    }
}

extension ConnectionState {
    /// The state number on the wire: IPVS's TCP numbering (ours), UDP's only state is 0.
    var syncNumber: UInt16 { self == .udp ? 0 : UInt16(rawValue) }

    /// The state a sync entry names for `proto`, or nil past the protocol's table.
    init?(syncNumber: UInt16, proto: TransportProtocol) {
        switch proto {
        case .udp:
            guard syncNumber == 0 else { return nil }
            self = .udp
        case .tcp:
            guard syncNumber < UInt16(TCPStateTable.stateCount), let s = ConnectionState(rawValue: UInt8(syncNumber)) else {
                return nil
            }
            self = s
        }
    }
}
