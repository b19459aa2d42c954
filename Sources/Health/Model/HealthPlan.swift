import Core
import Wire

/// Everything the health state machine knows about the configured pool: per virtual service
/// its quorum settings, sorry server and real servers, per real server its checkers (keepalived's
/// virtual_server / real_server blocks, check_data.h).
///
/// Real servers are identified as `Director.reconfigure` identifies them (service, RIP:rport),
/// so the desired configuration can be computed from any base `DirectorConfig`.
public struct HealthPlan: Hashable, Sendable {
    public var services: [ServiceHealthPlan]
    /// Who runs MISC_CHECK and notify scripts (global_defs `script_user`, `enable_script_security`).
    public var scripts: ScriptPolicy

    public init(services: [ServiceHealthPlan] = [], scripts: ScriptPolicy = ScriptPolicy()) {
        self.services = services
        self.scripts = scripts
    }

    /// A plan for `base` with every real server present and no checkers: add checkers with
    /// `addChecker` or build `services` directly.
    public init(base: DirectorConfig) {
        services = base.services.map { ServiceHealthPlan(service: $0) }
        scripts = ScriptPolicy()
    }

    /// Adds `checker` to the real server it targets; throws if the plan has no such server.
    public mutating func addChecker(_ checker: CheckerConfig) throws(HealthConfigError) {
        guard let s = services.firstIndex(where: { $0.key == checker.target.service }) else {
            throw HealthConfigError("\(checker): virtual service \(checker.target.service) is not configured")
        }
        guard let r = services[s].realServers.firstIndex(where: { $0.endpoint == checker.target.realServer }) else {
            throw HealthConfigError("\(checker): real server \(checker.target.realServer) is not in virtual service \(checker.target.service)")
        }
        services[s].realServers[r].checkers.append(checker)
    }

    /// The plan for what `base` still has: services and real servers that lvsadm removed since
    /// the file was read lose their checks, instead of the whole plan being refused (which
    /// would leave every other server unchecked).
    public func limited(to base: DirectorConfig) -> HealthPlan {
        var plan = self
        plan.services = services.compactMap { s in
            guard let service = base.services.first(where: { $0.key == s.key }) else { return nil }
            var s = s
            s.realServers.removeAll { rs in !service.realServers.contains { $0.endpoint == rs.endpoint } }
            return s
        }
        return plan
    }

    /// Every checker in plan order (service, real server, checker): the index is a `CheckerID`.
    public var checkers: [CheckerConfig] {
        services.flatMap { $0.realServers.flatMap(\.checkers) }
    }

    /// keepalived's configuration fix-ups (check_data.c validate_check_config), applied to a
    /// copy, with the warnings keepalived would log:
    /// - a quorum above the total real-server weight is lowered to it (otherwise the service
    ///   could never gain quorum);
    /// - a hysteresis not below the quorum is lowered to quorum - 1.
    public func normalized() -> (plan: HealthPlan, warnings: [String]) {
        var plan = self, warnings: [String] = []
        for i in plan.services.indices {
            var s = plan.services[i]
            let total = s.realServers.reduce(Int64(0)) { $0 + Int64(max(0, $1.weight)) }
            if Int64(s.quorum) > total {
                warnings.append("quorum \(s.quorum) for VS \(s.key) exceeds the total weight of its real servers \(total), reducing quorum to \(total)")
                s.quorum = UInt32(clamping: total)
            }
            if s.hysteresis >= s.quorum && s.hysteresis > 0 {
                let lowered = s.quorum == 0 ? 0 : s.quorum - 1
                warnings.append("VS \(s.key): hysteresis \(s.hysteresis) >= quorum \(s.quorum); setting hysteresis to \(lowered)")
                s.hysteresis = lowered
            }
            plan.services[i] = s
        }
        return (plan, warnings)
    }

