import AdminSocket
import Control
import Core
import Dispatch
import Engine
import Foundation
import Logging
import Health
import Wire
import KeepalivedHealth
import VRRPRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `lvsd run`'s control plane around the running engine. Three things change the running
/// configuration, and all of them go through `install`, one at a time:
///
/// - lvsadm, over the control socket (`AdminResponder` edits the base configuration);
/// - SIGHUP, which re-reads `--config`: a file that does not load, or that the engine refuses,
///   leaves everything running as it was and the log says why;
/// - the health checkers, which turn the base configuration into the one to run (failed
///   servers out, or at weight 0 with inhibit_on_failure; the sorry server in below quorum).
///
/// The engine applies each new configuration between packet batches (`LiveDirector.reconfigure`),
/// so the data path never waits for any of this.
final class Daemon: @unchecked Sendable {
    // Safety (@unchecked): `base`, `runner` and `healthPlan` change only under `lock`; the
    // engine and the host settings are only called under it too.
    let live: LiveDirector
    private let host: HostSettings
    private let interfaces: [String]
    private let configPath: String
    let logger: Logger
    private let lock = NSLock()
    private var base: DirectorConfig
    private var healthPlan: HealthPlan?
    private var runner: HealthRunner?
    /// Which runner's updates count: a runner replaced by a new base may still report once.
    private var generation = 0
    /// The configuration the health checkers want (nil: no checkers, run `base`).
    private var desired: DirectorConfig?
    private(set) var responder: AdminResponder!
    private var server: ControlSocketServer?
    private var reloadSource: DispatchSourceSignal?
    private var tickTimer: DispatchSourceTimer?
    /// VRRP's addresses this director does not own now; every configuration the engine runs
    /// carries them (`DirectorConfig.standbyAddresses`), whoever built it.
    private var standby: Set<IPAddress>
    /// Addresses that left one of lvsd's interfaces while it ran (`ip addr del`, a cluster
    /// manager moving a VIP): not owned, as VRRP's standby addresses, until they come back.
    private var released: Set<IPAddress> = []
    /// lvsd's VRRP instances, when the keepalived.conf has any (set before `start`).
    var vrrp: VRRPRuntime?
    /// Each checked real server's UP/DOWN transitions since lvsd started (under `lock`), for
    /// the metrics.
    private var transitions: [HealthTransitionKey: UInt64] = [:]
    /// keepalived's `lvs_sync_daemon`: the sync settings the VRRP role applies (Daemon+Sync.swift).
    var syncPlan: SyncDaemonSettings?
    /// The VRRP instance `lvs_sync_daemon` names: its state sets the sync role.
    var syncInstance: String?
    /// That line's `refresh` (the master's walk period) and `relearn`.
    var syncFailback = SyncFailbackSettings()

    init(live: LiveDirector, host: HostSettings, interfaces: [String], configPath: String,
         loaded: ConfigFile.Loaded, logger: Logger) {
        self.live = live
        self.host = host
        self.interfaces = interfaces
        self.configPath = configPath
        self.logger = logger
        self.base = live.config
        self.standby = live.config.standbyAddresses
        responder = AdminResponder(
            config: live.config,
            install: { [unowned self] new in installBase(new) },
            observe: { [unowned self] connections in snapshot(includeConnections: connections) },
            clock: { Self.monotonicNanoseconds() },
            reload: { [unowned self] in reload() },
            health: { [unowned self] in healthListing() },
            vrrp: { [unowned self] in vrrp?.listing() ?? "No VRRP instances: they come from a keepalived.conf's vrrp_instance blocks.\n" },
            sync: { [unowned self] body in syncRequest(body) })
        syncPlan = loaded.keepalived?.globalDefs.syncDaemon?.settings
        syncInstance = loaded.keepalived?.globalDefs.syncDaemon?.instance
        syncFailback = loaded.keepalived?.globalDefs.syncFailback ?? SyncFailbackSettings()
        do {
            healthPlan = try Self.healthPlan(of: loaded, logger: logger)
        } catch {
            // RunCommand has already built the engine; refusing to start belongs there (call
            // `Daemon.healthPlan(of:logger:)` before the engine, as `lvsd check` should).
            logger.error("lvsd: health: error: checks not started, every real server runs unchecked: \(error)")
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    // MARK: Starting and stopping

    /// Opens the control socket (a failure is a warning: forwarding never depends on it),
    /// starts the health checkers, watches SIGHUP and ticks the rate estimators.
    func start(socketPath: String?) {
        if let socketPath {
            do {
                let responder = responder!
                let server = try ControlSocketServer(path: socketPath, logger: logger) { request in responder.handle(request) }
                server.start()
                self.server = server
                logger.info("lvsd: control socket \(socketPath) (lvsadm --socket \(socketPath), or LVSD_SOCKET)")
            } catch {
                logger.warning("lvsd: warning: no control socket: \(error); lvsadm cannot reach this lvsd")
            }
        }
        lock.lock()
        startHealth(for: base)
        lock.unlock()
        // keepalived's lvs_sync_daemon: backup until VRRP makes the instance MASTER (setSyncRole).
        if syncPlan != nil { setSyncRole(.backup, reason: "lvs_sync_daemon: backup until VRRP instance \(syncInstance ?? "-") is MASTER") }

        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [weak self] in _ = self?.reload() }
        source.resume()
        reloadSource = source

        // IPVS's estimator samples every 2 s; tick a little more often so no sample is late.
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in self?.responder.tick() }
        timer.resume()
        tickTimer = timer
    }

