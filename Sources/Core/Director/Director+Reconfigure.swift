import Wire

/// What a configuration swap changed, for the log line and for tests.
public struct ReconfigureSummary: Sendable, Hashable {
    public var servicesAdded = 0
    public var servicesRemoved = 0
    public var servicesKept = 0
    public var realServersAdded = 0
    public var realServersRemoved = 0
    public var realServersKept = 0
    /// Connections and templates that survived, now pointing at their server's new slot.
    public var connectionsKept = 0
    /// Connections and templates dropped because their real server (or their FullNAT local
    /// address) is not in the new configuration.
    public var connectionsDropped = 0
    public init() {}
}

extension Director {
    /// A real server's identity across configurations: ipvsadm's (service, RIP:rport).
    struct RealServerKey: Hashable {
        var service: ServiceKey
        var address: IPAddress
        var port: UInt16
    }

    /// Old slot → new slot (-1: gone) for real servers and FullNAT local port pools.
    struct Remap {
        var realServer: [Int]
        var localPool: [Int]
    }

    /// Swaps in `new` between batches, keeping the connection table, as `ipvsadm -E/-e/-d`
    /// and keepalived's reload do to a running IPVS.
    ///
    /// A real server is the same server when its service (protocol, VIP, vport) and RIP:rport
    /// match; it keeps its connection counters, traffic counters and resolved MAC, and takes
    /// the new weight, thresholds and method (connections already made keep the method they
    /// were bound to, as `cp->packet_xmit` does). A server or service that is gone takes its
    /// connections with it: they are dropped at once, as IPVS does for a removed destination
    /// with `expire_nodest_conn` set (ip_vs_ctl.c), so their next packets count as
    /// `no-connection` instead of reaching a server the operator took out. FullNAT local
    /// addresses that stay (same address and port range) keep their port pools, so a port in
    /// use is never handed out twice; connections on a local address that is gone are dropped.
    /// Schedulers restart from their initial state; fragments in flight are forgotten.
    @discardableResult
    public func reconfigure(_ new: DirectorConfig) -> ReconfigureSummary {
        let oldPools = localPools
        let (remap, summary) = install(new)
        var result = summary

        // Templates first: a dropped template's connections go with it (same server).
        var templates: [ConnectionHandle] = []
        var connections: [ConnectionHandle] = []
        table.forEach { h, c in
            if c.flags.contains(.template) { templates.append(h) } else { connections.append(h) }
        }
        var droppedTemplates = Set<ConnectionHandle>()
        for h in templates {
            let c = table.entry(h)
            let old = Int(c.pointee.realServer)
            let rs = old < remap.realServer.count ? remap.realServer[old] : -1
            if rs >= 0 {
                c.pointee.realServer = UInt32(rs)
                result.connectionsKept += 1
            } else {
                droppedTemplates.insert(h)
            }
        }
        for h in connections {
            let c = table.entry(h)
            let old = Int(c.pointee.realServer)
            let rs = old < remap.realServer.count ? remap.realServer[old] : -1
            let fullNAT = c.pointee.method == .fullNAT
            let pool = fullNAT ? remap.localPool[Int(c.pointee.localPool)] : 0
            if droppedTemplates.contains(c.pointee.template) { c.pointee.template = 0 }
            if rs >= 0 && pool >= 0 {
                c.pointee.realServer = UInt32(rs)
                if fullNAT { c.pointee.localPool = UInt16(pool) }
                result.connectionsKept += 1
                continue
            }
            // The port goes back to its pool (a discarded pool simply goes away with it).
            if fullNAT { oldPools[Int(c.pointee.localPool)].pool.release(c.pointee.localPort) }
            let template = c.pointee.template
            if template != 0 && table[template].controlled > 0 { table[template].controlled -= 1 }
            // A surviving server (its local address went away) gives the connection back.
            if rs >= 0 { unbind(rs, template: false, inactive: c.pointee.flags.contains(.inactive)) }
            table.remove(h)
            result.connectionsDropped += 1
        }
        for h in droppedTemplates {
            table.remove(h)
            result.connectionsDropped += 1
        }
        fragments = FragmentCache()
        return result
    }

