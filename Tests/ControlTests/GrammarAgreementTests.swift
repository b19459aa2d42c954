@testable import Control
import Core
import Testing

/// The one ipvsadm grammar read through both front ends: a rules file (`lvsd --config`,
/// located words) and `lvsadm -R` (argv lines, then lvsd's editor applying the batch)
/// accept the same texts and build the same table, except where an `IPVSStrictness`
/// field says otherwise; each such field has its own case below.
@Suite struct GrammarAgreementTests {
    /// What `lvsadm -R` makes of `text`: its commands applied, all or nothing, to an empty
    /// table as lvsd applies them; nil when lvsadm or lvsd refuses.
    static func restored(_ text: String) -> DirectorConfig? {
        guard let commands = try? AdminRestore.commands(text) else { return nil }
        return try? AdminEditor.apply(commands, to: DirectorConfig())
    }

    static func rules(_ text: String, _ strictness: IPVSStrictness = .rulesFile) -> Result<DirectorConfig, ConfigError> {
        do {
            return .success(try RulesFile.parse(text, file: rulesFile, strictness: strictness))
        } catch {
            return .failure(error)
        }
    }

    static let service = "-A -t 198.18.0.10:80"
    static let server = "-a -t 198.18.0.10:80 -r 198.18.1.1"

    /// Texts no strictness field touches: accepted ones, then refused ones.
    static let accepted: [String] = [
        "-A -t 198.18.0.10:80 -s rr",
        "-A -t 198.18.0.10:80 -s rr -p 600 -M 255.255.255.0",
        "-A -M 255.255.0.0 -p 60 -t 198.18.0.10:80",
        "\(service)\n-a -t 198.18.0.10:80 -r 198.18.1.1:8080 -m -w 5 -x 100 -y 50",
        "--add-service --tcp-service=198.18.0.10:80 --scheduler=wrr\n--add-server --tcp-service 198.18.0.10:80 --real-server 198.18.1.1 --ipip --tun-type ipip",
        "-A -u [2001:db8::10]:53 -s sh -b sh-port\n-a -u [2001:db8::10]:53 -r [2001:db8::1]:53 -b",
        "-A -t [2001:db8::10]:443 -s mh -b mh-fallback -p 60 -M 64",
        "-A -t [2001:db8::10]:https\n-a -t [2001:db8::10]:443 -r 198.18.1.1 -i",
        "\(service)\n\(server) -i --tun-type gue --tun-port 6080 --tun-csum",
        "\(service)\n\(server) -i --tun-type gue --tun-port 6080 --tun-remcsum",
        "\(service)\n\(server) -i --tun-type gre --tun-nocsum\n-e -t 198.18.0.10:80 -r 198.18.1.1 -i --tun-type gre --tun-csum",
        "-A -t [2001:db8::10]:80\n-a -t [2001:db8::10]:80 -r 198.18.1.1 -i --tun-type gue --tun-port 6080",
        "--set 900 120 300",
        "\(service)\n--add-laddr -t 198.18.0.10:80 -z 198.18.2.1 -F eth1\n--del-laddr -t 198.18.0.10:80 -z 198.18.2.1",
        "\(service)\n-P -t 198.18.0.10:80 -z 198.18.2.1\n-Q -t 198.18.0.10:80 -z 198.18.2.1",
        "\(service)\n-E -t 198.18.0.10:80 -s lc\n-D -t 198.18.0.10:80\n-C",
        "\(service)\n\(server)\n-e -t 198.18.0.10:80 -r 198.18.1.1 -w 0\n-d -t 198.18.0.10:80 -r 198.18.1.1",
        "ipvsadm -A -t 198.18.0.10:80 # a comment\n\n# only a comment",
        "lvsadm -A -t 198.18.0.10:80",
        "-A -t 198.18.0.10:80 --sort",
        "-A -t 198.18.0.10 -p",
        "-A -t 198.18.0.10:80 -o",
        "-A -f 1",
        "-A -f 1 -6 -p 60 -M 64\n-a -f 1 -6 -r [2001:db8::1]:80 -m",
    ]

