import Core
import PacketBuilder
import Testing
import Wire

/// Connection sync end to end inside Core: a master director forwards real frames and notes
/// its connections, its notes become version-1 messages, the messages are parsed and
/// installed in a backup director, and the backup then forwards the connections' next
/// packets as the master would have.
@Suite struct ConnectionSyncTests {
    static let tcp4 = ServiceKey(.tcp, IPAddress(Lab.v4.vip)!, Lab.virtualPort)
    static let otherClient = "198.18.0.101"

    /// Everything the master has noted, as messages.
    static func drain(_ master: Director) -> [[UInt8]] {
        var messages: [[UInt8]] = []
        master.drainSync { messages.append(Array($0)) }
        return messages
    }

    /// Delivers `messages` to `backup`; returns the errors of refused ones.
    @discardableResult
    static func deliver(_ messages: [[UInt8]], to backup: Harness, syncID: UInt8 = 0) -> [SyncError] {
        var errors: [SyncError] = []
        for var m in messages {
            let count = m.count
            let error = m.withUnsafeMutableBytes { raw in
                // Safety: the message view lives only inside this closure.
                backup.director.receiveSyncMessage(raw.baseAddress!, length: count, syncID: syncID, now: backup.now)
            }
            if let error { errors.append(error) }
        }
        return errors
    }

