import Wire

/// What a configuration swap changed, for the log line and for tests.
public struct ReconfigureSummary: Sendable, Hashable {
    public var servicesAdded = 0
    public var servicesRemoved = 0
    public var servicesKept = 0
    public var realServersAdded = 0
    public var realServersRemoved = 0
    public var realServersKept = 0
    /// Services whose scheduler was rebuilt (new, or its servers, weights, scheduler or flags
    /// changed); every other service kept its scheduler's state.
    public var schedulersRebuilt = 0
    /// Connections and templates on the servers this swap removed, and FullNAT connections on
    /// the local addresses it removed. They stay in the table and expire on their next packet
    /// or at their timeout, so no swap walks the table.
    public var connectionsOnRemoved = 0
    public init() {}
}

extension Director {
    /// Swaps in `new` between batches, keeping the connection table, as `ipvsadm -E/-e/-d`
    /// and keepalived's reload do to a running IPVS. Builds the successor of the snapshot in
    /// force; the engine builds it once for every worker and calls `install(_:)` instead.
    @discardableResult
    public func reconfigure(_ new: DirectorConfig) -> ReconfigureSummary {
        install(snapshot.successor(new))
    }

    /// Swaps in `new`, a successor of the snapshot in force, in time proportional to the
    /// services and real servers, never to the connections.
    ///
    /// A real server keeps its identity, slot, counters and resolved MAC for as long as its
    /// service (protocol, VIP, vport) and RIP:rport stay; it takes the new weight,
    /// thresholds and method (connections already made keep the method they were bound to,
    /// as `cp->packet_xmit` does). A server that leaves keeps its slot in the trash, as IPVS
    /// keeps a deleted destination while connections hold it: it is never scheduled, and its
    /// connections expire on their next packet (which is then scheduled afresh if it may start
    /// one) or at their timeout, as IPVS does with `expire_nodest_conn` (ip_vs_core.c). Added
    /// back, it is the same server with the same connections. FullNAT local addresses that
    /// stay (same port range) keep their port pools; one that leaves is retired the same way.
    /// A service's scheduler keeps its state unless its servers, their weights, the scheduler
    /// or its flags changed (then rr keeps its cursor, as IPVS's does).
    @discardableResult
    public func install(_ new: DirectorSnapshot) -> ReconfigureSummary {
        apply(new, replacing: snapshot)
    }

