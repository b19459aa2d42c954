import Control
import Core
import Testing
import Wire

/// `RulesWriter.save` prints `ipvsadm -S -n` lines plus SwiftLVS/DPVS lines, and reading
/// them back gives the same configuration.
@Suite struct RulesWriterTests {
    /// Canonical text: exactly what `save` prints for what it parses to.
    static let canonical = """
    interface eth0 mac 02:00:00:00:00:01 address 198.18.0.1
    interface eth1 mac 02:00:00:00:00:02 mtu 9000 address 198.19.0.1 address 2001:db8::1
    neighbour 198.18.1.1 mac 02:00:00:00:01:01
    neighbour 2001:db8::2 mac 02:00:00:00:01:02 interface eth1
    --set 900 60 120
    -A -t 198.18.0.10:80 -s rr
    -a -t 198.18.0.10:80 -r 198.18.1.1:80 -g -w 1
    -a -t 198.18.0.10:80 -r 198.18.1.2:80 -g -w 3
    -A -t 198.18.0.10:443 -s wlc -p 360
    -a -t 198.18.0.10:443 -r 198.18.1.1:8443 -m -w 1 -x 1000 -y 800
    -A -u 198.18.0.53:53 -s sh -p 60 -M 255.255.255.0 -b sh-fallback,sh-port
    -a -u 198.18.0.53:53 -r 198.18.1.5:53 -i -w 0
    -A -t [2001:db8::10]:80 -s lc -p 300 -M 64 -b flag-1
    -a -t [2001:db8::10]:80 -r [2001:db8::2]:8080 -b -w 2
    -a -t [2001:db8::10]:80 -r 198.18.1.9:80 -i -w 1
    --add-laddr -z 2001:db8::100 -t [2001:db8::10]:80
    --add-laddr -z 2001:db8::101 -t [2001:db8::10]:80
    -A -t 198.18.0.20:0 -s wrr -p 360 -b flag-2,flag-3

    """

    @Test func canonicalTextRoundTrips() throws {
        let config = try RulesFile.parse(Self.canonical, file: rulesFile)
        #expect(RulesWriter.save(config) == Self.canonical)
    }

    @Test func configurationRoundTrips() throws {
        var timeouts = TimeoutTable.ipvsDefaults
        timeouts.set(tcp: 7200, tcpFin: 30, udp: 10)
        let config = DirectorConfig(
            services: [
                VirtualServiceConfig(
                    key: tcp("198.18.0.10", 80), scheduler: .weightedRoundRobin, schedulerFlags: [.flag3],
                    persistence: Persistence(timeout: 1800, prefixLength: 20),
                    realServers: [
                        RealServerConfig(address: ip("198.18.1.1"), port: 80, weight: 65535, method: .directRouting),
                        RealServerConfig(address: ip("198.18.1.2"), port: 8080, weight: 0, method: .nat,
                                         upperThreshold: 10, lowerThreshold: 10),
                        RealServerConfig(address: ip("198.18.1.3"), port: 9090, weight: 4, method: .fullNAT),
                        RealServerConfig(address: ip("2001:db8::3"), port: 80, weight: 1, method: .tunnel),
                    ],
                    localAddresses: [ip("198.18.2.1"), ip("198.18.2.2")]),
                VirtualServiceConfig(key: udp("2001:db8::53", 53), scheduler: .sourceHashing, schedulerFlags: [.fallback, .port, .flag3],
                                     persistence: Persistence(timeout: 1, prefixLength: 128)),
                VirtualServiceConfig(key: tcp("198.18.0.11", 0), persistence: Persistence(timeout: 2_678_400, prefixLength: 0)),
            ],
            interfaces: [
                InterfaceConfig(name: "eth0", mac: mac("02:00:00:00:00:01")),
                InterfaceConfig(name: "eth1", mac: mac("02:00:00:00:00:02"), mtu: 1400, addresses: [ip("2001:db8::1")]),
            ],
            neighbours: [
                NeighbourConfig(address: ip("198.18.1.1"), mac: mac("02:00:00:00:01:01"), interface: 1),
                NeighbourConfig(address: ip("198.18.1.2"), mac: mac("02:00:00:00:01:02"), interface: 0),
            ],
            timeouts: timeouts)
        let text = RulesWriter.save(config)
        #expect(try RulesFile.parse(text, file: rulesFile) == config, "\(text)")
    }

    @Test func everySchedulerRoundTrips() throws {
        for kind in SchedulerKind.allCases {
            let config = DirectorConfig(services: [VirtualServiceConfig(key: tcp("198.18.0.10", 80), scheduler: kind)])
            #expect(try RulesFile.parse(RulesWriter.save(config), file: rulesFile) == config)
        }
    }

    @Test func emptyConfigurationIsEmptyText() {
        #expect(RulesWriter.save(DirectorConfig()) == "")
    }

    @Test func ipvsadmSaveShape() {
        let config = parse("-A -t 198.18.0.10:http -p -M 255.255.0.0", "-a -t 198.18.0.10:80 -r 198.18.1.1 -m")
        #expect(RulesWriter.save(config) == """
        -A -t 198.18.0.10:80 -s wlc -p 360 -M 255.255.0.0
        -a -t 198.18.0.10:80 -r 198.18.1.1:80 -m -w 1

        """)
    }

    @Test func defaultTimeoutsAreNotWritten() {
        #expect(RulesWriter.save(parse("--set 0 0 0")) == "")
        #expect(RulesWriter.save(parse("--set 0 0 60")) == "--set 900 120 60\n")
    }

    @Test func editsAndDeletesAreFoldedIntoTheSnapshot() {
        let config = parse(
            "-A -t 198.18.0.10:80", "-a -t 198.18.0.10:80 -r 198.18.1.1", "-a -t 198.18.0.10:80 -r 198.18.1.2",
            "-d -t 198.18.0.10:80 -r 198.18.1.1", "-E -t 198.18.0.10:80 -s rr", "-A -u 198.18.0.10:53", "-D -u 198.18.0.10:53")
        #expect(RulesWriter.save(config) == """
        -A -t 198.18.0.10:80 -s rr
        -a -t 198.18.0.10:80 -r 198.18.1.2:80 -g -w 1

        """)
    }
}
