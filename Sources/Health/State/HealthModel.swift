import Core
import Wire

/// A checker's position in `HealthPlan.checkers` (plan order: service, real server, checker).
public struct CheckerID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: CheckerID, b: CheckerID) -> Bool { a.index < b.index }
    public var description: String { "checker #\(index)" }
}

/// The health state machine: keepalived's checker epilogs and ipwrapper.c in one pure value.
///
/// It owns no clock and does no I/O. The runner feeds it each check's outcome with the time
/// (`record`); it answers with transition events, notify scripts to run, whether the desired
/// table changed, and when that checker runs next. `desiredConfig(from:)` turns the state into
/// the `DirectorConfig` the engine should run (applied with `Director.reconfigure`).
///
/// Rules ported from keepalived:
/// - Per checker (check_tcp.c tcp_epilog and its twins): a success resets the retry count; a
///   failure while up is retried `retry` times, `delay_before_retry` apart, before the checker
///   goes down; a failure while down is not retried. On the very first run one failure is enough
///   (retry_it starts at `retry`, check_data.c).
/// - Per real server (ipwrapper.c update_svr_checker_state, set_checker_state): alive when all
///   its checkers are up. `alpha` checkers start down, so the server starts out of the pool.
/// - In the table (ipwrapper.c perform_svr_state, ipvswrapper.c ipvs_cmd): an alive server is in
///   with its weight; a failed one is removed, or kept at weight 0 with `inhibit_on_failure`.
/// - Per service (ipwrapper.c update_quorum_state): the live weight is the sum of alive
///   servers' weights. Quorum is lost when it drops below quorum - hysteresis (or to 0) and
///   regained at quorum + hysteresis. While quorum is lost and a `sorry_server` is set, the
///   sorry server takes the service alone.
/// - MISC_CHECK `misc_dynamic` (check_misc.c): the exit status sets the weight (status - 2);
///   exit 0 restores the configured weight.
public struct HealthModel: Sendable {
    /// The plan after keepalived's fix-ups (`HealthPlan.normalized`).
    public let plan: HealthPlan
    /// Warnings from those fix-ups.
    public let warnings: [String]
    public let checkerConfigs: [CheckerConfig]

    struct CheckerState: Sendable {
        var isUp = true
        var hasRun = false
        var retryIt = 0
        /// MISC_CHECK dynamic weight contribution (keepalived `cur_weight`).
        var currentWeight: Int64 = 0
        var lastFailure: CheckFailure?
        var lastRun: Duration?
        /// How long the last check took, start to outcome.
        var lastDuration: Duration?
        let service: Int
        let realServer: Int
        /// First run; later runs fall on anchor + k × delay_loop.
        let anchor: Duration
    }

    struct RealServerState: Sendable {
        var alive = false
        var failedCheckers = 0
        /// keepalived `effective_weight`: configured weight plus checker contributions.
        var effectiveWeight: Int64
        let configuredWeight: Int64
    }

    struct ServiceState: Sendable {
        var quorumUp = false
        var sorryActive = false
        var realServers: [RealServerState]
    }

    var checkers: [CheckerState]
    var services: [ServiceState]
    private(set) public var started = false

    /// Builds the state for `plan` (normalized first). Checker `i` first runs at
    /// `start + warmup × fraction`, with fractions drawn from `seed`.
    public init(plan: HealthPlan, start: Duration = .zero, seed: UInt64 = 0) {
        let (normalized, warnings) = plan.normalized()
        self.plan = normalized
        self.warnings = warnings
        var generator = SplitMix64(seed: seed)
        var configs: [CheckerConfig] = []
        var states: [CheckerState] = []
        var services: [ServiceState] = []
        for (s, service) in normalized.services.enumerated() {
            var servers: [RealServerState] = []
            for (r, rs) in service.realServers.enumerated() {
                servers.append(RealServerState(effectiveWeight: Int64(rs.weight), configuredWeight: Int64(rs.weight)))
                for checker in rs.checkers {
                    let fraction = Double(generator.next() >> 11) / Double(1 << 53)
                    let offset = CheckSchedule.warmupOffset(checker.timing.effectiveWarmup, fraction: fraction)
                    var state = CheckerState(service: s, realServer: r, anchor: start + offset)
                    // keepalived check_data.c: one failure is enough on the first run.
                    state.retryIt = checker.timing.retry
                    configs.append(checker)
                    states.append(state)
                }
            }
            services.append(ServiceState(realServers: servers))
        }
        self.checkerConfigs = configs
        self.checkers = states
        self.services = services
    }

    /// When checker `id` runs first.
    public func firstRun(of id: CheckerID) -> Duration { checkers[id.index].anchor }

