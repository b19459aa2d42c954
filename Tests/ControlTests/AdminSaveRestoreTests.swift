@testable import Control
import Core
import Testing
import Wire

/// `-S` prints what ipvsadm prints; `-R` reads it back to the same table; print_largenum's edges.
@Suite struct AdminSaveRestoreTests {
    /// ipvsadm 1.31's `-S -n` for a table it can fully express: `"-A %s -s %s"`, ` -p %u`,
    /// ` -M %s`, ` -b flags`; `"-a %s -r %s %s -w %d"`, tunnels with ` --tun-type ipip`.
    @Test func saveNumericIsIpvsadmsText() {
        let config = parse(
            "-A -t 198.18.0.10:80 -s rr",
            "-a -t 198.18.0.10:80 -r 198.18.1.12:8080 -m -w 1",
            "-a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w 2",
            "-A -u 198.18.0.10:53 -p 360 -M 255.255.255.0",
            "-a -u 198.18.0.10:53 -r 198.18.1.11 -g",
            "-A -t [2001:db8::10]:443 -s sh -b sh-port -p 600 -M 64",
            "-a -t [2001:db8::10]:443 -r 2001:db8:1::11 -i -w 0",
            "-A -t 198.18.0.9:443 -s mh -b mh-fallback,mh-port")
        let expected = [
            "-A -t 198.18.0.9:443 -s mh -b mh-fallback,mh-port",
            "-A -t 198.18.0.10:80 -s rr",
            "-a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w 2",
            "-a -t 198.18.0.10:80 -r 198.18.1.12:8080 -m -w 1",
            "-A -u 198.18.0.10:53 -s wlc -p 360 -M 255.255.255.0",
            "-a -u 198.18.0.10:53 -r 198.18.1.11:53 -g -w 1",
            "-A -t [2001:db8::10]:443 -s sh -p 600 -M 64 -b sh-port",
            "-a -t [2001:db8::10]:443 -r [2001:db8:1::11]:443 -i -w 0 --tun-type ipip",
        ].map { $0 + "\n" }.joined()
        #expect(AdminListing.save(AdminSnapshot(config: config, tableSize: 4096), numeric: true) == expected)
    }

