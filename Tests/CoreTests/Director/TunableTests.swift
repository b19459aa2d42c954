import Core
import PacketBuilder
import Testing
import Wire

/// IPVS's sysctl switches as lvsd settings (`IPVSTunables`), each flipped both ways.
@Suite struct TunableTests {
    typealias L = ServiceLookupTests
    static let key = ServiceKey(.tcp, L.vip, 80)

    static func harness(_ tunables: IPVSTunables, persistence: Persistence? = nil) -> Harness {
        let service = VirtualServiceConfig(key: key, scheduler: .roundRobin, persistence: persistence,
                                           realServers: [L.server(L.rs1, port: 8080), L.server(L.rs2, port: 8080)])
        var config = L.config([service])
        config.tunables = tunables
        return Harness(config)
    }

    @Test(arguments: [false, true]) func sloppyTCPPicksUpAnEstablishedConnection(sloppy: Bool) {
        let h = Self.harness(IPVSTunables(sloppyTCP: sloppy))
        let (verdict, _) = h.run(L.packet(to: 80, flags: [.ack]))
        if sloppy {
            #expect(verdict == .forward(interface: 1))
            #expect(h.director.lastEvent.newConnection)
            #expect(L.connection(h).state == .established, "an ACK from NONE is ESTABLISHED in IPVS's input table")
            #expect(h.run(L.packet(to: 80, flags: [.ack, .psh])).0 == .forward(interface: 1))
            #expect(!h.director.lastEvent.newConnection)
        } else {
            #expect(verdict == .drop(.noConnection))
            #expect(h.director.table.count == 0)
        }
        // A RST never starts a connection.
        #expect(h.run(L.packet(to: 80, clientPort: 41000, flags: [.rst, .ack])).0 == .drop(.noConnection))
    }

    @Test(arguments: [UInt8(0), 1]) func connReuseModeReschedulesASYNOnAClosedTuple(mode: UInt8) {
        let h = Self.harness(IPVSTunables(connReuseMode: mode))
        _ = h.run(L.packet(to: 80))
        let first = L.connection(h).destinationAddress
        _ = h.run(L.packet(to: 80, flags: [.ack]))
        _ = h.run(L.packet(to: 80, flags: [.rst]))
        #expect(L.connection(h).state == .close)
        _ = h.run(L.packet(to: 80))
        if mode == 0 {
            #expect(!h.director.lastEvent.newConnection, "conn_reuse_mode 0: the SYN joins the old connection")
            #expect(L.connection(h).destinationAddress == first)
        } else {
            #expect(h.director.lastEvent.newConnection, "conn_reuse_mode 1: the SYN is scheduled afresh")
            #expect(L.connection(h).destinationAddress != first)
        }
        #expect(h.director.table.count == 1)
    }

    @Test(arguments: [false, true]) func expireNodestConnDecidesAboutARemovedServer(expire: Bool) {
        let h = Self.harness(IPVSTunables(expireNodestConn: expire))
        _ = h.run(L.packet(to: 80))
        _ = h.run(L.packet(to: 80, flags: [.ack]))
        let used = L.connection(h).destinationAddress
        var config = h.director.config
        config.services[0].realServers.removeAll { $0.address == used }
        _ = h.director.install(h.director.snapshot.successor(config))
        let (verdict, _) = h.run(L.packet(to: 80, flags: [.ack, .psh]))
        if expire {
            #expect(verdict == .drop(.noConnection), "expired by its packet, which then starts nothing")
            #expect(h.director.table.count == 0)
        } else {
            #expect(verdict == .drop(.noDestinationAvailable))
            #expect(h.director.table.count == 1, "kept until its timeout, as IPVS's expire_nodest_conn 0")
        }
    }

    @Test(arguments: [false, true]) func expireQuiescentTemplateMovesAClientOffAWeightZeroServer(expire: Bool) {
        let h = Self.harness(IPVSTunables(expireQuiescentTemplate: expire), persistence: Persistence(prefixLength: 32))
        _ = h.run(L.packet(to: 80))
        let first = L.connection(h).destinationAddress
        var config = h.director.config
        let index = config.services[0].realServers.firstIndex { $0.address == first }!
        config.services[0].realServers[index].weight = 0
        _ = h.director.install(h.director.snapshot.successor(config))
        _ = h.run(L.packet(to: 80, clientPort: 40001))
        #expect(h.director.lastEvent.newConnection)
        if expire {
            #expect(L.connection(h).destinationAddress != first)
        } else {
            #expect(L.connection(h).destinationAddress == first, "a quiescent server keeps its persistent clients")
        }
    }

    @Test func tunablesByNameRoundTrip() {
        var t = IPVSTunables.defaults
        #expect(t[.expireNodestConn] == 1 && t[.expireQuiescentTemplate] == 0 && t[.connReuseMode] == 1 && t[.sloppyTCP] == 0)
        for name in IPVSTunables.Name.allCases {
            t[name] = name.maximum
            #expect(t[name] == name.maximum)
            t[name] = 0
            #expect(t[name] == 0)
        }
    }
}