    /// Builds every service-derived structure from `new`, carrying over the state of real
    /// servers, services and local port pools that are still there, and replaces the old
    /// ones. The connection table is left to the caller (`reconfigure`), which remaps it.
    func install(_ new: DirectorConfig) -> (Remap, ReconfigureSummary) {
        var summary = ReconfigureSummary()
        let oldCount = realServerCount
        var oldIndex: [RealServerKey: Int] = [:]
        // Resolved next hops by address: a server new to the configuration whose address the
        // director already knows (another service's server, or learned by ARP) needs no wait.
        var knownRoutes: [IPAddress: NextHop] = [:]
        for i in 0..<oldCount {
            let key = services[Int(realServerService[i])].config.key
            oldIndex[RealServerKey(service: key, address: realServers[i].address, port: realServers[i].port)] = i
            if realServerRoute[i].resolved { knownRoutes[realServers[i].address] = realServerRoute[i] }
        }

        let total = new.services.reduce(0) { $0 + $1.realServers.count }
        let servers = UnsafeMutablePointer<RealServer>.allocate(capacity: max(total, 1))
        let stats = UnsafeMutablePointer<TrafficStats>.allocate(capacity: max(total, 1))
        stats.initialize(repeating: TrafficStats(), count: max(total, 1))
        let serviceOf = UnsafeMutablePointer<UInt16>.allocate(capacity: max(total, 1))
        let routes = UnsafeMutablePointer<NextHop>.allocate(capacity: max(total, 1))
        routes.initialize(repeating: NextHop(), count: max(total, 1))

        var remap = Remap(realServer: [Int](repeating: -1, count: oldCount),
                          localPool: [Int](repeating: -1, count: localPools.count))
        var newServices: [ServiceRuntime] = []
        var newServiceIndex: [ServiceKey: Int] = [:]
        var newLocalIndex: [IPAddress: Int] = [:]
        var newPools: [LocalPortPoolBox] = []
        var next = 0
        for (si, svc) in new.services.enumerated() {
            for (k, rsConfig) in svc.realServers.enumerated() {
                let j = next + k
                var server = RealServer(rsConfig)
                let key = RealServerKey(service: svc.key, address: rsConfig.address, port: rsConfig.port)
                if let i = oldIndex[key] {
                    let old = realServers[i]
                    server.activeConnections = old.activeConnections
                    server.inactiveConnections = old.inactiveConnections
                    server.persistentConnections = old.persistentConnections
                    // IPVS last_weight survives a quiesce (mh sizes the server's share by it).
                    if rsConfig.weight == 0 && old.lastWeight != 0 { server.lastWeight = old.lastWeight }
                    stats[j] = realServerStats[i]
                    routes[j] = realServerRoute[i]
                    remap.realServer[i] = j
                    summary.realServersKept += 1
                } else {
                    routes[j] = knownRoutes[rsConfig.address] ?? NextHop()
                    summary.realServersAdded += 1
                }
                // The carried counts against the (possibly new) upper threshold.
                if server.upperThreshold != 0 && UInt32(clamping: server.totalConnections) >= server.upperThreshold {
                    server.isOverloaded = true
                }
                (servers + j).initialize(to: server)
                serviceOf[j] = UInt16(si)
            }
            var lips: [Int] = []
            for lip in svc.localAddresses {
                if let existing = newLocalIndex[lip] {
                    lips.append(existing)
                    continue
                }
                let box: LocalPortPoolBox
                if let old = localAddressIndex[lip], localPools[old].pool.range == new.localPortRange,
                   localPools[old].pool.slice == new.workerSlice {
                    box = localPools[old]
                    remap.localPool[old] = newPools.count
                } else {
                    box = LocalPortPoolBox(address: lip, range: new.localPortRange, slice: new.workerSlice,
                                           rotation: localPortRotation)
                }
                newLocalIndex[lip] = newPools.count
                lips.append(newPools.count)
                newPools.append(box)
            }
            let pool = RealServerPool(base: servers + next, count: svc.realServers.count)
            var runtime = ServiceRuntime(
                config: svc, persistence: svc.persistence, firstRealServer: next, realServerCount: svc.realServers.count,
                scheduler: SchedulerInstance(kind: svc.scheduler, pool: pool, flags: svc.schedulerFlags),
                localPools: lips)
            if let old = serviceIndex[svc.key] {
                runtime.stats = services[old].stats
                summary.servicesKept += 1
            } else {
                summary.servicesAdded += 1
            }
            newServiceIndex[svc.key] = si
            newServices.append(runtime)
            next += svc.realServers.count
        }
        summary.realServersRemoved = remap.realServer.count { $0 < 0 }
        summary.servicesRemoved = serviceIndex.keys.count { newServiceIndex[$0] == nil }

        realServers.deinitialize(count: oldCount)
        realServers.deallocate()
        realServerStats.deallocate()
        realServerService.deallocate()
        realServerRoute.deallocate()
        realServers = servers
        realServerStats = stats
        realServerService = serviceOf
        realServerRoute = routes
        realServerCount = total

        config = new
        timeouts = new.timeouts
        timeoutNanos = Self.nanoseconds(new.timeouts)
        (interfaceMACs, interfaceMTUs, interfaceIPv4) = Self.interfaceArrays(new)
        services = newServices
        serviceIndex = newServiceIndex
        localAddressIndex = newLocalIndex
        localPools = newPools
        serviceLookup = AddressTable(new.services.enumerated().map {
            (proto: $1.key.proto.rawValue, address: $1.key.address, port: $1.key.port, value: $0)
        })
        virtualAddressLookup = AddressTable(new.services.map { (proto: 0, address: $0.key.address, port: 0, value: 0) })
        localAddressLookup = AddressTable(localAddressIndex.map { (proto: 0, address: $0, port: 0, value: $1) })
        hasReplyMethods = new.services.contains { $0.realServers.contains { $0.method.repliesTraverseDirector } }
        for n in new.neighbours { setNeighbour(n.address, mac: n.mac, interface: n.interface) }
        return (remap, summary)
    }
}
