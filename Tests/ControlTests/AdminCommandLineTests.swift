@testable import Control
import Core
import Testing
import Wire

/// lvsadm's command line: every command and option, popt's spellings, ipvsadm's defaults,
/// and the mistakes ipvsadm refuses, in its words and with its exit codes.
@Suite struct AdminCommandLineTests {
    static let vip = "198.18.0.10:80"
    static let key = tcp("198.18.0.10", 80)

    static func action(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> LvsadmInvocation.Action? {
        do {
            return try LvsadmCommandLine.parse(arguments).action
        } catch {
            Issue.record("\(arguments): unexpected error \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    static func command(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> AdminCommand? {
        guard case .change(let command) = action(arguments, sourceLocation: sourceLocation) else {
            Issue.record("\(arguments) is not a change", sourceLocation: sourceLocation)
            return nil
        }
        return command
    }

    static func error(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> AdminError? {
        do {
            let invocation = try LvsadmCommandLine.parse(arguments)
            Issue.record("\(arguments) parsed as \(invocation)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Services

    @Test func addServiceDefaults() {
        #expect(Self.command(["-A", "-t", Self.vip]) == .addService(ServiceSettings(key: Self.key, scheduler: "wlc")))
    }

    @Test(arguments: [
        ["-A", "-t", vip, "-s", "rr", "-p", "600", "-M", "255.255.255.0"],
        ["--add-service", "--tcp-service", vip, "--scheduler", "rr", "--persistent", "600", "--netmask", "255.255.255.0"],
        ["--add-service", "--tcp-service=" + vip, "--scheduler=rr", "--persistent=600", "--netmask=255.255.255.0"],
        ["-At", vip, "-srr", "-p600", "-M255.255.255.0"],
        ["-A", "-t" + vip, "-M", "255.255.255.0", "-s", "rr", "-p", "600"],
        ["-A", "-t", "198.18.0.10:http", "-s", "rr", "-p", "600", "-M", "255.255.255.0"],
    ])
    func addServiceSpellings(arguments: [String]) {
        #expect(Self.command(arguments) == .addService(ServiceSettings(key: Self.key, scheduler: "rr", persistence: 600, prefixLength: 24)))
    }

    @Test func persistentWithoutValueIs360() {
        #expect(Self.command(["-A", "-t", Self.vip, "-p"]) == .addService(ServiceSettings(key: Self.key, persistence: 360)))
        // popt's optional value: a following word that starts with '-' is the next option.
        #expect(Self.command(["-A", "-t", Self.vip, "-p", "-s", "sh"])
            == .addService(ServiceSettings(key: Self.key, scheduler: "sh", persistence: 360)))
        // A persistent service may have port 0.
        #expect(Self.command(["-A", "-t", "198.18.0.10", "-p"])
            == .addService(ServiceSettings(key: tcp("198.18.0.10", 0), persistence: 360)))
    }

    @Test func ipv6Services() {
        let v6 = ServiceKey(.udp, ip("2001:db8::10"), 53)
        #expect(Self.command(["-A", "-u", "[2001:db8::10]:53", "-s", "sh", "-b", "sh-port,sh-fallback", "-p", "60", "-M", "64"])
            == .addService(ServiceSettings(key: v6, scheduler: "sh", flags: [.port, .fallback], persistence: 60, prefixLength: 64)))
        #expect(Self.command(["-A", "-u", "[2001:db8::10]:domain"]) == .addService(ServiceSettings(key: v6)))
        // A bare IPv6 address has no port (parse_service).
        #expect(Self.command(["-A", "-t", "2001:db8::10", "-p"])
            == .addService(ServiceSettings(key: ServiceKey(.tcp, ip("2001:db8::10"), 0), persistence: 360)))
    }

    @Test func editAndDeleteService() {
        #expect(Self.command(["-E", "-t", Self.vip, "-s", "lc"]) == .editService(ServiceSettings(key: Self.key, scheduler: "lc")))
        #expect(Self.command(["--edit-service", "-t", Self.vip]) == .editService(ServiceSettings(key: Self.key)))
        #expect(Self.command(["-D", "-t", Self.vip]) == .deleteService(Self.key))
        #expect(Self.command(["--delete-service", "-u", "198.18.0.10:53"]) == .deleteService(udp("198.18.0.10", 53)))
        #expect(Self.command(["-C"]) == .clear)
        #expect(Self.command(["--clear"]) == .clear)
    }

    @Test func schedulerFlags() {
        #expect(Self.command(["-A", "-t", Self.vip, "-s", "rr", "-b", "flag-1,flag-3"])
            == .addService(ServiceSettings(key: Self.key, scheduler: "rr", flags: [.fallback, .flag3])))
        #expect(Self.command(["-A", "-t", Self.vip, "-s", "mh", "--sched-flags", "mh-port"])
            == .addService(ServiceSettings(key: Self.key, scheduler: "mh", flags: [.port])))
        // The scheduler named after -b still decides (parse_sched_flags runs after all options).
        #expect(Self.command(["-A", "-t", Self.vip, "-b", "sh-fallback", "-s", "sh"])
            == .addService(ServiceSettings(key: Self.key, scheduler: "sh", flags: [.fallback])))
    }