    /// keepalived's init_services: alpha checkers start down, servers without a failed checker
    /// enter the pool, each service's quorum is evaluated once.
    public mutating func start() -> HealthReport { start(inheriting: HealthCarryOver()) }

    /// keepalived's init_services, after a reload too: checkers of unchanged real servers take
    /// their old verdict (no "Activating" line, no notify script), the others start as at boot
    /// (`alpha` ones down). Services keep their quorum state, so `quorum_up` / `quorum_down` run
    /// only when the live weight really crosses the threshold.
    public mutating func start(inheriting previous: HealthCarryOver) -> HealthReport {
        precondition(!started, "HealthModel.start runs once")
        started = true
        var report = HealthReport()
        let keys = carryOverKeys
        var inherited = [Bool](repeating: false, count: checkers.count)
        for i in checkers.indices {
            let s = checkers[i].service, r = checkers[i].realServer
            if let memory = previous.checkers[keys[i]] {
                inherited[i] = true
                checkers[i].isUp = memory.isUp
                checkers[i].hasRun = memory.hasRun
                checkers[i].retryIt = memory.retryIt
                checkers[i].currentWeight = memory.currentWeight
                checkers[i].lastFailure = memory.lastFailure
                services[s].realServers[r].effectiveWeight += memory.currentWeight
            } else if checkerConfigs[i].timing.alpha {
                checkers[i].isUp = false
            }
            if !checkers[i].isUp { services[s].realServers[r].failedCheckers += 1 }
        }
        for s in services.indices {
            for r in services[s].realServers.indices {
                services[s].realServers[r].alive = services[s].realServers[r].failedCheckers == 0
            }
        }
        for (i, c) in checkers.enumerated() where !inherited[i] {
            let plan = self.plan.services[c.service], rs = plan.realServers[c.realServer], config = checkerConfigs[i]
            report.events.append(HealthEvent(.notice, service: plan.key, realServer: rs.endpoint,
                                             "Activating healthchecker \(config.kind) for service \(rs.endpoint) of VS \(plan.key)\(config.timing.alpha ? " (alpha: starts failed)" : "")"))
        }
        for s in services.indices {
            let plan = self.plan.services[s]
            if let memory = previous.services[plan.key] {
                services[s].quorumUp = memory.quorumUp
                services[s].sorryActive = memory.sorryActive
                updateQuorum(service: s, initial: false, into: &report)
            } else {
                // set_quorum_states ran before the servers were marked alive: weight 0.
                services[s].quorumUp = 0 >= Int64(plan.quorum) + Int64(plan.hysteresis)
                updateQuorum(service: s, initial: true, into: &report)
            }
        }
        report.desiredChanged = true
        return report
    }

    /// Feeds one check's outcome at `now` (the check began at `begun`, when known); returns
    /// the transitions and `nextRun`.
    public mutating func record(_ outcome: CheckOutcome, for id: CheckerID, at now: Duration, begun: Duration? = nil) -> HealthReport {
        precondition(started, "call start() before record()")
        let i = id.index
        let config = checkerConfigs[i]
        let s = checkers[i].service, r = checkers[i].realServer
        let before = desiredEntries(service: s)
        var report = HealthReport()
        checkers[i].lastRun = now
        if let begun { checkers[i].lastDuration = now >= begun ? now - begun : .zero }

        let success: Bool
        switch outcome {
        case .success(let weight):
            success = true
            checkers[i].lastFailure = nil
            // check_misc.c: the weight follows every successful exit, up or not.
            let configured = services[s].realServers[r].configuredWeight
            let contribution = (weight ?? configured) - configured
            if contribution != checkers[i].currentWeight {
                let effective = services[s].realServers[r].effectiveWeight - checkers[i].currentWeight + contribution
                checkers[i].currentWeight = contribution
                updateWeight(service: s, realServer: r, to: effective, into: &report)
            }
        case .failure(let failure):
            success = false
            checkers[i].lastFailure = failure
        }

        let timing = config.timing
        var next = CheckSchedule.nextGridPoint(after: now, anchor: checkers[i].anchor, period: timing.delayLoop)
        let wasUp = checkers[i].isUp, hasRun = checkers[i].hasRun
        if success || ((wasUp || !hasRun) && checkers[i].retryIt >= timing.retry) {
            let retried = checkers[i].retryIt
            checkers[i].retryIt = 0
            if success && (!wasUp || !hasRun) {
                if !wasUp {
                    report.events.append(event(.checkerUp, i, "\(config): success"))
                }
                updateCheckerState(i, alive: true, into: &report)
            } else if !success && (wasUp || !hasRun) {
                let failure = checkers[i].lastFailure.map { "\($0)" } ?? "failed"
                let after = hasRun && timing.retry > 0 ? " (after \(retried) \(retried == 1 ? "retry" : "retries"))" : ""
                report.events.append(event(.checkerDown, i, "\(config) \(failure)\(after)", reason: failure))
                // check_misc.c: a failed dynamic checker gives its weight contribution back.
                services[s].realServers[r].effectiveWeight -= checkers[i].currentWeight
                checkers[i].currentWeight = 0
                updateCheckerState(i, alive: false, into: &report)
            }
        } else if wasUp {
            checkers[i].retryIt += 1
            next = now + timing.delayBeforeRetry
            let failure = checkers[i].lastFailure.map { "\($0)" } ?? "failed"
            report.events.append(event(.retrying, i,
                                       "\(config) \(failure) (retry \(checkers[i].retryIt) of \(timing.retry) in \(Self.format(timing.delayBeforeRetry)))",
                                       reason: failure))
        }
        checkers[i].hasRun = true
        report.nextRun = next
        report.desiredChanged = report.desiredChanged || desiredEntries(service: s) != before
        return report
    }

