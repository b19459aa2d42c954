import Foundation
import Health
import Logging
import POSIX
import VRRP
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// lvsd's VRRP: the pure `VRRPRouter` driven by a thread of its own, with raw sockets for the
/// adverts (`VRRPSocket`), link states read from /sys/class/net, `vrrp_script`s and notify
/// scripts run with Health's fork/exec (`ScriptProcess`), and two hooks into the engine:
/// which addresses this director does not own right now (a new configuration snapshot), and
/// gratuitous ARP / unsolicited NA bursts.
///
/// Everything the router decides is carried out on the VRRP thread, ownership first (a new
/// master owns its VIPs before its GARP tells the segment; a leaving one stops before its
/// last advert), never on the packet path.
public final class VRRPRuntime: @unchecked Sendable {
    // Safety (@unchecked): `router` is read and changed only under `lock`; the sockets,
    // scripts and link states only on the VRRP thread (or in `shutdown`, after it ended).
    public struct Hooks: Sendable {
        /// The VRRP addresses this director does not own now (every instance's virtual and
        /// excluded addresses, less those of MASTER instances).
        public var standby: @Sendable (Set<IPAddress>) -> Void
        /// `count` gratuitous ARPs / unsolicited NAs for each address.
        public var announce: @Sendable ([IPAddress], Int) -> Void
        /// An instance entered a state (after ownership moved): connection sync follows it
        /// (keepalived's `lvs_sync_daemon IF INSTANCE`).
        public var stateChanged: @Sendable (String, VRRPState) -> Void
        public init(standby: @escaping @Sendable (Set<IPAddress>) -> Void,
                    announce: @escaping @Sendable ([IPAddress], Int) -> Void,
                    stateChanged: @escaping @Sendable (String, VRRPState) -> Void = { _, _ in }) {
            self.standby = standby
            self.announce = announce
            self.stateChanged = stateChanged
        }
    }

    public let config: VRRPConfig
    private let hooks: Hooks
    private let logger: Logger
    private let lock = NSLock()
    private var router: VRRPRouter
    private var sockets: [VRRPSocket] = []
    /// Instance name → its socket's index.
    private var socketOf: [String: Int] = [:]
    private var links: [String: Bool] = [:]
    private var nextLinkPoll: UInt64 = 0
    private var scriptRuns: [ScriptRun] = []
    private var notifies: [(process: ScriptProcess, deadline: UInt64, what: String)] = []
    private var lastStandby: Set<IPAddress>?
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?
    /// Wakes the thread for shutdown.
    private let wakeUp = SelfPipe()

    private static let linkPollInterval: UInt64 = 200_000_000
    private static let notifyTimeout: UInt64 = 30_000_000_000

    private struct ScriptRun {
        var config: VRRPScriptConfig
        var nextRun: UInt64 = 0
        var process: ScriptProcess?
        var deadline: UInt64 = 0
        var killed = false
    }

    /// Every address of every instance: what a director starts with as standby.
    public static func addresses(of config: VRRPConfig) -> Set<IPAddress> {
        Set(config.instances.flatMap { ($0.virtualAddresses + $0.excludedAddresses).map(\.address) })
    }

    /// Opens the sockets (root or CAP_NET_RAW); throws a sentence naming the interface.
    /// Who runs `vrrp_script` and notify scripts (global_defs `script_user`,
    /// `enable_script_security`), the same policy as the checkers' scripts.
    private let scriptPolicy: ScriptPolicy

