import Control
import Core
import Testing
import Wire

/// `--set`, DPVS's local addresses, SwiftLVS's `interface`/`neighbour` lines, and the
/// file-level conventions (comments, blank lines, a leading `ipvsadm`).
@Suite struct DirectorSettingTests {
    @Test func setChangesTcpTcpFinUdpAndZeroKeeps() {
        let config = parse("--set 900 60 120")
        #expect(config.timeouts.tcpTcpFinUdp == (900, 60, 120))
        var expected = TimeoutTable.ipvsDefaults
        expected.set(tcp: 900, tcpFin: 60, udp: 120)
        #expect(config.timeouts == expected)
        let kept = parse("--set 900 60 120", "--set 0 30 0").timeouts.tcpTcpFinUdp
        #expect(kept == (900, 30, 120))
        #expect(parse("--set 0 0 0").timeouts == .ipvsDefaults)
    }

    @Test func localAddresses() {
        let config = parse(
            "-A -t 198.18.0.10:80",
            "--add-laddr -z 198.18.2.1 -t 198.18.0.10:80",
            "--add-laddr --laddr 198.18.2.2 --tcp-service 198.18.0.10:80",
            "--add-laddr --laddr=198.18.2.3 -t 198.18.0.10:80 -F eth0",
            "--del-laddr -z 198.18.2.2 -t 198.18.0.10:80")
        #expect(onlyService(config).localAddresses == [ip("198.18.2.1"), ip("198.18.2.3")])
    }

    @Test func ipv6LocalAddresses() {
        let config = parse("-A -t [2001:db8::10]:80", "--add-laddr -z 2001:db8::100 -t [2001:db8::10]:80 --ifname eth1")
        #expect(onlyService(config).localAddresses == [ip("2001:db8::100")])
    }

    @Test func interfaces() {
        let config = parse(
            "interface eth0 mac 02:00:00:00:00:01",
            "interface eth1 mac 02:00:00:00:00:02 mtu 9000 address 198.18.0.1 address 2001:db8::1",
            "interface lan address 198.18.4.1 mtu 1400 mac 02-00-00-00-00-03")
        #expect(config.interfaces == [
            InterfaceConfig(name: "eth0", mac: mac("02:00:00:00:00:01"), mtu: 1500, addresses: []),
            InterfaceConfig(name: "eth1", mac: mac("02:00:00:00:00:02"), mtu: 9000, addresses: [ip("198.18.0.1"), ip("2001:db8::1")]),
            InterfaceConfig(name: "lan", mac: mac("02:00:00:00:00:03"), mtu: 1400, addresses: [ip("198.18.4.1")]),
        ])
    }

    @Test func neighboursDefaultToTheFirstInterface() {
        let config = parse(
            "interface eth0 mac 02:00:00:00:00:01",
            "interface eth1 mac 02:00:00:00:00:02",
            "neighbour 198.18.1.1 mac 02:00:00:00:01:01",
            "neighbour 2001:db8::1 mac 02:00:00:00:01:02 interface eth1",
            "neighbor 198.18.1.2 interface eth0 mac 02:00:00:00:01:03")
        #expect(config.neighbours == [
            NeighbourConfig(address: ip("198.18.1.1"), mac: mac("02:00:00:00:01:01"), interface: 0),
            NeighbourConfig(address: ip("2001:db8::1"), mac: mac("02:00:00:00:01:02"), interface: 1),
            NeighbourConfig(address: ip("198.18.1.2"), mac: mac("02:00:00:00:01:03"), interface: 0),
        ])
    }

    @Test func commentsBlankLinesCarriageReturnsAndIpvsadmPrefix() {
        let text = """
        # SwiftLVS rules

        \t  # indented comment
        ipvsadm -A -t 198.18.0.10:80 -s rr   # trailing comment\r
        -a -t 198.18.0.10:80 -r 198.18.1.1 -g\r

        """
        let config = try? RulesFile.parse(text, file: rulesFile)
        #expect(config?.services.first?.scheduler == .roundRobin)
        #expect(config?.services.first?.realServers.count == 1)
        #expect((try? RulesFile.parse("", file: rulesFile)) == DirectorConfig())
    }

    @Test func tabsAndRepeatedSpacesSeparateWords() {
        let service = onlyService(parse("-A\t-t   198.18.0.10:80\t\t-s  sh"))
        #expect(service.scheduler == .sourceHashing)
    }
}