    /// ipvsadm's `print_tunnel_rule`: GUE with its port and checksum option, GRE with its
    /// checksum option; `-R` reads each back to the same settings.
    @Test func tunnelTypesSaveAndRestore() {
        let config = parse("-A -t 198.18.0.10:80 -s rr",
                           "-a -t 198.18.0.10:80 -r 198.18.1.11 -i --tun-type gue --tun-port 6080 --tun-csum",
                           "-a -t 198.18.0.10:80 -r 198.18.1.12 -i --tun-type gre",
                           "-a -t 198.18.0.10:80 -r 2001:db8:1::13 -i --tun-type gre --tun-csum",
                           "-a -t 198.18.0.10:80 -r 2001:db8:1::14 -i --tun-type gue --tun-port 6081 --tun-remcsum")
        let saved = AdminListing.save(AdminSnapshot(config: config, tableSize: 4096), numeric: true)
        #expect(saved == """
            -A -t 198.18.0.10:80 -s rr
            -a -t 198.18.0.10:80 -r 198.18.1.11:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
            -a -t 198.18.0.10:80 -r 198.18.1.12:80 -i -w 1 --tun-type gre --tun-nocsum
            -a -t 198.18.0.10:80 -r [2001:db8:1::13]:80 -i -w 1 --tun-type gre --tun-csum
            -a -t 198.18.0.10:80 -r [2001:db8:1::14]:80 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum

            """)
        let again = (try? RulesFile.parse(saved, file: rulesFile)) ?? DirectorConfig()
        #expect(again == config)
        #expect(config.services.first?.realServers.map(\.tunnel) == [
            TunnelSettings(kind: .gue, port: 6080, checksum: .checksum), TunnelSettings(kind: .gre),
            TunnelSettings(kind: .gre, checksum: .checksum), TunnelSettings(kind: .gue, port: 6081, checksum: .remote),
        ])
    }

    @Test func saveWithNames() {
        let config = parse("-A -t 198.18.0.10:80 -s rr", "-a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m",
                           "-A -u 198.18.0.10:53", "-a -u 198.18.0.10:53 -r 198.18.1.11")
        #expect(AdminListing.save(AdminSnapshot(config: config, tableSize: 4096), numeric: false) == """
            -A -t 198.18.0.10:http -s rr
            -a -t 198.18.0.10:http -r 198.18.1.11:http-alt -m -w 1
            -A -u 198.18.0.10:domain -s wlc
            -a -u 198.18.0.10:domain -r 198.18.1.11:domain -g -w 1

            """)
    }

    /// What ipvsadm would lose is kept: thresholds, local addresses, timeouts.
    @Test func saveKeepsWhatIpvsadmDrops() {
        let config = parse("--set 7200 0 60", "-A -t 198.18.0.10:80", "-a -t 198.18.0.10:80 -r 198.18.1.11 -b -w 3 -x 100 -y 80",
                           "--add-laddr -z 198.18.2.1 -t 198.18.0.10:80")
        #expect(AdminListing.save(AdminSnapshot(config: config, tableSize: 4096), numeric: true) == """
            --set 7200 120 60
            -A -t 198.18.0.10:80 -s wlc
            -a -t 198.18.0.10:80 -r 198.18.1.11:80 -b -w 3 -x 100 -y 80
            --add-laddr -z 198.18.2.1 -t 198.18.0.10:80

            """)
    }

    static let richRules = [
        "--set 7200 0 60",
        "-A -t 198.18.0.10:80 -s rr",
        "-a -t 198.18.0.10:80 -r 198.18.1.12:8080 -m -w 1 -x 50",
        "-a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w 2 -x 100 -y 80",
        "-A -u 198.18.0.10:53 -s sh -b sh-port,sh-fallback -p 360 -M 255.255.255.0",
        "-a -u 198.18.0.10:53 -r 198.18.1.11 -g",
        "-A -t [2001:db8::10]:443 -s mh -b mh-port -p 600 -M 64",
        "-a -t [2001:db8::10]:443 -r [2001:db8:1::11]:8443 -b -w 5",
        "--add-laddr -z 2001:db8::100 -t [2001:db8::10]:443",
        "--add-laddr -z 2001:db8::101 -t [2001:db8::10]:443",
        "-A -t 198.18.0.9:0 -p -s wrr",
        "-a -t 198.18.0.9:0 -r 198.18.1.21 -i -w 0",
    ]

    /// -S, then -R of that text onto an empty table, then -S again: the same bytes, and the
    /// same configuration as the rules it came from (up to order, which -S sorts).
    @Test(arguments: [true, false])
    func saveThenRestoreRoundTrips(numeric: Bool) throws {
        let config = parse(Self.richRules.joined(separator: "\n"))
        let saved = AdminListing.save(AdminSnapshot(config: config, tableSize: 4096), numeric: numeric)
        let restored = try AdminEditor.apply(try AdminRestore.commands(saved), to: DirectorConfig())
        #expect(AdminListing.save(AdminSnapshot(config: restored, tableSize: 4096), numeric: numeric) == saved)
        #expect(Self.normalized(restored.services) == Self.normalized(config.services))
        #expect(restored.timeouts == config.timeouts)
        // The rules-file reader (lvsd --config) takes the same text.
        #expect(try RulesFile.parse(saved, file: "saved") == restored)
    }

    /// Services and their real servers in a fixed order, since -S sorts both.
    static func normalized(_ services: [VirtualServiceConfig]) -> [VirtualServiceConfig] {
        services.map { service in
            var s = service
            s.realServers.sort { $0.endpoint.description < $1.endpoint.description }
            return s
        }.sorted { $0.key.description < $1.key.description }
    }

    @Test func restoreSkipsBlanksCommentsAndTheProgramName() throws {
        let commands = try AdminRestore.commands("""

            # saved by hand
            ipvsadm -A -t 198.18.0.10:80 -s rr
              -a -t 198.18.0.10:80 -r 198.18.1.11 -m   # a comment after
            lvsadm -Z
            """)
        #expect(commands == [
            .addService(ServiceSettings(key: tcp("198.18.0.10", 80), scheduler: "rr")),
            .addServer(tcp("198.18.0.10", 80), RealServerSettings(address: ip("198.18.1.11"), port: 80, method: .nat)),
            .zero(nil),
        ])
    }

    @Test func restoreNamesTheBadLine() {
        #expect(throws: AdminError("illegal weight specified",
                                   detail: "line 3 ('-a -t 198.18.0.10:80 -r 198.18.1.11 -w many'): a weight is a number from 0 to 65535, not 'many'",
                                   exitCode: 2)) {
            try AdminRestore.commands("-A -t 198.18.0.10:80\n\n-a -t 198.18.0.10:80 -r 198.18.1.11 -w many\n")
        }
        #expect(throws: AdminError.self) { try AdminRestore.commands("-A -t 198.18.0.10:80\n-L -n\n") }
        let error = try? #require(throws: AdminError.self) { try AdminRestore.commands("-S\n") }
        #expect(error?.message == "unexpected command in restore input")
    }

    /// A batch refused by lvsd is reported at the line its command came from.
    @Test func restoreLocatesTheDaemonsRefusal() {
        let text = "# header\n-A -t 198.18.0.10:80\n\n-A -t 198.18.0.10:80\n"
        var error = AdminError("Service already exists", detail: "service TCP 198.18.0.10:80 already exists", exitCode: 255)
        error.commandIndex = 1
        let located = AdminRestore.locate(error, lines: text)
        #expect(located.message == "Service already exists")
        #expect(located.detail == "line 4 ('-A -t 198.18.0.10:80'): service TCP 198.18.0.10:80 already exists; nothing was restored")
    }

    /// print_largenum at every boundary, against ipvsadm's printf output.
    @Test(arguments: [
        (UInt64(0), "        0", "        0"),
        (1, "        1", "        1"),
        (12_345_678, " 12345678", " 12345678"),
        (99_999_999, " 99999999", " 99999999"),
        (100_000_000, "  100000K", " 100000000"),
        (123_456_789, "  123456K", " 123456789"),
        (999_999_999, "  999999K", " 999999999"),
        (1_000_000_000, "    1000M", " 1000000000"),
        (99_999_999_999, "   99999M", " 99999999999"),
        (100_000_000_000, "     100G", " 100000000000"),
        (99_999_999_999_999, "   99999G", " 99999999999999"),
        (100_000_000_000_000, "     100T", " 100000000000000"),
        (UInt64.max, "18446744T", " 18446744073709551615"),
    ])
    func largeNumbers(value: UInt64, scaled: String, exact: String) {
        #expect(AdminListing.largeNumber(value, exact: false) == scaled)
        #expect(AdminListing.largeNumber(value, exact: true) == exact)
    }
}
