@testable import Control
import Core
import Testing
import Wire

/// Golden listings: every line as ipvsadm 1.31's printf formats print it for
/// `AdminFixtures.snapshot` (column widths, trailing spaces, K/M/G/T scaling).
@Suite struct AdminListingTests {
    static func text(_ lines: [String]) -> String { lines.map { $0 + "\n" }.joined() }

    static func render(_ arguments: [String]) throws -> String {
        let invocation = try LvsadmCommandLine.parse(arguments)
        guard case .list(let request) = invocation.action else {
            Issue.record("\(arguments) is not a listing")
            return ""
        }
        return try AdminListing.render(request, AdminFixtures.snapshot)
    }

    @Test func listNumeric() throws {
        #expect(try Self.render(["-L", "-n"]) == Self.text(Golden.list))
        #expect(try Self.render(["-Ln"]) == Self.text(Golden.list))
        #expect(try Self.render(["-ln"]) == Self.text(Golden.list))
        #expect(try Self.render(["--list", "--numeric"]) == Self.text(Golden.list))
    }

    @Test func stats() throws {
        #expect(try Self.render(["-L", "-n", "--stats"]) == Self.text(Golden.stats))
    }

    @Test func statsExact() throws {
        #expect(try Self.render(["-Ln", "--stats", "--exact"]) == Self.text(Golden.statsExact))
        #expect(try Self.render(["-LnX", "--stats"]) == Self.text(Golden.statsExact))
    }

    @Test func rate() throws {
        #expect(try Self.render(["-Ln", "--rate"]) == Self.text(Golden.rate))
    }

    @Test func thresholds() throws {
        #expect(try Self.render(["-Ln", "--thresholds"]) == Self.text(Golden.thresholds))
    }

    @Test func persistentConnections() throws {
        #expect(try Self.render(["-Ln", "--persistent-conn"]) == Self.text(Golden.pconn))
    }

    @Test func tunnelInfo() throws {
        #expect(try Self.render(["-Ln", "--tun-info"]) == Self.text(Golden.tuninfo))
    }

    /// ipvsadm's `fwd_tun_info`: `gue:PORT:FLAGS` and `gre:FLAGS` in the TunnelInfo column.
    @Test func tunnelInfoNamesGUEAndGRE() throws {
        var snapshot = AdminFixtures.snapshot
        let index = try #require(snapshot.services.firstIndex { $0.realServers.contains { $0.method == .tunnel } })
        snapshot.services[index].realServers[0].tunnel = TunnelSettings(kind: .gue, port: 6080, checksum: .checksum)
        let invocation = try LvsadmCommandLine.parse(["-Ln", "--tun-info"])
        guard case .list(let request) = invocation.action else { return }
        let gue = try AdminListing.render(request, snapshot)
        #expect(gue.contains("Tunnel  gue:6080:csum 0      0          0         \n"))
        snapshot.services[index].realServers[0].tunnel = TunnelSettings(kind: .gre)
        #expect(try AdminListing.render(request, snapshot).contains("Tunnel  gre:nocsum    0      0          0         \n"))
        snapshot.services[index].realServers[0].tunnel = TunnelSettings(kind: .gue, port: 6080, checksum: .remote)
        #expect(try AdminListing.render(request, snapshot).contains("Tunnel  gue:6080:remcsum "))
    }

    /// `--stats` wins over `--rate` and `--thresholds`, as print_title's if-chain decides.
    @Test func firstFormatWins() throws {
        #expect(try Self.render(["-Ln", "--rate", "--stats"]) == Self.text(Golden.stats))
        #expect(try Self.render(["-Ln", "--thresholds", "--rate"]) == Self.text(Golden.rate))
    }

    @Test func connections() throws {
        #expect(try Self.render(["-L", "-n", "-c"]) == Self.text(Golden.conn))
        #expect(try Self.render(["-lnc"]) == Self.text(Golden.conn))
        #expect(try Self.render(["-Lcn"]) == Self.text(Golden.conn))
    }

    @Test func connectionsWithPersistentConnHeader() throws {
        let body = Golden.conn.dropFirst(2)
        #expect(try Self.render(["-Lnc", "--persistent-conn"]) == Self.text(Golden.pconnhdr + body))
    }

