import Control
import Core
import Testing
import Wire

/// DPVS's `--proxy-protocol v1|v2|disable` and lvsadm's `--toa enable|disable` (Docs/adr/0008)
/// in both ipvsadm front ends, the listing, `-S`, the rules writer and the editor's refusal of
/// DR and TUN servers; `proxy_protocol` and `toa` in a keepalived.conf `virtual_server`.
@Suite struct ProxyProtocolOptionTests {
    @Test func lvsadmReadsTheVersionsAndDisableAndRefusesTheRest() throws {
        let v2 = try LvsadmCommandLine.parse(["-A", "-t", "198.18.0.10:80", "-s", "rr", "--proxy-protocol", "v2", "--toa", "enable"])
        guard case .change(.addService(let settings)) = v2.action else { Issue.record("\(v2.action)"); return }
        #expect(settings.proxyProtocol == 2)
        #expect(settings.toa == true)
        let off = try LvsadmCommandLine.parse(["-E", "-t", "198.18.0.10:80", "--proxy-protocol", "DISABLE"])
        guard case .change(.editService(let edited)) = off.action else { Issue.record("\(off.action)"); return }
        #expect(edited.proxyProtocol == 0)
        #expect(edited.toa == nil)
        let untouched = try LvsadmCommandLine.parse(["-E", "-t", "198.18.0.10:80", "-s", "wlc"])
        guard case .change(.editService(let kept)) = untouched.action else { Issue.record("\(untouched.action)"); return }
        #expect(kept.proxyProtocol == nil)

        for argv in [["-A", "-t", "198.18.0.10:80", "--proxy-protocol", "v3"],
                     ["-A", "-t", "198.18.0.10:80", "--proxy-protocol", "v2-insecure"],
                     ["-A", "-u", "198.18.0.10:53", "--proxy-protocol", "v1"],
                     ["-A", "-u", "198.18.0.10:53", "--toa", "enable"],
                     ["-A", "-t", "198.18.0.10:80", "--toa", "on"],
                     // Only -A and -E take them.
                     ["-a", "-t", "198.18.0.10:80", "-r", "198.18.1.1:80", "-b", "--proxy-protocol", "v1"]] {
            #expect(throws: (any Error).self, "\(argv)") { try LvsadmCommandLine.parse(argv) }
        }
    }

    @Test func rulesFileRoundTripsAndListingAndSaveShowIt() throws {
        var config = try RulesFile.parse("""
            -A -t 198.18.0.10:80 -s rr --proxy-protocol v1 --toa enable
            -a -t 198.18.0.10:80 -r 198.18.1.1:8080 -b -w 1
            -E -t 198.18.0.10:80 -s wlc
            -A -t [2001:db8::10]:80 -s rr --proxy-protocol v2
            """, file: "in.rules")
        #expect(config.services[0].proxyProtocol == .v1)
        #expect(config.services[0].toa)
        #expect(config.services[1].proxyProtocol == .v2)
        #expect(!config.services[1].toa)
        let saved = RulesWriter.save(config)
        #expect(saved.contains("-A -t 198.18.0.10:80 -s wlc --proxy-protocol v1 --toa enable\n"), "\(saved)")
        #expect(try RulesFile.parse(saved, file: "saved.rules") == config)

        let snapshot = AdminSnapshot(tableSize: 4096, services: config.services.map(AdminSnapshot.Service.init))
        let listing = try AdminListing.render(ListingRequest(format: ListingFormat(numeric: true)), snapshot)
        #expect(listing.contains("TCP  198.18.0.10:80 wlc ppv1 toa\n"), "\(listing)")
        #expect(listing.contains("TCP  [2001:db8::10]:80 rr ppv2\n"), "\(listing)")
        #expect(AdminListing.save(snapshot, numeric: true).hasPrefix("-A -t 198.18.0.10:80 -s wlc --proxy-protocol v1 --toa enable\n"))

        var off = ServiceSettings(key: config.services[0].key, scheduler: "wlc")
        off.proxyProtocol = 0
        off.toa = false
        config = try AdminEditor.apply(.editService(off), to: config)
        #expect(config.services[0].proxyProtocol == nil)
        #expect(!config.services[0].toa)
    }

