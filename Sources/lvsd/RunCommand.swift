import ArgumentParser
import Control
import Core
import Engine
import Foundation
import Health
import KeepalivedHealth
import KeepalivedVRRP
import Logging
import Observability
import VRRP
import VRRPRuntime
import Wire

/// `lvsd [run] --config FILE --interface IF [--interface IF ...]`: the live director. FILE is
/// an ipvsadm rules file or a keepalived.conf (`ConfigFile`); `--check` only validates it
/// (`CheckCommand`).
///
/// Opens an AF_PACKET socket (TPACKET_V2 RX and TX rings with virtio-net headers, so GSO/GRO
/// super-frames are carried whole; `--ring v3` for dense blocks, Docs/adr/0003), or with `--engine pcap` a libpcap
/// live handle (BPF-filtered to VIP, LIP, ARP, ICMP and real-server traffic), on each interface, applies the
/// host settings that keep the kernel away from VIP and LIP traffic, announces the VIPs with
/// gratuitous ARP, resolves the real servers' MACs by ARP, and forwards until SIGINT or
/// SIGTERM (or --duration). On the way out it removes the host settings and prints its
/// counters. With `--workers N` (AF_PACKET), N threads each run their own director on their
/// own fanout-group sockets; the exit summary adds their counters up and names each worker.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the director on network interfaces (the default command).",
        discussion: """
            Each --interface must exist and be up. Its MAC, MTU and addresses (IPv4 and IPv6) are \
            read from the kernel and followed while lvsd runs (an address added or removed, an MTU \
            change, the link going down or up, each logged); an address that leaves the interface \
            is no longer answered for until it comes back. An optional 'interface NAME mac MAC \
            [mtu N] [address IP]...' line in the rules file (or the keepalived.conf's lvsd_director \
            block) overrides the kernel's values for that interface (mac 00:00:00:00:00:00 takes the \
            kernel's; any other value must match it). Runs as root in the director's network namespace. While running, lvsd turns IPv4 and \
            IPv6 forwarding off on its interfaces and installs the nftables table 'netdev swiftlvs' \
            dropping VIP and LIP packets at ingress (lvsd's AF_PACKET sockets see them first); both \
            are undone at exit, each change logged.

            With --workers N (af_packet only) every interface gets a PACKET_FANOUT group of N \
            sockets whose classic BPF program sends both directions of a connection to the same \
            worker; FullNAT local ports are split between workers, and each worker schedules on \
            its own (rr is exact per worker; across workers a server's count can differ by up to \
            N-1). The exit summary prints the totals and one line per worker.
            """
    )

    enum EngineKind: String, ExpressibleByArgument, CaseIterable {
        case afPacket = "af_packet"
        case pcap
    }

    @Option(name: .long, help: ArgumentHelp("The rules file (ipvsadm syntax, optionally interface and neighbour lines) or keepalived.conf.", valueName: "file"))
    var config: String

    @Flag(name: .long, help: "Only validate the configuration and print it in ipvsadm -S -n form; touches nothing, needs no root (same as 'lvsd check').")
    var check = false

    @Option(name: .customLong("interface"), help: ArgumentHelp("An interface to run on (repeat for several).", valueName: "name"))
    var interfaces: [String] = []

    @Option(name: .long, help: "Packet engine: af_packet (TPACKET rings) or pcap (libpcap live capture with a BPF filter, pcap_inject).")
    var engine: EngineKind = .afPacket

    @Option(name: .long, help: ArgumentHelp("Worker threads, each with its own connection table and sockets in one fanout group per interface (af_packet only).", valueName: "n"))
    var workers = 1

    @Option(name: .long, help: ArgumentHelp("Pin worker K to the K-th CPU of this comma-separated list (wrapping around), e.g. 0,1.", valueName: "cpus"))
    var cpus: String?

    @Option(name: .long, help: ArgumentHelp("Stop by itself after this many seconds.", valueName: "seconds"))
    var duration: Double?

    @Option(name: .long, help: ArgumentHelp("Print counters every this many seconds (0: only at exit).", valueName: "seconds"))
    var statsInterval: Double = 0

    @Option(name: .long, help: "Log level (swift-log): trace, debug, info, notice, warning, error, critical.")
    var logLevel: DaemonLog.Level = .info

    @Option(name: .long, help: "Log lines: plain (the message), fields (message and key=value fields), journal (fields after a <N> syslog priority), or auto: journal when standard output is systemd's journal (JOURNAL_STREAM), plain otherwise.")
    var logFormat: DaemonLog.Format = .auto

    @Option(name: .long, help: ArgumentHelp("The control socket lvsadm talks to (mode 0600, root only); 'none' for no socket.", valueName: "path"))
    var socket = ProcessInfo.processInfo.environment["LVSD_SOCKET"] ?? "/run/lvsd/lvsd.sock"

    enum RingKind: String, ExpressibleByArgument, CaseIterable {
        case v2, v3
    }

    @Option(name: .long, help: "AF_PACKET ring version: v2 (default; each frame reaches the director at once, 64 KiB slots) or v3 (frames packed in blocks handed over when full or after 2 ms: denser, for saturated throughput runs). See Docs/adr/0003.")
    var ring: RingKind = .v2

    @Flag(name: .long, help: "Keep every capability lvsd was started with (by default it keeps only CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE, CAP_SETUID, CAP_SETGID and CAP_KILL, also for the scripts it starts: Docs/privileges.md).")
    var keepCapabilities = false

    @Option(name: .long, help: "Connection table capacity in total (each entry takes 128 bytes, preallocated); with --workers N each worker gets 1/N.")
    var connections = 1_000_000

    @Option(name: .long, help: ArgumentHelp("Serve Prometheus metrics (/metrics) and the web monitor (/) on ADDRESS:PORT ([IPv6]:PORT); off by default. Without --monitor-users or --monitor-token-file it listens on loopback only.", valueName: "address:port"))
    var metricsListen: String?

    @Option(name: .long, help: ArgumentHelp("Users allowed to read the monitor and metrics: 'user:bcrypt-hash' lines ('lvsd monitor-user NAME' prints one).", valueName: "file"))
    var monitorUsers: String?

    @Option(name: .long, help: ArgumentHelp("A file holding a bearer token (16 characters or more) allowed to read the monitor and metrics.", valueName: "file"))
    var monitorTokenFile: String?

    @Option(name: .long, help: ArgumentHelp("Serve --metrics-listen over HTTPS with this PEM certificate chain (with --metrics-tls-key).", valueName: "file"))
    var metricsTlsCert: String?

    @Option(name: .long, help: ArgumentHelp("The PEM private key of --metrics-tls-cert.", valueName: "file"))
    var metricsTlsKey: String?

    @Option(name: .long, help: ArgumentHelp("Keep DIR/net/ip_vs and DIR/net/ip_vs_stats current in the kernel's text, for node_exporter --collector.ipvs --path.procfs=DIR.", valueName: "dir"))
    var ipvsProcfs: String?

    func validate() throws {
        if check { return }
        if let metricsListen, MonitorServer.parseListen(metricsListen) == nil {
            throw ValidationError("--metrics-listen takes ADDRESS:PORT or [IPv6]:PORT, e.g. 198.18.0.1:9100; got '\(metricsListen)'.")
        }
        if (monitorUsers != nil || monitorTokenFile != nil) && metricsListen == nil {
            throw ValidationError("--monitor-users and --monitor-token-file protect --metrics-listen; give --metrics-listen ADDRESS:PORT too.")
        }
        if (metricsTlsCert == nil) != (metricsTlsKey == nil) {
            throw ValidationError("--metrics-tls-cert and --metrics-tls-key go together: give the certificate chain and its private key.")
        }
        guard !interfaces.isEmpty else {
            // Not taken from a keepalived.conf's vrrp_instance or lvs_sync_daemon: those name the
            // HA link, which need not carry the VIP or real-server traffic (Docs/keepalived-conf.md).
            throw ValidationError("give every interface lvsd forwards on with --interface NAME (repeat it for several); lvsd reads their MACs and addresses from the kernel, and does not take them from a keepalived.conf's vrrp_instance or lvs_sync_daemon.")
        }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1, got \(workers).") }
        guard workers <= 64 else { throw ValidationError("--workers must be at most 64, got \(workers).") }
        if workers > 1 && engine == .pcap {
            throw ValidationError("--workers \(workers) needs --engine af_packet: libpcap has no fanout to split frames between workers; use --workers 1 with --engine pcap.")
        }
        if cpus != nil && cpuList == nil {
            throw ValidationError("--cpus takes CPU numbers separated by commas, e.g. 0,1; got '\(cpus!)'.")
        }
        guard connections > 0 else { throw ValidationError("--connections must be at least 1, got \(connections).") }
        if let duration { guard duration > 0 else { throw ValidationError("--duration must be positive, got \(duration).") } }
        guard statsInterval >= 0 else { throw ValidationError("--stats-interval must be 0 or more, got \(statsInterval).") }
    }

    /// `--cpus` as numbers, nil when it does not parse.
    var cpuList: [Int]? {
        guard let cpus else { return [] }
        let list = cpus.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        return list.map { $0! }
    }

    func run() throws {
        if check {
            try CheckCommand.check(path: config)
            return
        }
        var rules: DirectorConfig
        let loaded: ConfigFile.Loaded
        var vrrpConfig: VRRPConfig?
        do {
            loaded = try ConfigFile.load(path: config)
            for warning in loaded.warnings { Console.error(warning.description) }
            rules = loaded.director
            if let keepalived = loaded.keepalived {
                let plan = try KeepalivedVRRPPlan.make(from: keepalived)
                for warning in plan.warnings { Console.error("vrrp: \(warning.description)") }
                if !plan.config.isEmpty {
                    vrrpConfig = plan.config
                    // Every VRRP address starts unowned: an instance owns its VIPs once MASTER.
                    rules.standbyAddresses = VRRPRuntime.addresses(of: plan.config)
                }
            }
        } catch {
            Console.error(error.description)
            throw ExitCode.failure
        }
        // Unbuffered, so a test or a pipe sees each line as it happens (never per packet).
        let logger = DaemonLog.logger(level: logLevel, format: logFormat)
        // Before any thread exists: capabilities are per thread, and threads inherit them.
        if !keepCapabilities { Capabilities.limit(logger: logger) }
        // A daemon whose log reader or control client hangs up gets EPIPE from the write,
        // not a signal that ends forwarding.
        signal(SIGPIPE, SIG_IGN)

        // Subscribed before the first dump, so no change while lvsd starts is missed.
        let monitor: InterfaceMonitor
        do {
            monitor = try InterfaceMonitor(interfaces: interfaces, logger: logger)
        } catch {
            Console.error("lvsd: cannot read the interfaces from the kernel (rtnetlink): \(error)")
            throw ExitCode.failure
        }
        var options = LiveDirector.Options(interfaces: interfaces)
        options.kernel = monitor.current
        options.tableSize = connections
        options.statsInterval = UInt64(statsInterval * 1e9)
        options.engine = engine == .pcap ? .pcap : .afPacket
        options.ringVersion = ring == .v3 ? .v3 : .v2
        options.workers = workers
        options.cpus = cpuList ?? []
        let stop = StopSignal()
        stop.install()

        let live: LiveDirector
        do {
            live = try LiveDirector(config: rules, options: options, logger: logger)
        } catch {
            Console.error("lvsd: \(error)")
            throw ExitCode.failure
        }
        let host = HostSettings(logger: logger)
        do {
            try host.apply(interfaces: interfaces, dropAddresses: live.config.ownedAddresses)
        } catch {
            host.restore()
            Console.error("lvsd: \(error)")
            throw ExitCode.failure
        }
        let daemon = Daemon(live: live, host: host, interfaces: interfaces, configPath: config, loaded: loaded, logger: logger)
        if let vrrpConfig {
            do {
                daemon.vrrp = try VRRPRuntime(config: vrrpConfig, logger: logger, hooks: VRRPRuntime.Hooks(
                    standby: { [daemon] in daemon.setStandby($0) },
                    announce: { [daemon] addresses, count in daemon.announce(addresses, count: count) },
                    stateChanged: { [daemon] instance, state in daemon.vrrpStateChanged(instance, to: state) }),
                    scriptPolicy: loaded.keepalived.map { KeepalivedHealthPlan.scriptPolicy($0.globalDefs) } ?? ScriptPolicy())
            } catch {
                host.restore()
                Console.error("lvsd: \(error)")
                throw ExitCode.failure
            }
        }
        daemon.start(socketPath: socket == "none" ? nil : socket)
        daemon.vrrp?.start()
        let exporters: Exporters
        do {
            exporters = try startExporters(daemon: daemon, file: loaded.keepalived?.monitor ?? KeepalivedMonitor(), logger: logger)
        } catch {
            daemon.vrrp?.shutdown()
            daemon.stop()
            host.restore()
            Console.error("lvsd: \(error)")
            throw ExitCode.failure
        }
        monitor.start { [daemon] kernel, changes in daemon.interfacesChanged(kernel, changes) }
        if let vrrpConfig { logger.info("lvsd: vrrp: running \(vrrpConfig.instances.map(\.name).joined(separator: ", "))") }
        logger.info("lvsd: running on \(interfaces.joined(separator: ", ")) with \(live.config.services.count) virtual services, engine \(engine.rawValue), \(workers) worker\(workers == 1 ? "" : "s")\(duration.map { ", for \($0) s" } ?? ""); SIGHUP reloads \(config)")
        live.run(stop: stop, duration: duration.map { UInt64($0 * 1e9) })
        exporters.stop()
        // Priority 0 adverts first, so a backup takes over after Skew_Time.
        daemon.vrrp?.shutdown()
        monitor.stop()
        daemon.stop()
        let signal = stop.signalNumber
        logger.notice("\(signal != 0 ? "lvsd: stopping (signal \(signal))" : "lvsd: stopping")")
        host.restore()
        for line in live.summary(final: true) { logger.info("\(line.text)", metadata: line.metadata) }
        // The connection table as ipvsadm would list it at this moment (the lab shows it),
        // every worker's connections counted.
        let heading = workers == 1 ? "lvsd: virtual services (ipvsadm -L -n):"
            : "lvsd: virtual services (ipvsadm -L -n, the \(workers) workers' tables added up):"
        logger.info("\(heading)")
        let listing = workers == 1 ? IPVSListing.render(live.directors[0])
            : (try? AdminListing.render(ListingRequest(format: ListingFormat(numeric: true)),
                                        AdminSnapshot(workers: live.directors, now: 0, includeConnections: false))) ?? ""
        for line in listing.split(separator: "\n") { logger.info("\(line)") }
        if let vrrp = daemon.vrrp {
            logger.info("lvsd: vrrp instances (lvsadm --vrrp):")
            for line in VRRPListing.render(vrrp.status).split(separator: "\n") { logger.info("\(line)") }
            for line in VRRPListing.details(vrrp.status) { logger.info("lvsd: vrrp: \(line)") }
        }
    }

    /// The HTTP listener and the procfs files, each only when asked for; off the packet path.
    struct Exporters {
        var monitor: MonitorServer?
        var procfs: ProcfsExporter?

        func stop() {
            procfs?.stop()
            monitor?.stop()
        }
    }

    /// The command line's options, else the keepalived.conf's `lvsd_director` lines.
    private func startExporters(daemon: Daemon, file: KeepalivedMonitor, logger: Logger) throws -> Exporters {
        var exporters = Exporters()
        let metricsListen = self.metricsListen ?? file.metricsListen?.description
        let ipvsProcfs = self.ipvsProcfs ?? file.ipvsProcfs
        let monitorUsers = self.monitorUsers ?? file.usersFile
        let monitorTokenFile = self.monitorTokenFile ?? file.tokenFile
        let tlsCertificate = self.metricsTlsCert ?? file.tlsCertificateFile
        let tlsKey = self.metricsTlsKey ?? file.tlsKeyFile
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw MonitorConfigError("metrics_tls_cert and metrics_tls_key go together: give the certificate chain and its private key")
        }
        guard metricsListen != nil || ipvsProcfs != nil else { return exporters }
        let cache = ObservationCache { [daemon] in daemon.observation() }
        if let ipvsProcfs {
            let procfs = ProcfsExporter(directory: ipvsProcfs, cache: cache, logger: logger)
            try procfs.start()
            exporters.procfs = procfs
        }
        if let metricsListen, let (host, port) = MonitorServer.parseListen(metricsListen) {
            let access = try MonitorAccess.load(usersFile: monitorUsers, tokenFile: monitorTokenFile)
            let tls = tlsCertificate.flatMap { cert in tlsKey.map { MonitorTLS(certificateFile: cert, keyFile: $0) } }
            let monitor = MonitorServer(settings: MonitorServer.Settings(host: host, port: port, access: access, tls: tls),
                                        build: BuildInfo(engine: engine.rawValue, workers: workers), logger: logger, cache: cache)
            do {
                try monitor.start()
            } catch {
                exporters.stop()
                throw error
            }
            exporters.monitor = monitor
        }
        return exporters
    }
}