    /// Without -n, ports become their /etc/services names for the protocol; addresses stay numeric.
    @Test func connectionsWithNames() throws {
        let expected = Self.text([
            "IPVS connection entries",
            "pro expire state       source             virtual            destination",
            "TCP 14:59  ESTABLISHED 198.18.0.1:40001   198.18.0.10:http   198.18.1.11:http-alt",
            "TCP 01:58  SYN_RECV    198.18.0.1:40002   198.18.0.10:http   198.18.1.12:http-alt",
            "UDP 04:05  UDP         198.18.0.2:5353    198.18.0.10:domain 198.18.1.11:domain",
            "UDP 100:00 NONE        198.18.0.0:0       198.18.0.10:domain 198.18.1.11:domain",
            "TCP 00:00  TIME_WAIT   [2001:db8:ff::1]:51000 [2001:db8::10]:https [2001:db8:1::11]:https",
        ])
        #expect(try Self.render(["-L", "-c"]) == expected)
    }

    @Test func listWithNames() throws {
        let expected = Self.text([
            "IP Virtual Server version 1.2.1 (size=4096)",
            "Prot LocalAddress:Port Scheduler Flags",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
            "TCP  198.18.0.9:https wlc",
            "  -> 198.18.1.21:https            Tunnel  0      0          0         ",
            "TCP  198.18.0.10:http rr",
            "  -> 198.18.1.11:http-alt         Masq    2      5          1         ",
            "  -> 198.18.1.12:http-alt         Masq    1      3          10        ",
            "UDP  198.18.0.10:domain wlc persistent 360 mask 255.255.255.0",
            "  -> 198.18.1.11:domain           Route   1      0          0         ",
            "TCP  [2001:db8::10]:https sh (sh-port) persistent 600 mask 64",
            "  -> [2001:db8:1::11]:https       FullNat 5      0          0         ",
        ])
        #expect(try Self.render(["-L"]) == expected)
        // lvsadm with no arguments lists the same way (ipvsadm's argc == 1).
        let bare = try LvsadmCommandLine.parse([])
        guard case .list(let request) = bare.action else { Issue.record("no arguments should list"); return }
        #expect(try AdminListing.render(request, AdminFixtures.snapshot) == expected)
    }

    /// One service: no version header (list_service), title and the entry.
    @Test func oneService() throws {
        let expected = Self.text([
            "Prot LocalAddress:Port Scheduler Flags",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
            "TCP  198.18.0.10:80 rr",
            "  -> 198.18.1.11:8080             Masq    2      5          1         ",
            "  -> 198.18.1.12:8080             Masq    1      3          10        ",
        ])
        #expect(try Self.render(["-L", "-n", "-t", "198.18.0.10:80"]) == expected)
        #expect(try Self.render(["-Lnt", "198.18.0.10:http"]) == expected)
    }

