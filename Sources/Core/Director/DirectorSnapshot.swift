import Wire

/// A configuration compiled for the data path, built once off the workers and shared by all
/// of them: the services with their identities, the lookup tables of the new-connection path,
/// timeouts and interfaces. Immutable; a worker swaps its reference between batches
/// (`Director.install(_:)`) and keeps its own counters, connections and scheduler state,
/// so a change costs the worker time in proportion to the services, never to the
/// connections (DESIGN: configuration reaches the data path as immutable snapshots).
public final class DirectorSnapshot: @unchecked Sendable {
    public let config: DirectorConfig
    /// 1 for the first snapshot, then one more for each successor.
    public let generation: UInt64
    public let identities: IdentityRegistry
    /// Each service's identity, in `config.services` order.
    public let serviceIDs: [ServiceID]

    /// Every service's real servers' identities, flat: service i's are
    /// `members[memberStart[i] ..< memberStart[i] + config.services[i].realServers.count]`,
    /// in configuration order. Owned here, read by the schedulers' pools.
    @usableFromInline let members: UnsafeMutablePointer<UInt32>
    let memberStart: [Int]
    /// Every FullNAT local address, each once, in configuration order.
    let localAddresses: [IPAddress]
    /// For each service, indices into `localAddresses`.
    let serviceLocalAddresses: [[Int]]

    // The data path's tables, built here rather than on each worker.
    let serviceLookup: AddressTable
    /// Firewall-mark services by (0, `ServiceKey.markAddress`, 0), and the classifier that
    /// gives a packet its mark.
    let fwmarkLookup: AddressTable
    let fwmarkClassifier: FirewallMarkClassifier
    /// Some service has port 0: a miss on the exact port tries port 0 (IPVS's nullsvc_counter).
    let hasPortZero: Bool
    let virtualAddressLookup: AddressTable
    let localAddressLookup: AddressTable
    let timeoutNanos: [UInt64]
    let interfaceMACs: [MACAddress]
    let interfaceMTUs: [Int]
    let interfaceIPv4: [IPAddress]
    let interfaceIPv6: [IPAddress]
    let hasReplyMethods: Bool
    /// `config.standbyAddresses` as a flat set, and whether it is non-empty: a director with
    /// no VRRP pays one predictable branch per frame for it.
    let standbyLookup: AddressTable
    let hasStandby: Bool

    /// The first snapshot of a director's life.
    public convenience init(_ config: DirectorConfig) {
        self.init(config, generation: 1, identities: IdentityRegistry())
    }

    /// The snapshot that replaces this one: identities of services and real servers that
    /// are still there are kept, new ones numbered after every identity handed out so far.
    public func successor(_ config: DirectorConfig) -> DirectorSnapshot {
        DirectorSnapshot(config, generation: generation &+ 1, identities: identities)
    }

    private init(_ config: DirectorConfig, generation: UInt64, identities previous: IdentityRegistry) {
        self.config = config
        self.generation = generation
        var identities = previous
        var serviceIDs: [ServiceID] = []
        var memberStart: [Int] = []
        let total = config.services.reduce(0) { $0 + $1.realServers.count }
        members = .allocate(capacity: max(total, 1))
        var next = 0
        var localAddresses: [IPAddress] = []
        var localIndex: [IPAddress: Int] = [:]
        var serviceLocalAddresses: [[Int]] = []
        for service in config.services {
            serviceIDs.append(identities.identity(of: service.key))
            memberStart.append(next)
            for rs in service.realServers {
                let id = identities.identity(of: RealServerKey(service: service.key, address: rs.address, port: rs.port))
                (members + next).initialize(to: id.rawValue)
                next += 1
            }
            var lips: [Int] = []
            for lip in service.localAddresses {
                if let k = localIndex[lip] {
                    if !lips.contains(k) { lips.append(k) }
                    continue
                }
                localIndex[lip] = localAddresses.count
                lips.append(localAddresses.count)
                localAddresses.append(lip)
            }
            serviceLocalAddresses.append(lips)
        }
        self.identities = identities
        self.serviceIDs = serviceIDs
        self.memberStart = memberStart
        self.localAddresses = localAddresses
        self.serviceLocalAddresses = serviceLocalAddresses

        let indexed = Array(config.services.enumerated())
        serviceLookup = AddressTable(indexed.filter { !$1.key.isFirewallMark }.map {
            (proto: $1.key.proto.rawValue, address: $1.key.address, port: $1.key.port, value: $0)
        })
        fwmarkLookup = AddressTable(indexed.filter { $1.key.isFirewallMark }.map {
            (proto: 0, address: $1.key.markAddress, port: 0, value: $0)
        })
        let marked = Set(config.services.lazy.filter(\.key.isFirewallMark).map(\.key.fwmark))
        fwmarkClassifier = FirewallMarkClassifier(config.firewallMarks.filter { marked.contains($0.mark) })
        hasPortZero = config.services.contains { !$0.key.isFirewallMark && $0.key.port == 0 }
        virtualAddressLookup = AddressTable(config.virtualAddresses.map { (proto: 0, address: $0, port: 0, value: 0) })
        localAddressLookup = AddressTable(localAddresses.enumerated().map { (proto: 0, address: $1, port: 0, value: $0) })
        timeoutNanos = config.timeouts.seconds.map { UInt64($0) * 1_000_000_000 }
        let interfaces = config.interfaces.isEmpty ? [InterfaceConfig(name: "none", mac: .zero)] : config.interfaces
        interfaceMACs = interfaces.map(\.mac)
        interfaceMTUs = interfaces.map(\.mtu)
        interfaceIPv4 = interfaces.map { $0.addresses.first(where: \.isIPv4) ?? .zero }
        // A link-local source would not reach a real server beyond the link.
        interfaceIPv6 = interfaces.map { $0.addresses.first { !$0.isIPv4 && !$0.isIPv6LinkLocal } ?? .zero }
        hasReplyMethods = config.services.contains { $0.realServers.contains { $0.method.repliesTraverseDirector } }
        standbyLookup = AddressTable(config.standbyAddresses.map { (proto: 0, address: $0, port: 0, value: 0) })
        hasStandby = !config.standbyAddresses.isEmpty
    }

    deinit { members.deallocate() }

    /// Service `index`'s real servers' identities, in configuration order.
    public func realServerIDs(ofService index: Int) -> [RealServerID] {
        let start = memberStart[index]
        return (0..<config.services[index].realServers.count).map { RealServerID(rawValue: members[start + $0]) }
    }

    func memberBase(ofService index: Int) -> UnsafePointer<UInt32> { UnsafePointer(members + memberStart[index]) }
}
