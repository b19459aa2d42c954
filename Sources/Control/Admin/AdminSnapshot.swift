import Core
import Wire

/// The director's table as lvsadm lists it: services with their settings, real servers with
/// their weights, connection counters, traffic counters and rates, FullNAT local
/// addresses, the timeouts, and (when asked for) the connections. A plain value, filled by
/// the daemon from its live workers and rendered by `AdminListing`; it carries no
/// behaviour, so the same snapshot always prints the same bytes.
public struct AdminSnapshot: Sendable, Hashable, Codable {
    /// ipvsadm's `size=` (IPVS's connection hash size; here the connection table's capacity).
    public var tableSize: Int
    public var timeouts: Timeouts
    public var services: [Service]
    /// Connections and persistence templates, in the order the daemon found them.
    public var connections: [Connection]

    public init(tableSize: Int, timeouts: Timeouts = Timeouts(), services: [Service] = [], connections: [Connection] = []) {
        self.tableSize = tableSize
        self.timeouts = timeouts
        self.services = services
        self.connections = connections
    }

    /// `--timeout`'s three values.
    public struct Timeouts: Sendable, Hashable, Codable {
        public var tcp: UInt32
        public var tcpFin: UInt32
        public var udp: UInt32

        public init(tcp: UInt32 = 900, tcpFin: UInt32 = 120, udp: UInt32 = 300) {
            self.tcp = tcp
            self.tcpFin = tcpFin
            self.udp = udp
        }

        public init(_ table: TimeoutTable) {
            let t = table.tcpTcpFinUdp
            self.init(tcp: t.tcp, tcpFin: t.tcpFin, udp: t.udp)
        }
    }

    /// Traffic counters (`struct ip_vs_kstats`'s counting half).
    public struct Counters: Sendable, Hashable, Codable {
        public var connections: UInt64
        public var packetsIn: UInt64
        public var packetsOut: UInt64
        public var bytesIn: UInt64
        public var bytesOut: UInt64

        public init(connections: UInt64 = 0, packetsIn: UInt64 = 0, packetsOut: UInt64 = 0, bytesIn: UInt64 = 0, bytesOut: UInt64 = 0) {
            self.connections = connections
            self.packetsIn = packetsIn
            self.packetsOut = packetsOut
            self.bytesIn = bytesIn
            self.bytesOut = bytesOut
        }

        public init(_ stats: TrafficStats) {
            self.init(connections: stats.connections, packetsIn: stats.packetsIn, packetsOut: stats.packetsOut,
                      bytesIn: stats.bytesIn, bytesOut: stats.bytesOut)
        }

        public var trafficStats: TrafficStats {
            var s = TrafficStats()
            s.connections = connections
            s.packetsIn = packetsIn
            s.packetsOut = packetsOut
            s.bytesIn = bytesIn
            s.bytesOut = bytesOut
            return s
        }
    }

    public struct Service: Sendable, Hashable, Codable {
        public var key: ServiceKey
        public var scheduler: String
        public var flags: SchedulerFlags
        /// Persistence timeout in seconds, nil when not persistent.
        public var persistence: UInt32?
        /// Persistence granularity as a prefix length (32 or 128: the whole address).
        public var prefixLength: Int
        public var realServers: [RealServer]
        public var localAddresses: [LocalAddress]
        public var stats: Counters
        public var rates: TrafficRates
        /// `-o`: one-packet scheduling.
        public var onePacket = false
        /// `-j enable`: the SYN proxy (Docs/adr/0007).
        public var synProxy = false
        /// `--proxy-protocol v1|v2`: the version, nil when off (Docs/adr/0008).
        public var proxyProtocol: UInt8?
        /// `--toa enable` (Docs/adr/0008).
        public var toa: Bool?

