import Core

/// What one lvsadm command line asks for, after parsing.
public struct LvsadmInvocation: Sendable, Hashable {
    public enum Action: Sendable, Hashable {
        /// `-h`: print the usage text, exit 0.
        case help
        /// `-v`: print the version, exit 0.
        case version
        /// A change to the table (or `-Z`), sent to lvsd.
        case change(AdminCommand)
        /// `-R`: read commands from standard input and apply them all or none.
        case restore
        /// `-L`/`-l` (and lvsadm without arguments).
        case list(ListingRequest)
        /// `-S [-n]`: print the table as commands `-R` reads back.
        case save(numeric: Bool)
        /// DPVS `--get-laddr [-t|-u service]`.
        case getLocalAddresses(ServiceKey?)
        /// `--reload`: lvsd re-reads its configuration file, as on SIGHUP (lvsadm's own).
        case reload
        /// `--health`: each real server's health-check state (lvsadm's own).
        case health
        /// `--vrrp`: lvsd's VRRP instances (lvsadm's own).
        case vrrp
        /// `--start-daemon master|backup [--mcast-interface IF] [--syncid N] ...`.
        case startDaemon(SyncDaemonSettings)
        /// `--stop-daemon master|backup`.
        case stopDaemon(SyncRole)
    }

    public var action: Action
    /// `--socket PATH`: lvsd's control socket, when not the default.
    public var socketPath: String?

    public init(action: Action, socketPath: String? = nil) {
        self.action = action
        self.socketPath = socketPath
    }
}

/// What `-L` lists and how (ipvsadm's FMT_* flags and the list variants of `process_options`).
public struct ListingRequest: Sendable, Hashable, Codable {
    public enum Subject: Sendable, Hashable, Codable {
        /// Every service, with the `IP Virtual Server version` header (`list_all`).
        case services
        /// One service, without the header (`list_service`; "No such service" if absent).
        case service(ServiceKey)
        /// `-c`: the connection table (`list_conn`).
        case connections
        /// `--timeout` (`list_timeout`).
        case timeouts
        /// `--daemon`: a line per running sync daemon (`list_daemon`).
        case daemon
    }

    public var subject: Subject
    public var format: ListingFormat

    public init(subject: Subject = .services, format: ListingFormat = ListingFormat()) {
        self.subject = subject
        self.format = format
    }
}

/// ipvsadm's printing flags (`FMT_*`).
public struct ListingFormat: Sendable, Hashable, Codable {
    /// `-n`: numbers, not names (lvsadm never uses DNS; this only affects port names).
    public var numeric = false
    public var stats = false
    public var rate = false
    public var thresholds = false
    public var persistentConnections = false
    public var noSort = false
    /// `--exact`: counters unscaled.
    public var exact = false
    public var tunnelInfo = false

    public init(numeric: Bool = false, stats: Bool = false, rate: Bool = false, thresholds: Bool = false,
                persistentConnections: Bool = false, noSort: Bool = false, exact: Bool = false, tunnelInfo: Bool = false) {
        self.numeric = numeric
        self.stats = stats
        self.rate = rate
        self.thresholds = thresholds
        self.persistentConnections = persistentConnections
        self.noSort = noSort
        self.exact = exact
        self.tunnelInfo = tunnelInfo
    }
}
