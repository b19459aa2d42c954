@testable import Core
import PacketBuilder
import Testing
import Wire

/// Port-0 and firewall-mark services on the new-connection path: IPVS's lookup order
/// (ip_vs_service_find: mark, exact, port 0), their persistence templates
/// (ip_vs_sched_persist), the ports their connections go to, and the mark classifier.
@Suite struct ServiceLookupTests {
    static let vip = IPAddress("198.18.0.10")!
    static let rs1 = IPAddress("198.18.1.11")!
    static let rs2 = IPAddress("198.18.1.12")!
    static let rs3 = IPAddress("198.18.1.13")!

    static func server(_ address: IPAddress, port: UInt16 = 0, weight: Int32 = 1) -> RealServerConfig {
        RealServerConfig(address: address, port: port, weight: weight, method: .nat)
    }

    static func config(_ services: [VirtualServiceConfig], marks: [FirewallMarkRule] = []) -> DirectorConfig {
        var neighbours: [NeighbourConfig] = []
        for (i, a) in ["198.18.1.11", "198.18.1.12", "198.18.1.13", "2001:db8:1::11", "2001:db8:1::12"].enumerated() {
            neighbours.append(NeighbourConfig(address: IPAddress(a)!, mac: MACAddress(rawValue: 0x0200_0000_0111 + UInt64(i)), interface: 1))
        }
        var config = DirectorConfig(services: services, interfaces: Lab.interfaces, neighbours: neighbours)
        config.firewallMarks = marks
        return config
    }

