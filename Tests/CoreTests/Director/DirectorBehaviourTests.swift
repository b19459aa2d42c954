import Core
import PacketBuilder
import Testing
import Wire

/// Behaviour beyond single golden frames: timeouts, persistence, capacity limits,
/// quiescence, fragments, TTL, answers, and the named drop counters.
@Suite struct DirectorBehaviourTests {
    let vip4 = ServiceKey(.tcp, IPAddress("198.18.0.10")!, 80)
    let udp4 = ServiceKey(.udp, IPAddress("198.18.0.10")!, 80)

    @Test func connectionExpiresAtItsStateTimeout() {
        let h = Harness(Lab.config(.nat))
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp)).0 == .forward(interface: 1))
        #expect(h.director.table.count == 1)
        // SYN_RECV lives 60 s: a retransmitted SYN just before then still hits it.
        h.advance(seconds: 59.9)
        #expect(h.director.table.count == 1)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp)).0 == .forward(interface: 1))
        #expect(!h.director.lastEvent.newConnection)
        // ... and it is gone 60 s after that last packet.
        h.advance(seconds: 60.2)
        #expect(h.director.table.count == 0)
        #expect(h.director.realServers(ofService: vip4)[0].inactiveConnections == 0)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack])).0 == .drop(.noConnection))
        #expect(h.director.count(.noConnection) == 1)
    }

    @Test func establishedUsesTheConfiguredTCPTimeout() {
        var config = Lab.config(.directRouting)
        config.timeouts.set(tcp: 30, tcpFin: 0, udp: 7)
        let h = Harness(config)
        _ = h.run(Lab.fromClient(Lab.v4, .tcp))
        _ = h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack]))
        _ = h.run(Lab.fromClient(Lab.v4, .udp))
        #expect(h.director.table.count == 2)
        h.advance(seconds: 7.5)
        #expect(h.director.table.count == 1, "UDP expires after --set udp 7")
        h.advance(seconds: 22)
        #expect(h.director.table.count == 1)
        h.advance(seconds: 1)
        #expect(h.director.table.count == 0, "ESTABLISHED expires after --set tcp 30")
    }

    @Test func expiredButUnreapedConnectionIsNotUsed() {
        let h = Harness(Lab.config(.nat))
        _ = h.run(Lab.fromClient(Lab.v4, .udp))
        // Jump the clock without letting the wheel run: the lookup itself must see expiry.
        h.now += 301_000_000_000
        let (verdict, _) = h.run(Lab.fromClient(Lab.v4, .udp))
        #expect(verdict == .forward(interface: 1))
        #expect(h.director.lastEvent.newConnection)
    }

    @Test func activeAndInactiveCountsFollowIPVS() {
        let h = Harness(Lab.config(.nat))
        _ = h.run(Lab.fromClient(Lab.v4, .tcp))
        var rs = h.director.realServers(ofService: vip4)[0]
        #expect(rs.activeConnections == 0 && rs.inactiveConnections == 1)
        _ = h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack]))
        rs = h.director.realServers(ofService: vip4)[0]
        #expect(rs.activeConnections == 1 && rs.inactiveConnections == 0)
        _ = h.run(Lab.fromClient(Lab.v4, .udp))
        _ = h.run(Lab.fromClient(Lab.v4, .udp))
        let udp = h.director.realServers(ofService: udp4)[0]
        #expect(udp.activeConnections == 0 && udp.inactiveConnections == 1, "UDP is never active")
    }

    @Test func roundRobinSpreadsNewConnections() {
        let h = Harness(Lab.config(.nat))
        var picks: [Int] = []
        for port in UInt16(40000)..<40006 {
            _ = h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: port))
            picks.append(h.director.lastEvent.realServer)
        }
        let first = h.director.realServerIndex(service: vip4, address: IPAddress("198.18.1.11")!, port: 8080)!
        #expect(picks == [first, first + 1, first, first + 1, first, first + 1])
    }

    @Test func persistenceKeepsAClientOnOneServerUntilTheTemplateExpires() {
        let h = Harness(Lab.config(.nat, persistence: Persistence(timeout: 360, prefixLength: 32)))
        var servers = Set<Int>()
        for port in UInt16(40000)..<40010 {
            #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: port)).0 == .forward(interface: 1))
            servers.insert(h.director.lastEvent.realServer)
            // The first connection creates the template; every later one is placed by it.
            #expect(h.director.lastEvent.viaTemplate == (port != 40000))
        }
        #expect(servers.count == 1)
        let rs = h.director.realServers(ofService: vip4)
        #expect(rs[0].persistentConnections + rs[1].persistentConnections == 1)
        // Controlled connections (SYN_RECV, 60 s) expire first; the template lives 360 s
        // after its last use, then the next connection is scheduled afresh (rr moves on).
        h.advance(seconds: 359)
        #expect(h.director.connections().contains { $0.flags.contains(.template) })
        h.advance(seconds: 2)
        #expect(h.director.table.count == 0)
        _ = h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 50000))
        #expect(!servers.contains(h.director.lastEvent.realServer))
    }

    @Test func persistenceNetmaskGroupsClients() {
        let h = Harness(Lab.config(.nat, persistence: Persistence(timeout: 360, prefixLength: 24)))
        var servers = Set<Int>()
        for last in 1...6 {
            let f = Lab.Family(client: "198.18.0.\(100 + last)", vip: Lab.v4.vip, rs1: Lab.v4.rs1, rs2: Lab.v4.rs2,
                               lip: Lab.v4.lip, directorServer: Lab.v4.directorServer, isIPv6: false)
            _ = h.run(Lab.fromClient(f, .tcp))
            servers.insert(h.director.lastEvent.realServer)
        }
        #expect(servers.count == 1)
    }

    @Test func fullTableDropsNewFlowsAndKeepsExistingOnes() {
        let h = Harness(Lab.config(.nat), capacity: 2)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 1)).0 == .forward(interface: 1))
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 2)).0 == .forward(interface: 1))
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 3)).0 == .drop(.connectionTableFull))
        #expect(h.director.count(.connectionTableFull) == 1)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack], clientPort: 1)).0 == .forward(interface: 1))
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack], clientPort: 2)).0 == .forward(interface: 1))
        let rs = h.director.realServers(ofService: vip4)
        #expect(rs[0].totalConnections + rs[1].totalConnections == 2)
    }

    @Test func fullNATPortExhaustionDropsAndNeverReusesALivePort() {
        let h = Harness(Lab.config(.fullNAT, localPortRange: 2000...2002))
        var ports = Set<UInt16>()
        for port in UInt16(1)...3 {
            #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: port)).0 == .forward(interface: 1))
            ports.insert(h.director.table[h.director.lastEvent.connection].localPort)
        }
        #expect(ports == [2000, 2001, 2002])
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 4)).0 == .drop(.localPortsExhausted))
        #expect(h.director.count(.localPortsExhausted) == 1)
        // When one connection expires its port comes back.
        h.advance(seconds: 61)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 5)).0 == .forward(interface: 1))
    }

    @Test func quiescentServerKeepsItsConnectionsButGetsNoNewOnes() {
        let h = Harness(Lab.config(.nat))
        _ = h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 1))
        let first = h.director.lastEvent.realServer
        h.director.setWeight(0, service: vip4, realServer: 0)
        for port in UInt16(2)...6 {
            _ = h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: port))
            #expect(h.director.lastEvent.realServer == first + 1)
        }
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack], clientPort: 1)).0 == .forward(interface: 1))
        #expect(h.director.lastEvent.realServer == first)
        h.director.setWeight(0, service: vip4, realServer: 1)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 9)).0 == .drop(.noDestinationAvailable))
    }

    @Test func upperThresholdOverloadsAndLowerClears() {
        let h = Harness(Lab.config(.nat, upper: 2, lower: 1))
        h.director.setWeight(0, service: vip4, realServer: 1)
        _ = h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 1))
        _ = h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 2))
        #expect(h.director.realServers(ofService: vip4)[0].isOverloaded)
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, clientPort: 3)).0 == .drop(.noDestinationAvailable))
        h.advance(seconds: 61)
        #expect(!h.director.realServers(ofService: vip4)[0].isOverloaded)
    }

    @Test func newSYNOnTimeWaitConnectionIsRescheduled() {
        let h = Harness(Lab.config(.nat))
        _ = h.run(Lab.fromClient(Lab.v4, .tcp))
        let first = h.director.lastEvent.realServer
        _ = h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack]))
        _ = h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.rst]))
        #expect(h.director.table[h.director.lastEvent.connection].state == .close)
        _ = h.run(Lab.fromClient(Lab.v4, .tcp))
        #expect(h.director.lastEvent.newConnection)
        #expect(h.director.lastEvent.realServer == first + 1)
    }

    @Test func nonSYNWithoutConnectionAndUnknownPortsAreCounted() {
        let h = Harness(Lab.config(.nat))
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack])).0 == .drop(.noConnection))
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, flags: [.syn, .rst])).0 == .drop(.noConnection))
        let other = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
            .ipv4(source: Lab.v4.client, destination: Lab.v4.vip).tcp(sourcePort: 1, destinationPort: 443, flags: [.syn])
        #expect(h.run(other).0 == .drop(.noService))
        let elsewhere = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
            .ipv4(source: Lab.v4.client, destination: "198.18.0.77").tcp(sourcePort: 1, destinationPort: 80, flags: [.syn])
        #expect(h.run(elsewhere).0 == .pass(.notForDirector))
        #expect(h.director.count(.noConnection) == 2 && h.director.count(.noService) == 1)
        #expect(h.director.count(.notForDirector) == 1)
    }

    @Test func ttlOfOneIsNotForwarded() {
        let h = Harness(Lab.config(.directRouting))
        #expect(h.run(Lab.fromClient(Lab.v4, .tcp, ttl: 1)).0 == .drop(.ttlExceeded))
        #expect(h.run(Lab.fromClient(Lab.v6, .udp, ttl: 1)).0 == .drop(.ttlExceeded))
        #expect(h.director.count(.ttlExceeded) == 2)
    }

    @Test func laterFragmentsFollowTheirFirstFragment() {
        let h = Harness(Lab.config(.nat))
        let eth = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
        // A UDP datagram in two fragments: the first carries the header (length covers both).
        var firstBytes = eth.ipv4(source: Lab.v4.client, destination: Lab.v4.vip, identification: 77,
                                  dontFragment: false, moreFragments: true)
            .udp(sourcePort: 40000, destinationPort: 80, checksum: false).payload([UInt8](repeating: 1, count: 16)).bytes
        // Make the UDP length claim 8 + 32 bytes (the whole datagram).
        firstBytes[14 + 20 + 4] = 0
        firstBytes[14 + 20 + 5] = 40
        let later = eth.ipv4(source: Lab.v4.client, destination: Lab.v4.vip, identification: 77,
                             dontFragment: false, fragmentOffset: 24).protocolNumber(17)
            .payload([UInt8](repeating: 2, count: 16))
        let orphan = eth.ipv4(source: Lab.v4.client, destination: Lab.v4.vip, identification: 78,
                              dontFragment: false, fragmentOffset: 24).protocolNumber(17)
            .payload([UInt8](repeating: 2, count: 16))
        let (v1, _) = h.run(firstBytes)
        #expect(v1 == .forward(interface: 1))
        let (v2, out) = h.run(later)
        #expect(v2 == .forward(interface: 1))
        // The later fragment's destination was translated too.
        #expect(Array(out[30..<34]) == [198, 18, 1, 11])
        #expect(h.run(orphan).0 == .drop(.fragmentWithoutConnection))
    }

    @Test func tunnelAnswersFragmentationNeededForOversizedDFPackets() {
        var config = Lab.config(.tunnel)
        config.interfaces[1].mtu = 1000
        let h = Harness(config)
        let big = Lab.fromClient(Lab.v4, .tcp, payload: String(repeating: "x", count: 1000))
        let (verdict, out) = h.run(big)
        #expect(verdict == .answer(interface: 0))
        // Ethernet back to the client, IPv4 from the VIP, ICMP 3/4 with MTU 1000 - 20.
        #expect(Array(out[0..<6]) == Lab.clientMAC.octets)
        let ip = out.withUnsafeBufferPointer { _ in Array(out[14...]) }
        #expect(ip[9] == 1)
        #expect(Array(ip[12..<16]) == [198, 18, 0, 10] && Array(ip[16..<20]) == [198, 18, 0, 100])
        #expect(ip[20] == 3 && ip[21] == 4)
        #expect(UInt16(ip[26]) << 8 | UInt16(ip[27]) == 980)
        #expect(ip.count <= 576)
        let icmpSum = Checksum.fold(ip[20...].withUnsafeBytes { Checksum.sum($0.baseAddress!, count: $0.count) })
        #expect(icmpSum == 0xFFFF)
    }

    @Test func arpRequestsForVIPsAreAnswered() {
        let h = Harness(Lab.config(.directRouting))
        let request = Frame.ethernet(destination: .broadcast, source: Lab.clientMAC)
            .arp(operation: 1, senderMAC: Lab.clientMAC, senderIP: "198.18.0.100", targetMAC: .zero, targetIP: "198.18.0.10")
        let (verdict, out) = h.run(request)
        #expect(verdict == .answer(interface: 0))
        let expected = Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
            .arp(operation: 2, senderMAC: Lab.directorClientMAC, senderIP: "198.18.0.10", targetMAC: Lab.clientMAC,
                 targetIP: "198.18.0.100")
        #expect(Array(out.prefix(42)) == expected.bytes)
        let other = Frame.ethernet(destination: .broadcast, source: Lab.clientMAC)
            .arp(operation: 1, senderMAC: Lab.clientMAC, senderIP: "198.18.0.100", targetMAC: .zero, targetIP: "198.18.0.99")
        #expect(h.run(other).0 == .pass(.arpNotForDirector))
    }

    @Test(arguments: [false, true])
    func echoRequestsToVIPsAreAnswered(_ v6: Bool) {
        let h = Harness(Lab.config(.directRouting))
        let f = v6 ? Lab.v6 : Lab.v4
        let eth = Frame.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC)
        let request = (v6 ? eth.ipv6(source: f.client, destination: f.vip).icmpv6(type: 128, code: 0, rest: 0x0001_0001)
                          : eth.ipv4(source: f.client, destination: f.vip).icmpv4(type: 8, code: 0, rest: 0x0001_0001))
            .payload("ping")
        let back = Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
        let reply = (v6 ? back.ipv6(source: f.vip, destination: f.client).icmpv6(type: 129, code: 0, rest: 0x0001_0001)
                        : back.ipv4(source: f.vip, destination: f.client).icmpv4(type: 0, code: 0, rest: 0x0001_0001))
            .payload("ping")
        let (verdict, out) = h.run(request)
        #expect(verdict == .answer(interface: 0))
        #expect(out == reply.bytes, "\(hexDiff(expected: reply.bytes, actual: out))")
    }

    @Test(arguments: [ForwardingMethod.nat, .fullNAT])
    func partialChecksumsLeaveComplete(_ method: ForwardingMethod) {
        let h = Harness(Lab.config(method))
        var frame = Lab.fromClient(Lab.v4, .tcp, payload: "partial").bytes
        // Replace the TCP checksum with what veth hands AF_PACKET: garbage until computed.
        frame[14 + 20 + 16] = 0x12
        frame[14 + 20 + 17] = 0x34
        let (verdict, out) = h.run(frame, checksumPartial: true)
        #expect(verdict == .forward(interface: 1))
        let expected = GoldenFrameTests.towardServer(
            GoldenFrameTests.Case(method: method, ipv6: false, proto: .tcp), flags: [.syn], payload: "partial")
        #expect(out == expected)
    }

    @Test func malformedFramesAreDroppedWithNamedReasons() {
        let h = Harness(Lab.config(.nat))
        let good = Lab.fromClient(Lab.v4, .tcp).bytes
        #expect(h.run(Array(good.prefix(10))).0 == .drop(.frameTruncated))
        #expect(h.run(Array(good.prefix(20))).0 == .drop(.ipv4Truncated))
        var badIHL = good
        badIHL[14] = 0x44
        #expect(h.run(badIHL).0 == .drop(.ipv4BadHeaderLength))
        var lying = good
        lying[16] = 0x05
        #expect(h.run(lying).0 == .drop(.ipv4BadTotalLength))
        var badSum = good
        badSum[24] ^= 0xFF
        #expect(h.run(badSum).0 == .drop(.ipv4BadChecksum))
        var badOffset = good
        badOffset[14 + 20 + 12] = 0x30
        #expect(h.run(badOffset).0 == .drop(.tcpBadHeaderLength))
        let lldp = Frame.ethernet(destination: .broadcast, source: Lab.clientMAC).payload([0x88, 0xCC, 1, 2]).bytes
        var notIP = lldp
        notIP[12] = 0x88
        notIP[13] = 0xCC
        #expect(h.run(notIP).0 == .pass(.notIP))
        let v6 = Lab.fromClient(Lab.v6, .udp).bytes
        var lyingV6 = v6
        lyingV6[14 + 4] = 0x7F
        #expect(h.run(lyingV6).0 == .drop(.ipv6BadTotalLength))
        #expect(h.director.framesDropped == 7)
    }
}

