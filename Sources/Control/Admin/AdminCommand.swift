import Core
import Wire

/// One change to the director's table, as an ipvsadm command line expresses it, after
/// parsing and before the table has been consulted. The daemon applies it with
/// `AdminEditor`; the CLI sends it over lvsd's control socket (JSON).
public enum AdminCommand: Sendable, Hashable, Codable {
    /// `-A`: a new virtual service.
    case addService(ServiceSettings)
    /// `-E`: replace a service's scheduler, flags and persistence.
    case editService(ServiceSettings)
    /// `-D`
    case deleteService(ServiceKey)
    /// `-C`: every service goes.
    case clear
    /// `-a`
    case addServer(ServiceKey, RealServerSettings)
    /// `-e`: replace a real server's method, weight and thresholds.
    case editServer(ServiceKey, RealServerSettings)
    /// `-d`
    case deleteServer(ServiceKey, address: IPAddress, port: UInt16)
    /// `--set tcp tcpfin udp`; 0 keeps a value.
    case setTimeouts(tcp: UInt32, tcpFin: UInt32, udp: UInt32)
    /// `-Z [service]`: counters and rates restart at zero (nil: every service).
    case zero(ServiceKey?)
    /// DPVS `--add-laddr -z LIP`
    case addLocalAddress(ServiceKey, IPAddress)
    /// DPVS `--del-laddr -z LIP`
    case deleteLocalAddress(ServiceKey, IPAddress)
}

/// What `-A` and `-E` set. Both set all of it: an omitted `-s` is wlc, an omitted `-p`
/// means not persistent (ipvsadm sends the whole service, `ipvs_update_service`).
public struct ServiceSettings: Sendable, Hashable, Codable {
    public var key: ServiceKey
    /// The scheduler's name as given; the table refuses a name it does not know, as the
    /// kernel does (ENOENT), so the CLI need not know the daemon's schedulers.
    public var scheduler: String
    public var flags: SchedulerFlags
    /// Persistence timeout in seconds, or nil for a service without persistence.
    public var persistence: UInt32?
    /// The persistence granularity (`-M`) as a prefix length, or nil for the whole address.
    public var prefixLength: Int?
    /// `-o`: one-packet scheduling (UDP).
    public var onePacket: Bool
    /// DPVS's `-j enable|disable`: the SYN proxy (TCP); nil leaves an edited service's as it is.
    public var synProxy: Bool?
    /// DPVS's `--proxy-protocol v1|v2|disable` (Docs/adr/0008) as the version number, 0 for
    /// disable; nil leaves an edited service's as it is.
    public var proxyProtocol: UInt8? = nil
    /// `--toa enable|disable` (Docs/adr/0008); nil leaves an edited service's as it is.
    public var toa: Bool? = nil

    public init(key: ServiceKey, scheduler: String = SchedulerKind.ipvsDefault.rawValue, flags: SchedulerFlags = [],
                persistence: UInt32? = nil, prefixLength: Int? = nil, onePacket: Bool = false, synProxy: Bool? = nil) {
        self.onePacket = onePacket
        self.synProxy = synProxy
        self.key = key
        self.scheduler = scheduler
        self.flags = flags
        self.persistence = persistence
        self.prefixLength = prefixLength
    }
}

/// What `-a` and `-e` set, with ipvsadm's defaults (`-g`, `-w 1`, no thresholds).
public struct RealServerSettings: Sendable, Hashable, Codable {
    public var address: IPAddress
    public var port: UInt16
    public var method: ForwardingMethod
    public var weight: Int32
    public var upperThreshold: UInt32
    public var lowerThreshold: UInt32
    /// TUN only: `--tun-type`, `--tun-port`, `--tun-*csum`.
    public var tunnel: TunnelSettings

    public init(address: IPAddress, port: UInt16, method: ForwardingMethod = .directRouting, weight: Int32 = 1,
                upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0, tunnel: TunnelSettings = .ipip) {
        self.address = address
        self.port = port
        self.method = method
        self.weight = weight
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
        self.tunnel = tunnel
    }

    public var endpoint: Endpoint { Endpoint(address, port) }
}
