/// Everything VRRP in one keepalived.conf: instances, the scripts they track and the sync
/// groups that tie them together. Immutable once built; `VRRPRouter` runs it.
public struct VRRPConfig: Hashable, Sendable {
    public var instances: [VRRPInstanceConfig]
    public var scripts: [VRRPScriptConfig]
    public var syncGroups: [VRRPSyncGroupConfig]

    public init(instances: [VRRPInstanceConfig] = [], scripts: [VRRPScriptConfig] = [],
                syncGroups: [VRRPSyncGroupConfig] = []) {
        self.instances = instances
        self.scripts = scripts
        self.syncGroups = syncGroups
    }

    public var isEmpty: Bool { instances.isEmpty }
}

/// `vrrp_script NAME { script interval timeout weight rise fall user }` (vrrp_track.h defaults:
/// interval 1 s, timeout 0 = the interval, weight 0, rise 1, fall 1). The state machine
/// sees only its results; running it is the caller's.
public struct VRRPScriptConfig: Hashable, Sendable {
    public var name: String
    public var command: VRRPCommand
    /// Nanoseconds between runs.
    public var interval: UInt64
    /// Nanoseconds before a run counts as failed; 0: the interval.
    public var timeout: UInt64
    /// -253...253; 0: a failure puts every instance tracking it (without its own weight) in FAULT.
    public var weight: Int
    /// `weight W reverse`.
    public var reverse: Bool
    /// Successes in a row before a failed script is up again.
    public var rise: Int
    /// Failures in a row before an up script is down.
    public var fall: Int

    public init(name: String, command: VRRPCommand, interval: UInt64 = VRRPTimers.nanosecondsPerSecond, timeout: UInt64 = 0,
                weight: Int = 0, reverse: Bool = false, rise: Int = 1, fall: Int = 1) {
        self.name = name
        self.command = command
        self.interval = interval
        self.timeout = timeout
        self.weight = weight
        self.reverse = reverse
        self.rise = rise
        self.fall = fall
    }
}

/// `vrrp_sync_group NAME { group { INSTANCE ... } notify... }`: its members change state
/// together (vrrp_sync.c): one to FAULT takes all to FAULT, one to BACKUP takes all to
/// BACKUP, and they become MASTER only when every member wants to.
public struct VRRPSyncGroupConfig: Hashable, Sendable {
    public var name: String
    /// Instance names, in the order written.
    public var instances: [String]
    public var notify: VRRPNotifyScripts

    public init(name: String, instances: [String], notify: VRRPNotifyScripts = VRRPNotifyScripts()) {
        self.name = name
        self.instances = instances
        self.notify = notify
    }
}
