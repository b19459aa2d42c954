/// A `vrrp_script`'s verdict from its run results, with keepalived's rise/fall hysteresis
/// (vrrp_scheduler.c `vrrp_script_child_thread`): `result` counts from 0 (down) to
/// rise + fall − 1 (up); `rise` successes in a row bring a down script up, `fall` failures
/// in a row bring an up script down. Until its first verdict the script is unknown, and an
/// instance that depends on it stays in INIT.
struct VRRPScriptTracker: Hashable, Sendable {
    let rise: Int
    let fall: Int
    private var result = 0
    /// nil until the first verdict.
    private(set) var isUp: Bool?

    init(rise: Int, fall: Int) {
        self.rise = max(1, rise)
        self.fall = max(1, fall)
    }

    /// Records one run; true when the verdict changed.
    mutating func record(success: Bool) -> Bool {
        let before = isUp
        if success {
            if result < rise - 1 {
                result += 1
            } else {
                if result < rise { isUp = true }
                result = rise + fall - 1
            }
        } else {
            if result > rise {
                result -= 1
            } else {
                if result == rise || isUp == nil { isUp = false }
                result = 0
            }
        }
        return before != isUp
    }
}

/// How a tracked object moves an instance (vrrp_track.c `process_script_update_priority`,
/// `initialise_track_script_state`, and the interface equivalents in vrrp_if.c).
enum VRRPTrackEffect {
    /// The priority change while the object is `up` (reverse already applied by swapping
    /// up and down): +weight while up for a positive weight, weight while down for a
    /// negative one, nothing otherwise. Weight 0 never changes priority: it faults instead.
    static func priorityChange(weight: Int, reverse: Bool, up: Bool) -> Int {
        let sign = reverse ? -1 : 1
        if weight > 0 { return up ? weight * sign : 0 }
        if weight < 0 { return up ? 0 : weight * sign }
        return 0
    }

    /// Whether a weight-0 object faults the instance: while down, or while up if reversed.
    static func faults(up: Bool, reverse: Bool) -> Bool { up == reverse }

    /// keepalived's effective priority: the configured one plus the changes, kept within
    /// 1...254; an address owner's never moves (vrrp_track.c `vrrp_set_effective_priority`).
    static func effectivePriority(base: UInt8, change: Int) -> UInt8 {
        guard base != VRRPPriority.owner else { return base }
        return UInt8(min(254, max(1, Int(base) + change)))
    }
}