/// RFC 4861 §7.2.4: the director answers solicitations for its IPv6 VIPs itself.
@Suite struct NeighbourDiscoveryTests {
    @Test func solicitationsForVIPsAreAnsweredWithAnAdvertisement() {
        let h = Harness(Lab.config(.nat))
        let vip = IPAddress(Lab.v6.vip)!
        let target = [UInt8](repeating: 0, count: 4)
            + withUnsafeBytes(of: vip.high.bigEndian, Array.init) + withUnsafeBytes(of: vip.low.bigEndian, Array.init)
        let option: [UInt8] = [1, 1] + Lab.clientMAC.octets
        let solicitation = Frame.ethernet(destination: MACAddress("33:33:ff:00:00:10")!, source: Lab.clientMAC)
            .ipv6(source: Lab.v6.client, destination: "ff02::1:ff00:10", hopLimit: 255)
            .icmpv6(type: 135, code: 0).payload(Array(target.dropFirst(4)) + option)
        let (verdict, out) = h.run(solicitation)
        #expect(verdict == .answer(interface: 0))
        let advertisement = Frame.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC)
            .ipv6(source: Lab.v6.vip, destination: Lab.v6.client, hopLimit: 255)
            .icmpv6(type: 136, code: 0, rest: 0x6000_0000)
            .payload(Array(target.dropFirst(4)) + [2, 1] + Lab.directorClientMAC.octets)
        #expect(out == advertisement.bytes, "\(hexDiff(expected: advertisement.bytes, actual: out))")

