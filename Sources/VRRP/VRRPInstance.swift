import Wire

/// One instance's runtime: RFC 5798 §6.4's state machine as keepalived runs it (vrrp.c
/// `vrrp_state_backup`, `vrrp_state_master_rx`, `vrrp_state_leave_master`,
/// `vrrp_state_leave_fault`; vrrp_scheduler.c `vrrp_init_state`). Transitions that a sync
/// group must see are decided here but carried out by `VRRPRouter`.
struct VRRPInstance: Sendable {
    let config: VRRPInstanceConfig
    /// This router's primary address, compared with the sender's on equal priorities.
    let primaryAddress: IPAddress

    var state: VRRPState = .initialize
    /// What the instance would be in without its sync group (keepalived's `wantstate`).
    var wantState: VRRPState
    var effectivePriority: UInt8
    /// Master_Adver_Interval in centiseconds: v3 backups adopt the master's.
    var masterInterval: UInt16
    /// BACKUP: when the master is declared down. MASTER: when the next advert is due.
    var deadline: UInt64?
    /// keepalived's `preempt_time`: until then, lower-priority adverts are still accepted.
    var preemptTime: UInt64?
    /// When this instance last became BACKUP: the sync relearning hold counts from there.
    var backupSince: UInt64 = 0
    var masterAddress: IPAddress?
    var masterPriority: UInt8 = 0
    /// Why the down timer will fire, for the transition's reason.
    var takeoverReason = "master down interval expired"
    var garpDelayDeadline: UInt64?
    var garpRefreshDeadline: UInt64?
    var counters = VRRPCounters()
    var lastReason = ""

    init(config: VRRPInstanceConfig, primaryAddress: IPAddress) {
        self.config = config
        self.primaryAddress = primaryAddress
        self.wantState = config.isAddressOwner || config.initialState == .master ? .master : .backup
        self.effectivePriority = config.priority
        self.masterInterval = config.advertisementInterval
    }

    var name: String { config.name }

    // MARK: Timers

    /// Skew_Time; an owner's is always 255's (vrrp.h `VRRP_TIMER_SKEW`).
    var skew: UInt64 {
        VRRPTimers.skew(version: config.version, priority: config.isAddressOwner ? VRRPPriority.owner : effectivePriority,
                        masterInterval: masterInterval)
    }

    var masterDownInterval: UInt64 {
        config.downTimerAdverts * UInt64(masterInterval) * VRRPTimers.nanosecondsPerCentisecond + skew
    }

    /// The earliest time anything of this instance is due.
    var nextDeadline: UInt64? {
        switch state {
        case .backup: deadline
        case .master: [deadline, garpDelayDeadline, garpRefreshDeadline].compactMap { $0 }.min()
        default: nil
        }
    }

    /// A new priority: a backup's down timer moves by the change in Master_Down_Interval
    /// (vrrp_track.c `vrrp_set_effective_priority`).
    mutating func setEffectivePriority(_ priority: UInt8) {
        guard priority != effectivePriority else { return }
        let before = masterDownInterval
        effectivePriority = priority
        if state == .backup, let d = deadline {
            deadline = d + masterDownInterval - before
        }
    }

    // MARK: Transitions

    mutating func becomeMaster(now: UInt64, reason: String, _ out: inout [VRRPAction]) {
        let from = state
        state = .master
        wantState = .master
        masterInterval = config.advertisementInterval
        masterAddress = primaryAddress
        masterPriority = effectivePriority
        // The advert first, so the old master gives the addresses up before the GARPs
        // (vrrp.c `vrrp_state_master_tx`).
        advertise(effectivePriority, &out)
        counters.count(.becameMaster)
        out.append(.stateChanged(instance: name, from: from, to: .master, reason: reason))
        out.append(.sendGratuitous(instance: name, count: config.gratuitous.masterRepeat))
        let garp = config.gratuitous
        garpDelayDeadline = garp.masterDelay > 0 ? now + garp.masterDelay : nil
        garpRefreshDeadline = garp.masterRefresh > 0 ? now + garp.masterDelay + garp.masterRefresh : nil
        deadline = now + config.advertisementIntervalNanoseconds
        lastReason = reason
        notify(&out)
    }

    /// To BACKUP from MASTER, FAULT or INIT; the down timer starts from `now`.
    mutating func becomeBackup(now: UInt64, reason: String, _ out: inout [VRRPAction]) {
        let from = state
        if from == .master { counters.count(.releasedMaster) }
        if from != .master { masterInterval = config.advertisementInterval }
        state = .backup
        wantState = .backup
        backupSince = now
        preemptTime = nil
        garpDelayDeadline = nil
        garpRefreshDeadline = nil
        // Whatever sends us here (a higher priority advert, startup, a sync group), a later
        // takeover is the down timer's unless an advert says otherwise.
        takeoverReason = "master down interval expired"
        deadline = now + masterDownInterval
        lastReason = reason
        out.append(.stateChanged(instance: name, from: from, to: .backup, reason: reason))
        notify(&out)
    }

    /// To FAULT: a master says priority 0 first, so a backup takes over after Skew_Time.
    mutating func becomeFault(reason: String, _ out: inout [VRRPAction]) {
        let from = state
        if from == .master {
            counters.count(.releasedMaster)
            advertise(VRRPPriority.stop, &out)
        }
        state = .fault
        wantState = .fault
        deadline = nil
        garpDelayDeadline = nil
        garpRefreshDeadline = nil
        lastReason = reason
        out.append(.stateChanged(instance: name, from: from, to: .fault, reason: reason))
        notify(&out)
    }