    /// A segment (or datagram) from `client`:`clientPort` to `vip`:`port`.
    static func packet(to port: UInt16, vip: String = "198.18.0.10", client: String? = nil, clientPort: UInt16 = 40000,
                       _ proto: TransportProtocol = .tcp, flags: TCPFlags = [.syn]) -> Frame {
        let f = vip.contains(":") ? Lab.v6 : Lab.v4
        return Lab.l4(Lab.ip(.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC), f, from: client ?? f.client, to: vip),
                      proto, from: clientPort, to: port, flags: flags)
    }

    /// The connection the last frame made or used.
    static func connection(_ h: Harness) -> Connection { h.director.table[h.director.lastEvent.connection] }

    // MARK: Lookup order

    @Test func lookupTriesTheMarkThenTheExactPortThenPortZero() {
        let services = [
            VirtualServiceConfig(key: ServiceKey(fwmark: 1), scheduler: .roundRobin, realServers: [Self.server(Self.rs1)]),
            VirtualServiceConfig(key: ServiceKey(.tcp, Self.vip, 80), scheduler: .roundRobin, realServers: [Self.server(Self.rs2, port: 8080)]),
            VirtualServiceConfig(key: ServiceKey(.tcp, Self.vip, 0), scheduler: .roundRobin, persistence: Persistence(prefixLength: 32),
                                 realServers: [Self.server(Self.rs3)]),
        ]
        let marks = [FirewallMarkRule(mark: 1, proto: .tcp, address: Self.vip, ports: [443...443])]
        let h = Harness(Self.config(services, marks: marks))
        #expect(h.run(Self.packet(to: 80)).0 == .forward(interface: 1))
        #expect(Self.connection(h).destinationAddress == Self.rs2 && Self.connection(h).destinationPort == 8080)
        #expect(h.run(Self.packet(to: 443)).0 == .forward(interface: 1))
        #expect(Self.connection(h).destinationAddress == Self.rs1 && Self.connection(h).destinationPort == 443)
        #expect(h.run(Self.packet(to: 22)).0 == .forward(interface: 1))
        #expect(Self.connection(h).destinationAddress == Self.rs3 && Self.connection(h).destinationPort == 22)
        // UDP has no service on the VIP: the mark rule is TCP's, port 0 is TCP's.
        #expect(h.run(Self.packet(to: 443, .udp)).0 == .drop(.noService))

        // A mark on port 80 wins over the exact service, as in IPVS (the mark table first).
        let marked = Harness(Self.config(services, marks: [FirewallMarkRule(mark: 1, proto: .tcp, address: Self.vip, ports: [80...80, 443...443])]))
        #expect(marked.run(Self.packet(to: 80)).0 == .forward(interface: 1))
        #expect(Self.connection(marked).destinationAddress == Self.rs1)
    }

    @Test func aMarkWithoutAServiceFallsThroughToTheAddressServices() {
        let services = [VirtualServiceConfig(key: ServiceKey(.tcp, Self.vip, 80), realServers: [Self.server(Self.rs2, port: 8080)])]
        // Mark 7 has no service: the rule is left out of the snapshot's classifier.
        let h = Harness(Self.config(services, marks: [FirewallMarkRule(mark: 7, proto: .tcp, address: Self.vip)]))
        #expect(h.run(Self.packet(to: 80)).0 == .forward(interface: 1))
        #expect(Self.connection(h).destinationAddress == Self.rs2)
        #expect(h.run(Self.packet(to: 81)).0 == .drop(.noService))
    }

    // MARK: Port 0

    @Test func portZeroServiceKeepsAClientOnOneServerOverEveryPort() {
        let service = VirtualServiceConfig(key: ServiceKey(.tcp, Self.vip, 0), scheduler: .roundRobin,
                                           persistence: Persistence(timeout: 300, prefixLength: 32),
                                           realServers: [Self.server(Self.rs1), Self.server(Self.rs2)])
        let h = Harness(Self.config([service]))
        var byClient: [String: IPAddress] = [:]
        for client in ["198.18.0.100", "198.18.0.101", "198.18.0.102", "198.18.0.103"] {
            for (i, port) in [UInt16(80), 443, 8443].enumerated() {
                #expect(h.run(Self.packet(to: port, client: client, clientPort: 40000 + UInt16(i))).0 == .forward(interface: 1))
                let c = Self.connection(h)
                #expect(c.destinationPort == port, "a port-0 service's server takes the client's destination port")
                if let first = byClient[client] {
                    #expect(c.destinationAddress == first, "\(client):\(port) follows its template")
                    #expect(h.director.lastEvent.viaTemplate)
                } else {
                    byClient[client] = c.destinationAddress
                }
            }
        }
        // One template per client (port 0), spread round-robin.
        #expect(Set(byClient.values) == [Self.rs1, Self.rs2])
        let templates = h.director.connections().filter { $0.flags.contains(.template) }
        #expect(templates.count == 4 && templates.allSatisfy { $0.virtualPort == 0 && $0.virtualAddress == Self.vip })
    }

    @Test func aServerPortAppliesToTheServicePortOnly() {
        // A VIP with both VIP:80 (persistent, server port 8080) and VIP:0: each its own template.
        let services = [
            VirtualServiceConfig(key: ServiceKey(.tcp, Self.vip, 80), persistence: Persistence(prefixLength: 32),
                                 realServers: [Self.server(Self.rs1, port: 8080)]),
            VirtualServiceConfig(key: ServiceKey(.tcp, Self.vip, 0), persistence: Persistence(prefixLength: 32),
                                 realServers: [Self.server(Self.rs2, port: 9000)]),
        ]
        let h = Harness(Self.config(services))
        _ = h.run(Self.packet(to: 80))
        #expect(Self.connection(h).destinationAddress == Self.rs1 && Self.connection(h).destinationPort == 8080)
        _ = h.run(Self.packet(to: 25, clientPort: 40001))
        #expect(Self.connection(h).destinationAddress == Self.rs2 && Self.connection(h).destinationPort == 25,
                "through a port-0 template the packet's own port is kept (ip_vs_sched_persist)")
    }

    @Test func portZeroWithoutPersistenceSchedulesNothing() {
        // The grammar refuses this service; a hand-made configuration gets IPVS's refusal.
        let service = VirtualServiceConfig(key: ServiceKey(.tcp, Self.vip, 0), realServers: [Self.server(Self.rs1)])
        let h = Harness(Self.config([service]))
        #expect(h.run(Self.packet(to: 80)).0 == .drop(.noService))
        #expect(h.director.table.count == 0)
    }

    // MARK: Firewall marks

    @Test func markPersistenceCoversEveryPortAndProtocolOfTheMark() {
        let service = VirtualServiceConfig(key: ServiceKey(fwmark: 1), scheduler: .roundRobin, persistence: Persistence(prefixLength: 32),
                                           realServers: [Self.server(Self.rs1, port: 80), Self.server(Self.rs2, port: 80)])
        let marks = [
            FirewallMarkRule(mark: 1, proto: .tcp, address: Self.vip, ports: [80...80, 443...443]),
            FirewallMarkRule(mark: 1, proto: .udp, address: IPAddress("198.18.0.11")!, ports: [53...53]),
        ]
        let h = Harness(Self.config([service], marks: marks))
        var chosen: [IPAddress] = []
        for client in ["198.18.0.100", "198.18.0.101"] {
            _ = h.run(Self.packet(to: 80, client: client))
            let first = Self.connection(h).destinationAddress
            chosen.append(first)
            _ = h.run(Self.packet(to: 443, client: client, clientPort: 40001))
            #expect(Self.connection(h).destinationAddress == first && Self.connection(h).destinationPort == 443)
            _ = h.run(Self.packet(to: 53, vip: "198.18.0.11", client: client, clientPort: 40002, .udp))
            #expect(Self.connection(h).destinationAddress == first, "one template per client and mark, whatever the protocol")
        }
        #expect(Set(chosen) == [Self.rs1, Self.rs2])
        let templates = h.director.connections().filter { $0.flags.contains(.template) }
        #expect(templates.count == 2 && templates.allSatisfy { $0.virtualAddress == IPAddress(ipv4: 1) && $0.virtualPort == 0 })
        // Unmarked ports of the VIP are no service's.
        #expect(h.run(Self.packet(to: 8080)).0 == .drop(.noService))
    }

    @Test func markRulesMatchRangesAndPrefixesOfTheirFamily() {
        let v4 = VirtualServiceConfig(key: ServiceKey(fwmark: 2), scheduler: .roundRobin, realServers: [Self.server(Self.rs1)])
        let v6 = VirtualServiceConfig(key: ServiceKey(fwmark: 2, ipv6: true), scheduler: .roundRobin,
                                      realServers: [RealServerConfig(address: IPAddress("2001:db8:1::11")!, port: 0, method: .nat)])
        let marks = [
            FirewallMarkRule(mark: 2, proto: .tcp, address: IPAddress("198.18.0.0")!, prefixLength: 24, ports: [1000...2000, 3000...3000]),
            FirewallMarkRule(mark: 2, proto: .tcp, address: IPAddress("2001:db8::")!, prefixLength: 64, ports: [1000...2000]),
        ]
        let h = Harness(Self.config([v4, v6], marks: marks))
        for (vip, port, marked) in [("198.18.0.10", UInt16(1000), true), ("198.18.0.77", 2000, true), ("198.18.0.10", 3000, true),
                                    ("198.18.0.10", 999, false), ("198.18.0.10", 2001, false), ("198.18.1.10", 1500, false),
                                    ("2001:db8::10", 1500, true), ("2001:db8::ffff:1", 2000, true), ("2001:db8:0:1::10", 1500, false),
                                    ("2001:db8::10", 3000, false)] {
            let verdict = h.run(Self.packet(to: port, vip: vip, clientPort: 40000 + port)).0
            if marked {
                #expect(verdict == .forward(interface: 1), "\(vip):\(port)")
                #expect(Self.connection(h).destinationPort == port)
            } else {
                #expect(verdict == .pass(.notForDirector), "\(vip):\(port): a network rule owns no address")
            }
        }
    }

    @Test func classifierTableGivesTheFirstMatchingRulesMark() {
        let classifier = FirewallMarkClassifier([
            FirewallMarkRule(mark: 1, proto: .tcp, address: IPAddress("198.18.0.10")!, ports: [80...80]),
            FirewallMarkRule(mark: 2, proto: .tcp, address: IPAddress("198.18.0.0")!, prefixLength: 16),
            FirewallMarkRule(mark: 3, proto: .udp, address: IPAddress("198.18.0.10")!, ports: [53...53, 5000...5100]),
            FirewallMarkRule(mark: 4, proto: .tcp, address: IPAddress("2001:db8::")!, prefixLength: 32, ports: [443...443]),
            FirewallMarkRule(mark: 5, proto: .tcp, address: IPAddress("::")!, prefixLength: 0),
        ])
        #expect(classifier.mark(.tcp, IPAddress("198.18.0.10")!, 80) == 1)
        #expect(classifier.mark(.tcp, IPAddress("198.18.0.10")!, 81) == 2)
        #expect(classifier.mark(.tcp, IPAddress("198.18.255.1")!, 1) == 2)
        #expect(classifier.mark(.tcp, IPAddress("198.19.0.1")!, 80) == 0, "::/0 is IPv6's: no IPv4 address matches it")
        #expect(classifier.mark(.udp, IPAddress("198.18.0.10")!, 5100) == 3)
        #expect(classifier.mark(.udp, IPAddress("198.18.0.10")!, 5101) == 0)
        #expect(classifier.mark(.tcp, IPAddress("2001:db8:ffff::1")!, 443) == 4)
        #expect(classifier.mark(.tcp, IPAddress("2001:db8:ffff::1")!, 444) == 5)
        #expect(FirewallMarkClassifier([]).mark(.tcp, IPAddress("198.18.0.10")!, 80) == 0)
    }

    @Test func markedHostsAreAnsweredForAndMarkServicesOwnNoAddress() {
        let service = VirtualServiceConfig(key: ServiceKey(fwmark: 1), realServers: [Self.server(Self.rs1)])
        var config = Self.config([service], marks: [
            FirewallMarkRule(mark: 1, proto: .tcp, address: Self.vip, ports: [80...80]),
            FirewallMarkRule(mark: 1, proto: .udp, address: Self.vip, ports: [53...53]),
            FirewallMarkRule(mark: 1, proto: .tcp, address: IPAddress("198.18.2.0")!, prefixLength: 24),
            FirewallMarkRule(mark: 9, proto: .tcp, address: IPAddress("198.18.0.99")!),
        ])
        #expect(config.ownedAddresses == [Self.vip])
        config.services = []
        #expect(config.ownedAddresses.isEmpty)
    }

    // MARK: Golden frames

    /// A port-0 (IPv4) and a firewall-mark (IPv6) NAT service: the SYN leaves toward real
    /// server 1 on the port the client asked for, and the reply reaches the client from
    /// VIP:that port, bytes as PacketBuilder renders them from scratch.
    @Test(arguments: [false, true]) func goldenFramesKeepTheClientsPort(markIPv6: Bool) {
        let f = markIPv6 ? Lab.v6 : Lab.v4
        let rs1 = IPAddress(f.rs1)!
        let key = markIPv6 ? ServiceKey(fwmark: 9, ipv6: true) : ServiceKey(.tcp, IPAddress(f.vip)!, 0)
        let service = VirtualServiceConfig(key: key, scheduler: .roundRobin, persistence: Persistence(prefixLength: markIPv6 ? 128 : 32),
                                           realServers: [RealServerConfig(address: rs1, port: 0, method: .nat)])
        var config = Self.config([service], marks: [FirewallMarkRule(mark: 9, proto: .tcp, address: IPAddress(f.vip)!, ports: [443...443])])
        config.neighbours.append(NeighbourConfig(address: rs1, mac: Lab.rs1MAC, interface: 1))
        let h = Harness(config)
        let syn = Lab.l4(Lab.ip(.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC), f, from: f.client, to: f.vip),
                         .tcp, from: 40000, to: 443, flags: [.syn])
        let (verdict, out) = h.run(syn)
        #expect(verdict == .forward(interface: 1))
        let expected = Lab.l4(Lab.ip(.ethernet(destination: Lab.rs1MAC, source: Lab.directorServerMAC), f, from: f.client, to: f.rs1, ttl: 63),
                              .tcp, from: 40000, to: 443, flags: [.syn]).bytes
        #expect(out == expected, "\(hexDiff(expected: expected, actual: out))")
        let reply = Lab.l4(Lab.ip(.ethernet(destination: Lab.directorServerMAC, source: Lab.rs1MAC), f, from: f.rs1, to: f.client),
                           .tcp, from: 443, to: 40000, flags: [.syn, .ack], seq: 5000, ack: 1001)
        let (back, answer) = h.run(reply, interface: 1)
        #expect(back == .forward(interface: 0))
        let toClient = Lab.l4(Lab.ip(.ethernet(destination: Lab.clientMAC, source: Lab.directorClientMAC), f, from: f.vip, to: f.client, ttl: 63),
                              .tcp, from: 443, to: 40000, flags: [.syn, .ack], seq: 5000, ack: 1001).bytes
        #expect(answer == toClient, "\(hexDiff(expected: toClient, actual: answer))")
    }

    // MARK: Connection sync

    /// A backup installs a port-0 or firewall-mark service's synced connection and template
    /// (the service found as the data path finds it, the real server by address), and sends
    /// the client's next connection, to another port, to the same server through the template.
    @Test(arguments: [false, true]) func syncedTemplatesOfPortSpanningServicesKeepTheClient(mark: Bool) {
        let key = mark ? ServiceKey(fwmark: 4) : ServiceKey(.tcp, Self.vip, 0)
        let service = VirtualServiceConfig(key: key, scheduler: .roundRobin, persistence: Persistence(prefixLength: 32),
                                           realServers: [Self.server(Self.rs1, port: mark ? 80 : 0), Self.server(Self.rs2, port: mark ? 80 : 0)])
        let config = Self.config([service], marks: [FirewallMarkRule(mark: 4, proto: .tcp, address: Self.vip)])
        let master = Harness(config)
        master.director.startSyncMaster()
        _ = master.run(Self.packet(to: 443, client: "198.18.0.101"))  // another client takes real server 1
        for flags: TCPFlags in [[.syn], [.ack], [.ack, .psh]] {
            #expect(master.run(Self.packet(to: 443, flags: flags)).0 == .forward(interface: 1))
        }
        #expect(Self.connection(master).destinationAddress == Self.rs2)
        let exported = master.director.connections().filter { $0.flags.contains(.template) }.map { master.director.syncRecord($0).proto.rawValue }
        #expect(exported == [mark ? 0 : 6, mark ? 0 : 6], "a mark template goes out as IPPROTO_IP, as IPVS sends it")
        var messages: [[UInt8]] = []
        _ = master.director.drainSync { messages.append(Array($0)) }
        let backup = Harness(config)
        for var m in messages {
            let count = m.count
            // Safety: the message view lives only inside this closure.
            _ = m.withUnsafeMutableBytes { backup.director.receiveSyncMessage($0.baseAddress!, length: count, now: backup.now) }
        }
        #expect(backup.director.syncCounters.dropped.isEmpty, "\(backup.director.syncCounters.dropped)")
        #expect(backup.director.connections().contains { $0.flags.contains(.template) && $0.destinationAddress == Self.rs2 })
        #expect(backup.run(Self.packet(to: 8443, clientPort: 41000)).0 == .forward(interface: 1))
        #expect(backup.director.lastEvent.viaTemplate)
        #expect(Self.connection(backup).destinationAddress == Self.rs2 && Self.connection(backup).destinationPort == 8443)
    }

    /// A kernel master sends a firewall-mark template as `<IPPROTO_IP, caddr, 0, fwmark, 0>`
    /// with the mark in the address's first word: the backup takes it as its own template.
    @Test(arguments: [false, true]) func aKernelMastersMarkTemplateIsTaken(ipv6: Bool) {
        let key = ServiceKey(fwmark: 6, ipv6: ipv6)
        let f = ipv6 ? Lab.v6 : Lab.v4
        let servers = [IPAddress(f.rs1)!, IPAddress(f.rs2)!].map { RealServerConfig(address: $0, port: 0, method: .nat) }
        let service = VirtualServiceConfig(key: key, scheduler: .roundRobin, persistence: Persistence(prefixLength: ipv6 ? 128 : 32),
                                           realServers: servers)
        let backup = Harness(Self.config([service], marks: [FirewallMarkRule(mark: 6, proto: .tcp, address: IPAddress(f.vip)!)]))
        #expect(key.markAddress == (ipv6 ? IPAddress("0:6::")! : IPAddress("0.0.0.6")!))
        let record = SyncConnectionRecord(
            proto: IPProtocol(rawValue: 0), flags: SyncConnectionFlags.forwarding(SyncConnectionFlags.forwardMasquerade).union(.template),
            state: 0, clientAddress: IPAddress(f.client)!, clientPort: 0, virtualAddress: key.markAddress, virtualPort: 0,
            destinationAddress: servers[1].address, destinationPort: 0, timeout: 300)
        let outcome = backup.director.installSynced(record, now: backup.now)
        #expect(backup.director.syncCounters.connectionsInstalled == 1, "\(outcome)")
        #expect(backup.run(Self.packet(to: 22, vip: f.vip)).0 == .forward(interface: 1))
        #expect(backup.director.lastEvent.viaTemplate)
        #expect(Self.connection(backup).destinationAddress == servers[1].address)
    }

    // MARK: One-packet scheduling

    @Test func onePacketSchedulingSpreadsTheDatagramsOfOneSocket() {
        var service = VirtualServiceConfig(key: ServiceKey(.udp, Self.vip, 53), scheduler: .roundRobin,
                                           realServers: [Self.server(Self.rs1, port: 53), Self.server(Self.rs2, port: 53)])
        for onePacket in [true, false] {
            service.onePacket = onePacket
            let h = Harness(Self.config([service]))
            var picks: [IPAddress] = []
            for _ in 0..<4 {
                #expect(h.run(Self.packet(to: 53, .udp)).0 == .forward(interface: 1))
                picks.append(h.director.realServer(at: h.director.lastEvent.realServer).address)
            }
            if onePacket {
                #expect(picks == [Self.rs1, Self.rs2, Self.rs1, Self.rs2])
                #expect(h.director.table.count == 0, "-o keeps no connection")
                #expect(h.director.realServers(ofService: service.key).allSatisfy { $0.inactiveConnections == 0 })
            } else {
                #expect(Set(picks).count == 1)
                #expect(h.director.table.count == 1)
            }
        }
    }
}
