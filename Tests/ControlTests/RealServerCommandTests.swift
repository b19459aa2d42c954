import Control
import Core
import Testing
import Wire

/// `-a`, `-e`, `-d` and the real-server options (`-r -g -m -i -b -w -x -y`).
@Suite struct RealServerCommandTests {
    static let service = "-A -t 198.18.0.10:80"

    func servers(_ lines: String...) -> [RealServerConfig] {
        let text = ([Self.service] + lines).joined(separator: "\n")
        do {
            return try RulesFile.parse(text, file: rulesFile).services.first?.realServers ?? []
        } catch {
            Issue.record("unexpected error: \(error)")
            return []
        }
    }

    @Test func addServerDefaultsToDirectRoutingWeightOneAndTheServicePort() {
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1") == [
            RealServerConfig(address: ip("198.18.1.1"), port: 80, weight: 1, method: .directRouting,
                             upperThreshold: 0, lowerThreshold: 0),
        ])
    }

    @Test func everyForwardingMethodShortAndLong() {
        let expected: [(String, ForwardingMethod)] = [
            ("-g", .directRouting), ("--gatewaying", .directRouting),
            ("-m", .nat), ("--masquerading", .nat),
            ("-i", .tunnel), ("--ipip", .tunnel),
            ("-b", .fullNAT), ("--fullnat", .fullNAT),
        ]
        for (flag, method) in expected {
            #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1 \(flag)").first?.method == method, "\(flag)")
        }
    }

    @Test func natAndFullNATKeepTheGivenPort() {
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1:8080 -m").first?.port == 8080)
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1:8080 -b").first?.port == 8080)
    }

    @Test func directRoutingAndTunnelAlwaysUseTheServicePort() {
        // ipvsadm.c overrides the port: a DR or TUN server cannot change it.
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1:8080 -g").first?.port == 80)
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1:8080").first?.port == 80)
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1:8080 -i").first?.port == 80)
    }

    @Test func weightAndThresholdsShortAndLong() {
        let expected = RealServerConfig(address: ip("198.18.1.1"), port: 80, weight: 7, method: .nat,
                                         upperThreshold: 100, lowerThreshold: 50)
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1:80 -m -w 7 -x 100 -y 50") == [expected])
        #expect(servers("--add-server --tcp-service 198.18.0.10:80 --real-server 198.18.1.1:80 --masquerading --weight 7 --u-threshold 100 --l-threshold 50") == [expected])
        #expect(servers("--add-server --tcp-service=198.18.0.10:80 --real-server=198.18.1.1:80 --masquerading --weight=7 --u-threshold=100 --l-threshold=50") == [expected])
    }

    @Test func weightBounds() {
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1 -w 0").first?.weight == 0)
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1 -w 65535").first?.weight == 65535)
    }

    @Test func thresholdsMayBeEqualAndUpperAlone() {
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1 -x 10 -y 10").first?.lowerThreshold == 10)
        let server = servers("-a -t 198.18.0.10:80 -r 198.18.1.1 -x 10").first
        #expect(server?.upperThreshold == 10 && server?.lowerThreshold == 0)
    }

    @Test func ipv6ServiceAndServers() {
        let config = parse(
            "-A -t [2001:db8::10]:443 -s rr",
            "-a -t [2001:db8::10]:443 -r [2001:db8::1]:8443 -m -w 2",
            "-a -t [2001:db8::10]:443 -r 2001:db8::2",
            "-a -t [2001:db8::10]:443 -r [2001:db8::3]")
        #expect(onlyService(config).realServers == [
            RealServerConfig(address: ip("2001:db8::1"), port: 8443, weight: 2, method: .nat),
            RealServerConfig(address: ip("2001:db8::2"), port: 443),
            RealServerConfig(address: ip("2001:db8::3"), port: 443),
        ])
    }

    @Test func tunnellingMayMixAddressFamilies() {
        let config = parse(
            "-A -t [2001:db8::10]:80", "-a -t [2001:db8::10]:80 -r 198.18.1.1 -i",
            "-A -t 198.18.0.10:80", "-a -t 198.18.0.10:80 -r 2001:db8::1 -i")
        #expect(config.services[0].realServers.first?.address == ip("198.18.1.1"))
        #expect(config.services[1].realServers.first?.address == ip("2001:db8::1"))
    }

    @Test func serversKeepInsertionOrder() {
        let list = servers(
            "-a -t 198.18.0.10:80 -r 198.18.1.3", "-a -t 198.18.0.10:80 -r 198.18.1.1", "-a -t 198.18.0.10:80 -r 198.18.1.2")
        #expect(list.map(\.address) == [ip("198.18.1.3"), ip("198.18.1.1"), ip("198.18.1.2")])
    }

    @Test func serverPortByName() {
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1:https -m").first?.port == 443)
    }

    @Test func editServerReplacesEverySetting() {
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1 -w 5 -x 10 -y 5", "-e -t 198.18.0.10:80 -r 198.18.1.1 -i -w 3") == [
            RealServerConfig(address: ip("198.18.1.1"), port: 80, weight: 3, method: .tunnel),
        ])
        // As ipvsadm: an edit without -w or a method goes back to -g -w 1.
        #expect(servers("-a -t 198.18.0.10:80 -r 198.18.1.1:8080 -m -w 5", "--edit-server --tcp-service 198.18.0.10:80 --real-server 198.18.1.1:8080 --masquerading") == [
            RealServerConfig(address: ip("198.18.1.1"), port: 8080, weight: 1, method: .nat),
        ])
    }

    @Test func deleteServer() {
        #expect(servers(
            "-a -t 198.18.0.10:80 -r 198.18.1.1", "-a -t 198.18.0.10:80 -r 198.18.1.2",
            "-d -t 198.18.0.10:80 -r 198.18.1.1").map(\.address) == [ip("198.18.1.2")])
        #expect(servers(
            "-a -t 198.18.0.10:80 -r 198.18.1.1:8080 -m",
            "--delete-server --tcp-service 198.18.0.10:80 --real-server 198.18.1.1:8080").isEmpty)
    }

    @Test func bMeansSchedFlagsOnServicesAndFullNATOnServers() {
        let config = parse("-A -t 198.18.0.10:80 -s sh -b sh-port", "-a -t 198.18.0.10:80 -r 198.18.1.1:8080 -b")
        #expect(onlyService(config).schedulerFlags == [.port])
        #expect(onlyService(config).realServers.first?.method == .fullNAT)
    }
}
