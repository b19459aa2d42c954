import Core
import PacketBuilder
import Testing
import Wire

/// `Director.reconfigure`: a new configuration snapshot swapped in with live connections,
/// as a SIGHUP reload or an `lvsadm -e/-d/-a` does.
@Suite struct ReconfigureTests {
    let tcp4 = ServiceKey(.tcp, IPAddress("198.18.0.10")!, 80)
    let rs1 = IPAddress("198.18.1.11")!
    let rs2 = IPAddress("198.18.1.12")!
    let rs3 = IPAddress("198.18.1.13")!

    /// Opens an established TCP connection from `port`; returns the real server it went to.
    func establish(_ h: Harness, port: UInt16) -> IPAddress {
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: port)).0 == .forward(interface: 1))
        let rs = h.director.realServer(at: h.director.lastEvent.realServer).address
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack], clientPort: port)).0 == .forward(interface: 1))
        return rs
    }

    /// The real server a client packet from `port` went to, or nil if it was not forwarded.
    func destination(_ h: Harness, port: UInt16, flags: TCPFlags = [.ack]) -> IPAddress? {
        let (verdict, out) = h.run(Lab.fromClient(Lab.v4, .tcp, flags: flags, clientPort: port))
        // Untagged Ethernet, then IPv4: the destination address sits at bytes 30..<34.
        guard verdict == .forward(interface: 1), out.count >= 34 else { return nil }
        return IPAddress("\(out[30]).\(out[31]).\(out[32]).\(out[33])")
    }

    func with(_ config: DirectorConfig, _ body: (inout VirtualServiceConfig) -> Void) -> DirectorConfig {
        var c = config
        let i = c.services.firstIndex { $0.key == tcp4 }!
        body(&c.services[i])
        return c
    }

    @Test func establishedConnectionsSurviveAWeightChangeAndAnAddedServer() {
        let base = Lab.config(.nat)
        let h = Harness(base)
        let first = establish(h, port: 40000)
        let second = establish(h, port: 40001)
        #expect(Set([first, second]) == [rs1, rs2])

        let summary = h.director.reconfigure(with(base) { svc in
            svc.realServers[0].weight = 5
            svc.realServers.append(RealServerConfig(address: rs3, port: 8080, weight: 1, method: .nat))
        })
        #expect(summary.realServersAdded == 1 && summary.realServersRemoved == 0)
        #expect(summary.connectionsOnRemoved == 0 && summary.schedulersRebuilt == 1)
        // Same server for the same connection, counters kept in the servers' own slots.
        #expect(destination(h, port: 40000) == first)
        #expect(destination(h, port: 40001) == second)
        let servers = h.director.realServers(ofService: tcp4)
        #expect(servers.map(\.address) == [rs1, rs2, rs3])
        #expect(servers.map(\.activeConnections) == [1, 1, 0])
        #expect(servers[0].weight == 5)
        #expect(h.director.stats(ofService: tcp4, realServer: 0).connections == 1)
        #expect(h.director.stats(ofService: tcp4, realServer: 0).packetsIn == 3)

        // The connection still expires through its server's slot and gives its count back.
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.rst], clientPort: 40000)).0 == .forward(interface: 1))
        h.advance(seconds: 11)
        #expect(h.director.realServers(ofService: tcp4).map(\.totalConnections) == [0, 1, 0])
    }

    @Test func aRemovedServersConnectionsExpireOnTheirNextPacketAndItGetsNoNewOnes() {
        let base = Lab.config(.nat)
        let h = Harness(base)
        let onRS1 = establish(h, port: 40000) == rs1 ? UInt16(40000) : 40001
        _ = establish(h, port: 40001)
        let removed = h.director.realServerIndex(service: tcp4, address: rs1, port: 8080)!
        let summary = h.director.reconfigure(with(base) { svc in svc.realServers.removeAll { $0.address == rs1 } })
        #expect(summary.realServersRemoved == 1 && summary.connectionsOnRemoved == 1)
        // The swap did not walk the table: the connection is still there, in the trash's count.
        #expect(h.director.table.count == 2)
        #expect(h.director.realServerIndex(service: tcp4, address: rs1, port: 8080) == nil)
        #expect(h.director.realServer(at: removed).isRemoved && h.director.realServer(at: removed).activeConnections == 1)
        // Its next segment expires it (expire_nodest_conn) and has nowhere to go.
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack], clientPort: onRS1)).0 == .drop(.noConnection))
        #expect(h.director.table.count == 1)
        #expect(h.director.realServer(at: removed).totalConnections == 0)
        for port in UInt16(41000)..<41006 {
            #expect(destination(h, port: port, flags: [.syn]) == rs2)
        }
        #expect(h.director.realServers(ofService: tcp4).map(\.address) == [rs2])
    }

    @Test func weightZeroKeepsTheConnectionButSchedulesNothingNew() {
        let base = Lab.config(.nat)
        let h = Harness(base)
        let port: UInt16 = establish(h, port: 40000) == rs1 ? 40000 : 40001
        if port == 40001 { _ = establish(h, port: 40001) }
        h.director.reconfigure(with(base) { svc in svc.realServers[0].weight = 0 })
        #expect(destination(h, port: port) == rs1, "the existing connection still reaches the quiesced server")
        for p in UInt16(42000)..<42006 {
            #expect(destination(h, port: p, flags: [.syn]) == rs2)
        }
        #expect(h.director.realServers(ofService: tcp4)[0].lastWeight == 1, "last_weight survives the quiesce")
    }

    @Test func aRemovedServiceStopsAnsweringAndItsConnectionsGo() {
        let base = Lab.config(.nat)
        let h = Harness(base)
        _ = establish(h, port: 40000)
        var new = base
        new.services.removeAll { $0.key == tcp4 }
        let summary = h.director.reconfigure(new)
        #expect(summary.servicesRemoved == 1 && summary.connectionsOnRemoved == 1)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 40002)).0 == .drop(.noService))
        // Other services of the same VIP are untouched.
        #expect(h.run(Lab.fromClient(Lab.v4, .udp)).0 == .forward(interface: 1))
    }

    @Test func fullNATConnectionsKeepTheirLocalPortAndTheReplyStillMaps() {
        let base = Lab.config(.fullNAT)
        let h = Harness(base)
        let c = GoldenFrameTests.Case(method: .fullNAT, ipv6: false, proto: .tcp)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp)).0 == .forward(interface: 1))
        h.director.reconfigure(with(base) { svc in svc.realServers[1].weight = 3 })
        // The reply to LIP:1024 still finds the connection and goes back to the client.
        let (verdict, out) = h.run(GoldenFrameTests.fromServer(c, flags: [.syn, .ack]), interface: 1)
        #expect(verdict == .forward(interface: 0))
        #expect(out == GoldenFrameTests.towardClient(c, flags: [.syn, .ack]))
        // Port 1024 is still taken: the next connection gets another one.
        _ = h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 40001))
        let ports = h.director.connections().filter { !$0.flags.contains(.template) }.map(\.localPort)
        #expect(Set(ports).count == 2)
    }

    /// `lvsadm --get-laddr` counts each LIP's connections from its port pool, not by walking
    /// the table: the count must equal the walk's through opening, reloading and expiry.
    @Test func connectionsPerLocalAddressComeFromThePoolAndMatchATableWalk() {
        let base = Lab.config(.fullNAT)
        let h = Harness(base)
        let lip4 = IPAddress(Lab.v4.lip)!, lip6 = IPAddress(Lab.v6.lip)!
        func walked(_ lip: IPAddress) -> Int {
            h.director.connections().count { $0.localAddress == lip && !$0.flags.contains(.template) }
        }
        for port in UInt16(40000)..<40005 { _ = h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: port)) }
        for port in UInt16(40000)..<40003 { _ = h.run(Lab.fromClient(Lab.v4, .udp, clientPort: port)) }
        for port in UInt16(41000)..<41002 { _ = h.run(Lab.fromClient(Lab.v6, .tcp, clientPort: port)) }
        #expect(h.director.connections(onLocalAddress: lip4) == 8)
        #expect(h.director.connections(onLocalAddress: lip6) == 2)
        #expect(walked(lip4) == 8 && walked(lip6) == 2)
        #expect(h.director.connections(onLocalAddress: IPAddress("198.18.1.101")!) == 0)
        // A reload that keeps the LIP keeps its pool and its count.
        h.director.reconfigure(with(base) { svc in svc.realServers[1].weight = 3 })
        #expect(h.director.connections(onLocalAddress: lip4) == walked(lip4))
        // UDP expires after 300 s, TCP SYN_RECV after 60 s: all of them go, and so do the ports.
        h.advance(seconds: 301)
        #expect(walked(lip4) == 0 && walked(lip6) == 0)
        #expect(h.director.connections(onLocalAddress: lip4) == 0)
        #expect(h.director.connections(onLocalAddress: lip6) == 0)
    }

    @Test func fullNATConnectionsOnARemovedLocalAddressExpireOnTheirNextPacket() {
        let base = Lab.config(.fullNAT)
        let h = Harness(base)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp)).0 == .forward(interface: 1))
        // The director drops the LIP altogether (pools are per address, shared by services).
        var new = base
        for i in new.services.indices where new.services[i].localAddresses == [IPAddress(Lab.v4.lip)!] {
            new.services[i].localAddresses = [IPAddress("198.18.1.101")!]
        }
        let summary = h.director.reconfigure(new)
        #expect(summary.connectionsOnRemoved == 1)
        #expect(h.director.connections(onLocalAddress: IPAddress(Lab.v4.lip)!) == 0, "the address is no longer in force")
        let c = GoldenFrameTests.Case(method: .fullNAT, ipv6: false, proto: .tcp)
        #expect(h.run(GoldenFrameTests.fromServer(c, flags: [.syn, .ack]), interface: 1).0 != .forward(interface: 0))
        // The reply expired the connection: its port went back and its server's count with it.
        #expect(h.director.realServers(ofService: tcp4).map(\.totalConnections) == [0, 0])
        #expect(h.director.table.count == 0)
        // New connections take the new address.
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 40001)).0 == .forward(interface: 1))
        #expect(h.director.connections().map(\.localAddress) == [IPAddress("198.18.1.101")!])
    }

    @Test func persistenceTemplatesSurviveAReload() {
        let base = Lab.config(.nat, persistence: Persistence(timeout: 360, prefixLength: 32))
        let h = Harness(base)
        let chosen = establish(h, port: 40000)
        h.director.reconfigure(with(base) { svc in
            svc.realServers.append(RealServerConfig(address: rs3, port: 8080, weight: 1, method: .nat))
        })
        for port in UInt16(40001)..<40006 {
            #expect(destination(h, port: port, flags: [.syn]) == chosen)
            #expect(h.director.lastEvent.viaTemplate)
        }
    }

    @Test func aReloadWithTheSameConfigurationChangesNothing() {
        let base = Lab.config(.directRouting)
        let h = Harness(base)
        _ = establish(h, port: 40000)
        let before = h.director.connections().map { "\($0)" }
        let summary = h.director.reconfigure(base)
        #expect(summary.servicesKept == base.services.count && summary.servicesAdded == 0 && summary.servicesRemoved == 0)
        #expect(summary.realServersKept == h.director.realServerCount && summary.connectionsOnRemoved == 0)
        #expect(summary.schedulersRebuilt == 0, "nothing changed, so every scheduler keeps its state")
        #expect(h.director.connections().map { "\($0)" } == before)
    }

    // MARK: Identities and scheduler state

    @Test func identitiesSurviveAReorderingAndTheConnectionStaysOnItsServer() {
        let base = Lab.config(.nat)
        let h = Harness(base)
        let first = establish(h, port: 40000)
        let before = h.director.realServerIndex(service: tcp4, address: rs1, port: 8080)
        h.director.reconfigure(with(base) { svc in svc.realServers.reverse() })
        #expect(h.director.realServerIndex(service: tcp4, address: rs1, port: 8080) == before)
        #expect(h.director.realServers(ofService: tcp4).map(\.address) == [rs2, rs1])
        #expect(destination(h, port: 40000) == first)
        let i = h.director.realServers(ofService: tcp4).firstIndex { $0.address == first }!
        #expect(h.director.stats(ofService: tcp4, realServer: i).packetsIn == 3)
    }

    /// IPVS takes a deleted destination back from its trash with its counters and connections
    /// (ip_vs_trash_get_dest): the same identity, and its connections forward again.
    @Test func aServerAddedBackIsTheSameServerWithItsConnections() {
        let base = Lab.config(.nat)
        let h = Harness(base)
        let port: UInt16 = establish(h, port: 40000) == rs1 ? 40000 : 40001
        if port == 40001 { _ = establish(h, port: 40001) }
        let slot = h.director.realServerIndex(service: tcp4, address: rs1, port: 8080)!
        h.director.reconfigure(with(base) { svc in svc.realServers.removeAll { $0.address == rs1 } })
        let summary = h.director.reconfigure(base)
        #expect(summary.realServersAdded == 1 && summary.connectionsOnRemoved == 0)
        #expect(h.director.realServerIndex(service: tcp4, address: rs1, port: 8080) == slot)
        #expect(h.director.realServers(ofService: tcp4)[0].activeConnections == 1)
        #expect(destination(h, port: port) == rs1)
    }

    @Test func aChangeToOneServiceLeavesAnotherServicesRoundRobinCursorWhereItWas() {
        let base = Lab.config(.nat)
        let h = Harness(base)
        #expect(destination(h, port: 40000, flags: [.syn]) == rs1)
        // The UDP service of the same VIP changes; the TCP service's pool does not.
        var new = base
        let udp = new.services.firstIndex { $0.key == ServiceKey(.udp, tcp4.address, 80) }!
        new.services[udp].realServers[0].weight = 4
        let summary = h.director.reconfigure(new)
        #expect(summary.schedulersRebuilt == 1)
        #expect(destination(h, port: 40001, flags: [.syn]) == rs2, "rr restarted: the cursor was lost")
        #expect(destination(h, port: 40002, flags: [.syn]) == rs1)
    }

    /// ip_vs_rr: the cursor stays on its server when another is added, and steps back to the
    /// one before it when its own server is deleted (ip_vs_rr_del_dest).
    @Test func roundRobinKeepsItsCursorAcrossAddAndDelete() {
        let base = Lab.config(.nat)
        let h = Harness(base)
        #expect(destination(h, port: 40000, flags: [.syn]) == rs1)
        var added = with(base) { svc in svc.realServers.append(RealServerConfig(address: rs3, port: 8080, method: .nat)) }
        added.neighbours.append(NeighbourConfig(address: rs3, mac: MACAddress("02:00:00:00:01:13")!, interface: 1))
        h.director.reconfigure(added)
        #expect(destination(h, port: 40001, flags: [.syn]) == rs2)
        // The cursor is on rs2; deleting it steps back to rs1, so rs3 comes next.
        h.director.reconfigure(with(added) { svc in svc.realServers.removeAll { $0.address == rs2 } })
        #expect(destination(h, port: 40002, flags: [.syn]) == rs3)
        #expect(destination(h, port: 40003, flags: [.syn]) == rs1)
    }

    @Test func serviceCountersSurviveAndSnapshotsCountGenerations() {
        let base = Lab.config(.nat)
        let h = Harness(base)
        _ = establish(h, port: 40000)
        let generation = h.director.snapshot.generation
        let ids = h.director.snapshot.realServerIDs(ofService: 0)
        h.director.reconfigure(with(base) { svc in svc.realServers[1].weight = 7 })
        #expect(h.director.snapshot.generation == generation + 1)
        #expect(h.director.snapshot.realServerIDs(ofService: 0) == ids)
        #expect(h.director.realServers(ofService: tcp4).map(\.activeConnections).reduce(0, +) == 1)
        #expect(h.director.stats(ofService: tcp4, realServer: 0).connections
            + h.director.stats(ofService: tcp4, realServer: 1).connections == 1)
    }

    /// A drained, retired local address pool gives its slot to the next new address instead
    /// of the pool list growing with every change.
    @Test func aDrainedLocalAddressPoolSlotIsReused() {
        let base = Lab.config(.fullNAT)
        let h = Harness(base)
        let pools = h.director.localPortPoolSlots
        for n in 1...5 {
            var new = base
            for i in new.services.indices where new.services[i].localAddresses == [IPAddress(Lab.v4.lip)!] {
                new.services[i].localAddresses = [IPAddress("198.18.1.\(100 + n)")!]
            }
            h.director.reconfigure(new)
        }
        #expect(h.director.localPortPoolSlots == pools + 1)
    }
}
