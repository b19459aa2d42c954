import Wire

/// One real server of a virtual service, as configured (ipvsadm `-a ... -r RIP:rport`).
public struct RealServerConfig: Hashable, Sendable {
    public var address: IPAddress
    public var port: UInt16
    /// 0 makes the server quiescent: no new connections, existing ones continue.
    public var weight: Int32
    public var method: ForwardingMethod
    /// `-x`: stop scheduling new connections at this many (active + inactive); 0 = no limit.
    public var upperThreshold: UInt32
    /// `-y`: resume below this many; 0 = below ¾ of the upper threshold.
    public var lowerThreshold: UInt32
    /// TUN only: the encapsulation (`--tun-type`, `--tun-port`, `--tun-*csum`).
    public var tunnel: TunnelSettings

    public init(address: IPAddress, port: UInt16, weight: Int32 = 1, method: ForwardingMethod = .directRouting,
                upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0, tunnel: TunnelSettings = .ipip) {
        self.address = address
        self.port = port
        self.weight = weight
        self.method = method
        self.upperThreshold = upperThreshold
        self.lowerThreshold = lowerThreshold
        self.tunnel = tunnel
    }

    public var endpoint: Endpoint { Endpoint(address, port) }
}

/// Persistence (`-p [timeout] [-M netmask]`): one client's connections stick to one real server.
public struct Persistence: Hashable, Sendable {
    /// ipvsadm's default when `-p` is given without a value (`DEF_PERSIST_TIMEOUT`, ipvsadm.c).
    public static let defaultTimeout: UInt32 = 360
    public var timeout: UInt32
    /// Prefix length applied to the client address (`-M 255.255.255.0` is 24; IPv6 takes a length).
    public var prefixLength: Int

    public init(timeout: UInt32 = Persistence.defaultTimeout, prefixLength: Int) {
        self.timeout = timeout
        self.prefixLength = prefixLength
    }
}

/// A virtual service with its scheduler, real servers and (FullNAT) local addresses.
public struct VirtualServiceConfig: Hashable, Sendable {
    public var key: ServiceKey
    public var scheduler: SchedulerKind
    public var schedulerFlags: SchedulerFlags
    public var persistence: Persistence?
    public var realServers: [RealServerConfig]
    /// FullNAT local addresses (LIPs) this service may use as the source toward real servers.
    public var localAddresses: [IPAddress]
    /// `-o` / `--ops`: one-packet scheduling. Each UDP datagram is scheduled on its own and
    /// no connection is kept (IP_VS_CONN_F_ONE_PACKET, ip_vs_core.c); ignored for TCP.
    public var onePacket: Bool = false
    /// DPVS's `syn_proxy`: the director answers TCP SYNs with cookies and opens the real
    /// server's half only after the client's valid ACK (Docs/adr/0007). NAT and FullNAT only.
    public var synProxy: Bool
    /// DPVS's `proxy_protocol v1|v2`: a PROXY protocol header carrying the client's address
    /// goes first in the stream to the real server (Docs/adr/0008). TCP and FullNAT or NAT only.
    public var proxyProtocol: ProxyProtocolHeader.Version? = nil
    /// DPVS's TOA: the client's address in TCP option 254 on the segments that acknowledge the
    /// real server's SYN-ACK (Docs/adr/0008). TCP and FullNAT or NAT only.
    public var toa = false

    public init(key: ServiceKey, scheduler: SchedulerKind = .weightedLeastConnection, schedulerFlags: SchedulerFlags = [],
                persistence: Persistence? = nil, realServers: [RealServerConfig] = [], localAddresses: [IPAddress] = [],
                synProxy: Bool = false) {
        self.synProxy = synProxy
        self.key = key
        self.scheduler = scheduler
        self.schedulerFlags = schedulerFlags
        self.persistence = persistence
        self.realServers = realServers
        self.localAddresses = localAddresses
    }
}

/// An interface the director sends and receives on.
public struct InterfaceConfig: Hashable, Sendable {
    public var name: String
    public var mac: MACAddress
    public var mtu: Int
    /// The director's own addresses on this interface (DIP; the outer source for TUN).
    public var addresses: [IPAddress]