    /// A SYN from another client, so the next client's connection goes to real server 2 (rr).
    static func otherClientSYN(_ h: Harness, port: UInt16 = 50000) {
        let f = Lab.v4
        let frame = Lab.l4(Lab.ip(.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC), f,
                                  from: otherClient, to: f.vip), .tcp, from: port, to: Lab.virtualPort, flags: [.syn])
        _ = h.run(frame)
    }

    /// SYN, ACK and one data segment from the client (the third packet is the threshold).
    static func handshake(_ h: Harness) {
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.syn])).0 == .forward(interface: 1))
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack])).0 == .forward(interface: 1))
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack, .psh], payload: "GET /")).0 == .forward(interface: 1))
    }

    /// What the director sends real server 2 for a client ACK.
    static func ackTowardServer2(_ method: ForwardingMethod, localPort: UInt16 = GoldenFrameTests.firstLocalPort) -> [UInt8] {
        let f = Lab.v4
        let eth = Frame.ethernet(destination: Lab.rs2MAC, source: Lab.directorServerMAC)
        switch method {
        case .nat:
            return Lab.l4(Lab.ip(eth, f, from: f.client, to: f.rs2, ttl: 63), .tcp, from: Lab.clientPort,
                          to: Lab.realPort, flags: [.ack]).bytes
        case .fullNAT:
            return Lab.l4(Lab.ip(eth, f, from: f.lip, to: f.rs2, ttl: 63), .tcp, from: localPort,
                          to: Lab.realPort, flags: [.ack]).bytes
        default:
            return Lab.l4(Lab.ip(eth, f, from: f.client, to: f.vip, ttl: 63), .tcp, from: Lab.clientPort,
                          to: Lab.virtualPort, flags: [.ack]).bytes
        }
    }

    func server(_ h: Harness, _ address: String) -> RealServer {
        h.director.realServers(ofService: Self.tcp4).first { $0.address == IPAddress(address)! }!
    }

    // MARK: Master → backup

    @Test(arguments: [ForwardingMethod.nat, .directRouting, .fullNAT])
    func backupForwardsTheEstablishedConnectionToTheSameServer(_ method: ForwardingMethod) {
        let master = Harness(Lab.config(method))
        master.director.startSyncMaster()
        Self.otherClientSYN(master)
        Self.handshake(master)
        #expect(master.director.pendingSyncNotes == 1, "SYN states are not synced; the 3rd packet is")
        let messages = Self.drain(master.director)
        #expect(messages.count == 1)
        #expect(master.director.syncCounters.connectionsSent == 1)

        let backup = Harness(Lab.config(method))
        backup.now = master.now + 500_000_000
        #expect(Self.deliver(messages, to: backup).isEmpty)
        #expect(backup.director.syncCounters.connectionsInstalled == 1)
        #expect(backup.director.table.count == 1)
        let synced = backup.director.connections()[0]
        #expect(synced.state == .established && synced.method == method)
        #expect(synced.timeout == 900)
        // Counters as the master's: one active connection on real server 2.
        #expect(server(backup, Lab.v4.rs2).activeConnections == 1)
        #expect(server(backup, Lab.v4.rs2).inactiveConnections == 0)
        #expect(server(master, Lab.v4.rs2).activeConnections == 1)

        // The backup is now the master: the client's next ACK goes to real server 2 as before.
        let (verdict, out) = backup.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack]))
        #expect(verdict == .forward(interface: 1))
        #expect(!backup.director.lastEvent.newConnection)
        // FullNAT: the other client took local port 1024.
        let expected = Self.ackTowardServer2(method, localPort: 1025)
        #expect(out == expected, "\(hexDiff(expected: expected, actual: out))")
    }

    @Test func ipv6FullNATTravelsWithItsLocalEndpoint() {
        let master = Harness(Lab.config(.fullNAT))
        master.director.startSyncMaster()
        for flags: TCPFlags in [[.syn], [.ack], [.ack]] { _ = master.run(Lab.fromClient(Lab.v6, .tcp, flags: flags)) }
        let messages = Self.drain(master.director)
        // Header, the IPv6 entry, the local endpoint option and the client-peer option.
        #expect(messages.map(\.count) == [8 + 72 + 2 + 18 + 2 + 7])
        let backup = Harness(Lab.config(.fullNAT))
        Self.deliver(messages, to: backup)
        let (verdict, out) = backup.run(Lab.fromClient(Lab.v6, .tcp, flags: [.ack]))
        #expect(verdict == .forward(interface: 1))
        let expected = GoldenFrameTests.towardServer(GoldenFrameTests.Case(method: .fullNAT, ipv6: true, proto: .tcp),
                                                     flags: [.ack])
        #expect(out == expected, "\(hexDiff(expected: expected, actual: out))")
    }

    @Test func aDirectorThatIsNotMasterNotesNothing() {
        let h = Harness(Lab.config(.nat))
        Self.handshake(h)
        #expect(h.director.pendingSyncNotes == 0)
        h.director.startSyncMaster()
        _ = h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.fin, .ack]))
        #expect(h.director.pendingSyncNotes == 1)
        h.director.stopSyncMaster()
        #expect(h.director.pendingSyncNotes == 0)
    }

    @Test func fullNATRepliesMapBackAndTheLocalPortIsNeverHandedOutTwice() {
        let master = Harness(Lab.config(.fullNAT))
        master.director.startSyncMaster()
        Self.otherClientSYN(master)  // takes local port 1024 on real server 1
        // The client's connection: local port 1025 toward real server 2.
        #expect(master.run(Lab.fromClient(Lab.v4, .tcp, flags: [.syn])).0 == .forward(interface: 1))
        #expect(master.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack])).0 == .forward(interface: 1))
        #expect(master.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack])).0 == .forward(interface: 1))
        let backup = Harness(Lab.config(.fullNAT))
        Self.deliver(Self.drain(master.director), to: backup)
        let lip = IPAddress(Lab.v4.lip)!
        #expect(backup.director.connections(onLocalAddress: lip) == 1)
        let c = backup.director.connections()[0]
        #expect(c.localAddress == lip && c.localPort == 1025)

        // A reply before the client has sent anything here (a download whose client has
        // acknowledged everything when the master dies) goes to the client-side peer the
        // master named in lvsd's option: replies to LIP:lport go back to CIP:cport from the VIP.
        let f = Lab.v4
        let reply = Lab.l4(Lab.ip(.ethernet(destination: Lab.directorServerMAC, source: Lab.rs2MAC), f,
                                  from: f.rs2, to: f.lip), .tcp, from: Lab.realPort, to: 1025, flags: [.ack],
                           seq: 5000, ack: 1001).payload("data")
        let (replyVerdict, replyOut) = backup.run(reply, interface: 1)
        #expect(replyVerdict == .forward(interface: 0))
        let expected = GoldenFrameTests.towardClient(GoldenFrameTests.Case(method: .fullNAT, ipv6: false, proto: .tcp),
                                                     flags: [.ack], payload: "data")
        #expect(replyOut == expected, "\(hexDiff(expected: expected, actual: replyOut))")
        let (verdict, out) = backup.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack]))
        #expect(verdict == .forward(interface: 1))
        #expect(out == Self.ackTowardServer2(.fullNAT, localPort: 1025))

        // New connections on the backup never get 1025 while the synced one holds it.
        var ports: [UInt16] = []
        for port in UInt16(41000)..<41004 {
            _ = backup.run(Lab.fromClient(Lab.v4, .tcp, flags: [.syn], clientPort: port))
            ports.append(backup.director.table[backup.director.lastEvent.connection].localPort)
        }
        #expect(!ports.contains(1025))
        #expect(backup.director.connections(onLocalAddress: lip) == 5)
    }

    @Test func withoutTheClientPeerOptionTheFirstClientPacketTeachesThePeer() {
        // A kernel master sends no client peer: a reply before the client's first packet here
        // has nowhere to go.
        let master = Harness(Lab.config(.nat))
        master.director.startSyncMaster()
        Self.handshake(master)
        _ = master.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack]))
        var records: [SyncConnectionRecord] = []
        for var m in Self.drain(master.director) {
            let count = m.count
            m.withUnsafeMutableBytes { raw in
                // Safety: the message view lives only inside this closure.
                if let message = try? SyncMessage(raw.baseAddress!, length: count) { message.forEachConnection { records.append($0.record) } }
            }
        }
        #expect(records.count == 1 && records[0].clientPeer != nil)
        let backup = Harness(Lab.config(.nat))
        records[0].clientPeer = nil
        #expect(backup.director.installSynced(records[0], now: backup.now) != .dropped(.unknownService))
        #expect(backup.director.connections()[0].clientMAC == .zero)
        records[0].clientPeer = SyncClientPeer(mac: Lab.clientMAC, interface: 9)
        _ = backup.director.installSynced(records[0], now: backup.now)
        #expect(backup.director.connections()[0].clientMAC == .zero, "interface 9 is none of the backup's: ignored")
        records[0].clientPeer = SyncClientPeer(mac: Lab.clientMAC, interface: 0)
        _ = backup.director.installSynced(records[0], now: backup.now)
        #expect(backup.director.connections()[0].clientMAC == Lab.clientMAC)
    }

    @Test func persistentClientGoesToTheSameServerThroughTheSyncedTemplate() {
        let persistence = Persistence(timeout: 360, prefixLength: 32)
        let master = Harness(Lab.config(.nat, persistence: persistence))
        master.director.startSyncMaster()
        Self.otherClientSYN(master)  // the other client's template: real server 1
        Self.handshake(master)  // this client's template and connection: real server 2
        let messages = Self.drain(master.director)
        let backup = Harness(Lab.config(.nat, persistence: persistence))
        Self.deliver(messages, to: backup)
        #expect(backup.director.syncCounters.connectionsInstalled == 2, "the template, then the connection")
        let template = backup.director.connections().first { $0.flags.contains(.template) }
        #expect(template?.controlled == 1)
        #expect(template?.timeout == 360)
        #expect(server(backup, Lab.v4.rs2).persistentConnections == 1)
        #expect(server(backup, Lab.v4.rs2).persistentConnections == server(master, Lab.v4.rs2).persistentConnections)

        // A new connection of the same client: the backup's scheduler would pick real server 1
        // (its rr starts there), the template sends it to 2.
        let (verdict, _) = backup.run(Lab.fromClient(Lab.v4, .tcp, flags: [.syn], clientPort: 41000))
        #expect(verdict == .forward(interface: 1))
        #expect(backup.director.lastEvent.newConnection && backup.director.lastEvent.viaTemplate)
        let rs2 = backup.director.realServerIndex(service: Self.tcp4, address: IPAddress(Lab.v4.rs2)!, port: Lab.realPort)
        #expect(backup.director.lastEvent.realServer == rs2)
    }

    @Test func aConnectionBeforeItsTemplateMakesTheTemplate() {
        // A kernel master sends a connection before its template (ip_vs_sync_conn syncs the
        // controller after): the backup makes the template from the service's persistence.
        let persistence = Persistence(timeout: 360, prefixLength: 32)
        let master = Harness(Lab.config(.nat, persistence: persistence))
        master.director.startSyncMaster()
        Self.handshake(master)
        let records = master.director.connections().sorted { !$0.flags.contains(.template) && $1.flags.contains(.template) }
        let backup = Harness(Lab.config(.nat, persistence: persistence))
        for c in records { _ = backup.director.installSynced(Self.record(c), now: backup.now) }
        #expect(backup.director.syncCounters.connectionsInstalled == 1)
        #expect(backup.director.syncCounters.connectionsUpdated == 1, "the template's own entry updates the one made")
        #expect(backup.director.table.count == 2)
        #expect(backup.director.connections().first { $0.flags.contains(.template) }?.controlled == 1)
    }

    /// The entry a master would send for `c` (what `drainSync` writes), built from the outside.
    static func record(_ c: Connection) -> SyncConnectionRecord {
        let template = c.flags.contains(.template)
        var flags = SyncConnectionFlags.forwarding(c.method == .nat ? SyncConnectionFlags.forwardMasquerade
            : c.method == .fullNAT ? SyncConnectionFlags.forwardFullNAT : SyncConnectionFlags.forwardDirectRoute)
        if template { flags.insert(.template) }
        if c.flags.contains(.inactive) { flags.insert(.inactive) }
        return SyncConnectionRecord(
            proto: c.proto.ipProtocol, flags: flags, state: template ? 0 : UInt16(c.state.rawValue),
            clientAddress: c.clientAddress, clientPort: c.clientPort, virtualAddress: c.virtualAddress,
            virtualPort: c.virtualPort, destinationAddress: c.destinationAddress,
            destinationPort: c.destinationPort, timeout: c.timeout)
    }

    // MARK: Updates

    @Test func stateChangesUpdateTheBackupAndItsCounters() {
        let master = Harness(Lab.config(.nat))
        master.director.startSyncMaster()
        Self.handshake(master)
        let backup = Harness(Lab.config(.nat))
        Self.deliver(Self.drain(master.director), to: backup)
        #expect(server(backup, Lab.v4.rs1).activeConnections == 1)

        // A FIN moves ESTABLISHED to CLOSE_WAIT: synced at once, not at the threshold.
        _ = master.run(Lab.fromClient(Lab.v4, .tcp, flags: [.fin, .ack]))
        #expect(master.director.pendingSyncNotes == 1)
        backup.now += 1_000_000_000
        Self.deliver(Self.drain(master.director), to: backup)
        #expect(backup.director.syncCounters.connectionsUpdated == 1)
        let c = backup.director.connections()[0]
        #expect(c.state == .closeWait && c.timeout == 60)
        for h in [master, backup] {
            #expect(server(h, Lab.v4.rs1).activeConnections == 0)
            #expect(server(h, Lab.v4.rs1).inactiveConnections == 1)
        }
        // The CLOSE_WAIT timeout runs on the backup from the update.
        backup.advance(seconds: 60.5)
        #expect(backup.director.table.count == 0)
        #expect(server(backup, Lab.v4.rs1).inactiveConnections == 0)
    }

    @Test func aLongConnectionIsResyncedEveryPeriod() {
        let master = Harness(Lab.config(.nat))
        master.director.startSyncMaster(SyncSettings(threshold: 3, period: 50))
        var noted: [Int] = []
        for packet in 1...110 {
            _ = master.run(Lab.fromClient(Lab.v4, .udp, payload: "x"))
            if master.director.pendingSyncNotes > 0 {
                noted.append(packet)
                _ = Self.drain(master.director)
            }
        }
        #expect(noted == [3, 53, 103])
    }

    @Test func batchesFillUpToMaxlen() {
        let master = Harness(Lab.config(.directRouting), capacity: 4096)
        master.director.startSyncMaster(SyncSettings(maxMessageLength: 1472))
        for port in UInt16(20000)..<20100 {
            for flags: TCPFlags in [[.syn], [.ack], [.ack]] {
                _ = master.run(Lab.fromClient(Lab.v4, .tcp, flags: flags, clientPort: port))
            }
        }
        let messages = Self.drain(master.director)
        // (1472 − 8) / 36 = 40 IPv4 entries a message.
        #expect(messages.map(\.count) == [8 + 40 * 36, 8 + 40 * 36, 8 + 20 * 36])
        let backup = Harness(Lab.config(.directRouting), capacity: 4096)
        Self.deliver(messages, to: backup)
        #expect(backup.director.table.count == 100)
        #expect(server(backup, Lab.v4.rs1).activeConnections == server(master, Lab.v4.rs1).activeConnections)
        #expect(server(backup, Lab.v4.rs2).activeConnections == server(master, Lab.v4.rs2).activeConnections)
    }

    // MARK: The master's ring

    @Test func aFullRingCountsWhatItLoses() {
        let master = Harness(Lab.config(.directRouting))
        master.director.startSyncMaster(SyncSettings(ringCapacity: 2))
        for port in UInt16(20000)..<20003 {
            for flags: TCPFlags in [[.syn], [.ack], [.ack]] {
                _ = master.run(Lab.fromClient(Lab.v4, .tcp, flags: flags, clientPort: port))
            }
        }
        #expect(master.director.pendingSyncNotes == 2)
        #expect(master.director.syncCounters.ringFull == 1)
    }

    @Test func aNoteForAConnectionThatWentIsNotSent() {
        let master = Harness(Lab.config(.nat))
        master.director.startSyncMaster()
        _ = master.run(Lab.fromClient(Lab.v4, .tcp, flags: [.syn]))
        _ = master.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack]))
        _ = master.run(Lab.fromClient(Lab.v4, .tcp, flags: [.rst]))  // CLOSE: synced at once
        #expect(master.director.pendingSyncNotes == 1)
        master.advance(seconds: 11)  // CLOSE lives 10 s
        #expect(master.director.table.count == 0)
        #expect(Self.drain(master.director).isEmpty)
        #expect(master.director.syncCounters.notesStale == 1)
    }

    // MARK: What a backup refuses

    @Test func badMessagesChangeNothingAndAreCounted() {
        let master = Harness(Lab.config(.nat))
        master.director.startSyncMaster()
        Self.handshake(master)
        let good = Self.drain(master.director)[0]
        let backup = Harness(Lab.config(.nat))
        var truncated = good; truncated.removeLast()
        var version = good; version[5] = 0
        var type = good; type[8] = 0x80
        var size = good; size[11] = 0x30
        let errors = Self.deliver([truncated, version, type, size, [0, 0]], to: backup)
        #expect(errors == [.sizeMismatch, .unsupportedVersion, .badConnectionType, .badConnectionSize, .truncated])
        #expect(backup.director.table.count == 0)
        #expect(backup.director.syncCounters.messagesRejected == 5)
        #expect(backup.director.syncCounters[.sizeMismatch] == 1)
        #expect(server(backup, Lab.v4.rs1).inactiveConnections == 0 && server(backup, Lab.v4.rs1).activeConnections == 0)
        // Another sync group's message is ignored.
        Self.deliver([good], to: backup, syncID: 7)
        #expect(backup.director.syncCounters.messagesOtherGroup == 1)
        #expect(backup.director.table.count == 0)
        Self.deliver([good], to: backup)
        #expect(backup.director.table.count == 1)
    }

    @Test func entriesForUnknownServicesServersOrPortsAreDroppedByName() {
        let master = Harness(Lab.config(.nat))
        master.director.startSyncMaster()
        Self.handshake(master)
        let c = master.director.connections()[0]
        let backup = Harness(Lab.config(.nat))
        var r = Self.record(c)
        r.virtualPort = 81
        #expect(backup.director.installSynced(r, now: backup.now) == .dropped(.unknownService))
        r = Self.record(c)
        r.destinationPort = 9999
        #expect(backup.director.installSynced(r, now: backup.now) == .dropped(.unknownRealServer))
        r = Self.record(c)
        r.state = 11
        #expect(backup.director.installSynced(r, now: backup.now) == .dropped(.badState))
        r = Self.record(c)
        r.carriesUnknownMandatoryOption = true
        #expect(backup.director.installSynced(r, now: backup.now) == .dropped(.unknownMandatoryOption))
        r = Self.record(c)
        r.proto = .icmp
        #expect(backup.director.installSynced(r, now: backup.now) == .dropped(.unsupportedProtocol))
        r = Self.record(c)
        r.flags = SyncConnectionFlags.forwarding(SyncConnectionFlags.forwardFullNAT)
        #expect(backup.director.installSynced(r, now: backup.now) == .dropped(.missingLocalEndpoint))
        r.localEndpoint = Endpoint(IPAddress("198.18.1.200")!, 2000)
        #expect(backup.director.installSynced(r, now: backup.now) == .dropped(.unknownLocalAddress))
        #expect(backup.director.table.count == 0)
        #expect(backup.director.syncCounters.connectionsDropped == 7)
        #expect(backup.director.syncCounters[.unknownService] == 1)
    }

    @Test func anInactiveEntryForAReplacedConnectionIsIgnored() {
        let master = Harness(Lab.config(.nat))
        master.director.startSyncMaster()
        Self.handshake(master)
        let c = master.director.connections()[0]
        let backup = Harness(Lab.config(.nat))
        #expect(backup.director.installSynced(Self.record(c), now: backup.now) == .installed(1))
        // The same client tuple, now to real server 2.
        var moved = Self.record(c)
        moved.destinationAddress = IPAddress(Lab.v4.rs2)!
        moved.flags.insert(.inactive)
        #expect(backup.director.installSynced(moved, now: backup.now) == .dropped(.replacedConnection))
        moved.flags.remove(.inactive)
        guard case .installed = backup.director.installSynced(moved, now: backup.now) else {
            Issue.record("an active entry to another server replaces the connection")
            return
        }
        #expect(backup.director.table.count == 1)
        #expect(server(backup, Lab.v4.rs1).activeConnections == 0)
        #expect(server(backup, Lab.v4.rs2).activeConnections == 1)
    }
}
