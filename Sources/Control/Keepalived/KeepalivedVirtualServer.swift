import Core
import Wire

/// A `virtual_server` block with keepalived's defaults applied (check_data.c `alloc_vs`,
/// `validate_check_config`). Its services and real servers are also in
/// `KeepalivedConfig.director`; this keeps what the data path does not need yet: checkers,
/// quorum, the sorry server and the notify scripts.
public struct KeepalivedVirtualServer: Hashable, Sendable {
    public enum Address: Hashable, Sendable {
        /// `virtual_server IP [PORT]`; port 0 when none is given (persistent services only).
        case endpoint(IPAddress, UInt16)
        /// `virtual_server group NAME`: every address of the `virtual_server_group`.
        case group(String)
        /// `virtual_server fwmark N`: the firewall-mark service N.
        case fwmark(UInt32)
    }

    public var address: Address
    /// The services this block configures in the director, in order: one for an address,
    /// one per address (and port) of a group.
    public var services: [ServiceKey]
    /// `protocol`: TCP or UDP; TCP when left out (keepalived 2.x would pick UDP and report it).
    public var proto: TransportProtocol
    /// `lb_algo` / `lvs_sched`; wlc when left out (`IPVS_DEF_SCHED`).
    public var scheduler: SchedulerKind
    /// `flag-1`..`flag-3`, `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`.
    public var schedulerFlags: SchedulerFlags
    /// `lb_kind` / `lvs_method`: the default for its real servers; NAT when left out.
    public var method: ForwardingMethod
    /// `lvs_method TUN type ... port ... csum`: its real servers' default encapsulation.
    public var tunnel: TunnelSettings = .ipip
    /// `persistence_timeout` (360 s without a value) and `persistence_granularity` (as a
    /// prefix length for the virtual server's address family); nil: not persistent.
    public var persistence: Persistence?
    /// `weight`: the weight of real servers that give none; default 1.
    public var weight: Int32
    /// `inhibit_on_failure`: default for its real servers; off.
    public var inhibitOnFailure: Bool
    /// `alpha`: default for its real servers; off.
    public var alpha: Bool
    /// `omega`: run quorum_down and notify_down scripts at shutdown; off.
    public var omega: Bool
    /// `quorum`: the total weight of live real servers needed; default 1, lowered to the
    /// total configured weight when above it (with a warning, as keepalived does).
    public var quorum: UInt32
    /// `hysteresis`: default 0; at most `quorum - 1`.
    public var hysteresis: UInt32
    public var quorumUp: KeepalivedScript?
    public var quorumDown: KeepalivedScript?
    /// `virtualhost`: the default Host for its HTTP and SSL checkers.
    public var virtualhost: String?
    /// `delay_loop`, `connect_timeout`, `retry`, `delay_before_retry`, `warmup` as written.
    public var checkerDefaults: KeepalivedCheckerDefaults
    public var sorryServer: KeepalivedSorryServer?
    /// DPVS `laddr_group_name`: the `local_address_group` whose addresses are the
    /// services' FullNAT local addresses.
    public var localAddressGroup: String?
    public var realServers: [KeepalivedRealServer]
    /// `ops`: one-packet scheduling (UDP).
    public var onePacket = false
    /// DPVS `syn_proxy`: SYN cookies answered by the director (Docs/adr/0007); NAT and FNAT only.
    public var synProxy = false
    /// DPVS `proxy_protocol v1|v2`: a PROXY protocol header before the client's stream
    /// (Docs/adr/0008); NAT and FNAT only.
    public var proxyProtocol: ProxyProtocolHeader.Version?
    /// `toa`: the client's address in TCP option 254 (Docs/adr/0008); NAT and FNAT only.
    public var toa = false