    /// Stops the checkers, the socket and the timers (the engine has stopped already).
    func stop() {
        stopSyncDaemons()
        tickTimer?.cancel()
        reloadSource?.cancel()
        server?.stop()
        lock.lock()
        let old = runner
        runner = nil
        generation += 1
        lock.unlock()
        // Outside the lock: stop() joins the runner's thread, which may be waiting for it.
        old?.stop()
    }

    // MARK: Changing the running configuration

    /// SIGHUP and `lvsadm --reload`: re-reads the configuration file and swaps it in, or
    /// keeps what runs and says why (the error goes back to lvsadm too).
    func reload() -> AdminError? {
        logger.info("lvsd: reload: reading \(configPath)", metadata: ["config": "\(configPath)"])
        let loaded: ConfigFile.Loaded
        do {
            loaded = try ConfigFile.load(path: configPath)
        } catch {
            logger.error("lvsd: reload refused, the running configuration stays: \(error.description)",
                         metadata: ["config": "\(configPath)", "reason": "\(error.description)"])
            return AdminError("lvsadm: reload refused, the running configuration stays", detail: error.description, exitCode: 1)
        }
        for warning in loaded.warnings { logger.info("lvsd: reload: \(warning.description)") }
        for line in loaded.director.interfaces where live.followedInterfaces.contains(line.name) {
            logger.warning("lvsd: reload: warning: interface \(line.name) follows the kernel (lvsd started without an 'interface \(line.name)' line); the new line is not read until lvsd restarts")
        }
        // A plan that does not build or does not fit the new configuration refuses the whole
        // reload: swapping the configuration in without its checks would leave every service
        // unchecked, sending clients to servers nobody watches.
        let plan: HealthPlan?
        do {
            plan = try Self.healthPlan(of: loaded, logger: logger)
        } catch {
            logger.error("lvsd: reload refused, the running configuration and its health checks stay: \(error)",
                         metadata: ["config": "\(configPath)", "reason": "health checks: \(error)"])
            return AdminError("lvsadm: reload refused, the running configuration stays", detail: "health checks: \(error)", exitCode: 1)
        }
        lock.lock()
        let previousPlan = healthPlan
        healthPlan = plan
        lock.unlock()
        if let refusal = responder.replaceConfiguration(loaded.director) {
            lock.lock()
            healthPlan = previousPlan
            lock.unlock()
            logger.error("lvsd: reload refused, the running configuration stays: \(refusal.message)\(refusal.detail.map { " (\($0))" } ?? "")",
                         metadata: ["config": "\(configPath)", "reason": "\(refusal.detail ?? refusal.message)"])
            return refusal
        }
        logger.info("lvsd: reload: done, \(loaded.director.services.count) virtual services",
                    metadata: ["config": "\(configPath)", "services": "\(loaded.director.services.count)"])
        return nil
    }

    /// A new base configuration (lvsadm or reload): the health checkers restart on it and the
    /// engine runs it at once. Real servers the change left as they were keep their verdict (a
    /// DOWN one stays out, no notify or `omega` script runs); new or edited ones count as alive
    /// until their checks say otherwise (unless `alpha`), as when keepalived starts.
    private func installBase(_ new: DirectorConfig) -> AdminError? {
        lock.lock()
        // A verdict the old runner reaches between this snapshot and its stop is not carried:
        // the new runner checks that server again within its delay_loop.
        let carried = runner?.carryOver() ?? HealthCarryOver()
        let next = makeRunner(for: new, inheriting: carried, generation: generation + 1)
        let wanted = next?.initialDesired
        if let refusal = apply(wanted ?? new) {
            lock.unlock()
            return refusal
        }
        base = new
        let old = runner
        runner = nil
        desired = wanted
        generation += 1
        lock.unlock()
        // Outside the lock: stop() joins the runner's thread, which may be waiting for it;
        // the generation makes whatever it still reports count for nothing.
        old?.stop(shutdown: false)
        lock.lock()
        if let next { startRunner(next) }
        lock.unlock()
        return nil
    }