    static let refused: [String] = [
        "frobnicate",
        "-A",
        "-L",
        "-S",
        "-h",
        "-t 198.18.0.10:80",
        "-A -a -t 198.18.0.10:80",
        "-A -t 198.18.0.10:80 -s xyz",
        "-A -t 198.18.0.10:80 -s",
        "-A -t 198.18.0.10:80 -s -p",
        "-A -t 198.18.0.10:80 -s rr -s wrr",
        "-A -t 198.18.0.10:80 -u 198.18.0.10:80",
        "-A -t 198.18.0.10:80 -w 5",
        "-A -t 198.18.0.10:80 -n",
        "-A -t 198.18.0.10:80 --foo",
        "-A -t 198.18.0.10:80 -6",
        "-A -t 198.18.0.10:80 extra",
        "-A -t 198.18.0.10:80 -p abc",
        "-A -t 198.18.0.10:80 -p 0",
        "-A -t 198.18.0.10:80 --persistent=abc",
        "-A -t 198.18.0.10:80 -b sh-port",
        "-A -t 198.18.0.10:80 -s sh -b bogus",
        "-A -t 198.18.0.10:80 -p -M 255.0.255.0",
        "-A -t 198.18.0.300:80",
        "-A -t www.example.com:80",
        "-A -t 80",
        "-A -t 198.18.0.10:70000",
        "-A -t 198.18.0.10",
        "\(service)\n\(service)",
        "-E -t 198.18.0.10:80",
        server,
        "\(service)\n\(server) -g -m",
        "\(service)\n\(server) -p",
        "\(service)\n\(server) -w 70000",
        "\(service)\n\(server) -x 5 -y 10",
        "\(service)\n\(server) -m --tun-type ipip",
        "\(service)\n\(server) -i --tun-type gue",
        "\(service)\n\(server) -i --tun-type gre --tun-nocsum --tun-csum",
        "\(service)\n\(server) -i --tun-type gre --tun-remcsum",
        "\(service)\n\(server) -i --tun-type gue --tun-port 6080 --tun-csum --tun-remcsum",
        "\(service)\n\(server) -g --tun-nocsum",
        "\(service)\n-a -t 198.18.0.10:80 -r 2001:db8::1 -m",
        "\(service)\n-d -t 198.18.0.10:80 -r 198.18.1.1 -b",
        "--set 900 120",
        "--set 1 2 3 4",
        "--set 2678401 0 0",
        "\(service)\n--add-laddr -t 198.18.0.10:80",
        "\(service)\n--add-laddr -t 198.18.0.10:80 -z bogus",
    ]

    static var common: [String] { accepted + refused }

    @Test(arguments: common)
    func rulesFileAndRestoreAgree(_ text: String) {
        let rules = try? Self.rules(text).get()
        #expect(rules == Self.restored(text))
        #expect((rules != nil) == Self.accepted.contains(text))
    }

    @Test(arguments: common + differences.map(\.text))
    func sameStrictnessSameOutcome(_ text: String) {
        let rules = try? Self.rules(text, .restore).get()
        #expect(rules == Self.restored(text))
    }

    /// One strictness field where a rules file and lvsadm differ: the rules file's outcome,
    /// and the outcome with the field set as ipvsadm has it (nil: accepted).
    struct Difference: Sendable, CustomTestStringConvertible {
        var field: String
        var text: String
        var asIpvsadm: @Sendable (inout IPVSStrictness) -> Void
        var strict: String?
        var popt: String?
        var testDescription: String { field }
    }

