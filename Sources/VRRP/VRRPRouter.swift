import Wire

/// Every VRRP instance of one lvsd, its tracked interfaces and scripts and its sync groups:
/// a pure state machine. Feed it events with the time they happened (nanoseconds of any
/// monotonic clock) and carry out the actions it returns; call it with `.timer` at
/// `nextDeadline`.
public struct VRRPRouter: Sendable {
    var instances: [VRRPInstance]
    let config: VRRPConfig
    /// Link state by interface name; an interface never reported is up.
    var linkUp: [String: Bool] = [:]
    var scripts: [String: VRRPScriptTracker] = [:]
    var groupStates: [String: VRRPState] = [:]
    /// Instance index → its sync group's index in `config.syncGroups`.
    let groupOf: [Int: Int]
    var started = false
    /// Adverts for no instance here (another VRID, family or interface): not ours, not bad.
    public private(set) var foreignAdverts: UInt64 = 0
    /// Bad bytes that could not be tied to an instance.
    public private(set) var unattributed = VRRPCounters()

    /// `primaryAddresses`: each interface's primary address by family (the first IPv4
    /// address, the IPv6 link-local), used when an instance has no `unicast_src_ip`.
    public init(config: VRRPConfig, primaryAddresses: [String: [IPAddress]] = [:]) {
        self.config = config
        self.instances = config.instances.map { instance in
            let own = instance.sourceAddress ?? instance.interface.flatMap { name in
                primaryAddresses[name]?.first { $0.isIPv4 != instance.isIPv6 }
            } ?? .zero
            return VRRPInstance(config: instance, primaryAddress: own)
        }
        var groupOf: [Int: Int] = [:]
        for (g, group) in config.syncGroups.enumerated() {
            for member in group.instances {
                if let i = config.instances.firstIndex(where: { $0.name == member }) { groupOf[i] = g }
            }
            groupStates[group.name] = .initialize
        }
        self.groupOf = groupOf
        for script in config.scripts {
            scripts[script.name] = VRRPScriptTracker(rise: script.rise, fall: script.fall)
        }
    }

    /// The earliest time `.timer` has something to do.
    public var nextDeadline: UInt64? { instances.compactMap(\.nextDeadline).min() }

    /// Handles one event at `now`; the actions are in the order they must be carried out.
    public mutating func handle(_ event: VRRPEvent, now: UInt64) -> [VRRPAction] {
        var out: [VRRPAction] = []
        switch event {
        case .start:
            guard !started else { break }
            started = true
            for i in instances.indices { enter(i, now: now, &out) }
        case .timer:
            for i in instances.indices { fire(i, now: now, &out) }
        case .advertisement(let advert):
            guard let i = owner(of: advert) else { foreignAdverts += 1; break }
            if case .demote(let reason) = instances[i].receive(advert, now: now, &out) {
                toBackup(i, now: now, reason: reason, &out)
            }
        case .invalidAdvertisement(let interface, let vrid, let error):
            if let vrid, let i = instances.firstIndex(where: {
                $0.config.virtualRouterID == vrid && (interface == nil || $0.config.interface == nil || $0.config.interface == interface)
            }) {
                instances[i].counters.count(VRRPCounter(error))
            } else {
                unattributed.count(VRRPCounter(error))
            }
        case .interface(let name, let up):
            guard linkUp[name, default: true] != up else { break }
            linkUp[name] = up
            reassess(now: now, &out)
        case .scriptResult(let name, let success):
            guard scripts[name]?.record(success: success) == true else { break }
            reassess(now: now, &out)
        case .shutdown:
            for i in instances.indices { instances[i].stop(&out) }
            for group in config.syncGroups where groupStates[group.name] != .stop {
                setGroupState(group, .stop, &out)
            }
        }
        return out
    }

    // MARK: Dispatch

    /// The instance an advert is for: same VRID, same family, same interface when both say.
    func owner(of advert: VRRPReceivedAdvert) -> Int? {
        instances.firstIndex { instance in
            let c = instance.config
            return c.virtualRouterID == advert.virtualRouterID && c.isIPv6 == !advert.source.isIPv4
                && (advert.interface == nil || c.interface == nil || c.interface == advert.interface)
        }
    }

    // MARK: Tracking