    /// keepalived's shutdown (ipwrapper.c clear_services): with `omega`, alive servers run
    /// notify_down and the service runs quorum_down.
    public mutating func shutdown() -> HealthReport {
        var report = HealthReport()
        for s in services.indices {
            let plan = self.plan.services[s]
            for r in services[s].realServers.indices where services[s].realServers[r].alive {
                services[s].realServers[r].alive = false
                let rs = plan.realServers[r]
                report.events.append(HealthEvent(.notice, service: plan.key, realServer: rs.endpoint,
                                                 "Shutting down service \(rs.endpoint) from VS \(plan.key)"))
                if plan.omega, let script = rs.notifyDown {
                    report.scripts.append(ScriptRequest(script, reason: "notify_down for \(rs.endpoint) of VS \(plan.key) (omega)"))
                }
            }
            if plan.omega, let script = plan.quorumDownScript {
                report.scripts.append(ScriptRequest(script, reason: "quorum_down for VS \(plan.key) (omega)"))
            }
            services[s].quorumUp = false
        }
        return report
    }

    // MARK: keepalived ipwrapper.c

    private func event(_ kind: HealthEvent.Kind, _ checker: Int, _ message: String, reason: String? = nil) -> HealthEvent {
        let c = checkers[checker]
        return HealthEvent(kind, service: plan.services[c.service].key,
                           realServer: plan.services[c.service].realServers[c.realServer].endpoint, message,
                           checker: checkerConfigs[checker].kind, reason: reason)
    }

    /// update_svr_checker_state + set_checker_state.
    private mutating func updateCheckerState(_ i: Int, alive: Bool, into report: inout HealthReport) {
        let s = checkers[i].service, r = checkers[i].realServer
        if checkers[i].isUp == alive {
            if !checkers[i].hasRun {
                // The first result confirms the initial state: alpha reports it (notify).
                if checkerConfigs[i].timing.alpha || !alive { notifyRealServer(service: s, realServer: r, into: &report) }
                checkers[i].hasRun = true
            }
            return
        }
        checkers[i].hasRun = true
        let failed = services[s].realServers[r].failedCheckers
        if alive ? failed <= 1 : failed == 0 {
            performServerState(service: s, realServer: r, alive: alive,
                               reason: alive ? nil : checkers[i].lastFailure.map { "\($0)" }, into: &report)
        }
        checkers[i].isUp = alive
        if alive {
            if services[s].realServers[r].failedCheckers > 0 { services[s].realServers[r].failedCheckers -= 1 }
        } else {
            services[s].realServers[r].failedCheckers += 1
        }
    }

    /// perform_svr_state: the server enters or leaves the pool.
    private mutating func performServerState(service s: Int, realServer r: Int, alive: Bool, reason: String?,
                                             into report: inout HealthReport) {
        guard services[s].realServers[r].alive != alive else { return }
        let plan = self.plan.services[s], rs = plan.realServers[r]
        let inhibit = rs.inhibitOnFailure
        let line: String
        if alive {
            line = inhibit ? "Enabling service \(rs.endpoint) of VS \(plan.key)" : "Adding service \(rs.endpoint) to VS \(plan.key)"
        } else {
            line = inhibit ? "Disabling service \(rs.endpoint) of VS \(plan.key) (inhibit_on_failure: weight 0, connections continue)"
                : "Removing service \(rs.endpoint) from VS \(plan.key)"
        }
        let held = plan.sorryServer != nil && services[s].sorryActive && !services[s].quorumUp
        report.events.append(HealthEvent(alive ? .realServerUp : .realServerDown, service: plan.key, realServer: rs.endpoint,
                                         held ? line + " (the sorry server holds the service until quorum returns)" : line,
                                         reason: reason))
        services[s].realServers[r].alive = alive
        notifyRealServer(service: s, realServer: r, into: &report)
        updateQuorum(service: s, initial: false, into: &report)
    }