    @Test func missingServiceIsNoSuchService() throws {
        #expect(throws: AdminError("No such service", detail: "service TCP 198.18.0.10:81 does not exist",
                                   exitCode: 1, subject: .service)) {
            try Self.render(["-L", "-n", "-t", "198.18.0.10:81"])
        }
    }

    /// --nosort: services in configuration order, real servers newest first (IPVS's list).
    @Test func noSort() throws {
        let output = try Self.render(["-Ln", "--nosort"]).split(separator: "\n").map(String.init)
        #expect(output[3] == "TCP  198.18.0.10:80 rr")
        #expect(output[4] == "  -> 198.18.1.11:8080             Masq    2      5          1         ")
        #expect(output[5] == "  -> 198.18.1.12:8080             Masq    1      3          10        ")
        #expect(output[6] == "TCP  [2001:db8::10]:443 sh (sh-port) persistent 600 mask 64")
        #expect(output[8] == "UDP  198.18.0.10:53 wlc persistent 360 mask 255.255.255.0")
        #expect(output[10] == "TCP  198.18.0.9:443 wlc")
    }

    @Test func timeouts() throws {
        #expect(try Self.render(["-L", "--timeout"]) == "Timeout (tcp tcpfin udp): 900 120 300\n")
        var snapshot = AdminFixtures.snapshot
        snapshot.timeouts = AdminSnapshot.Timeouts(tcp: 7200, tcpFin: 5, udp: 60)
        let request = ListingRequest(subject: .timeouts)
        #expect(try AdminListing.render(request, snapshot) == "Timeout (tcp tcpfin udp): 7200 5 60\n")
    }

    @Test func daemonListsNothingFromASnapshot() throws {
        #expect(try Self.render(["-L", "--daemon"]) == "")
    }

    @Test func localAddresses() throws {
        var snapshot = AdminFixtures.snapshot
        snapshot.services[0].localAddresses = [AdminSnapshot.LocalAddress(address: ip("198.18.2.1"), connections: 3),
                                               AdminSnapshot.LocalAddress(address: ip("198.18.2.2"))]
        #expect(try AdminListing.localAddresses(snapshot, service: tcp("198.18.0.10", 80)) == Self.text(Golden.laddr))
        let all = try AdminListing.localAddresses(snapshot, service: nil).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(all[0] == "VIP:VPORT            TOTAL    SNAT_IP              CONFLICTS  CONNS     ")
        #expect(all[1] == "198.18.0.9:443       0        ")
        #expect(all[2] == "198.18.0.10:80       2        ")
        #expect(all.contains("[2001:db8::10]:443   1        "))
        #expect(all.contains("                              2001:db8::100        0          0         "))
    }

    /// IPv4 service names are cut at 33 characters and real-server names at 28
    /// (`svc_name[33] = '\0'`, `dname[28] = '\0'`); IPv6 ones are not.
    @Test func longNamesAreCutLikeIpvsadm() {
        let service = AdminSnapshot.Service(key: tcp("198.18.0.10", 80))
        let name = AdminListing.serviceName(service, ListingFormat(numeric: true))
        #expect(name == "TCP  198.18.0.10:80")
        let server = AdminSnapshot.RealServer(address: ip("255.255.255.255"), port: 65535, method: .nat)
        let line = AdminListing.serverEntry(server, of: service, ListingFormat(numeric: true))
        #expect(line == "  -> 255.255.255.255:65535        Masq    1      0          0         \n")
    }

    @Test func schedulerFlagsInTheListing() {
        var service = AdminSnapshot.Service(key: tcp("198.18.0.10", 80), scheduler: "mh", flags: [.fallback, .port])
        #expect(AdminListing.serviceEntry(service, ListingFormat(numeric: true)) == "TCP  198.18.0.10:80 mh (mh-fallback,mh-port)\n")
        service.scheduler = "rr"
        service.flags = [.flag3]
        #expect(AdminListing.serviceEntry(service, ListingFormat(numeric: true)) == "TCP  198.18.0.10:80 rr (flag-3)\n")
        // sh prints only its own two names, so flag-3 alone gives ipvsadm's empty parentheses.
        service.scheduler = "sh"
        #expect(AdminListing.serviceEntry(service, ListingFormat(numeric: true)) == "TCP  198.18.0.10:80 sh ()\n")
    }
}