    /// Why instance `i` must be in FAULT (nil: it need not), and whether a weight-0 script it
    /// tracks has not answered yet.
    func health(_ i: Int) -> (fault: String?, waiting: Bool, priorityChange: Int) {
        let c = instances[i].config
        var fault: String?
        var change = 0
        if let primary = c.interface, !c.dontTrackPrimary, !linkUp[primary, default: true] {
            fault = "interface \(primary) down"
        }
        for tracked in c.trackedInterfaces {
            let up = linkUp[tracked.name, default: true]
            let weight = tracked.weight ?? 0
            if weight == 0 {
                if fault == nil && VRRPTrackEffect.faults(up: up, reverse: tracked.reverse) {
                    fault = "track_interface \(tracked.name) \(up ? "up (reverse)" : "down")"
                }
            } else if !c.isAddressOwner {
                change += VRRPTrackEffect.priorityChange(weight: weight, reverse: tracked.reverse, up: up)
            }
        }
        var waiting = false
        for tracked in c.trackedScripts {
            let script = config.scripts.first { $0.name == tracked.name }
            let weight = tracked.weight ?? script?.weight ?? 0
            let reverse = tracked.weight != nil ? tracked.reverse : (script?.reverse ?? false)
            guard let up = scripts[tracked.name]?.isUp else {
                if weight == 0 { waiting = true }
                continue
            }
            if weight == 0 {
                if fault == nil && VRRPTrackEffect.faults(up: up, reverse: reverse) {
                    fault = "track_script \(tracked.name) \(up ? "succeeded (reverse)" : "failed")"
                }
            } else if !c.isAddressOwner {
                change += VRRPTrackEffect.priorityChange(weight: weight, reverse: reverse, up: up)
            }
        }
        return (fault, waiting, change)
    }

    /// After a link or script change: priorities, then faults and recoveries.
    mutating func reassess(now: UInt64, _ out: inout [VRRPAction]) {
        for i in instances.indices {
            let (fault, waiting, change) = health(i)
            instances[i].setEffectivePriority(VRRPTrackEffect.effectivePriority(base: instances[i].config.priority, change: change))
            guard started else { continue }
            switch instances[i].state {
            case .backup, .master:
                if let fault { toFault(i, reason: fault, &out) }
            case .fault:
                if fault == nil && !waiting { tryUp(i, now: now, &out) }
            case .initialize:
                enter(i, now: now, &out)
            case .stop:
                break
            }
        }
    }

    // MARK: Transitions (with sync groups, vrrp_sync.c)

    /// Leaves INIT (vrrp_scheduler.c `vrrp_init_state`): FAULT if something tracked is down,
    /// stay while a script has not answered, an owner to MASTER, anyone else to BACKUP.
    mutating func enter(_ i: Int, now: UInt64, _ out: inout [VRRPAction]) {
        let (fault, waiting, change) = health(i)
        instances[i].setEffectivePriority(VRRPTrackEffect.effectivePriority(base: instances[i].config.priority, change: change))
        if let fault {
            toFault(i, reason: fault, &out)
        } else if waiting || groupMembers(of: i).contains(where: { instances[$0].state == .fault }) {
            return
        } else if instances[i].config.isAddressOwner {
            gotoMaster(i, now: now, reason: "address owner (priority 255)", &out)
            if instances[i].state != .master { instances[i].becomeBackup(now: now, reason: "startup", &out) }
        } else {
            instances[i].becomeBackup(now: now, reason: "startup", &out)
        }
    }

    mutating func fire(_ i: Int, now: UInt64, _ out: inout [VRRPAction]) {
        switch instances[i].state {
        case .backup:
            guard let d = instances[i].deadline, d <= now else { return }
            gotoMaster(i, now: now, reason: instances[i].takeoverReason, &out)
        case .master:
            instances[i].masterTimers(now: now, &out)
        default:
            break
        }
    }

    /// The other members of `i`'s sync group.
    func groupMembers(of i: Int) -> [Int] {
        guard let g = groupOf[i] else { return [] }
        return groupOf.filter { $0.value == g && $0.key != i }.map(\.key).sorted()
    }