        // Not ours, a DAD probe from ::, or a routed one (hop limit < 255): the host's.
        let other = Frame.ethernet(destination: MACAddress("33:33:ff:00:00:99")!, source: Lab.clientMAC)
            .ipv6(source: Lab.v6.client, destination: "ff02::1:ff00:99", hopLimit: 255)
            .icmpv6(type: 135, code: 0).payload([UInt8](repeating: 0, count: 15) + [0x99] + option)
        #expect(h.run(other).0 == .pass(.icmpNotRelated))
        let routed = Frame.ethernet(destination: MACAddress("33:33:ff:00:00:10")!, source: Lab.clientMAC)
            .ipv6(source: Lab.v6.client, destination: "ff02::1:ff00:10", hopLimit: 64)
            .icmpv6(type: 135, code: 0).payload(Array(target.dropFirst(4)) + option)
        #expect(h.run(routed).0 == .pass(.icmpNotRelated))
    }

    /// A frame reaps at most `expiryBudgetPerFrame` expired entries on its way through, so a
    /// flood's worth expiring at once is spread over the frames after it; idle expiry (the
    /// engine's) takes the rest in one go.
    @Test func oneFrameReapsABoundedShareOfExpiredEntries() {
        let h = Harness(Lab.config(.nat), capacity: 4096)
        for port in UInt16(1000)..<1300 {
            #expect(h.run(Lab.fromClient(Lab.v4, .udp, clientPort: port)).0 == .forward(interface: 1))
        }
        #expect(h.director.table.count == 300)
        h.now += 301 * 1_000_000_000  // UDP lives 300 s; no idle expiry ran
        _ = h.run(Lab.fromClient(Lab.v4, .udp, clientPort: 5000))
        let afterOne = h.director.table.count
        #expect(afterOne >= 300 + 1 - Director.expiryBudgetPerFrame && afterOne < 301, "\(afterOne) left after one frame")
        h.director.expire(now: h.now)
        #expect(h.director.table.count == 1, "only the new flow is left")
    }
}