    mutating func stop(_ out: inout [VRRPAction]) {
        guard state != .stop else { return }
        let from = state
        if from == .master { advertise(VRRPPriority.stop, &out) }
        state = .stop
        deadline = nil
        garpDelayDeadline = nil
        garpRefreshDeadline = nil
        lastReason = "shutdown"
        out.append(.stateChanged(instance: name, from: from, to: .stop, reason: "shutdown"))
        notify(&out)
    }

    mutating func advertise(_ priority: UInt8, _ out: inout [VRRPAction]) {
        counters.count(.advertsSent)
        if priority == VRRPPriority.stop { counters.count(.priorityZeroSent) }
        out.append(.sendAdvertisement(instance: name, priority: priority))
    }

    /// The state's own script, then `notify` with keepalived's four arguments.
    func notify(_ out: inout [VRRPAction]) {
        if let script = config.notify.script(for: state) { out.append(.runNotify(script)) }
        if let generic = config.notify.generic {
            var command = generic
            command.arguments += ["INSTANCE", name, state.description, String(effectivePriority)]
            out.append(.runNotify(command))
        }
    }

    // MARK: Master timers

    /// A master's advert and gratuitous timers that are due at `now`.
    mutating func masterTimers(now: UInt64, _ out: inout [VRRPAction]) {
        if let d = deadline, d <= now {
            advertise(effectivePriority, &out)
            deadline = now + config.advertisementIntervalNanoseconds
        }
        if let d = garpDelayDeadline, d <= now {
            out.append(.sendGratuitous(instance: name, count: config.gratuitous.masterRepeat))
            garpDelayDeadline = nil
        }
        if let d = garpRefreshDeadline, d <= now {
            out.append(.sendGratuitous(instance: name, count: config.gratuitous.masterRefreshRepeat))
            garpRefreshDeadline = now + config.gratuitous.masterRefresh
        }
    }

    // MARK: Receiving

    /// What a valid advert asks of the router.
    enum Verdict: Equatable {
        case none
        /// A master that must step down to BACKUP.
        case demote(reason: String)
    }

    /// Checks and applies one advert. Refused adverts only count.
    mutating func receive(_ advert: VRRPReceivedAdvert, now: UInt64, _ out: inout [VRRPAction]) -> Verdict {
        // INIT, FAULT and STOP read nothing (keepalived does not even count them).
        guard state == .backup || state == .master else { return .none }
        if let refusal = VRRPAdvertCheck.refusal(advert, for: config) {
            counters.count(refusal)
            return .none
        }
        counters.count(.advertsReceived)
        if advert.priority == VRRPPriority.stop { counters.count(.priorityZeroReceived) }
        return state == .backup ? receiveAsBackup(advert, now: now) : receiveAsMaster(advert, now: now, &out)
    }

    /// RFC 5798 §6.4.2 with keepalived's preemption rules (vrrp.c `vrrp_state_backup`).
    private mutating func receiveAsBackup(_ advert: VRRPReceivedAdvert, now: UInt64) -> Verdict {
        if advert.priority == VRRPPriority.stop {
            // The master is leaving: take over after Skew_Time, not Master_Down_Interval.
            deadline = now + skew
            takeoverReason = "priority 0 advert from \(advert.source)"
            return .none
        }
        let delaying = config.preemptDelay > 0 && (preemptTime.map { $0 > now } ?? true)
        let relearning = config.syncRelearnPeriod > 0 && now &- backupSince < config.syncRelearnPeriod
        if relearning && !config.noPreempt && advert.priority < effectivePriority && !delaying {
            counters.count(.preemptionDeferredForSync)
        }
        if config.noPreempt || advert.priority >= effectivePriority || delaying || relearning {
            // Accept this master: adopt its interval (v3) and restart the down timer.
            if config.version == .v3 { masterInterval = advert.intervalCentiseconds }
            deadline = now + masterDownInterval
            takeoverReason = "master down interval expired"
            masterAddress = advert.source
            masterPriority = advert.priority
            if config.preemptDelay > 0 {
                if advert.priority >= effectivePriority {
                    preemptTime = nil
                } else if preemptTime == nil {
                    preemptTime = now + config.preemptDelay
                }
            }
            wantState = .backup
        } else {
            // A lower priority master and we may preempt: ignore it, so the down timer
            // runs out and we take over (RFC 5798 §6.4.2 "discard the ADVERTISEMENT").
            masterAddress = advert.source
            takeoverReason = "preempting lower priority (\(advert.priority)) master \(advert.source)\(config.syncRelearnPeriod > 0 ? " after relearning its connections" : "")"
        }
        return .none
    }

    /// RFC 5798 §6.4.3 (vrrp.c `vrrp_state_master_rx`).
    private mutating func receiveAsMaster(_ advert: VRRPReceivedAdvert, now: UInt64, _ out: inout [VRRPAction]) -> Verdict {
        if advert.priority == VRRPPriority.stop {
            // Another master is leaving: assert ourselves at once.
            advertise(effectivePriority, &out)
            return .none
        }
        let theirs = advert.priority, ours = effectivePriority
        if theirs > ours || (theirs == ours && advert.source > primaryAddress) {
            if config.version == .v3 { masterInterval = advert.intervalCentiseconds }
            masterAddress = advert.source
            masterPriority = advert.priority
            return .demote(reason: theirs > ours
                ? "higher priority advert from \(advert.source)"
                : "equal priority advert from higher address \(advert.source)")
        }
        if theirs < ours || advert.source < primaryAddress {
            // A lower router thinks it is master: tell it otherwise now.
            advertise(effectivePriority, &out)
        }
        return .none
    }
}
