import Core
import PacketBuilder
import Testing
import Wire

/// VRRP ownership in the data path (`DirectorConfig.standbyAddresses`): a director that is not
/// MASTER of a VIP answers no ARP/ND for it and forwards nothing to or through it, new or
/// established, and takes it back with a snapshot swap; VIPs of no instance are untouched.
@Suite struct StandbyAddressTests {
    static let vip4 = IPAddress(Lab.v4.vip)!
    static let vip6 = IPAddress(Lab.v6.vip)!

    static func standby(_ method: ForwardingMethod, _ addresses: Set<IPAddress>) -> DirectorConfig {
        var config = Lab.config(method)
        config.standbyAddresses = addresses
        return config
    }

    static let arpRequest = Frame.ethernet(destination: .broadcast, source: Lab.clientMAC)
        .arp(operation: 1, senderMAC: Lab.clientMAC, senderIP: "198.18.0.100", targetMAC: .zero, targetIP: "198.18.0.10")

    static var solicitation: Frame {
        let target = withUnsafeBytes(of: vip6.high.bigEndian, Array.init) + withUnsafeBytes(of: vip6.low.bigEndian, Array.init)
        return Frame.ethernet(destination: MACAddress("33:33:ff:00:00:10")!, source: Lab.clientMAC)
            .ipv6(source: Lab.v6.client, destination: "ff02::1:ff00:10", hopLimit: 255)
            .icmpv6(type: 135, code: 0).payload(target + [1, 1] + Lab.clientMAC.octets)
    }

    @Test func standbyVIPGetsNoARPOrNeighbourAnswer() {
        let h = Harness(Self.standby(.directRouting, [Self.vip4, Self.vip6]))
        #expect(h.run(Self.arpRequest).0 == .pass(.arpNotForDirector))
        #expect(h.run(Self.solicitation).0 == .pass(.icmpNotRelated))
        #expect(h.director.framesAnswered == 0)
    }

    @Test(arguments: ForwardingMethod.allCases, [false, true])
    func standbyVIPForwardsNothing(_ method: ForwardingMethod, _ v6: Bool) {
        guard !(method == .tunnel && v6) else { return }
        let h = Harness(Self.standby(method, [Self.vip4, Self.vip6]))
        let f = v6 ? Lab.v6 : Lab.v4
        for proto in TransportProtocol.allCases {
            #expect(h.run(Lab.fromClient(f, proto)).0 == .drop(.vipOnStandby))
        }
        let eth = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
        let echo = v6 ? eth.ipv6(source: f.client, destination: f.vip).icmpv6(type: 128, code: 0, rest: 0x0001_0001)
                      : eth.ipv4(source: f.client, destination: f.vip).icmpv4(type: 8, code: 0, rest: 0x0001_0001)
        #expect(h.run(echo).0 == .drop(.vipOnStandby))
        #expect(h.director.count(.vipOnStandby) == 3)
        #expect(h.director.table.count == 0)
    }

    /// MASTER → BACKUP with connections in the table: the client's next packet and the real
    /// server's reply are dropped, not forwarded; back to MASTER, the same connection goes on.
    @Test(arguments: [ForwardingMethod.nat, .fullNAT, .directRouting])
    func establishedConnectionsStopOnStandbyAndResume(_ method: ForwardingMethod) {
        let owned = Lab.config(method)
        let h = Harness(owned)
        let c = GoldenFrameTests.Case(method: method, ipv6: false, proto: .tcp)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp)).0 == .forward(interface: 1))
        var standby = owned
        standby.standbyAddresses = [Self.vip4, IPAddress(Lab.v4.lip)!]
        h.director.reconfigure(standby)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack])).0 == .drop(.vipOnStandby))
        if method != .directRouting {
            #expect(h.run(GoldenFrameTests.fromServer(c, flags: [.syn, .ack]), interface: 1).0 == .drop(.vipOnStandby))
        }
        #expect(h.director.table.count == 1, "standby keeps the table; only forwarding stops")
        h.director.reconfigure(owned)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack])).0 == .forward(interface: 1))
        #expect(!h.director.lastEvent.newConnection)
        #expect(h.run(Self.arpRequest).0 == .answer(interface: 0))
    }

    /// Only the instance's addresses stop: the IPv6 VIP (in no instance here) is served as ever.
    @Test func otherVIPsBehaveAsBefore() {
        let h = Harness(Self.standby(.nat, [Self.vip4]))
        #expect(h.run(Lab.fromClient(Lab.v6, .tcp)).0 == .forward(interface: 1))
        #expect(h.run(Self.solicitation).0 == .answer(interface: 0))
        #expect(h.run(Self.arpRequest).0 == .pass(.arpNotForDirector))
        // Addresses that are no VIP at all change nothing either.
        let h2 = Harness(Self.standby(.nat, [IPAddress("198.18.0.200")!]))
        #expect(h2.run(Lab.fromClient(Lab.v4, .tcp)).0 == .forward(interface: 1))
        #expect(h2.run(Self.arpRequest).0 == .answer(interface: 0))
    }

    @Test func activeAddressesLeaveOutStandby() {
        let config = Self.standby(.fullNAT, [Self.vip4, IPAddress(Lab.v4.lip)!])
        #expect(config.ownedAddresses.contains(Self.vip4))
        #expect(!config.activeAddresses.contains(Self.vip4))
        #expect(!config.activeAddresses.contains(IPAddress(Lab.v4.lip)!))
        #expect(config.activeAddresses.contains(Self.vip6))
        #expect(Lab.config(.nat).activeAddresses == Lab.config(.nat).ownedAddresses)
    }
}