    /// The daemon decides whether it knows a scheduler (the kernel's ENOENT), not the CLI.
    @Test func anySchedulerNameIsSent() {
        #expect(Self.command(["-A", "-t", Self.vip, "-s", "xyz"]) == .addService(ServiceSettings(key: Self.key, scheduler: "xyz")))
    }

    // MARK: Real servers

    @Test func addServerDefaults() {
        #expect(Self.command(["-a", "-t", Self.vip, "-r", "198.18.1.1"])
            == .addServer(Self.key, RealServerSettings(address: ip("198.18.1.1"), port: 80)))
    }

    @Test(arguments: [
        (["-m"], ForwardingMethod.nat), (["--masquerading"], .nat), (["-g"], .directRouting), (["--gatewaying"], .directRouting),
        (["-i"], .tunnel), (["--ipip"], .tunnel), (["-i", "--tun-type", "ipip"], .tunnel), (["-b"], .fullNAT), (["--fullnat"], .fullNAT),
    ])
    func forwardingMethods(flags: [String], method: ForwardingMethod) {
        let command = Self.command(["-a", "-t", Self.vip, "-r", "198.18.1.1:8080"] + flags)
        // DR and TUN servers take the service's port (process_options overrides it).
        let port: UInt16 = method == .directRouting || method == .tunnel ? 80 : 8080
        #expect(command == .addServer(Self.key, RealServerSettings(address: ip("198.18.1.1"), port: port, method: method)))
    }

    @Test func serverOptionsAndClusters() {
        let expected = AdminCommand.editServer(Self.key, RealServerSettings(address: ip("198.18.1.1"), port: 8080, method: .nat,
                                                                           weight: 5, upperThreshold: 100, lowerThreshold: 80))
        #expect(Self.command(["-e", "-t", Self.vip, "-r", "198.18.1.1:8080", "-m", "-w", "5", "-x", "100", "-y", "80"]) == expected)
        #expect(Self.command(["-e", "-t", Self.vip, "-r", "198.18.1.1:8080", "-mw5", "-x100", "-y80"]) == expected)
        #expect(Self.command(["--edit-server", "--tcp-service", Self.vip, "--real-server=198.18.1.1:http-alt", "--masquerading",
                              "--weight", "5", "--u-threshold", "100", "--l-threshold=80"]) == expected)
        #expect(Self.command(["-et", Self.vip, "-r", "198.18.1.1:8080", "-m", "-w", "+5", "-x", "100", "-y", "80"]) == expected)
    }

    @Test func deleteServerKeepsTheGivenPort() {
        #expect(Self.command(["-d", "-t", Self.vip, "-r", "198.18.1.1:8080"]) == .deleteServer(Self.key, address: ip("198.18.1.1"), port: 8080))
        #expect(Self.command(["-d", "-t", Self.vip, "-r", "198.18.1.1"]) == .deleteServer(Self.key, address: ip("198.18.1.1"), port: 80))
        #expect(Self.command(["--delete-server", "-u", "[2001:db8::10]:53", "-r", "[2001:db8::1]:5353"])
            == .deleteServer(ServiceKey(.udp, ip("2001:db8::10"), 53), address: ip("2001:db8::1"), port: 5353))
    }

    @Test func tunnelsMayCrossFamilies() {
        #expect(Self.command(["-a", "-t", Self.vip, "-r", "2001:db8::1", "-i"])
            == .addServer(Self.key, RealServerSettings(address: ip("2001:db8::1"), port: 80, method: .tunnel)))
    }

    // MARK: Other commands

    @Test func timeoutsZeroAndLocalAddresses() {
        #expect(Self.command(["--set", "900", "120", "300"]) == .setTimeouts(tcp: 900, tcpFin: 120, udp: 300))
        #expect(Self.command(["--set", "0", "0", "60"]) == .setTimeouts(tcp: 0, tcpFin: 0, udp: 60))
        #expect(Self.command(["-Z"]) == .zero(nil))
        #expect(Self.command(["--zero", "-t", Self.vip]) == .zero(Self.key))
        #expect(Self.command(["--add-laddr", "-z", "198.18.2.1", "-t", Self.vip]) == .addLocalAddress(Self.key, ip("198.18.2.1")))
        #expect(Self.command(["-P", "-z", "198.18.2.1", "-t", Self.vip, "-F", "eth1"]) == .addLocalAddress(Self.key, ip("198.18.2.1")))
        #expect(Self.command(["--del-laddr", "--laddr=2001:db8::100", "-t", "[2001:db8::10]:443"])
            == .deleteLocalAddress(ServiceKey(.tcp, ip("2001:db8::10"), 443), ip("2001:db8::100")))
        #expect(Self.action(["--get-laddr"]) == .getLocalAddresses(nil))
        #expect(Self.action(["-G", "-t", Self.vip]) == .getLocalAddresses(Self.key))
    }

    @Test func listingRequests() {
        #expect(Self.action(["-L"]) == .list(ListingRequest()))
        #expect(Self.action(["-l", "-n"]) == .list(ListingRequest(format: ListingFormat(numeric: true))))
        #expect(Self.action(["-Lnc"]) == .list(ListingRequest(subject: .connections, format: ListingFormat(numeric: true))))
        #expect(Self.action(["-L", "--timeout"]) == .list(ListingRequest(subject: .timeouts)))
        #expect(Self.action(["-L", "--daemon"]) == .list(ListingRequest(subject: .daemon)))
        #expect(Self.action(["-L", "-t", Self.vip, "--stats"]) == .list(ListingRequest(subject: .service(Self.key), format: ListingFormat(stats: true))))
        #expect(Self.action(["-L", "--rate", "--exact", "--nosort", "--sort"])
            == .list(ListingRequest(format: ListingFormat(rate: true, noSort: true, exact: true))))
        #expect(Self.action(["-L", "--thresholds", "--persistent-conn", "--tun-info"])
            == .list(ListingRequest(format: ListingFormat(thresholds: true, persistentConnections: true, tunnelInfo: true))))
        #expect(Self.action(["-S"]) == .save(numeric: false))
        #expect(Self.action(["-Sn"]) == .save(numeric: true))
        #expect(Self.action(["--save", "--numeric"]) == .save(numeric: true))
        #expect(Self.action(["-R"]) == .restore)
        #expect(Self.action(["--restore"]) == .restore)
        #expect(Self.action(["-h"]) == .help)
        #expect(Self.action(["--help"]) == .help)
        #expect(Self.action(["-v"]) == .version)
    }

    @Test func socketOption() throws {
        let invocation = try LvsadmCommandLine.parse(["-L", "--socket", "/tmp/x.sock", "-n"])
        #expect(invocation.socketPath == "/tmp/x.sock")
        #expect(invocation.action == .list(ListingRequest(format: ListingFormat(numeric: true))))
        #expect(try LvsadmCommandLine.parse(["--socket=/tmp/y.sock"]).socketPath == "/tmp/y.sock")
        #expect(try LvsadmCommandLine.parse(["--socket=/tmp/y.sock"]).action == .list(ListingRequest()))
        #expect(Lvsadm.socketPath(invocation, environment: ["LVSD_SOCKET": "/tmp/env.sock"]) == "/tmp/x.sock")
        let plain = try LvsadmCommandLine.parse(["-L"])
        #expect(Lvsadm.socketPath(plain, environment: ["LVSD_SOCKET": "/tmp/env.sock"]) == "/tmp/env.sock")
        #expect(Lvsadm.socketPath(plain, environment: [:]) == "/run/lvsd/lvsd.sock")
    }

    // MARK: Mistakes

    struct Mistake: Sendable, CustomStringConvertible {
        var arguments: [String]
        var message: String
        var exitCode: Int32 = 2
        var description: String { arguments.joined(separator: " ") }
    }

    static let tryHelp = "Try `lvsadm -h' or 'lvsadm --help' for more information."

    static let mistakes: [Mistake] = [
        Mistake(arguments: ["-n", "-L"], message: tryHelp, exitCode: 255),
        Mistake(arguments: ["-t", vip], message: tryHelp, exitCode: 255),
        Mistake(arguments: ["--bogus"], message: tryHelp, exitCode: 255),
        Mistake(arguments: ["only-words"], message: tryHelp, exitCode: 255),
        Mistake(arguments: ["-L", "-A"], message: "invalid option `-A'"),
        Mistake(arguments: ["-L", "-h"], message: "invalid option `-h'"),
        Mistake(arguments: ["-L", "--foo"], message: "--foo: unknown option", exitCode: 255),
        Mistake(arguments: ["-Lnq"], message: "-Lnq: unknown option", exitCode: 255),
        Mistake(arguments: ["-A", "-t"], message: "-t: missing argument", exitCode: 255),
        Mistake(arguments: ["-L", "--numeric=yes"], message: "--numeric=yes: option does not take an argument", exitCode: 255),
        Mistake(arguments: ["-A", "-t", vip, "-s", "rr", "-s", "wrr"], message: "multiple 'scheduler' options specified"),
        Mistake(arguments: ["-A", "-t", vip, "-u", vip], message: "multiple 'service-address' options specified"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-g", "-m"], message: "multiple 'forwarding-method' options specified"),
        Mistake(arguments: ["-A"], message: "You need to supply the 'service-address' option for the 'add-service' command"),
        Mistake(arguments: ["-a", "-t", vip], message: "You need to supply the 'real-server' option for the 'add-server' command"),
        Mistake(arguments: ["--add-laddr", "-t", vip], message: "You need to supply the 'local-address' option for the 'add-laddr' command"),
        Mistake(arguments: ["-D", "-t", vip, "-s", "rr"], message: "Illegal 'scheduler' option with the 'delete-service' command"),
        Mistake(arguments: ["-A", "-t", vip, "-w", "2"], message: "Illegal 'weight' option with the 'add-service' command"),
        Mistake(arguments: ["-d", "-t", vip, "-r", "198.18.1.1", "-w", "2"], message: "Illegal 'weight' option with the 'delete-server' command"),
        Mistake(arguments: ["-C", "-n"], message: "Illegal 'numeric' option with the 'flush' command"),
        Mistake(arguments: ["-Z", "-n"], message: "Illegal 'numeric' option with the 'zero' command"),
        Mistake(arguments: ["-S", "-c"], message: "Illegal 'connection' option with the 'save' command"),
        Mistake(arguments: ["-R", "-n"], message: "Illegal 'numeric' option with the 'restore' command"),
        Mistake(arguments: ["--set", "1", "2", "3", "-n"], message: "Illegal 'numeric' option with the 'set' command"),
        Mistake(arguments: ["-L", "-c", "--timeout"], message: "The option 'timeout' conflicts with the 'connection' option in the 'list' command"),
        Mistake(arguments: ["-L", "-t", vip, "-c"], message: "The option 'service-address' conflicts with the 'connection' option in the 'list' command"),
        Mistake(arguments: ["-L", "-c", "--stats"], message: "options conflicts in the list command"),
        Mistake(arguments: ["-L", "--timeout", "--persistent-conn"], message: "options conflicts in the list command"),
        Mistake(arguments: ["-A", "-t", "198.18.0.300:80"], message: "illegal virtual server address[:port] specified"),
        Mistake(arguments: ["-A", "-t", "www.example.com:80"], message: "illegal virtual server address[:port] specified"),
        Mistake(arguments: ["-A", "-t", "80"], message: "illegal virtual server address[:port] specified"),
        Mistake(arguments: ["-A", "-t", "[2001:db8::10]"], message: "illegal virtual server address[:port] specified"),
        Mistake(arguments: ["-A", "-t", "198.18.0.10:"], message: "illegal virtual server address[:port] specified"),
        Mistake(arguments: ["-A", "-t", "198.18.0.10:70000"], message: "illegal virtual server address[:port] specified"),
        Mistake(arguments: ["-A", "-u", "198.18.0.10:http"], message: "illegal virtual server address[:port] specified"),
        Mistake(arguments: ["-A", "-t", "198.18.0.10"], message: "Zero port specified for non-persistent service"),
        Mistake(arguments: ["-A", "-t", vip, "-p", "0"], message: "invalid timeout value `0' specified"),
        Mistake(arguments: ["-A", "-t", vip, "-p", "2678401"], message: "invalid timeout value `2678401' specified"),
        Mistake(arguments: ["-A", "-t", vip, "-p", "-M", "255.0.255.0"], message: "illegal virtual server persistent mask specified"),
        Mistake(arguments: ["-A", "-t", "[2001:db8::10]:80", "-p", "-M", "129"], message: "illegal ipv6 netmask specified"),
        Mistake(arguments: ["-A", "-t", vip, "-b", "sh-port"], message: "incompatible scheduler flag `sh-port'"),
        Mistake(arguments: ["-A", "-t", vip, "-s", "sh", "-b", "mh-port"], message: "incompatible scheduler flag `mh-port'"),
        Mistake(arguments: ["-A", "-t", vip, "-b", "bogus"], message: "invalid scheduler flag `bogus'"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1"], message: "illegal real server address[:port] specified"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "host.example:80"], message: "illegal real server address[:port] specified"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-w", "70000"], message: "illegal weight specified"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-w", "-1"], message: "illegal weight specified"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-w", "5x"], message: "illegal weight specified"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-x", "abc"], message: "illegal u_threshold specified"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-y", "-1"], message: "illegal l_threshold specified"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "2001:db8::1", "-m"], message: "Different address family is allowed only for tunneling servers"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-m", "--tun-type", "ipip"], message: "Tunnel options conflict with forward method"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-i", "--tun-type", "vxlan"], message: "illegal tunnel type specified"),
        Mistake(arguments: ["--set", "900", "120"], message: "--set option requires 3 timeout values"),
        Mistake(arguments: ["--set", "900", "120", "x"], message: "invalid timeout value `x' specified"),
        Mistake(arguments: ["--set", "1", "2", "3", "4"], message: "unexpected argument 4"),
        Mistake(arguments: ["-C", "extra"], message: "unexpected argument extra"),
        Mistake(arguments: ["--add-laddr", "-z", "bogus", "-t", vip], message: "illegal local address"),
        Mistake(arguments: ["-A", "-f", "0"], message: "illegal fwmark specified"),
        Mistake(arguments: ["-A", "-t", vip, "-6"], message: "-6 used before -f"),
        Mistake(arguments: ["-A", "-t", vip, "--pe", "sip"], message: "persistence engines (--pe) are not supported by SwiftLVS: the sip engine needs SIP parsing lvsd does not do; use -p (a client sticks to one real server)"),
        Mistake(arguments: ["-A", "--sctp-service", vip], message: "SCTP services (--sctp-service) are not supported by SwiftLVS; give the service with -t or -u"),
        Mistake(arguments: ["--start-daemon", "primary"], message: "illegal start-daemon parameter specified"),
        Mistake(arguments: ["--stop-daemon", "both"], message: "illegal start_daemon specified"),
        Mistake(arguments: ["--start-daemon", "master", "--syncid", "256"], message: "illegal syncid specified"),
        Mistake(arguments: ["--start-daemon", "master", "--mcast-port", "0"], message: "illegal mcast-port specified"),
        Mistake(arguments: ["--start-daemon", "master", "--mcast-ttl", "256"], message: "illegal mcast-ttl specified"),
        Mistake(arguments: ["--start-daemon", "master", "--sync-maxlen", "65508"], message: "illegal sync-maxlen specified"),
        Mistake(arguments: ["--start-daemon", "master", "--mcast-group", "198.18.0.1"], message: "illegal IPv4 mcast-group specified"),
        Mistake(arguments: ["--start-daemon", "master", "-n"], message: "Illegal 'numeric' option with the 'start-daemon' command"),
        Mistake(arguments: ["--stop-daemon", "master", "--mcast-interface", "eth0"], message: "Illegal 'mcast-interface' option with the 'stop-daemon' command"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-i", "--tun-type", "gue"], message: "You need to supply the 'tun-port' option for the 'gue' tunnel type"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-i", "--tun-port", "6080"], message: "Illegal 'tun-port' option with the 'ipip' tunnel type"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-i", "--tun-type", "gre", "--tun-remcsum"], message: "Illegal 'tun-remcsum' option with the 'gre' tunnel type"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-i", "--tun-type", "gre", "--tun-nocsum", "--tun-csum"], message: "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' tunnel type"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-i", "--tun-type", "gue", "--tun-port", "0"], message: "illegal tunnel port specified"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-i", "--tun-type", "gue", "--tun-port", "6080", "--tun-remcsum", "--tun-nocsum"], message: "The option 'tun-remcsum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type"),
        Mistake(arguments: ["-a", "-t", vip, "-r", "198.18.1.1", "-m", "--tun-csum"], message: "Tunnel options conflict with forward method"),
    ]

    @Test(arguments: mistakes)
    func refusedInIpvsadmWords(mistake: Mistake) {
        guard let error = Self.error(mistake.arguments) else { return }
        #expect(error.message == mistake.message)
        #expect(error.exitCode == mistake.exitCode)
    }

    /// SwiftLVS's second line says what exactly was wrong.
    @Test func detailsSayWhatWasWrong() {
        #expect(Self.error(["-A", "-t", "198.18.0.300:80"])?.detail == "'198.18.0.300' is not a valid IPv4 or IPv6 virtual service address")
        #expect(Self.error(["-A", "-u", "198.18.0.10:http"])?.detail == "'http' is not a UDP service name; give the port number")
        #expect(Self.error(["-A", "-t", "80"])?.detail == "'80' is a number, not an address; write ADDRESS:PORT such as 198.18.0.10:80")
        #expect(Self.error(["-A", "-t", "www.example.com:80"])?.detail?.hasPrefix("'www.example.com' is not an IP address") == true)
        #expect(Self.error(["-A", "-t", Self.vip, "-p", "-M", "255.0.255.0"])?.detail
            == "netmask 255.0.255.0 is not contiguous; its one-bits must all come first, as in 255.255.255.0")
        #expect(Self.error(["-A", "-t", "198.18.0.10"])?.description
            == "Zero port specified for non-persistent service\nservice TCP 198.18.0.10:0 has port 0, which only a persistent service may have; give a port or add -p")
    }

    /// Every row of ipvsadm's command/option table has one rule per option column, and the
    /// rows keep ipvsadm's required options.
    @Test func optionTableIsRectangular() {
        for command in IPVSCommand.allCases {
            #expect(command.row.count == IPVSOptionClass.allCases.count, "\(command)")
            #expect(command.row.allSatisfy { "+x1 ".contains($0) }, "\(command)")
        }
        #expect(IPVSCommand.addServer.rule(.server) == "+")
        #expect(IPVSCommand.list.rule(.connection) == "1")
        #expect(IPVSCommand.list.rule(.tunnelInfo) == " ")
        #expect(IPVSCommand.addLocalAddress.rule(.localAddress) == "+")
    }
}