        public init(key: ServiceKey, scheduler: String = "wlc", flags: SchedulerFlags = [], persistence: UInt32? = nil,
                    prefixLength: Int? = nil, realServers: [RealServer] = [], localAddresses: [LocalAddress] = [],
                    stats: Counters = Counters(), rates: TrafficRates = TrafficRates()) {
            self.key = key
            self.scheduler = scheduler
            self.flags = flags
            self.persistence = persistence
            self.prefixLength = prefixLength ?? (key.address.isIPv4 ? 32 : 128)
            self.realServers = realServers
            self.localAddresses = localAddresses
            self.stats = stats
            self.rates = rates
        }

        /// A service as configured, with no traffic yet.
        public init(_ config: VirtualServiceConfig) {
            self.init(key: config.key, scheduler: config.scheduler.rawValue, flags: config.schedulerFlags,
                      persistence: config.persistence?.timeout, prefixLength: config.persistence?.prefixLength,
                      realServers: config.realServers.map(RealServer.init),
                      localAddresses: config.localAddresses.map { LocalAddress(address: $0) })
            onePacket = config.onePacket
            synProxy = config.synProxy
            proxyProtocol = config.proxyProtocol?.rawValue
            toa = config.toa ? true : nil
        }
    }

    public struct RealServer: Sendable, Hashable, Codable {
        public var address: IPAddress
        public var port: UInt16
        public var method: ForwardingMethod
        public var weight: Int32
        public var upperThreshold: UInt32
        public var lowerThreshold: UInt32
        public var activeConnections: UInt32
        public var inactiveConnections: UInt32
        /// Templates pointing at this server (`--persistent-conn`'s PersistConn).
        public var persistentConnections: UInt32
        public var stats: Counters
        public var rates: TrafficRates
        /// TUN: the encapsulation (`-S`'s `--tun-type ...`, `--tun-info`'s TunnelInfo).
        public var tunnel: TunnelSettings

        public init(address: IPAddress, port: UInt16, method: ForwardingMethod = .directRouting, weight: Int32 = 1,
                    upperThreshold: UInt32 = 0, lowerThreshold: UInt32 = 0, activeConnections: UInt32 = 0,
                    inactiveConnections: UInt32 = 0, persistentConnections: UInt32 = 0,
                    stats: Counters = Counters(), rates: TrafficRates = TrafficRates(), tunnel: TunnelSettings = .ipip) {
            self.address = address
            self.port = port
            self.method = method
            self.weight = weight
            self.upperThreshold = upperThreshold
            self.lowerThreshold = lowerThreshold
            self.activeConnections = activeConnections
            self.inactiveConnections = inactiveConnections
            self.persistentConnections = persistentConnections
            self.stats = stats
            self.rates = rates
            self.tunnel = tunnel
        }

        public init(_ config: RealServerConfig) {
            self.init(address: config.address, port: config.port, method: config.method, weight: config.weight,
                      upperThreshold: config.upperThreshold, lowerThreshold: config.lowerThreshold, tunnel: config.tunnel)
        }

        public var endpoint: Endpoint { Endpoint(address, port) }
    }

    /// A FullNAT local address (DPVS `--get-laddr`: SNAT_IP, CONFLICTS, CONNS).
    public struct LocalAddress: Sendable, Hashable, Codable {
        public var address: IPAddress
        /// Local-port allocation conflicts (DPVS `port_conflict`; SwiftLVS's FIFO never has one).
        public var portConflicts: UInt64
        /// Connections holding a port of this address.
        public var connections: UInt32

        public init(address: IPAddress, portConflicts: UInt64 = 0, connections: UInt32 = 0) {
            self.address = address
            self.portConflicts = portConflicts
            self.connections = connections
        }
    }

    /// One line of `-L -c` (a line of the kernel's /proc/net/ip_vs_conn).
    public struct Connection: Sendable, Hashable, Codable {
        public var proto: TransportProtocol
        public var clientAddress: IPAddress
        public var clientPort: UInt16
        public var virtualAddress: IPAddress
        public var virtualPort: UInt16
        public var destinationAddress: IPAddress
        public var destinationPort: UInt16
        /// The state name IPVS prints (`ip_vs_state_name`): a TCP state, `UDP`, or `NONE`
        /// for a persistence template.
        public var state: String
        /// Seconds until it expires, rounded down.
        public var expires: UInt32