    /// Every problem that keeps the plan from running, as sentences naming the checker.
    public var problems: [String] {
        var out: [String] = []
        for s in services {
            for rs in s.realServers {
                for c in rs.checkers {
                    if c.target.service != s.key || c.target.realServer != rs.endpoint {
                        out.append("\(c) is filed under real server \(rs.endpoint) of VS \(s.key) but targets \(c.target.realServer) of VS \(c.target.service)")
                    }
                    out += c.problems.map { "\(c): \($0)" }
                }
            }
        }
        return out
    }
}

/// A virtual service's health settings (keepalived `virtual_server` block).
public struct ServiceHealthPlan: Hashable, Sendable {
    public var key: ServiceKey
    /// `quorum` (default 1): the live weight the service needs to count as up.
    public var quorum: UInt32
    /// `hysteresis` (default 0): quorum is lost below quorum - hysteresis and regained at
    /// quorum + hysteresis (ipwrapper.c update_quorum_state).
    public var hysteresis: UInt32
    /// `sorry_server`: takes the whole service while quorum is lost.
    public var sorryServer: SorryServer?
    /// `omega`: run the down notifications (notify_down, quorum_down) when the checkers stop.
    public var omega: Bool
    /// `quorum_up` / `quorum_down` scripts.
    public var quorumUpScript: ScriptCommand?
    public var quorumDownScript: ScriptCommand?
    public var realServers: [RealServerHealthPlan]

    public init(key: ServiceKey, quorum: UInt32 = 1, hysteresis: UInt32 = 0, sorryServer: SorryServer? = nil, omega: Bool = false,
                quorumUpScript: ScriptCommand? = nil, quorumDownScript: ScriptCommand? = nil,
                realServers: [RealServerHealthPlan] = []) {
        self.key = key
        self.quorum = quorum
        self.hysteresis = hysteresis
        self.sorryServer = sorryServer
        self.omega = omega
        self.quorumUpScript = quorumUpScript
        self.quorumDownScript = quorumDownScript
        self.realServers = realServers
    }

    /// The service's real servers with their configured weights, no checkers.
    public init(service: VirtualServiceConfig) {
        self.init(key: service.key, realServers: service.realServers.map {
            RealServerHealthPlan(endpoint: $0.endpoint, weight: $0.weight)
        })
    }
}

/// A real server's health settings (keepalived `real_server` block).
public struct RealServerHealthPlan: Hashable, Sendable {
    public var endpoint: Endpoint
    /// The configured weight (keepalived's `iweight`).
    public var weight: Int32
    /// `inhibit_on_failure`: a failed server stays in the table with weight 0, so its
    /// established connections continue, instead of being removed.
    public var inhibitOnFailure: Bool
    public var notifyUp: ScriptCommand?
    public var notifyDown: ScriptCommand?
    /// A real server without checkers is always alive, as in keepalived.
    public var checkers: [CheckerConfig]

    public init(endpoint: Endpoint, weight: Int32 = 1, inhibitOnFailure: Bool = false, notifyUp: ScriptCommand? = nil,
                notifyDown: ScriptCommand? = nil, checkers: [CheckerConfig] = []) {
        self.endpoint = endpoint
        self.weight = weight
        self.inhibitOnFailure = inhibitOnFailure
        self.notifyUp = notifyUp
        self.notifyDown = notifyDown
        self.checkers = checkers
    }
}

/// `sorry_server IP PORT` with `sorry_server_inhibit` and `sorry_server_lvs_method`.
public struct SorryServer: Hashable, Sendable {
    public var endpoint: Endpoint
    /// keepalived gives the sorry server weight 1 (check_data.c alloc_ssvr).
    public var weight: Int32
    public var method: ForwardingMethod
    /// `sorry_server_inhibit`: keep it in the table with weight 0 while not needed.
    public var inhibit: Bool

    public init(endpoint: Endpoint, weight: Int32 = 1, method: ForwardingMethod = .nat, inhibit: Bool = false) {
        self.endpoint = endpoint
        self.weight = weight
        self.method = method
        self.inhibit = inhibit
    }
}
