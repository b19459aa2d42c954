import ArgumentParser
import Control
import Core
import Engine
import Foundation
import Wire

/// `lvsd [run] --config FILE --interface IF [--interface IF ...]`: the live director. FILE is
/// an ipvsadm rules file or a keepalived.conf (`ConfigFile`); `--check` only validates it
/// (`CheckCommand`).
///
/// Opens an AF_PACKET socket (TPACKET_V3 RX and TX rings), or with `--engine pcap` a libpcap
/// live handle (BPF-filtered to VIP, LIP, ARP, ICMP and real-server traffic), on each interface, applies the
/// host settings that keep the kernel away from VIP and LIP traffic, announces the VIPs with
/// gratuitous ARP, resolves the real servers' MACs by ARP, and forwards until SIGINT or
/// SIGTERM (or --duration). On the way out it removes the host settings and prints its
/// counters.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the director on network interfaces (the default command).",
        discussion: """
            Every interface given with --interface needs an 'interface NAME mac MAC address IP' line \
            in the rules file (mac 00:00:00:00:00:00 takes the kernel's; any other value must match \
            it). Runs as root in the director's network namespace. While running, lvsd turns IPv4 and \
            IPv6 forwarding off on its interfaces and installs the nftables table 'netdev swiftlvs' \
            dropping VIP and LIP packets at ingress (lvsd's AF_PACKET sockets see them first); both \
            are undone at exit, each change logged.
            """
    )

    enum EngineKind: String, ExpressibleByArgument, CaseIterable {
        case afPacket = "af_packet"
        case pcap
    }

    @Option(name: .long, help: ArgumentHelp("The rules file (ipvsadm syntax plus interface and neighbour lines) or keepalived.conf (with an lvsd_director block).", valueName: "file"))
    var config: String

    @Flag(name: .long, help: "Only validate the configuration and print it in ipvsadm -S -n form; touches nothing, needs no root (same as 'lvsd check').")
    var check = false

    @Option(name: .customLong("interface"), help: ArgumentHelp("An interface to run on (repeat for several).", valueName: "name"))
    var interfaces: [String] = []

    @Option(name: .long, help: "Packet engine: af_packet (TPACKET_V3 rings) or pcap (libpcap live capture with a BPF filter, pcap_inject).")
    var engine: EngineKind = .afPacket

    @Option(name: .long, help: "Worker threads (only 1 so far).")
    var workers = 1

    @Option(name: .long, help: ArgumentHelp("Stop by itself after this many seconds.", valueName: "seconds"))
    var duration: Double?

    @Option(name: .long, help: ArgumentHelp("Print counters every this many seconds (0: only at exit).", valueName: "seconds"))
    var statsInterval: Double = 0

    @Option(name: .long, help: "Connection table capacity (each entry takes 128 bytes, preallocated).")
    var connections = 1_000_000

    func validate() throws {
        if check { return }
        guard !interfaces.isEmpty else { throw ValidationError("give at least one --interface NAME to run on.") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1, got \(workers).") }
        guard connections > 0 else { throw ValidationError("--connections must be at least 1, got \(connections).") }
        if let duration { guard duration > 0 else { throw ValidationError("--duration must be positive, got \(duration).") } }
        guard statsInterval >= 0 else { throw ValidationError("--stats-interval must be 0 or more, got \(statsInterval).") }
    }

    func run() throws {
        if check {
            try CheckCommand.check(path: config)
            return
        }
        if workers > 1 {
            Console.error("lvsd: --workers \(workers): only one worker is implemented so far; use --workers 1.")
            throw ExitCode(2)
        }
        let rules: DirectorConfig
        do {
            let loaded = try ConfigFile.load(path: config)
            for warning in loaded.warnings { Console.error(warning.description) }
            rules = loaded.director
        } catch {
            Console.error(error.description)
            throw ExitCode.failure
        }
        // Unbuffered, so a test or a pipe sees each line as it happens (never per packet).
        let log: (String) -> Void = { line in FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

        var options = LiveDirector.Options(interfaces: interfaces)
        options.tableSize = connections
        options.statsInterval = UInt64(statsInterval * 1e9)
        options.engine = engine == .pcap ? .pcap : .afPacket
        let stop = StopSignal()
        stop.install()

        let live: LiveDirector
        do {
            live = try LiveDirector(config: rules, options: options, log: log)
        } catch {
            Console.error("lvsd: \(error)")
            throw ExitCode.failure
        }
        let host = HostSettings(log: log)
        var owned: [IPAddress] = []
        for service in live.config.services {
            if !owned.contains(service.key.address) { owned.append(service.key.address) }
            for lip in service.localAddresses where !owned.contains(lip) { owned.append(lip) }
        }
        do {
            try host.apply(interfaces: interfaces, dropAddresses: owned)
        } catch {
            host.restore()
            Console.error("lvsd: \(error)")
            throw ExitCode.failure
        }
        log("lvsd: running on \(interfaces.joined(separator: ", ")) with \(live.config.services.count) virtual services, engine \(engine.rawValue), 1 worker\(duration.map { ", for \($0) s" } ?? "")")
        live.run(stop: stop, duration: duration.map { UInt64($0 * 1e9) })
        let signal = stop.signalNumber
        log(signal != 0 ? "lvsd: stopping (signal \(signal))" : "lvsd: stopping")
        host.restore()
        for line in live.summary(final: true) { log(line) }
        // The connection table as ipvsadm would list it at this moment (the lab shows it).
        log("lvsd: virtual services (ipvsadm -L -n):")
        for line in IPVSListing.render(live.director).split(separator: "\n") { log(String(line)) }
    }
}
