import Wire

/// Which half of connection sync a director runs (ipvsadm's `--start-daemon master|backup`,
/// the kernel's IP_VS_STATE_MASTER/BACKUP). A director may run both at once, as IPVS allows.
public enum SyncRole: String, Sendable, Hashable, Codable, CaseIterable {
    case master, backup
}

/// One sync daemon as `lvsadm --start-daemon` or keepalived's `lvs_sync_daemon` starts it:
/// the sockets' settings (interface, group, port, TTL) and the message settings
/// (`syncID`, `maxLength`). Defaults are ipvsadm's and the kernel's: 224.0.0.81:8848, TTL 1,
/// syncid 0, sync-maxlen 1472 (a 1500-byte MTU), interface eth0 (ipvsadm's DEF_MCAST_IFN).
public struct SyncDaemonSettings: Sendable, Hashable, Codable {
    public static let defaultGroup = IPAddress(ipv4: 0xE000_0051)  // 224.0.0.81
    public static let defaultPort: UInt16 = 8848
    public static let defaultInterface = "eth0"

    public var role: SyncRole
    /// `--mcast-interface`: where the master sends and the backup listens.
    public var interface: String
    public var syncID: UInt8
    /// `--sync-maxlen`: the largest message (UDP payload).
    public var maxLength: Int
    /// `--mcast-group`: IPv4 multicast (or, for a point-to-point pair, a unicast peer address).
    public var group: IPAddress
    public var port: UInt16
    public var ttl: UInt8

    /// The master's refresh walk (`SyncSettings.refreshPeriod`) under keepalived's
    /// `lvs_sync_daemon`, whose instance may preempt (lvsadm's daemons keep IPVS's 0): every
    /// connection re-sent every 3 s. One entry is
    /// 36 bytes (IPv4 TCP, IPVS's v1 format) to 56 with lvsd's options: ~12-19 kB/s per
    /// 1,000 connections, ~12-19 MB/s for a million.
    public static let vrrpRefreshPeriod: UInt64 = 3_000_000_000
    /// How long a returning backup listens before it may preempt: two refresh periods, so one
    /// whole pass lands even if the walk was held back by a busy worker or a full ring.
    public static let vrrpRelearnPeriod: UInt64 = 2 * vrrpRefreshPeriod

    public init(role: SyncRole, interface: String = SyncDaemonSettings.defaultInterface, syncID: UInt8 = 0,
                maxLength: Int = SyncSettings.defaultMaxMessageLength, group: IPAddress = SyncDaemonSettings.defaultGroup,
                port: UInt16 = SyncDaemonSettings.defaultPort, ttl: UInt8 = 1) {
        self.role = role
        self.interface = interface
        self.syncID = syncID
        self.maxLength = maxLength
        self.group = group
        self.port = port
        self.ttl = ttl
    }

    /// Why these settings cannot run, as a sentence for the operator; nil when they can.
    public var problem: String? {
        if interface.isEmpty || interface.utf8.count > 15 {
            return "mcast-interface '\(interface)' is not an interface name (1 to 15 characters)"
        }
        if !group.isIPv4 {
            return "mcast-group \(group): lvsd's sync sockets are IPv4 only; give an IPv4 group such as 224.0.0.81"
        }
        if port == 0 { return "mcast-port 0 is not a port; the default is 8848" }
        if ttl == 0 { return "mcast-ttl 0 would keep every message on this host; give 1 to 255" }
        if maxLength < SyncSettings.minimumMaxMessageLength || maxLength > 65507 {
            return "sync-maxlen \(maxLength) is outside \(SyncSettings.minimumMaxMessageLength)...65507 (the largest entry lvsd writes must fit one message)"
        }
        return nil
    }

    /// The message settings the master's workers (and the backup's group filter) use.
    public var syncSettings: SyncSettings {
        SyncSettings(syncID: syncID, maxMessageLength: maxLength)
    }
}