    public init(config: VRRPConfig, logger: Logger, hooks: Hooks, scriptPolicy: ScriptPolicy = ScriptPolicy()) throws {
        self.scriptPolicy = scriptPolicy
        self.config = config
        self.hooks = hooks
        self.logger = logger
        let primary = InterfaceAddresses.primary()
        router = VRRPRouter(config: config, primaryAddresses: primary)
        for instance in config.instances {
            guard let interface = instance.interface else { continue }
            let own = instance.sourceAddress ?? primary[interface]?.first { $0.isIPv4 != instance.isIPv6 }
            guard let source = own else {
                throw VRRPSocket.Failure(description: "VRRP instance \(instance.name): interface \(interface) has no \(instance.isIPv6 ? "IPv6 link-local" : "IPv4") address to send adverts from; add one or set unicast_src_ip")
            }
            if let i = sockets.firstIndex(where: { $0.interface == interface && $0.isIPv6 == instance.isIPv6 && $0.source == source }) {
                socketOf[instance.name] = i
            } else {
                sockets.append(try VRRPSocket(interface: interface, isIPv6: instance.isIPv6, source: source))
                socketOf[instance.name] = sockets.count - 1
            }
        }
        scriptRuns = config.scripts.map { ScriptRun(config: $0) }
        // lvsd starts with every VRRP address standby (RunCommand), so INIT -> BACKUP swaps nothing.
        lastStandby = Self.addresses(of: config)
        guard wakeUp.isValid else { throw VRRPSocket.Failure(description: "VRRP: pipe: \(SystemCall.describe(errno))") }
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    // MARK: Running

    /// Starts the VRRP thread: link states first, then `.start`.
    public func start() {
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "lvsd-vrrp"
        self.thread = thread
        thread.start()
    }

    /// lvsd is stopping: the thread ends, then MASTER instances send a priority 0 advert (so
    /// the backup takes over after Skew_Time, RFC 5798 §6.4.3), every instance goes to STOP
    /// and `notify_stop` runs. Returns once the adverts are sent.
    public func shutdown() {
        lock.lock()
        stopping = true
        lock.unlock()
        if thread != nil {
            wakeUp.signal()
            finished.wait()
        }
        let now = Self.now()
        lock.lock()
        let actions = router.handle(.shutdown, now: now)
        lock.unlock()
        perform(actions, now: now, ownership: false)
        // notify_stop (and any notify still running) gets a moment: lvsd's exit would kill it.
        let deadline = Self.now() + Self.notifyGraceAtExit
        while !notifies.isEmpty && Self.now() < deadline {
            reapNotifies(now: Self.now())
            usleep(20_000)
        }
    }

    private static let notifyGraceAtExit: UInt64 = 2_000_000_000

    private func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { buffer.deallocate() }
        var now = Self.now()
        var startEvents: [VRRPEvent] = []
        pollLinks(now: now, into: &startEvents)
        startEvents.append(.start)
        handle(startEvents, now: now)
        while true {
            lock.lock()
            let stop = stopping
            let deadline = router.nextDeadline
            lock.unlock()
            if stop { break }
            now = Self.now()
            var wake = nextLinkPoll
            if let deadline { wake = min(wake, deadline) }
            for run in scriptRuns { wake = min(wake, run.process == nil ? run.nextRun : min(run.deadline, now + 20_000_000)) }
            if !notifies.isEmpty { wake = min(wake, now + 100_000_000) }
            let timeout = wake <= now ? 0 : Int32(min((wake - now + 999_999) / 1_000_000, 1_000))
            var fds = [pollfd(fd: wakeUp.descriptor, events: Int16(POLLIN), revents: 0)]
            for s in sockets {
                fds.append(pollfd(fd: s.receiveFD, events: Int16(POLLIN), revents: 0))
                fds.append(pollfd(fd: s.sendFD, events: Int16(POLLIN), revents: 0))
            }
            _ = poll(&fds, nfds_t(fds.count), timeout)
            now = Self.now()
            var events: [VRRPEvent] = []
            for (k, s) in sockets.enumerated() {
                if fds[1 + 2 * k].revents != 0 { receive(s, buffer, into: &events) }
                if fds[2 + 2 * k].revents != 0 { s.drainSendSocket(into: buffer) }
            }
            if fds[0].revents != 0 { wakeUp.clear() }
            if now >= nextLinkPoll { pollLinks(now: now, into: &events) }
            serviceScripts(now: now, into: &events)
            reapNotifies(now: now)
            handle(events, now: now)
        }
    }

    /// Feeds `events`, then `.timer` when due, and carries out what the router says.
    private func handle(_ events: [VRRPEvent], now: UInt64) {
        lock.lock()
        var actions: [VRRPAction] = []
        for event in events { actions += router.handle(event, now: now) }
        if let d = router.nextDeadline, d <= now { actions += router.handle(.timer, now: now) }
        lock.unlock()
        perform(actions, now: now, ownership: true)
    }

    private func receive(_ s: VRRPSocket, _ buffer: UnsafeMutableRawBufferPointer, into events: inout [VRRPEvent]) {
        for _ in 0..<64 {
            let (received, more) = s.receive(into: buffer)
            if let r = received {
                let base = buffer.baseAddress! + r.offset
                do {
                    let view = try VRRPAdvertisement(base, length: r.length, source: r.source, destination: r.destination)
                    events.append(.advertisement(VRRPReceivedAdvert(view, interface: s.interface, source: r.source,
                                                                    destination: r.destination, ttl: r.ttl)))
                } catch {
                    let vrid: UInt8? = r.length >= 2 ? base.load(fromByteOffset: 1, as: UInt8.self) : nil
                    events.append(.invalidAdvertisement(interface: s.interface, virtualRouterID: vrid, error))
                    logger.debug("lvsd: vrrp: refused an advert from \(r.source) on \(s.interface): \(error)")
                }
            } else if !more {
                return
            }
        }
    }