    func apply(_ new: DirectorSnapshot, replacing old: DirectorSnapshot?) -> ReconfigureSummary {
        var summary = ReconfigureSummary()
        growRealServers(to: new.identities.realServerCount)
        let services = new.config.services

        // Which servers were members before this swap, and which are now.
        var before = Set<UInt32>()
        for s in self.services { for k in 0..<s.memberCount { before.insert(s.members[k]) } }
        var after = Set<UInt32>()
        for si in services.indices {
            let members = new.memberBase(ofService: si)
            for k in services[si].realServers.indices { after.insert(members[k]) }
        }

        // Each service's scheduler is kept only if nothing it reads changed; decided before
        // the slab takes the new weights.
        var oldIndex: [ServiceID: Int] = [:]
        for (i, s) in self.services.enumerated() { oldIndex[s.id] = i }
        var keepsScheduler = [Bool](repeating: false, count: services.count)
        for (si, svc) in services.enumerated() {
            guard let oi = oldIndex[new.serviceIDs[si]] else { continue }
            let s = self.services[oi]
            guard s.config.scheduler == svc.scheduler, s.config.schedulerFlags == svc.schedulerFlags,
                  s.memberCount == svc.realServers.count else { continue }
            let members = new.memberBase(ofService: si)
            keepsScheduler[si] = svc.realServers.indices.allSatisfy { k in
                let server = realServers[Int(members[k])]
                return s.members[k] == members[k] && server.weight == svc.realServers[k].weight && !server.isRemoved
            }
        }

        // The slab: servers that left go to the trash, the others take their new settings.
        for slot in before where !after.contains(slot) {
            realServers[Int(slot)].isRemoved = true
            let server = realServers[Int(slot)]
            summary.connectionsOnRemoved += Int(server.totalConnections) + Int(server.persistentConnections)
            summary.realServersRemoved += 1
        }
        var knownRoutes: [IPAddress: NextHop]?
        for si in services.indices {
            let members = new.memberBase(ofService: si)
            for (k, config) in services[si].realServers.enumerated() {
                let slot = Int(members[k])
                if before.contains(UInt32(slot)) { summary.realServersKept += 1 } else { summary.realServersAdded += 1 }
                if realServerConfigured[slot] {
                    update(&realServers[slot], to: config)
                    continue
                }
                // New to this director: a server elsewhere at the same address (another
                // service's, or a neighbour learned by ARP) lends its next hop, so no wait.
                if knownRoutes == nil { knownRoutes = resolvedRoutes() }
                realServers[slot] = RealServer(config)
                realServerStats[slot] = TrafficStats()
                realServerRoute[slot] = knownRoutes?[config.address] ?? NextHop()
                realServerConfigured[slot] = true
            }
        }

        let slotOfLocalAddress = installLocalPools(new, summary: &summary)

        var runtimes: [ServiceRuntime] = []
        var index: [ServiceKey: Int] = [:]
        runtimes.reserveCapacity(services.count)
        for (si, svc) in services.enumerated() {
            let members = new.memberBase(ofService: si)
            let pool = RealServerPool(base: realServers, members: members, count: svc.realServers.count)
            let lips = new.serviceLocalAddresses[si].map { slotOfLocalAddress[$0] }.filter { $0 >= 0 }
            var runtime: ServiceRuntime
            if let oi = oldIndex[new.serviceIDs[si]] {
                runtime = self.services[oi]
                if !keepsScheduler[si] {
                    let previous = RealServerPool(base: realServers, members: runtime.members, count: runtime.memberCount)
                    runtime.scheduler = SchedulerInstance(kind: svc.scheduler, pool: pool, flags: svc.schedulerFlags,
                                                          replacing: runtime.scheduler, previous: previous)
                    summary.schedulersRebuilt += 1
                }
                summary.servicesKept += 1
            } else {
                runtime = ServiceRuntime(
                    id: new.serviceIDs[si], config: svc, persistence: nil, key: svc.key, members: members, memberCount: 0,
                    scheduler: SchedulerInstance(kind: svc.scheduler, pool: pool, flags: svc.schedulerFlags), localPools: [])
                summary.servicesAdded += 1
                summary.schedulersRebuilt += 1
            }
            runtime.config = svc
            runtime.persistence = svc.persistence
            runtime.key = svc.key
            runtime.onePacket = svc.onePacket
            // The director must see the replies to translate them: NAT and FullNAT only.
            runtime.synProxy = svc.synProxy && svc.key.proto == .tcp
                && svc.realServers.allSatisfy { $0.method == .nat || $0.method == .fullNAT }
            let carriesClientAddress = svc.key.proto == .tcp
                && svc.realServers.allSatisfy { $0.method == .nat || $0.method == .fullNAT }
            runtime.proxyProtocol = carriesClientAddress ? svc.proxyProtocol : nil
            runtime.toa = carriesClientAddress && svc.toa
            runtime.members = members
            runtime.memberCount = svc.realServers.count
            runtime.localPools = lips
            if runtime.nextLocalPool >= lips.count { runtime.nextLocalPool = 0 }
            index[svc.key] = si
            runtimes.append(runtime)
        }
        summary.servicesRemoved = self.services.count - summary.servicesKept

        // The swap proper: from here on the old snapshot (and its member lists) may go.
        snapshot = new
        self.services = runtimes
        serviceIndex = index
        timeouts = new.config.timeouts
        timeoutNanos = new.timeoutNanos
        interfaceMACs = new.interfaceMACs
        interfaceMTUs = new.interfaceMTUs
        interfaceIPv4 = new.interfaceIPv4
        interfaceIPv6 = new.interfaceIPv6
        serviceLookup = new.serviceLookup
        fwmarkLookup = new.fwmarkLookup
        fwmarkClassifier = new.fwmarkClassifier
        hasPortZero = new.hasPortZero
        tunables = new.config.tunables
        virtualAddressLookup = new.virtualAddressLookup
        localAddressLookup = new.localAddressLookup
        hasReplyMethods = new.hasReplyMethods
        standbyLookup = new.standbyLookup
        hasStandby = new.hasStandby
        for n in new.config.neighbours { setNeighbour(n.address, mac: n.mac, interface: n.interface) }
        if synProxyEntries == nil && self.services.contains(where: { $0.synProxy }) {
            // Once, with the first syn_proxy service, one entry per handle (0 unused).
            let entries = UnsafeMutablePointer<SynProxyEntry>.allocate(capacity: table.capacity + 1)
            entries.initialize(repeating: SynProxyEntry(), count: table.capacity + 1)
            synProxyEntries = entries
        }
        configureFTP()
        allocateStreamShifts()
        return summary
    }

