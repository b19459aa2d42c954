import Control
import Core
import Testing
import Wire

/// DPVS's `-j enable|disable` (the SYN proxy, Docs/adr/0007) in both ipvsadm front ends:
/// lvsadm's argv and rules-file lines, the listing, `-S` and the rules writer.
@Suite struct SynProxyOptionTests {
    @Test func lvsadmReadsEnableAndDisableAndRefusesTheRest() throws {
        let on = try LvsadmCommandLine.parse(["-A", "-t", "198.18.0.10:80", "-s", "rr", "-j", "enable"])
        guard case .change(.addService(let settings)) = on.action else { Issue.record("\(on.action)"); return }
        #expect(settings.synProxy == true)
        let off = try LvsadmCommandLine.parse(["-E", "-t", "198.18.0.10:80", "--synproxy", "disable"])
        guard case .change(.editService(let edited)) = off.action else { Issue.record("\(off.action)"); return }
        #expect(edited.synProxy == false)
        let untouched = try LvsadmCommandLine.parse(["-E", "-t", "198.18.0.10:80", "-s", "wlc"])
        guard case .change(.editService(let kept)) = untouched.action else { Issue.record("\(untouched.action)"); return }
        #expect(kept.synProxy == nil)
        #expect(throws: (any Error).self) { try LvsadmCommandLine.parse(["-A", "-t", "198.18.0.10:80", "-j", "yes"]) }
        #expect(throws: (any Error).self) { try LvsadmCommandLine.parse(["-A", "-u", "198.18.0.10:53", "-j", "enable"]) }
        // Only -A and -E take it, as in DPVS's commands_v_options.
        #expect(throws: (any Error).self) {
            try LvsadmCommandLine.parse(["-a", "-t", "198.18.0.10:80", "-r", "198.18.1.1:80", "-m", "-j", "enable"])
        }
    }

    @Test func editKeepsTheProxyUnlessToldAndListingAndSaveShowIt() throws {
        var config = try RulesFile.parse("""
            -A -t 198.18.0.10:80 -s rr -j enable
            -a -t 198.18.0.10:80 -r 198.18.1.1:8080 -m -w 1
            -E -t 198.18.0.10:80 -s wlc
            """, file: "in.rules")
        #expect(config.services[0].synProxy)
        #expect(config.services[0].scheduler == .weightedLeastConnection)
        let saved = RulesWriter.save(config)
        #expect(saved.contains("-A -t 198.18.0.10:80 -s wlc -j enable\n"), "\(saved)")
        #expect(try RulesFile.parse(saved, file: "saved.rules") == config)

        let snapshot = AdminSnapshot(tableSize: 4096, services: config.services.map(AdminSnapshot.Service.init))
        let listing = try AdminListing.render(ListingRequest(format: ListingFormat(numeric: true)), snapshot)
        #expect(listing.contains("TCP  198.18.0.10:80 wlc synproxy\n"), "\(listing)")
        #expect(AdminListing.save(snapshot, numeric: true).hasPrefix("-A -t 198.18.0.10:80 -s wlc -j enable\n"))

        config = try AdminEditor.apply(.editService(ServiceSettings(key: config.services[0].key, scheduler: "wlc", synProxy: false)), to: config)
        #expect(!config.services[0].synProxy)
    }

    @Test func rulesFileErrorsNameTheWord() {
        for (text, column, message) in [
            ("-A -t 198.18.0.10:80 -j on", 25, "-j takes enable or disable, not 'on'"),
            ("-A -u 198.18.0.10:53 -j enable", 25, "-j enable is for TCP services: the SYN proxy answers TCP handshakes"),
        ] {
            do {
                _ = try RulesFile.parse(text, file: "in.rules")
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.line == 1 && error.column == column && error.message == message, "\(error)")
            }
        }
    }
}