    // MARK: Carrying out actions

    private func perform(_ actions: [VRRPAction], now: UInt64, ownership: Bool) {
        guard !actions.isEmpty else { return }
        // Ownership first: the snapshot swap takes microseconds, and a GARP before it would
        // send the segment to a director that still drops the VIP.
        var changed = false
        for case .stateChanged(let name, let from, let to, let reason) in actions {
            logger.notice("lvsd: vrrp: \(name): \(from) -> \(to) (\(reason))",
                          metadata: ["instance": "\(name)", "from": "\(from)", "state": "\(to)", "reason": "\(reason)"])
            changed = true
        }
        for case .groupStateChanged(let group, let to) in actions {
            logger.notice("lvsd: vrrp: sync group \(group): \(to)", metadata: ["sync_group": "\(group)", "state": "\(to)"])
        }
        if changed && ownership { publishOwnership() }
        for action in actions {
            switch action {
            case .sendAdvertisement(let name, let priority): sendAdvert(name, priority: priority)
            case .sendGratuitous(let name, let count):
                guard let instance = config.instances.first(where: { $0.name == name }) else { continue }
                let addresses = (instance.virtualAddresses + instance.excludedAddresses).map(\.address)
                hooks.announce(addresses, count)
            case .runNotify(let command): runNotify(command, now: now)
            case .stateChanged, .groupStateChanged: break
            }
        }
        // Last: moving the sync daemons opens sockets and waits for every worker, which must
        // not hold back a new master's advert and gratuitous ARPs.
        for case .stateChanged(let name, _, let to, _) in actions { hooks.stateChanged(name, to) }
    }

    private func publishOwnership() {
        lock.lock()
        let status = router.status
        lock.unlock()
        var standby = Set<IPAddress>()
        var owned = Set<IPAddress>()
        for (s, instance) in zip(status, config.instances) {
            let addresses = (instance.virtualAddresses + instance.excludedAddresses).map(\.address)
            if s.state == .master { owned.formUnion(addresses) } else { standby.formUnion(addresses) }
        }
        standby.subtract(owned)
        guard standby != lastStandby else { return }
        lastStandby = standby
        hooks.standby(standby)
    }