    static let differences: [Difference] = [
        Difference(field: "shortOptionClusters", text: "-A -t 198.18.0.10:80 -s rr -p60",
                   asIpvsadm: { $0.shortOptionClusters = true },
                   strict: "unknown option '-p60'; write the value as its own word: '-p 60'", popt: nil),
        Difference(field: "valuesMayLookLikeOptions", text: "\(service)\n--add-laddr -t 198.18.0.10:80 -z 198.18.2.1 --ifname=",
                   asIpvsadm: { $0.valuesMayLookLikeOptions = true },
                   strict: "option '--ifname' needs an interface name after '='", popt: nil),
        Difference(field: "optionalValue", text: "-A -t 198.18.0.10:80 -p +60",
                   asIpvsadm: { $0.optionalValue = .unlessDash },
                   strict: "unexpected argument '+60'", popt: "invalid persistence timeout '+60'; give a number from 1 to 2678400"),
        Difference(field: "optionalValue and signedNumbers", text: "-A -t 198.18.0.10:80 -p +60",
                   asIpvsadm: { $0.optionalValue = .unlessDash; $0.signedNumbers = true },
                   strict: "unexpected argument '+60'", popt: nil),
        Difference(field: "endOfOptions", text: "-A -t 198.18.0.10:80 --",
                   asIpvsadm: { $0.endOfOptions = true },
                   strict: "unknown option '--'", popt: nil),
        Difference(field: "signedNumbers", text: "\(service)\n\(server) -w +5",
                   asIpvsadm: { $0.signedNumbers = true },
                   strict: "invalid weight '+5'; give a number from 0 to 65535", popt: nil),
        Difference(field: "emptyListItems", text: "-A -t 198.18.0.10:80 -s sh -b sh-port,",
                   asIpvsadm: { $0.emptyListItems = true },
                   strict: "an empty scheduler flag (known: sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3)", popt: nil),
        Difference(field: "bracketedAddressWithoutPort", text: "-A -t [2001:db8::10] -p",
                   asIpvsadm: { $0.bracketedAddressWithoutPort = false },
                   strict: nil, popt: "'[2001:db8::10]' needs its port: write it as [2001:db8::10]:80"),
        Difference(field: "portNamesOfEitherProtocol", text: "-A -u 198.18.0.10:http",
                   asIpvsadm: { $0.portNamesOfEitherProtocol = false },
                   strict: nil, popt: "'http' is not a UDP service name; give the port number"),
        Difference(field: "netmaskForTheLinesService", text: "-A -M 64 -p -t [2001:db8::10]:80",
                   asIpvsadm: { $0.netmaskForTheLinesService = false },
                   strict: nil, popt: "invalid netmask '64' for an IPv4 service; give a dotted mask such as 255.255.255.0"),
        Difference(field: "commands", text: "\(service)\n-Z -t 198.18.0.10:80",
                   asIpvsadm: { $0.commands.insert(.zero) },
                   strict: "'-Z' zeroes the counters and has no place in a rules file; a line starts with -A, -E, -D, -C, -a, -e, -d, --set, --add-laddr, --del-laddr, interface or neighbour",
                   popt: nil),
    ]

    static func message(_ result: Result<DirectorConfig, ConfigError>) -> String? {
        if case .failure(let error) = result { return error.message }
        return nil
    }

    @Test(arguments: differences)
    func eachStrictnessDifference(_ difference: Difference) {
        #expect(Self.message(Self.rules(difference.text)) == difference.strict)
        var strictness = IPVSStrictness.rulesFile
        difference.asIpvsadm(&strictness)
        #expect(Self.message(Self.rules(difference.text, strictness)) == difference.popt)
        // lvsadm -R reads every field as ipvsadm does; where this one field alone decides,
        // it agrees with the flipped rules file.
        if difference.field != "optionalValue" {
            #expect((Self.restored(difference.text) != nil) == (difference.popt == nil))
        }
    }

    /// The presets are what the docs say: lvsadm -R is lvsadm's argv with the table-changing
    /// commands only, and a rules file differs from it in exactly the fields above.
    @Test func presetsDifferOnlyInTheListedFields() {
        var restore = IPVSStrictness.commandLine
        restore.commands = IPVSCommand.tableChanging
        #expect(restore == .restore)
        var rules = IPVSStrictness.rulesFile
        for difference in Self.differences { difference.asIpvsadm(&rules) }
        #expect(rules == .restore)
    }

    /// argv and located words read popt's spellings into the same options.
    @Test func bothFrontEndsReadPoptSpellingsAlike() throws {
        let config = try RulesFile.parse("-A -t 198.18.0.10:80\n-at 198.18.0.10:80 -r198.18.1.1:8080 -mw5", file: rulesFile, strictness: .restore)
        #expect(config == Self.restored("-A -t 198.18.0.10:80\n-at 198.18.0.10:80 -r198.18.1.1:8080 -mw5"))
        #expect(config.services.isEmpty == false)
    }
}