    /// A kept (or returning) server takes its new settings and keeps its counters.
    private func update(_ server: inout RealServer, to config: RealServerConfig) {
        // `weight`'s didSet keeps last_weight through a quiesce (mh sizes the share by it).
        server.weight = config.weight
        server.method = config.method
        server.upperThreshold = config.upperThreshold
        server.lowerThreshold = config.lowerThreshold
        server.tunnel = config.tunnel
        server.isRemoved = false
        // The carried counts against the (possibly new) upper threshold.
        server.isOverloaded = server.upperThreshold != 0
            && UInt32(clamping: server.totalConnections) >= server.upperThreshold
    }

    /// Resolved next hops of every server this director knows, by address.
    private func resolvedRoutes() -> [IPAddress: NextHop] {
        var routes: [IPAddress: NextHop] = [:]
        for slot in 0..<realServerCount where realServerConfigured[slot] && realServerRoute[slot].resolved {
            routes[realServers[slot].address] = realServerRoute[slot]
        }
        return routes
    }

    /// Makes room for `count` identities; new slots are unconfigured until a snapshot names them.
    private func growRealServers(to count: Int) {
        if count > realServerCapacity {
            let capacity = max(count, realServerCapacity * 2, 8)
            let servers = UnsafeMutablePointer<RealServer>.allocate(capacity: capacity)
            let stats = UnsafeMutablePointer<TrafficStats>.allocate(capacity: capacity)
            let routes = UnsafeMutablePointer<NextHop>.allocate(capacity: capacity)
            servers.moveInitialize(from: realServers, count: realServerCount)
            stats.moveInitialize(from: realServerStats, count: realServerCount)
            routes.moveInitialize(from: realServerRoute, count: realServerCount)
            realServers.deallocate()
            realServerStats.deallocate()
            realServerRoute.deallocate()
            realServers = servers
            realServerStats = stats
            realServerRoute = routes
            realServerCapacity = capacity
        }
        if count > realServerCount {
            var placeholder = RealServer(RealServerConfig(address: .zero, port: 0, weight: 0))
            placeholder.isRemoved = true
            (realServers + realServerCount).initialize(repeating: placeholder, count: count - realServerCount)
            (realServerStats + realServerCount).initialize(repeating: TrafficStats(), count: count - realServerCount)
            (realServerRoute + realServerCount).initialize(repeating: NextHop(), count: count - realServerCount)
            realServerConfigured.append(contentsOf: repeatElement(false, count: count - realServerCount))
            realServerCount = count
        }
    }

    /// Gives every local address of `new` a port pool slot: its own pool if address, range
    /// and worker slice are unchanged, a retired one with the same shape, or a fresh pool in a
    /// drained slot or a new one. Pools of addresses that left are retired. Returns the slot of
    /// each of `new.localAddresses` (-1: no slot left, the address is unusable).
    private func installLocalPools(_ new: DirectorSnapshot, summary: inout ReconfigureSummary) -> [Int] {
        let range = new.config.localPortRange
        func fits(_ slot: Int, _ lip: IPAddress) -> Bool {
            let box = localPools[slot]
            return box.pool.address == lip && box.pool.range == range && box.pool.slice == workerSlice
        }
        var slots = [Int](repeating: -1, count: new.localAddresses.count)
        var newIndex: [IPAddress: Int] = [:]
        for (k, lip) in new.localAddresses.enumerated() {
            var slot = localAddressIndex[lip].flatMap { fits($0, lip) ? $0 : nil }
                ?? localPools.indices.first { localPoolRetired[$0] && fits($0, lip) }
            if slot == nil {
                let box = LocalPortPoolBox(address: lip, range: range, slice: workerSlice, rotation: localPortRotation)
                if let drained = localPools.indices.first(where: { localPoolRetired[$0] && localPools[$0].pool.inUse == 0 }) {
                    localPools[drained] = box
                    slot = drained
                } else if localPools.count <= Int(UInt16.max) {
                    localPools.append(box)
                    localPoolRetired.append(false)
                    slot = localPools.count - 1
                }
            }
            guard let slot else { continue }
            localPoolRetired[slot] = false
            slots[k] = slot
            newIndex[lip] = slot
        }
        let kept = Set(newIndex.values)
        for (_, slot) in localAddressIndex where !kept.contains(slot) {
            localPoolRetired[slot] = true
            summary.connectionsOnRemoved += localPools[slot].pool.inUse
        }
        localAddressIndex = newIndex
        return slots
    }
}