    private func sendAdvert(_ name: String, priority: UInt8) {
        guard let instance = config.instances.first(where: { $0.name == name }), let k = socketOf[name] else { return }
        let s = sockets[k]
        let destinations = instance.isUnicast ? instance.unicastPeers
            : [instance.isIPv6 ? VRRPAdvertisement.ipv6Group : VRRPAdvertisement.ipv4Group]
        let addresses = instance.virtualAddresses.map(\.address)
        let length = VRRPAdvertisement.length(version: instance.version, addressCount: addresses.count, isIPv6: instance.isIPv6)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 8)
        defer { buffer.deallocate() }
        for destination in destinations {
            VRRPAdvertisement.emit(into: buffer, version: instance.version, virtualRouterID: instance.virtualRouterID,
                                   priority: priority, intervalCentiseconds: instance.advertisementInterval,
                                   addresses: addresses, authType: instance.authentication.type,
                                   authData: instance.authentication.data, source: s.source, destination: destination)
            if let error = s.send(buffer, length: length, to: destination) {
                logger.warning("lvsd: vrrp: \(name): cannot send an advert to \(destination) on \(s.interface): \(SystemCall.describe(error))",
                               metadata: ["instance": "\(name)", "interface": "\(s.interface)", "reason": "\(SystemCall.describe(error))"])
            }
        }
    }

    private func runNotify(_ command: VRRPCommand, now: UInt64) {
        let what = command.arguments.joined(separator: " ")
        switch ScriptProcess.start(ScriptCommand(command.arguments, user: command.user, group: command.group), policy: scriptPolicy) {
        case .success(let process):
            logger.info("lvsd: vrrp: notify: \(what)")
            notifies.append((process, now + Self.notifyTimeout, what))
        case .failure(let failure):
            logger.warning("lvsd: vrrp: notify: \(what): \(failure)")
        }
    }

    private func reapNotifies(now: UInt64) {
        notifies.removeAll { entry in
            if let outcome = entry.process.outcome() {
                if !outcome.succeeded { logger.info("lvsd: vrrp: notify \(entry.what): \(outcome)") }
                return true
            }
            if now >= entry.deadline {
                entry.process.signal(SIGKILL)
                logger.warning("lvsd: vrrp: notify \(entry.what): still running after 30 s, killed")
                return entry.process.outcome() != nil
            }
            return false
        }
    }

    // MARK: Links and scripts

    /// Reads /sys/class/net/IF/operstate of every interface an instance uses or tracks
    /// ("up", or "unknown" for links without carrier reporting, count as up) and reports
    /// changes. The namespace's own view: `ip netns exec` mounts its sysfs.
    private func pollLinks(now: UInt64, into events: inout [VRRPEvent]) {
        nextLinkPoll = now + Self.linkPollInterval
        var names = Set<String>()
        for i in config.instances {
            if let interface = i.interface { names.insert(interface) }
            for t in i.trackedInterfaces { names.insert(t.name) }
        }
        for name in names.sorted() {
            let up = Self.linkUp(name)
            if links[name] != up {
                if links[name] != nil || !up { logger.notice("lvsd: vrrp: interface \(name) is \(up ? "up" : "down")") }
                links[name] = up
                events.append(.interface(name, up: up))
            }
        }
    }

    static func linkUp(_ name: String) -> Bool {
        guard let text = try? String(contentsOfFile: "/sys/class/net/\(name)/operstate", encoding: .utf8) else {
            return FileManager.default.fileExists(atPath: "/sys/class/net/\(name)") || !FileManager.default.fileExists(atPath: "/sys/class/net")
        }
        let state = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return state == "up" || state == "unknown"
    }

    /// Starts due `vrrp_script`s, reaps finished ones and kills overdue ones (a timeout is a
    /// failure, as in keepalived).
    private func serviceScripts(now: UInt64, into events: inout [VRRPEvent]) {
        for k in scriptRuns.indices {
            if let process = scriptRuns[k].process {
                if let outcome = process.outcome() {
                    events.append(.scriptResult(scriptRuns[k].config.name, success: outcome.succeeded && !scriptRuns[k].killed))
                    scriptRuns[k].process = nil
                } else if now >= scriptRuns[k].deadline && !scriptRuns[k].killed {
                    process.signal(SIGKILL)
                    scriptRuns[k].killed = true
                    scriptRuns[k].deadline = now + 1_000_000_000
                    logger.info("lvsd: vrrp: script \(scriptRuns[k].config.name) timed out")
                } else if now >= scriptRuns[k].deadline {
                    events.append(.scriptResult(scriptRuns[k].config.name, success: false))
                    scriptRuns[k].process = nil
                }
                continue
            }
            guard now >= scriptRuns[k].nextRun else { continue }
            let config = scriptRuns[k].config
            scriptRuns[k].nextRun = now + config.interval
            scriptRuns[k].killed = false
            let command = ScriptCommand(config.command.arguments, user: config.command.user, group: config.command.group)
            switch ScriptProcess.start(command, policy: scriptPolicy) {
            case .success(let process):
                scriptRuns[k].process = process
                scriptRuns[k].deadline = now + (config.timeout > 0 ? config.timeout : config.interval)
            case .failure(let failure):
                logger.warning("lvsd: vrrp: script \(config.name): \(failure)")
                events.append(.scriptResult(config.name, success: false))
            }
        }
    }

    // MARK: Status

    /// Every instance, for `lvsadm --vrrp` and the stop summary.
    public var status: [VRRPInstanceStatus] {
        lock.lock()
        defer { lock.unlock() }
        return router.status
    }

    /// `lvsadm --vrrp`: one line per instance.
    public func listing() -> String {
        VRRPListing.render(status)
    }
}

/// The `lvsadm --vrrp` table.
public enum VRRPListing {
    public static func render(_ status: [VRRPInstanceStatus]) -> String {
        var out = pad("Instance", 16) + " " + pad("State", 7) + " " + pad("Prio", 5) + " " + pad("EffPrio", 8) + " "
            + pad("Master", 26) + " VIPs\n"
        for s in status {
            out += pad(s.name, 16) + " " + pad(s.state.description, 7) + " " + pad("\(s.priority)", 5) + " "
                + pad("\(s.effectivePriority)", 8) + " " + pad(s.masterAddress?.description ?? "-", 26) + " "
                + s.virtualAddresses.map(\.description).joined(separator: ",") + "\n"
        }
        return out
    }

    /// Counters and last transition per instance, for the stop summary.
    public static func details(_ status: [VRRPInstanceStatus]) -> [String] {
        status.map { s in
            let counters = s.counters.nonZero.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
            return "\(s.name): \(s.state) priority \(s.priority) (effective \(s.effectivePriority)), last transition: \(s.reason.isEmpty ? "none" : s.reason)\(counters.isEmpty ? "" : "; \(counters)")"
        }
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
