import Core
import Wire

/// A keepalived.conf read by lvsd: the director configuration it maps to, plus what the
/// data path does not use yet, kept for the parts of lvsd that will (health checks, VRRP),
/// and the warnings for what was read and ignored.
public struct KeepalivedConfig: Hashable, Sendable {
    /// Services, real servers, FullNAT local addresses and timeouts, with the semantics of
    /// the ipvsadm rules path; interfaces and neighbours from `lvsd_director`.
    public var director: DirectorConfig
    public var globalDefs: KeepalivedGlobalDefs
    /// In file order; a virtual server without real servers is left out, as keepalived
    /// leaves it out (with a warning).
    public var virtualServers: [KeepalivedVirtualServer]
    /// The top-level `SSL` block (SSL_GET's TLS context); nil when absent.
    public var ssl: KeepalivedSSLContext?
    public var vrrp: KeepalivedVRRP
    /// Everything read and not acted on, in file order.
    public var warnings: [ConfigWarning]
    /// Every file read, the main one first.
    public var files: [String]
    /// `lvsd_director`'s metrics_listen, monitor_users, monitor_token_file and ipvs_procfs.
    public var monitor = KeepalivedMonitor()

    public init(director: DirectorConfig = DirectorConfig(), globalDefs: KeepalivedGlobalDefs = KeepalivedGlobalDefs(),
                virtualServers: [KeepalivedVirtualServer] = [], ssl: KeepalivedSSLContext? = nil,
                vrrp: KeepalivedVRRP = KeepalivedVRRP(), warnings: [ConfigWarning] = [], files: [String] = []) {
        self.director = director
        self.globalDefs = globalDefs
        self.virtualServers = virtualServers
        self.ssl = ssl
        self.vrrp = vrrp
        self.warnings = warnings
        self.files = files
    }

    /// Every checker with each service and real server it watches and the endpoint it
    /// connects to (`connect_ip`/`connect_port`, else the real server's), in file order.
    public var checkers: [KeepalivedCheckTarget] {
        var targets: [KeepalivedCheckTarget] = []
        for virtualServer in virtualServers {
            for service in virtualServer.services {
                for realServer in virtualServer.realServers {
                    let port = realServer.method == .directRouting || realServer.method == .tunnel || realServer.port == 0
                        ? service.port : realServer.port
                    let endpoint = Endpoint(realServer.address, port)
                    for checker in realServer.checkers {
                        let destination = Endpoint(checker.connection?.address ?? endpoint.address, checker.connection?.port ?? endpoint.port)
                        targets.append(KeepalivedCheckTarget(service: service, realServer: endpoint, checker: checker, destination: destination))
                    }
                }
            }
        }
        return targets
    }
}

/// One checker of one real server of one service.
public struct KeepalivedCheckTarget: Hashable, Sendable {
    public var service: ServiceKey
    public var realServer: Endpoint
    public var checker: KeepalivedChecker
    /// Where the check connects (for MISC_CHECK, the real server).
    public var destination: Endpoint
}

/// `global_defs`.
public struct KeepalivedGlobalDefs: Hashable, Sendable {
    /// `router_id`: this node's name in notifications; kept for VRRP.
    public var routerID: String?
    /// Every statement of the block(s) as written, `router_id` and `lvs_timeouts` included.
    public var options: [KeepalivedStatement]
    /// `lvs_sync_daemon IF INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]`: the sync
    /// settings (role backup until the VRRP instance says otherwise) and the instance's name.
    public var syncDaemon: (settings: SyncDaemonSettings, instance: String)? {
        get { syncDaemonStorage.map { ($0.settings, $0.instance) } }
        set { syncDaemonStorage = newValue.map { SyncDaemonLine(settings: $0.settings, instance: $0.instance) } }
    }
    /// lvsd's `refresh` and `relearn` on the `lvs_sync_daemon` line (the defaults without one).
    public var syncFailback: SyncFailbackSettings {
        get { syncDaemonStorage?.failback ?? SyncFailbackSettings() }
        set { syncDaemonStorage?.failback = newValue }
    }
    struct SyncDaemonLine: Hashable, Sendable {
        var settings: SyncDaemonSettings
        var instance: String
        var failback = SyncFailbackSettings()
    }
    var syncDaemonStorage: SyncDaemonLine?

    public init(routerID: String? = nil, options: [KeepalivedStatement] = []) {
        self.routerID = routerID
        self.options = options
    }
}

/// The top-level `SSL` block.
public struct KeepalivedSSLContext: Hashable, Sendable {
    public var password: String?
    /// `ca`: the CA file.
    public var caFile: String?
    /// `certificate`: the client certificate file.
    public var certificateFile: String?
    /// `key`: the client key file.
    public var keyFile: String?

    public init(password: String? = nil, caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.password = password
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// The VRRP side of keepalived.conf, kept as written for when lvsd runs VRRP.
public struct KeepalivedVRRP: Hashable, Sendable {
    /// `vrrp_instance NAME { ... }`.
    public var instances: [KeepalivedStatement]
    /// `vrrp_sync_group NAME { ... }`.
    public var syncGroups: [KeepalivedStatement]
    /// `vrrp_script NAME { ... }`.
    public var scripts: [KeepalivedStatement]
    /// `static_ipaddress`, `static_routes`, `static_rules`, `track_file`, `garp_group`,
    /// `vrrp_track_process` and the other VRRP-side blocks, in file order.
    public var other: [KeepalivedStatement]

    public init(instances: [KeepalivedStatement] = [], syncGroups: [KeepalivedStatement] = [],
                scripts: [KeepalivedStatement] = [], other: [KeepalivedStatement] = []) {
        self.instances = instances
        self.syncGroups = syncGroups
        self.scripts = scripts
        self.other = other
    }

    public var isEmpty: Bool { instances.isEmpty && syncGroups.isEmpty && scripts.isEmpty && other.isEmpty }
}