    public init(name: String, mac: MACAddress, mtu: Int = 1500, addresses: [IPAddress] = []) {
        self.name = name
        self.mac = mac
        self.mtu = mtu
        self.addresses = addresses
    }
}

/// A static neighbour: the MAC and interface to use for an IP next hop (real servers offline,
/// or pinned). The live director learns the rest by ARP/ND.
public struct NeighbourConfig: Hashable, Sendable {
    public var address: IPAddress
    public var mac: MACAddress
    public var interface: Int

    public init(address: IPAddress, mac: MACAddress, interface: Int = 0) {
        self.address = address
        self.mac = mac
        self.interface = interface
    }
}

/// Everything the data path needs, as one immutable value swapped in between batches.
public struct DirectorConfig: Hashable, Sendable {
    public var services: [VirtualServiceConfig]
    public var interfaces: [InterfaceConfig]
    public var neighbours: [NeighbourConfig]
    public var timeouts: TimeoutTable
    /// Local ports FullNAT may use on each local address (DPVS reserves the same range).
    public var localPortRange: ClosedRange<UInt16>
    /// Which worker this director is: it allocates only its slice of `localPortRange`. Set
    /// by the engine on each worker's copy; rules files leave it whole.
    public var workerSlice: WorkerSlice
    /// VIPs and local addresses this director does not own right now: those of VRRP instances
    /// in BACKUP, FAULT or INIT (Docs/vrrp.md). The director neither answers ARP/ND for them nor
    /// forwards anything to or through them (`vip-on-standby`), and does not announce them.
    /// Set by lvsd's VRRP loop on every transition; rules files and lvsadm leave it empty.
    public var standbyAddresses: Set<IPAddress>
    /// Which traffic carries which firewall mark, for `-f` services (`FirewallMarkRule`).
    public var firewallMarks: [FirewallMarkRule] = []
    /// IPVS's sysctl switches (`IPVSTunables`).
    public var tunables: IPVSTunables = .defaults

    public init(services: [VirtualServiceConfig] = [], interfaces: [InterfaceConfig] = [],
                neighbours: [NeighbourConfig] = [], timeouts: TimeoutTable = .ipvsDefaults,
                localPortRange: ClosedRange<UInt16> = 1024...65535, workerSlice: WorkerSlice = .whole,
                standbyAddresses: Set<IPAddress> = []) {
        self.services = services
        self.interfaces = interfaces
        self.neighbours = neighbours
        self.timeouts = timeouts
        self.localPortRange = localPortRange
        self.workerSlice = workerSlice
        self.standbyAddresses = standbyAddresses
    }
}

extension DirectorConfig {
    /// Every VIP and FullNAT local address, in configuration order, each once: the
    /// addresses the director answers ARP/ND for, announces, and keeps the host's stack from.
    public var ownedAddresses: [IPAddress] {
        var owned: [IPAddress] = []
        for service in services {
            if service.key.isFirewallMark {
                // The VIPs a mark's rules name (a network is the operator's to route here).
                for rule in firewallMarks where rule.mark == service.key.fwmark && rule.isHost
                    && rule.address.isIPv4 == service.key.address.isIPv4 && !owned.contains(rule.address) {
                    owned.append(rule.address)
                }
            } else if !owned.contains(service.key.address) {
                owned.append(service.key.address)
            }
            for lip in service.localAddresses where !owned.contains(lip) { owned.append(lip) }
        }
        return owned
    }

    /// The VIPs, each once: the address services' and the host addresses the `fwmark` lines
    /// of configured mark services name.
    public var virtualAddresses: [IPAddress] {
        var vips: [IPAddress] = []
        for service in services where !service.key.isFirewallMark && !vips.contains(service.key.address) {
            vips.append(service.key.address)
        }
        let marks = Set(services.lazy.filter(\.key.isFirewallMark).map(\.key.fwmark))
        for rule in firewallMarks where marks.contains(rule.mark) && rule.isHost && !vips.contains(rule.address) {
            vips.append(rule.address)
        }
        return vips
    }

    /// `ownedAddresses` less the standby ones: what the director answers ARP/ND for and
    /// announces right now.
    public var activeAddresses: [IPAddress] {
        standbyAddresses.isEmpty ? ownedAddresses : ownedAddresses.filter { !standbyAddresses.contains($0) }
    }
}
