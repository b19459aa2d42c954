import Control
import Core
import Testing
import Wire

/// The ipvsadm commands operators type in the seed blog posts (../shared/seeds/), parsed
/// as rules-file lines with their addresses kept as written.
@Suite struct SeedCommandTests {
    /// LVS-DR on three virtual machines (seed 002).
    @Test func directRoutingCluster() {
        let config = parse(
            "ipvsadm -C",
            "ipvsadm -A -t 192.168.58.133:80 -s rr",
            "ipvsadm -a -t 192.168.58.133:80 -r 192.168.58.135:80 -g",
            "ipvsadm -a -t 192.168.58.133:80 -r 192.168.58.136:80 -g  ")
        #expect(config.services == [
            VirtualServiceConfig(key: tcp("192.168.58.133", 80), scheduler: .roundRobin, realServers: [
                RealServerConfig(address: ip("192.168.58.135"), port: 80, weight: 1, method: .directRouting),
                RealServerConfig(address: ip("192.168.58.136"), port: 80, weight: 1, method: .directRouting),
            ]),
        ])
    }

    /// LVS-NAT with real servers given without a port (seed 000).
    @Test func natClusterWithPortlessServers() {
        let config = parse(
            "-A -t 172.16.16.2:80 -s rr",
            "-a -t 172.16.16.2:80 -r 192.168.1.16 -m",
            "-a -t 172.16.16.2:80 -r 192.168.1.17 -m")
        #expect(onlyService(config).realServers == [
            RealServerConfig(address: ip("192.168.1.16"), port: 80, method: .nat),
            RealServerConfig(address: ip("192.168.1.17"), port: 80, method: .nat),
        ])
    }

    /// The same post's DR variant (seed 000).
    @Test func directRoutingVariant() {
        let config = parse(
            "ipvsadm -A -t 172.16.16.2:80 -s rr",
            "ipvsadm -a -t 172.16.16.2:80 -r 192.168.1.16 -g",
            "ipvsadm -a -t 172.16.16.2:80 -r 192.168.1.2 -g")
        #expect(onlyService(config).realServers.map(\.method) == [.directRouting, .directRouting])
        #expect(RulesWriter.save(config) == """
        -A -t 172.16.16.2:80 -s rr
        -a -t 172.16.16.2:80 -r 192.168.1.16:80 -g -w 1
        -a -t 172.16.16.2:80 -r 192.168.1.2:80 -g -w 1

        """)
    }

    /// `ipvsadm -L -n` is typed in the same posts, but lists rather than configures.
    @Test func listingCommandIsRefusedWithAReason() {
        let error = parseError(["ipvsadm -L -n"])
        #expect(error == ConfigError(file: rulesFile, line: 1, column: 9, message:
            "'-L' lists the table and has no place in a rules file; a line starts with -A, -E, -D, -C, -a, -e, -d, --set, --add-laddr, --del-laddr, interface or neighbour"))
    }
}