    public init(address: Address, services: [ServiceKey], proto: TransportProtocol = .tcp,
                scheduler: SchedulerKind = .ipvsDefault, schedulerFlags: SchedulerFlags = [], method: ForwardingMethod = .nat,
                persistence: Persistence? = nil, weight: Int32 = 1, inhibitOnFailure: Bool = false, alpha: Bool = false,
                omega: Bool = false, quorum: UInt32 = 1, hysteresis: UInt32 = 0, quorumUp: KeepalivedScript? = nil,
                quorumDown: KeepalivedScript? = nil, virtualhost: String? = nil,
                checkerDefaults: KeepalivedCheckerDefaults = KeepalivedCheckerDefaults(), sorryServer: KeepalivedSorryServer? = nil,
                localAddressGroup: String? = nil, realServers: [KeepalivedRealServer] = []) {
        self.address = address
        self.services = services
        self.proto = proto
        self.scheduler = scheduler
        self.schedulerFlags = schedulerFlags
        self.method = method
        self.persistence = persistence
        self.weight = weight
        self.inhibitOnFailure = inhibitOnFailure
        self.alpha = alpha
        self.omega = omega
        self.quorum = quorum
        self.hysteresis = hysteresis
        self.quorumUp = quorumUp
        self.quorumDown = quorumDown
        self.virtualhost = virtualhost
        self.checkerDefaults = checkerDefaults
        self.sorryServer = sorryServer
        self.localAddressGroup = localAddressGroup
        self.realServers = realServers
    }
}

/// A `real_server` block with its virtual server's defaults applied.
public struct KeepalivedRealServer: Hashable, Sendable {
    public var address: IPAddress
    /// The port its services use: as written for NAT and FullNAT, the virtual server's for
    /// DR and TUN (which cannot change it), the virtual server's when left out. 0 for a real
    /// server of a group that gives none: each group member's port then.
    public var port: UInt16
    /// `weight` 0-65535; the virtual server's `weight` (default 1) when left out.
    public var weight: Int32
    /// `lvs_method`; the virtual server's when left out.
    public var method: ForwardingMethod
    /// TUN: the tunnel words after `lvs_method TUN`; the virtual server's when left out.
    public var tunnel: TunnelSettings
    /// `uthreshold` / `lthreshold`: as ipvsadm's -x / -y; 0: none.
    public var upperThreshold: UInt32
    public var lowerThreshold: UInt32
    /// `inhibit_on_failure`: on failure set the weight to 0 instead of removing the server.
    public var inhibitOnFailure: Bool
    /// `alpha`: start considered down until a check passes.
    public var alpha: Bool
    public var notifyUp: KeepalivedScript?
    public var notifyDown: KeepalivedScript?
    /// `virtualhost`: the default Host for its HTTP and SSL checkers.
    public var virtualhost: String?
    /// Checker options as written at this level.
    public var checkerDefaults: KeepalivedCheckerDefaults
    public var checkers: [KeepalivedChecker]

    public init(address: IPAddress, port: UInt16, weight: Int32 = 1, method: ForwardingMethod = .nat,
                tunnel: TunnelSettings = .ipip, upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0, inhibitOnFailure: Bool = false, alpha: Bool = false,
                notifyUp: KeepalivedScript? = nil, notifyDown: KeepalivedScript? = nil, virtualhost: String? = nil,
                checkerDefaults: KeepalivedCheckerDefaults = KeepalivedCheckerDefaults(), checkers: [KeepalivedChecker] = []) {
        self.address = address
        self.port = port
        self.weight = weight
        self.method = method
        self.tunnel = tunnel
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
        self.inhibitOnFailure = inhibitOnFailure
        self.alpha = alpha
        self.notifyUp = notifyUp
        self.notifyDown = notifyDown
        self.virtualhost = virtualhost
        self.checkerDefaults = checkerDefaults
        self.checkers = checkers
    }

    public var endpoint: Endpoint { Endpoint(address, port) }
}

/// `sorry_server IP [PORT]`: put in service, alone, while the quorum is lost.
public struct KeepalivedSorryServer: Hashable, Sendable {
    public var address: IPAddress
    /// Resolved as a real server's port.
    public var port: UInt16
    /// `sorry_server_lvs_method`; the virtual server's when left out.
    public var method: ForwardingMethod
    /// `sorry_server_inhibit`.
    public var inhibit: Bool

    public init(address: IPAddress, port: UInt16, method: ForwardingMethod, inhibit: Bool = false) {
        self.address = address
        self.port = port
        self.method = method
        self.inhibit = inhibit
    }
}
