@testable import Control
import Core
import Testing
import Wire

/// Firewall-mark and port-0 services, the `fwmark` classifier lines, `-o`, and the
/// `tunable` / `timeout` lines: rules file, lvsadm, keepalived.conf, listing and save.
@Suite struct FirewallMarkConfigTests {
    @Test func rulesFileReadsMarkServicesAndTheirClassifier() {
        let config = parse(
            "fwmark 1 tcp 198.18.0.100 80,443",
            "fwmark 1 udp 198.18.0.100 https",
            "fwmark 2 tcp 198.18.0.0/24 1000-2000,3000",
            "fwmark 3 tcp 2001:db8::/64",
            "-A -f 1 -s rr -p 300",
            "-a -f 1 -r 198.18.1.1:80 -g",
            "-a -f 1 -r 198.18.1.2 -m",
            "-A -f 3 -6 -p 60 -M 64",
            "-a -f 3 -6 -r [2001:db8:1::1]:443 -m")
        #expect(config.firewallMarks == [
            FirewallMarkRule(mark: 1, proto: .tcp, address: ip("198.18.0.100"), ports: [80...80, 443...443]),
            FirewallMarkRule(mark: 1, proto: .udp, address: ip("198.18.0.100"), ports: [443...443]),
            FirewallMarkRule(mark: 2, proto: .tcp, address: ip("198.18.0.0"), prefixLength: 24, ports: [1000...2000, 3000...3000]),
            FirewallMarkRule(mark: 3, proto: .tcp, address: ip("2001:db8::"), prefixLength: 64),
        ])
        #expect(config.services.map(\.key) == [ServiceKey(fwmark: 1), ServiceKey(fwmark: 3, ipv6: true)])
        #expect(config.services[0].persistence == Persistence(timeout: 300, prefixLength: 32))
        #expect(config.services[1].persistence == Persistence(timeout: 60, prefixLength: 64))
        // A mark service's DR server keeps its port, as ipvsadm leaves it (the traffic keeps its own).
        #expect(config.services[0].realServers.map(\.port) == [80, 0])
        #expect(config.ownedAddresses == [ip("198.18.0.100")])
    }

    @Test func markServicesAreEditedAndDeletedByMark() {
        let config = parse(
            "-A -f 1 -s rr",
            "-A -f 1 -6 -s rr",
            "-E -f 1 -s wlc -p 60",
            "-a -f 1 -r 198.18.1.1:80 -m",
            "-e -f 1 -r 198.18.1.1:80 -m -w 3",
            "-D -f 1 -6")
        let service = onlyService(config)
        #expect(service.key == ServiceKey(fwmark: 1))
        #expect(service.scheduler == .weightedLeastConnection && service.persistence?.timeout == 60)
        #expect(service.realServers.map(\.weight) == [3])
        #expect(parseError(["-A -f 1", "-A -f 1"])?.message == "service FWM 1 already exists")
        #expect(parseError(["-a -f 2 -r 198.18.1.1 -m"])?.message == "service FWM 2 does not exist")
    }

    @Test func portZeroServiceNeedsPersistence() {
        #expect(onlyService(parse("-A -t 198.18.0.10:0 -p 300")).key == tcp("198.18.0.10", 0))
        #expect(parseError(["-A -t 198.18.0.10:0"])?.message.contains("port 0") == true)
        // A firewall-mark service has port 0 and needs no persistence.
        #expect(onlyService(parse("-A -f 5")).persistence == nil)
    }

    @Test func onePacketAndTunableLines() {
        let config = parse(
            "-A -u 198.18.0.53:53 -s rr -o",
            "tunable sloppy_tcp 1",
            "tunable expire_nodest_conn 0",
            "tunable expire_quiescent_template 1",
            "tunable conn_reuse_mode 2",
            "timeout syn_recv 10",
            "timeout TIME_WAIT 30")
        #expect(onlyService(config).onePacket)
        #expect(config.tunables == IPVSTunables(expireNodestConn: false, expireQuiescentTemplate: true, connReuseMode: 2, sloppyTCP: true))
        #expect(config.timeouts[.synRecv] == 10 && config.timeouts[.timeWait] == 30)
        #expect(config.timeouts[.established] == TimeoutTable.ipvsDefaults[.established])
    }

    @Test func rulesWriterRoundTripsMarksTunablesAndOnePacket() throws {
        let text = """
            fwmark 1 tcp 198.18.0.100 80,443
            fwmark 2 udp 2001:db8::/48 5000-5100
            tunable sloppy_tcp 1
            timeout close 5
            -A -f 1 -s rr -p 300
            -a -f 1 -r 198.18.1.1:80 -m -w 1
            -A -f 2 -6 -s sh
            -a -f 2 -6 -r [2001:db8:1::1]:0 -m -w 2
            -A -u 198.18.0.53:53 -s rr -o
            -A -t 198.18.0.10:0 -s wlc -p 300
            """
        let config = try RulesFile.parse(text, file: "in.rules")
        let saved = RulesWriter.save(config)
        #expect(try RulesFile.parse(saved, file: "saved.rules") == config)
        #expect(saved.contains("-A -f 1 -s rr -p 300\n"))
        #expect(saved.contains("-A -f 2 -6 -s sh\n"))
        #expect(saved.contains("-A -u 198.18.0.53:53 -s rr -o\n"))
        #expect(saved.contains("fwmark 2 udp 2001:db8::/48 5000-5100\n"))
        #expect(saved.contains("tunable sloppy_tcp 1\n") && saved.contains("timeout close 5\n"))
    }

    @Test(arguments: [
        (["fwmark 1 sctp 198.18.0.10 80"], 1, 10, "'sctp' is not a protocol lvsd balances; give tcp or udp"),
        (["fwmark 0 tcp 198.18.0.10 80"], 1, 8, "invalid firewall mark '0'; give a number from 1 to 2147483647"),
        (["fwmark 1 tcp 198.18.0.10 2000-1000"], 1, 26, "port range 2000-1000 runs backwards; write the lower port first"),
        (["fwmark 1 tcp 198.18.0.10 80,,443"], 1, 29, "an empty port in the list; write ports as 80,443,8000-8100"),
        (["fwmark 1 tcp 198.18.0.10 80,70000"], 1, 29, "port 70000 is out of range; give 0 to 65535"),
        (["fwmark 1 tcp 198.18.0.0/33 80"], 1, 25, "invalid prefix length '33'; give a number from 0 to 32"),
        (["fwmark 1 tcp"], 1, 10, "'fwmark' needs a mark, a protocol and an address; \(FirewallMarkLine.usage)"),
        (["tunable sloppy_tcp 2"], 1, 20, "invalid sloppy_tcp '2'; give a number from 0 to 1"),
        (["tunable sloppy_sctp 1"], 1, 9, "unknown tunable 'sloppy_sctp'; known: expire_nodest_conn, expire_quiescent_template, conn_reuse_mode, sloppy_tcp, ftp_ports"),
        (["timeout syn_recv 0"], 1, 18, "invalid timeout in seconds '0'; give a number from 1 to 2678400"),
    ] as [([String], Int, Int, String)])
    func badLinesAreLocated(lines: [String], line: Int, column: Int, message: String) {
        let error = parseError(lines)
        #expect(error?.line == line)
        #expect(error?.column == column)
        #expect(error?.message == message)
    }

    @Test func lvsadmReadsMarksIPv6AndOnePacket() throws {
        let add = try LvsadmCommandLine.parse(["-A", "-f", "7", "-6", "-s", "rr", "-p", "60"])
        guard case .change(.addService(let settings)) = add.action else { Issue.record("\(add.action)"); return }
        #expect(settings.key == ServiceKey(fwmark: 7, ipv6: true))
        #expect(settings.persistence == 60)
        let ops = try LvsadmCommandLine.parse(["-A", "-u", "198.18.0.53:53", "-o"])
        guard case .change(.addService(let udp)) = ops.action else { Issue.record("\(ops.action)"); return }
        #expect(udp.onePacket)
        let server = try LvsadmCommandLine.parse(["-a", "-f", "7", "-r", "198.18.1.1:8080", "-g"])
        guard case .change(.addServer(let key, let rs)) = server.action else { Issue.record("\(server.action)"); return }
        #expect(key == ServiceKey(fwmark: 7) && rs.port == 8080)
    }

    @Test func listingAndSavePrintMarkRowsAsIpvsadm() throws {
        let config = parse(
            "fwmark 1 tcp 198.18.0.100 80,443",
            "-A -t 198.18.0.10:80 -s rr",
            "-A -f 2 -6 -s wlc",
            "-A -f 1 -s rr -p 300",
            "-a -f 1 -r 198.18.1.1:80 -m -w 1",
            "-A -u 198.18.0.53:53 -s rr -o")
        let snapshot = AdminSnapshot(tableSize: 4096, services: config.services.map(AdminSnapshot.Service.init))
        let listing = try AdminListing.render(ListingRequest(format: ListingFormat(numeric: true)), snapshot)
        let rows = listing.split(separator: "\n").dropFirst(3).map(String.init)
        #expect(rows == [
            "TCP  198.18.0.10:80 rr",
            "UDP  198.18.0.53:53 rr ops",
            "FWM  1 rr persistent 300",
            "  -> 198.18.1.1:80                Masq    1      0          0         ",
            "FWM  2 IPv6 wlc",
        ])
        let saved = AdminListing.save(snapshot, numeric: true)
        #expect(saved == """
            -A -t 198.18.0.10:80 -s rr
            -A -u 198.18.0.53:53 -s rr -o
            -A -f 1 -s rr -p 300
            -a -f 1 -r 198.18.1.1:80 -m -w 1
            -A -f 2 -6 -s wlc

            """)
    }

    // MARK: keepalived.conf

    /// keepalived's doc/samples/keepalived.conf.fwmark and keepalived.conf.virtual_server_group
    /// in their shape (blocks and keywords), on this project's test addresses, with the
    /// `lvsd_director` lines that say which traffic carries each mark.
    static let samples = """
        global_defs {
          router_id io
        }
        lvsd_director {
          fwmark 1 tcp 198.18.0.100 80,443
          fwmark 2 tcp 198.18.0.101 8080
          tunable sloppy_tcp 1
        }
        virtual_server fwmark 1 {
          delay_loop 6
          lb_algo rr
          lb_kind NAT
          persistence_timeout 900
          protocol TCP
          real_server 198.18.1.100 {
            weight 1
            TCP_CHECK {
              connect_port    80
              connect_timeout 3
            }
          }
          real_server 198.18.1.101 {
            weight 1
            TCP_CHECK {
              connect_port    80
              connect_timeout 3
            }
          }
        }
        virtual_server_group VSG_1 {
          198.18.0.1 8080
          198.18.0.2 80
          198.18.0.3-5 80
          fwmark 2
          fwmark 3
        }
        virtual_server group VSG_1 {
          delay_loop 6
          lb_algo rr
          lb_kind NAT
          persistence_timeout 50
          protocol TCP
          real_server 198.18.1.1 1358 {
            weight 1
          }
          real_server 198.18.1.2 1358 {
            weight 1
          }
        }
        """

    @Test func keepalivedSamplesWithClassifierLinesMakeMarkServices() {
        let config = keepalived(Self.samples)
        let keys = config.director.services.map(\.key)
        #expect(keys == [ServiceKey(fwmark: 1), tcp("198.18.0.1", 8080), tcp("198.18.0.2", 80), tcp("198.18.0.3", 80),
                         tcp("198.18.0.4", 80), tcp("198.18.0.5", 80), ServiceKey(fwmark: 2), ServiceKey(fwmark: 3)])
        #expect(config.virtualServers.map(\.address) == [.fwmark(1), .group("VSG_1")])
        #expect(config.director.services[0].persistence?.timeout == 900)
        // Real servers written without a port keep none: the traffic keeps its own.
        #expect(config.director.services[0].realServers.map(\.port) == [0, 0])
        #expect(config.director.services[6].realServers.map(\.port) == [1358, 1358])
        #expect(config.director.firewallMarks.map(\.mark) == [1, 2])
        #expect(config.director.tunables.sloppyTCP)
        #expect(config.director.ownedAddresses.contains(ip("198.18.0.100")))
        // `lvsd check` prints the configuration as a rules file, which reads back the same.
        #expect((try? RulesFile.parse(RulesWriter.save(config.director), file: "check.rules")) == config.director)
    }

    @Test func keepalivedMarkServiceTakesItsFamilyFromIPFamilyAndAcceptsOps() {
        let config = keepalived("""
            virtual_server fwmark 4 {
              ip_family inet6
              protocol UDP
              ops
              real_server 2001:db8:1::1 53 {
              }
            }
            """)
        #expect(config.director.services.map(\.key) == [ServiceKey(fwmark: 4, ipv6: true)])
        #expect(config.director.services[0].onePacket)
        #expect(keepalivedError("lvsd_director {\n    tunable sloppy_tcp 1 {\n    }\n}") ==
            kaError(2, 5, "'tunable' takes no { } block; write 'tunable NAME VALUE'"))
        #expect(keepalivedError("lvsd_director {\n    fwmark 1 sctp 198.18.0.10\n}") ==
            kaError(2, 14, "'sctp' is not a protocol lvsd balances; give tcp or udp"))
    }
}