        public init(proto: TransportProtocol, clientAddress: IPAddress, clientPort: UInt16, virtualAddress: IPAddress,
                    virtualPort: UInt16, destinationAddress: IPAddress, destinationPort: UInt16, state: String, expires: UInt32) {
            self.proto = proto
            self.clientAddress = clientAddress
            self.clientPort = clientPort
            self.virtualAddress = virtualAddress
            self.virtualPort = virtualPort
            self.destinationAddress = destinationAddress
            self.destinationPort = destinationPort
            self.state = state
            self.expires = expires
        }

        /// A connection-table entry as IPVS lists it at `now` (ns): templates show the
        /// template state `NONE` (`ip_vs_ctpl_state_name_table`), others their protocol's
        /// state name (`tcp_state_name_table`, UDP's `UDP`).
        public init(_ c: Core.Connection, now: UInt64) {
            let remaining = c.expires > now ? (c.expires - now) / 1_000_000_000 : 0
            self.init(proto: c.proto, clientAddress: c.clientAddress, clientPort: c.clientPort,
                      virtualAddress: c.virtualAddress, virtualPort: c.virtualPort,
                      destinationAddress: c.destinationAddress, destinationPort: c.destinationPort,
                      state: c.flags.contains(.template) ? "NONE" : c.state.description,
                      expires: UInt32(clamping: remaining))
        }
    }
}

extension AdminSnapshot {
    /// The table as configured, with no traffic: what a daemon without workers lists.
    public init(config: DirectorConfig, tableSize: Int) {
        self.init(tableSize: tableSize, timeouts: Timeouts(config.timeouts), services: config.services.map(Service.init))
    }

    /// One director's table at `now`, with its live connection counters and raw (never
    /// zeroed) traffic counters; rates are left at zero for a `StatisticsBook` to fill.
    /// A service's counters are the sum of its real servers'.
    public init(director: Director, now: UInt64, includeConnections: Bool) {
        var services: [Service] = []
        for config in director.config.services {
            var service = Service(config)
            var total = TrafficStats()
            let live = director.realServers(ofService: config.key)
            service.realServers = []
            for (index, rs) in live.enumerated() where !rs.isRemoved {
                let stats = director.stats(ofService: config.key, realServer: index)
                total = total &+ stats
                service.realServers.append(RealServer(
                    address: rs.address, port: rs.port, method: rs.method, weight: rs.weight,
                    upperThreshold: rs.upperThreshold, lowerThreshold: rs.lowerThreshold,
                    activeConnections: UInt32(clamping: rs.activeConnections),
                    inactiveConnections: UInt32(clamping: rs.inactiveConnections),
                    persistentConnections: UInt32(clamping: rs.persistentConnections),
                    stats: Counters(stats), tunnel: rs.tunnel))
            }
            service.stats = Counters(total)
            services.append(service)
        }
        // Only a connection listing walks the table: the rate estimator takes a snapshot
        // every second on each worker's thread, and while a walk of a million entries runs
        // there the worker forwards nothing (Benchmarks/drain.sh found the walk at ~27 % of
        // lvsd's samples during drains with a 1M table).
        var connections: [Connection] = []
        if includeConnections {
            director.table.forEach { _, c in connections.append(Connection(c, now: now)) }
        }
        for s in services.indices {
            for l in services[s].localAddresses.indices {
                services[s].localAddresses[l].connections =
                    UInt32(clamping: director.connections(onLocalAddress: services[s].localAddresses[l].address))
            }
        }
        self.init(tableSize: director.table.capacity, timeouts: Timeouts(director.config.timeouts), services: services,
                  connections: connections)
    }
}