/// Literal outputs of ipvsadm 1.31's formats for `AdminFixtures.snapshot`.
enum Golden {
    static let list = [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port Scheduler Flags",
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
        "TCP  198.18.0.9:443 wlc",
        "  -> 198.18.1.21:443              Tunnel  0      0          0         ",
        "TCP  198.18.0.10:80 rr",
        "  -> 198.18.1.11:8080             Masq    2      5          1         ",
        "  -> 198.18.1.12:8080             Masq    1      3          10        ",
        "UDP  198.18.0.10:53 wlc persistent 360 mask 255.255.255.0",
        "  -> 198.18.1.11:53               Route   1      0          0         ",
        "TCP  [2001:db8::10]:443 sh (sh-port) persistent 600 mask 64",
        "  -> [2001:db8:1::11]:443         FullNat 5      0          0         ",
    ]
    static let stats = [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes",
        "  -> RemoteAddress:Port",
        "TCP  198.18.0.9:443                      0        0        0        0        0",
        "  -> 198.18.1.21:443                     0        0        0        0        0",
        "TCP  198.18.0.10:80                   1234 98765432        0     123G        0",
        "  -> 198.18.1.11:8080                 1000 99999999        0  100000K        0",
        "  -> 198.18.1.12:8080                  234     999T        0    1000T        0",
        "UDP  198.18.0.10:53                      7        7        7      700      700",
        "  -> 198.18.1.11:53                      7        7        7      700      700",
        "TCP  [2001:db8::10]:443                  0        0        0        0        0",
        "  -> [2001:db8:1::11]:443                0        0        0        0        0",
    ]
    static let rate = [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS",
        "  -> RemoteAddress:Port",
        "TCP  198.18.0.9:443                      0        0        0        0        0",
        "  -> 198.18.1.21:443                     0        0        0        0        0",
        "TCP  198.18.0.10:80                     12      345        0  999999K        0",
        "  -> 198.18.1.11:8080                    1       12        0     1500        0",
        "  -> 198.18.1.12:8080             123456789      333        0     100G        0",
        "UDP  198.18.0.10:53                      0        0        0        0        0",
        "  -> 198.18.1.11:53                      0        0        0        0        0",
        "TCP  [2001:db8::10]:443                  0        0        0        0        0",
        "  -> [2001:db8:1::11]:443                0        0        0        0        0",
    ]
    static let thresholds = [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ",
        "  -> RemoteAddress:Port",
        "TCP  198.18.0.9:443 wlc",
        "  -> 198.18.1.21:443              0          0          0          0         ",
        "TCP  198.18.0.10:80 rr",
        "  -> 198.18.1.11:8080             100        80         5          1         ",
        "  -> 198.18.1.12:8080             0          0          3          10        ",
        "UDP  198.18.0.10:53 wlc persistent 360 mask 255.255.255.0",
        "  -> 198.18.1.11:53               0          0          0          0         ",
        "TCP  [2001:db8::10]:443 sh (sh-port) persistent 600 mask 64",
        "  -> [2001:db8:1::11]:443         0          0          0          0         ",
    ]
    static let pconn = [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn ",
        "  -> RemoteAddress:Port",
        "TCP  198.18.0.9:443 wlc",
        "  -> 198.18.1.21:443              0         0           0          0         ",
        "TCP  198.18.0.10:80 rr",
        "  -> 198.18.1.11:8080             2         0           5          1         ",
        "  -> 198.18.1.12:8080             1         0           3          10        ",
        "UDP  198.18.0.10:53 wlc persistent 360 mask 255.255.255.0",
        "  -> 198.18.1.11:53               1         2           0          0         ",
        "TCP  [2001:db8::10]:443 sh (sh-port) persistent 600 mask 64",
        "  -> [2001:db8:1::11]:443         5         0           0          0         ",
    ]
    static let tuninfo = [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port Scheduler Flags",
        "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn",
        "TCP  198.18.0.9:443 wlc",
        "  -> 198.18.1.21:443              Tunnel  ipip          0      0          0         ",
        "TCP  198.18.0.10:80 rr",
        "  -> 198.18.1.11:8080             Masq    n/a           2      5          1         ",
        "  -> 198.18.1.12:8080             Masq    n/a           1      3          10        ",
        "UDP  198.18.0.10:53 wlc persistent 360 mask 255.255.255.0",
        "  -> 198.18.1.11:53               Route   n/a           1      0          0         ",
        "TCP  [2001:db8::10]:443 sh (sh-port) persistent 600 mask 64",
        "  -> [2001:db8:1::11]:443         FullNat n/a           5      0          0         ",
    ]
    static let conn = [
        "IPVS connection entries",
        "pro expire state       source             virtual            destination",
        "TCP 14:59  ESTABLISHED 198.18.0.1:40001   198.18.0.10:80     198.18.1.11:8080",
        "TCP 01:58  SYN_RECV    198.18.0.1:40002   198.18.0.10:80     198.18.1.12:8080",
        "UDP 04:05  UDP         198.18.0.2:5353    198.18.0.10:53     198.18.1.11:53",
        "UDP 100:00 NONE        198.18.0.0:0       198.18.0.10:53     198.18.1.11:53",
        "TCP 00:00  TIME_WAIT   [2001:db8:ff::1]:51000 [2001:db8::10]:443 [2001:db8:1::11]:443",
    ]
    static let pconnhdr = [
        "IPVS connection entries",
        "pro expire state       source             virtual            destination        pe name          pe_data",
    ]
    static let laddr = [
        "VIP:VPORT            TOTAL    SNAT_IP              CONFLICTS  CONNS     ",
        "198.18.0.10:80       2        ",
        "                              198.18.2.1           0          3         ",
        "                              198.18.2.2           0          0         ",
    ]
    static let statsExact = [
        "IP Virtual Server version 1.2.1 (size=4096)",
        "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes",
        "  -> RemoteAddress:Port",
        "TCP  198.18.0.9:443                      0        0        0        0        0",
        "  -> 198.18.1.21:443                     0        0        0        0        0",
        "TCP  198.18.0.10:80                   1234 98765432        0 123456789012        0",
        "  -> 198.18.1.11:8080                 1000 99999999        0 100000000        0",
        "  -> 198.18.1.12:8080                  234 999999999999999        0 1000000000000000        0",
        "UDP  198.18.0.10:53                      7        7        7      700      700",
        "  -> 198.18.1.11:53                      7        7        7      700      700",
        "TCP  [2001:db8::10]:443                  0        0        0        0        0",
        "  -> [2001:db8:1::11]:443                0        0        0        0        0",
    ]
}