    /// A VRRP transition: the engine runs what it ran with the new standby addresses.
    func setStandby(_ addresses: Set<IPAddress>) {
        lock.lock()
        defer { lock.unlock() }
        standby = addresses
        if let refusal = apply(desired ?? base, hostChanged: false) { logger.warning("lvsd: vrrp: warning: the engine refused the new ownership: \(refusal.message)") }
    }

    /// The kernel changed lvsd's interfaces (`InterfaceMonitor`): logged, then run as a
    /// configuration change (addresses and MTU of interfaces with no `interface` line, the
    /// networks that place real servers, addresses released or owned again).
    func interfacesChanged(_ kernel: KernelInterfaces, _ changes: [InterfaceChange]) {
        lock.lock()
        defer { lock.unlock() }
        let owned = Set((desired ?? base).ownedAddresses)
        var announce: [IPAddress] = []
        for change in changes {
            logger.notice("lvsd: \(change)")
            switch change {
            case let .addressAdded(_, network):
                if released.remove(network.address) != nil, owned.contains(network.address) {
                    logger.notice("lvsd: \(network.address) is back: lvsd answers ARP/ND for it and forwards to it again")
                }
                // The kernel announces no address it is given: neighbours that knew the VIP at
                // another director learn where it is now.
                if owned.contains(network.address), !standby.contains(network.address) { announce.append(network.address) }
            case let .addressRemoved(name, network):
                guard !interfaces.contains(where: { kernel[$0]?.addresses.contains { $0.address == network.address } == true }) else { continue }
                released.insert(network.address)
                if owned.contains(network.address) {
                    logger.notice("lvsd: \(network.address) left \(name): lvsd stops answering ARP/ND for it and forwarding to it until it is back")
                }
            default:
                break
            }
        }
        live.kernelChanged(kernel)
        if let refusal = apply(desired ?? base, hostChanged: false) { logger.warning("lvsd: warning: the engine refused the interfaces' change: \(refusal.message)") }
        if !announce.isEmpty { live.announce(announce, count: 1) }
    }

    /// A VRRP master's gratuitous ARP / unsolicited NA burst, from worker 0.
    func announce(_ addresses: [IPAddress], count: Int) {
        live.announce(addresses, count: count)
    }

    /// Hands `config` (with VRRP's standby addresses) to the engine and the host's drop
    /// rules (unless `hostChanged` is false: a VRRP transition keeps every VIP and LIP
    /// configured, so the drop rules stay); caller holds `lock`.
    private func apply(_ proposed: DirectorConfig, hostChanged: Bool = true) -> AdminError? {
        var config = proposed
        config.standbyAddresses = standby.union(released)
        let swap: LiveDirector.Swap
        do {
            swap = try live.reconfigure(config)
        } catch {
            return AdminError("\(error)", exitCode: 1)
        }
        if hostChanged {
            do {
                try host.update(interfaces: interfaces, dropAddresses: config.ownedAddresses)
            } catch {
                logger.warning("lvsd: warning: \(error)")
            }
        }
        let summary = swap.summary
        logger.info("lvsd: configuration swapped in: services +\(summary.servicesAdded) -\(summary.servicesRemoved) =\(summary.servicesKept), real servers +\(summary.realServersAdded) -\(summary.realServersRemoved) =\(summary.realServersKept), schedulers rebuilt \(summary.schedulersRebuilt), connections on removed servers \(summary.connectionsOnRemoved) (each expires on its next packet or at its timeout)")
        logger.info("lvsd: configuration generation \(swap.generation) in force after \(swap.elapsed / 1_000) µs; longest worker stall \(swap.longestStall / 1_000) µs")
        return nil
    }

    // MARK: Health checks

    /// The file's health plan, validated against the file's own configuration; nil when the
    /// file has no checkers. Throws instead of dropping checks.
    static func healthPlan(of loaded: ConfigFile.Loaded, logger: Logger) throws(HealthConfigError) -> HealthPlan? {
        guard let keepalived = loaded.keepalived else { return nil }
        let result = try KeepalivedHealthPlan.checked(from: keepalived)
        for warning in result.warnings { logger.warning("lvsd: health: warning: \(warning)") }
        return result.plan.services.isEmpty ? nil : result.plan
    }

    /// Caller holds `lock`.
    private func startHealth(for config: DirectorConfig) {
        guard let runner = makeRunner(for: config, inheriting: HealthCarryOver(), generation: generation) else { return }
        // `alpha` servers stay out from the start, not only after their first check.
        if runner.initialDesired != config {
            desired = runner.initialDesired
            if let refusal = apply(runner.initialDesired) { logger.warning("lvsd: health: warning: the engine refused the checked configuration: \(refusal.message)") }
        }
        startRunner(runner)
    }