    /// To MASTER, unless a sync group member does not want it yet (vrrp_sync.c
    /// `vrrp_sync_can_goto_master`: prefer BACKUP to thrashing), then the whole group.
    mutating func gotoMaster(_ i: Int, now: UInt64, reason: String, _ out: inout [VRRPAction]) {
        instances[i].wantState = .master
        let others = groupMembers(of: i)
        if let g = groupOf[i], groupStates[config.syncGroups[g].name] != .master,
           others.contains(where: { instances[$0].wantState != .master }) {
            // Wait another Master_Down_Interval for the others (the timer's value does not
            // matter much: they decide).
            instances[i].deadline = now + instances[i].masterDownInterval
            return
        }
        instances[i].becomeMaster(now: now, reason: reason, &out)
        guard let g = groupOf[i] else { return }
        for j in others where instances[j].state != .master {
            instances[j].becomeMaster(now: now, reason: "sync group \(config.syncGroups[g].name): \(instances[i].name) became MASTER", &out)
        }
        setGroupState(config.syncGroups[g], .master, &out)
    }

    mutating func toBackup(_ i: Int, now: UInt64, reason: String, _ out: inout [VRRPAction]) {
        instances[i].becomeBackup(now: now, reason: reason, &out)
        guard let g = groupOf[i], groupStates[config.syncGroups[g].name] != .backup else { return }
        for j in groupMembers(of: i) where instances[j].state != .backup {
            instances[j].becomeBackup(now: now, reason: "sync group \(config.syncGroups[g].name): \(instances[i].name) became BACKUP", &out)
        }
        setGroupState(config.syncGroups[g], .backup, &out)
    }

    mutating func toFault(_ i: Int, reason: String, _ out: inout [VRRPAction]) {
        instances[i].becomeFault(reason: reason, &out)
        guard let g = groupOf[i], groupStates[config.syncGroups[g].name] != .fault else { return }
        for j in groupMembers(of: i) where instances[j].state != .fault {
            instances[j].becomeFault(reason: "sync group \(config.syncGroups[g].name): \(instances[i].name) is FAULT", &out)
        }
        setGroupState(config.syncGroups[g], .fault, &out)
    }

    /// Leaves FAULT once nothing tracked is down, for the instance and (in a sync group) for
    /// every member (vrrp_scheduler.c `try_up_instance`): an owner to MASTER, else BACKUP.
    mutating func tryUp(_ i: Int, now: UInt64, _ out: inout [VRRPAction]) {
        let members = [i] + groupMembers(of: i)
        for j in members {
            let (fault, waiting, _) = health(j)
            if fault != nil || waiting { return }
        }
        if instances[i].config.isAddressOwner && groupOf[i] == nil {
            gotoMaster(i, now: now, reason: "fault cleared; address owner (priority 255)", &out)
            if instances[i].state == .master { return }
        }
        for j in members where instances[j].state == .fault || instances[j].state == .initialize {
            instances[j].becomeBackup(now: now, reason: j == i ? "fault cleared" : "sync group fault cleared", &out)
        }
        if let g = groupOf[i] { setGroupState(config.syncGroups[g], .backup, &out) }
    }

    mutating func setGroupState(_ group: VRRPSyncGroupConfig, _ state: VRRPState, _ out: inout [VRRPAction]) {
        guard groupStates[group.name] != state else { return }
        groupStates[group.name] = state
        out.append(.groupStateChanged(group: group.name, to: state))
        if let script = group.notify.script(for: state) { out.append(.runNotify(script)) }
        if let generic = group.notify.generic {
            var command = generic
            command.arguments += ["GROUP", group.name, state.description, "0"]
            out.append(.runNotify(command))
        }
    }

    // MARK: Status

    /// What `lvsadm --vrrp` and the stop summary show, in configuration order.
    public var status: [VRRPInstanceStatus] {
        instances.enumerated().map { index, i in
            VRRPInstanceStatus(name: i.name, state: i.state, priority: i.config.priority, effectivePriority: i.effectivePriority,
                               masterAddress: i.state == .master ? i.primaryAddress : (i.state == .backup ? i.masterAddress : nil),
                               virtualAddresses: i.config.virtualAddresses, reason: i.lastReason, counters: i.counters,
                               syncGroup: groupOf[index].map { config.syncGroups[$0].name })
        }
    }

    /// The state of sync group `name`.
    public func groupState(_ name: String) -> VRRPState? { groupStates[name] }
}

/// One instance as lvsadm lists it.
public struct VRRPInstanceStatus: Hashable, Sendable {
    public var name: String
    public var state: VRRPState
    public var priority: UInt8
    public var effectivePriority: UInt8
    /// This router when MASTER; the last master heard from when BACKUP.
    public var masterAddress: IPAddress?
    public var virtualAddresses: [VRRPVirtualAddress]
    /// Why the last transition happened.
    public var reason: String
    public var counters: VRRPCounters
    public var syncGroup: String?
}