    /// do_rs_notifies: notify_up or notify_down, by the server's state now.
    private func notifyRealServer(service s: Int, realServer r: Int, into report: inout HealthReport) {
        let plan = self.plan.services[s], rs = plan.realServers[r]
        if services[s].realServers[r].alive {
            if let script = rs.notifyUp { report.scripts.append(ScriptRequest(script, reason: "notify_up for \(rs.endpoint) of VS \(plan.key)")) }
        } else if let script = rs.notifyDown {
            report.scripts.append(ScriptRequest(script, reason: "notify_down for \(rs.endpoint) of VS \(plan.key)"))
        }
    }

    /// update_svr_wgt.
    private mutating func updateWeight(service s: Int, realServer r: Int, to effective: Int64, into report: inout HealthReport) {
        let old = Self.realWeight(services[s].realServers[r].effectiveWeight), new = Self.realWeight(effective)
        services[s].realServers[r].effectiveWeight = effective
        guard old != new else { return }
        let plan = self.plan.services[s], rs = plan.realServers[r]
        let active = services[s].realServers[r].alive ? "" : "in"
        report.events.append(HealthEvent(.weightChanged, service: plan.key, realServer: rs.endpoint,
                                         "Changing weight from \(old) to \(new) for \(active)active service \(rs.endpoint) of VS \(plan.key)"))
        updateQuorum(service: s, initial: false, into: &report)
    }

    /// weigh_live_realservers.
    func liveWeight(service s: Int) -> Int64 {
        services[s].realServers.reduce(0) { $0 + ($1.alive ? Self.realWeight($1.effectiveWeight) : 0) }
    }

    /// update_quorum_state.
    private mutating func updateQuorum(service s: Int, initial: Bool, into report: inout HealthReport) {
        let plan = self.plan.services[s]
        let weight = liveWeight(service: s)
        let quorum = Int64(plan.quorum), hysteresis = Int64(plan.hysteresis)
        let threshold = quorum + (services[s].quorumUp ? -hysteresis : hysteresis)
        if !services[s].quorumUp && weight >= threshold {
            services[s].quorumUp = true
            report.events.append(HealthEvent(.quorumGained, service: plan.key,
                                             "Gained quorum \(quorum)+\(hysteresis)=\(threshold) <= \(weight) for VS \(plan.key)"))
            if let sorry = plan.sorryServer, services[s].sorryActive {
                services[s].sorryActive = false
                report.events.append(HealthEvent(.sorryServerOut, service: plan.key, realServer: sorry.endpoint,
                                                 "\(sorry.inhibit ? "Disabling" : "Removing") sorry server \(sorry.endpoint) from VS \(plan.key); adding alive servers back to the pool"))
            }
            if let script = plan.quorumUpScript { report.scripts.append(ScriptRequest(script, reason: "quorum_up for VS \(plan.key)")) }
        } else if (services[s].quorumUp && (weight == 0 || weight < threshold))
                    || (initial && !services[s].quorumUp && plan.sorryServer != nil && !services[s].sorryActive) {
            services[s].quorumUp = false
            report.events.append(HealthEvent(.quorumLost, service: plan.key,
                                             "\(initial ? "Starting with quorum down" : "Lost quorum") \(quorum)-\(hysteresis)=\(threshold) > \(weight) for VS \(plan.key)"))
            if let sorry = plan.sorryServer, !services[s].sorryActive {
                services[s].sorryActive = true
                report.events.append(HealthEvent(.sorryServerIn, service: plan.key, realServer: sorry.endpoint,
                                                 "Removing alive servers from the pool for VS \(plan.key); \(sorry.inhibit ? "enabling" : "adding") sorry server \(sorry.endpoint)"))
            }
            if let script = plan.quorumDownScript { report.scripts.append(ScriptRequest(script, reason: "quorum_down for VS \(plan.key)")) }
        }
    }

    /// keepalived check_data.h real_weight: the weight IPVS gets, clamped to 0...Int32.max.
    static func realWeight(_ effective: Int64) -> Int64 { min(max(effective, 0), Int64(Int32.max)) }

    /// `3 s`, `500 ms`.
    static func format(_ d: Duration) -> String {
        let ns = CheckSchedule.nanoseconds(d)
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000) s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000) ms" }
        return "\(Double(ns) / 1e9) s"
    }
}