    /// The checkers for `config`, reporting under `generation`; nil without checks or when the
    /// plan does not fit (logged). Caller holds `lock`.
    private func makeRunner(for config: DirectorConfig, inheriting carried: HealthCarryOver, generation: Int) -> HealthRunner? {
        guard let plan = healthPlan?.limited(to: config) else { return nil }
        do {
            return try HealthRunner(plan: plan, base: config, inheriting: carried) { [weak self] update in
                self?.healthUpdate(update, generation: generation)
            }
        } catch {
            logger.error("lvsd: health: error: checks not started, every real server runs unchecked: \(error)")
            return nil
        }
    }

    /// Caller holds `lock`.
    private func startRunner(_ runner: HealthRunner) {
        do {
            try runner.start()
            self.runner = runner
            let servers = runner.plan.services.reduce(0) { $0 + $1.realServers.count }
            let carried = runner.inheritedCheckers
            logger.notice("lvsd: health: checking \(servers) real servers\(carried > 0 ? " (\(carried) checkers keep their state)" : "")")
        } catch {
            logger.error("lvsd: health: error: checks not started, every real server runs unchecked: \(error)")
        }
    }

    private func healthUpdate(_ update: HealthRunner.Update, generation: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard generation == self.generation else { return }
        for event in update.events {
            logger.notice("lvsd: health: \(event)", metadata: event.logMetadata)
            if event.kind == .realServerUp || event.kind == .realServerDown, let rs = event.realServer {
                transitions[HealthTransitionKey(service: event.service, endpoint: rs), default: 0] &+= 1
            }
        }
        guard let wanted = update.desired, wanted != desired else { return }
        desired = wanted
        if let refusal = apply(wanted) { logger.warning("lvsd: health: warning: the engine refused the checked configuration: \(refusal.message)") }
    }

    // MARK: Listings

    /// `lvsadm --health`: every checked real server, alive or not, the weight it runs with
    /// and its checkers, per service with its quorum state.
    private func healthListing() -> String {
        lock.lock()
        let runner = runner
        lock.unlock()
        guard let runner else { return "No health checks: they come from a keepalived.conf's checker blocks.\n" }
        var out = "Prot LocalAddress:Port           Quorum  LiveWeight\n  -> RemoteAddress:Port         State   Weight  Checkers\n"
        for service in runner.status() {
            let proto = service.key.isFirewallMark ? "FWM " : service.key.proto == .tcp ? "TCP " : "UDP "
            let name = service.key.isFirewallMark ? "\(service.key.fwmark)" : Endpoint(service.key.address, service.key.port).description
            let quorum = service.sorryServerActive ? "sorry" : service.quorumUp ? "up" : "down"
            out += "\(proto) \(Self.pad(name, 26)) \(Self.pad(quorum, 7)) \(service.liveWeight)\n"
            for rs in service.realServers {
                let weight = rs.tableWeight.map(String.init) ?? "out"
                let checkers = rs.checkers.map { "\($0.kind)" }.joined(separator: ",")
                out += "  -> \(Self.pad(rs.endpoint.description, 26)) \(Self.pad(rs.alive ? "UP" : "DOWN", 7)) \(Self.pad(weight, 7)) \(checkers)\n"
            }
        }
        return out
    }

    /// The checkers' view now (empty without checkers) and each server's transitions so far,
    /// for the metrics and the monitor.
    func healthStatus() -> (services: [ServiceHealth], transitions: [HealthTransitionKey: UInt64]) {
        lock.lock()
        let runner = runner
        let transitions = transitions
        lock.unlock()
        return (runner?.status() ?? [], transitions)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Every worker's director, read on its own thread, as one table.
    private func snapshot(includeConnections: Bool) -> AdminSnapshot {
        let now = Self.monotonicNanoseconds()
        let parts = SnapshotParts(count: live.directors.count)
        live.withEachDirector { index, director in
            parts.store(AdminSnapshot(director: director, now: now, includeConnections: includeConnections), at: index)
        }
        return AdminSnapshot(merging: parts.all)
    }
}

/// A real server of a service, as health transitions are counted.
struct HealthTransitionKey: Hashable {
    var service: ServiceKey
    var endpoint: Endpoint
}

/// Each worker's part of a listing, written on the workers' threads, read after all did.
private final class SnapshotParts: @unchecked Sendable {
    // Safety (@unchecked): slot k is written only by worker k's task; `withEachDirector`
    // returns only after every task ran, which orders the writes before `all` is read.
    private var parts: [AdminSnapshot?]
    init(count: Int) { parts = Array(repeating: nil, count: count) }
    func store(_ part: AdminSnapshot, at index: Int) { parts[index] = part }
    var all: [AdminSnapshot] { parts.compactMap { $0 } }
}
