@testable import Engine
import Core
import PacketBuilder
import PacketIO
import Testing
import Wire

/// The pcap engine's BPF filter (`PcapFilter.expression`), compiled by libpcap and run over
/// frames built here: it must pass the director's traffic untagged, behind one 802.1Q tag
/// and behind two (802.1ad outer tag), since Core forwards all three, and keep everything
/// else in the kernel.
struct PcapFilterTests {
    static let vip = "198.18.0.10", lip = "198.18.1.100", rip = "198.18.1.11", vip6 = "2001:db8::10"
    static let client = MACAddress(0x02, 0, 0, 0, 0, 0x02), director = MACAddress(0x02, 0, 0, 0, 0, 0x01)

    static var config: DirectorConfig {
        DirectorConfig(services: [
            VirtualServiceConfig(key: ServiceKey(.tcp, IPAddress(vip)!, 80), scheduler: .roundRobin,
                                 realServers: [RealServerConfig(address: IPAddress(rip)!, port: 8080, method: .fullNAT)],
                                 localAddresses: [IPAddress(lip)!]),
            VirtualServiceConfig(key: ServiceKey(.udp, IPAddress(vip6)!, 53), scheduler: .roundRobin,
                                 realServers: [RealServerConfig(address: IPAddress("2001:db8:1::11")!, port: 53, method: .nat)]),
        ])
    }

    /// `frame` with `tags` 802.1Q tags (TPID 0x8100, VLAN 100 + n) after the MACs; with two,
    /// the outer one is 802.1ad (TPID 0x88A8) as in QinQ.
    static func tagged(_ frame: [UInt8], tags: Int) -> [UInt8] {
        var out = Array(frame[0..<12])
        for n in 0..<tags {
            let tpid: UInt16 = tags == 2 && n == 0 ? 0x88A8 : 0x8100
            let vlan = UInt16(100 + n)
            out += [UInt8(tpid >> 8), UInt8(tpid & 0xFF), UInt8(vlan >> 8), UInt8(vlan & 0xFF)]
        }
        return out + frame[12...]
    }

    static func tcp(from source: String, to destination: String) -> [UInt8] {
        Frame.ethernet(destination: director, source: client)
            .ipv4(source: source, destination: destination)
            .tcp(sourcePort: 40000, destinationPort: 80, flags: .syn)
            .bytes
    }

    @Test("the pcap filter passes VIP, LIP, real-server, ARP and ICMP frames untagged, with one VLAN tag and with two",
          arguments: [0, 1, 2])
    func passesTheDirectorsTraffic(tags: Int) throws {
        let expression = PcapFilter.expression(for: Self.config)
        let program = try PcapFilterProgram(expression)
        let wanted: [(String, [UInt8])] = [
            ("client to VIP", Self.tcp(from: "198.18.0.2", to: Self.vip)),
            ("real server to LIP (FullNAT reply)", Self.tcp(from: Self.rip, to: Self.lip)),
            ("real server to client (NAT reply)", Self.tcp(from: Self.rip, to: "198.18.0.2")),
            ("client to the IPv6 VIP", Frame.ethernet(destination: Self.director, source: Self.client)
                .ipv6(source: "2001:db8::2", destination: Self.vip6).udp(sourcePort: 40000, destinationPort: 53).bytes),
            ("ARP request", Frame.ethernet(destination: .broadcast, source: Self.client)
                .arp(operation: 1, senderMAC: Self.client, senderIP: "198.18.0.2", targetMAC: .zero,
                     targetIP: Self.vip).bytes),
            ("ICMP echo", Frame.ethernet(destination: Self.director, source: Self.client)
                .ipv4(source: "198.18.0.2", destination: "198.18.0.1").icmpv4(type: 8, code: 0).bytes),
        ]
        for (what, frame) in wanted {
            #expect(program.matches(Self.tagged(frame, tags: tags)), "\(what) with \(tags) tags must pass '\(expression)'")
        }
    }

    @Test("the pcap filter keeps other traffic in the kernel, tagged or not", arguments: [0, 1, 2])
    func dropsOtherTraffic(tags: Int) throws {
        let program = try PcapFilterProgram(PcapFilter.expression(for: Self.config))
        let unrelated: [(String, [UInt8])] = [
            ("TCP between two other hosts", Self.tcp(from: "198.18.0.2", to: "198.18.0.99")),
            ("IPv6 UDP to another address", Frame.ethernet(destination: Self.director, source: Self.client)
                .ipv6(source: "2001:db8::2", destination: "2001:db8::99").udp(sourcePort: 40000, destinationPort: 53).bytes),
        ]
        for (what, frame) in unrelated {
            #expect(!program.matches(Self.tagged(frame, tags: tags)), "\(what) with \(tags) tags must not pass")
        }
    }

    @Test("a filter libpcap cannot compile is an error that quotes the expression")
    func badExpression() {
        #expect(throws: PcapError.self) { try PcapFilterProgram("dst host not-an-address-at-all((") }
        do {
            _ = try PcapFilterProgram("dst host ((")
            Issue.record("compiled a broken expression")
        } catch {
            #expect("\(error)".contains("dst host (("), "\(error)")
        }
    }
}