    @Test func directRoutingAndTunnelServersAreRefused() throws {
        let config = try RulesFile.parse("-A -t 198.18.0.10:80 -s rr --proxy-protocol v2\n", file: "in.rules")
        let key = config.services[0].key
        for method in [ForwardingMethod.directRouting, .tunnel] {
            do {
                _ = try AdminEditor.apply(.addServer(key, RealServerSettings(address: IPAddress("198.18.1.1")!, port: 80, method: method)),
                                          to: config)
                Issue.record("a \(method) server was accepted")
            } catch {
                #expect(error.detail?.contains("--proxy-protocol needs NAT (-m) or FullNAT (-b) real servers") == true, "\(error)")
            }
        }
        // And the other way round: a DR service cannot be switched on.
        let dr = try RulesFile.parse("""
            -A -t 198.18.0.10:80 -s rr
            -a -t 198.18.0.10:80 -r 198.18.1.1 -g
            """, file: "in.rules")
        var on = ServiceSettings(key: key, scheduler: "rr")
        on.toa = true
        #expect(throws: AdminError.self) { try AdminEditor.apply(.editService(on), to: dr) }
    }

    @Test func rulesFileErrorsNameTheWord() {
        for (text, column, message) in [
            ("-A -t 198.18.0.10:80 --proxy-protocol v3", 39, "--proxy-protocol takes v1, v2 or disable, not 'v3'"),
            ("-A -t 198.18.0.10:80 --proxy-protocol v1-insecure", 39,
             "--proxy-protocol v1-insecure (keeping a client's own header) is not supported; use v1, v2 or disable"),
            ("-A -u 198.18.0.10:53 --proxy-protocol v2", 39, "--proxy-protocol is for TCP services: the header starts a TCP stream"),
            ("-A -t 198.18.0.10:80 --toa yes", 28, "--toa takes enable or disable, not 'yes'"),
        ] {
            do {
                _ = try RulesFile.parse(text, file: "in.rules")
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.line == 1 && error.column == column && error.message == message, "\(error)")
            }
        }
    }

    // MARK: keepalived.conf

    @Test func keepalivedSwitchesReachTheService() {
        let on = keepalived(virtualServer("""
                lb_kind FNAT
                proxy_protocol v2
                toa
                real_server 198.18.1.1 8080 {
                }
            """))
        #expect(onlyVirtualServer(on).proxyProtocol == .v2)
        #expect(on.director.services.map(\.proxyProtocol) == [.v2])
        #expect(on.director.services.map(\.toa) == [true])
        let off = keepalived(virtualServer("""
                lb_kind FNAT
                proxy_protocol disable
                real_server 198.18.1.1 8080 {
                }
            """))
        #expect(off.director.services.map(\.proxyProtocol) == [nil])
        #expect(off.director.services.map(\.toa) == [false])
    }

    @Test func keepalivedRefusesWithFileLineAndColumn() {
        #expect(keepalivedError(virtualServer("""
                lb_kind DR
                proxy_protocol v1
                real_server 198.18.1.1 80 {
                }
            """)) == kaError(4, 5, "proxy_protocol needs NAT or FNAT real servers: real server 198.18.1.1 uses DR, whose replies bypass the director, so the bytes it inserts could not be taken back out of the acknowledgments"))
        #expect(keepalivedError(virtualServer("""
                toa
                real_server 198.18.1.1 80 {
                    lvs_method TUN
                }
            """)) == kaError(3, 5, "toa needs NAT or FNAT real servers: real server 198.18.1.1 uses TUN, whose replies bypass the director, so the bytes it inserts could not be taken back out of the acknowledgments"))
        #expect(keepalivedError("""
            virtual_server 198.18.0.10 53 {
                protocol UDP
                proxy_protocol v2
                real_server 198.18.1.1 53 {
                }
            }
            """) == kaError(3, 5, "proxy_protocol writes the client's address into a TCP stream; this virtual server is UDP"))
        #expect(keepalivedError(virtualServer("""
                proxy_protocol v2-insecure
                real_server 198.18.1.1 80 {
                }
            """)) == kaError(3, 20, "proxy_protocol v2-insecure (keeping a client's own header) is not supported; give v1, v2 or disable"))
        #expect(keepalivedError(virtualServer("""
                proxy_protocol v3
                real_server 198.18.1.1 80 {
                }
            """)) == kaError(3, 20, "unknown proxy_protocol 'v3'; give v1, v2 or disable"))
    }
}
