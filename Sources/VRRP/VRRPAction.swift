/// What the router wants done, in order. The caller owns the sockets, the VIPs and the
/// processes; the router never does I/O.
public enum VRRPAction: Hashable, Sendable {
    /// Send one advertisement for `instance` at `priority` (its effective priority, or 0 when
    /// leaving), built from the instance's configuration: VRID, interval, addresses, auth.
    case sendAdvertisement(instance: String, priority: UInt8)
    /// Send `count` gratuitous ARPs (IPv4) or unsolicited neighbour advertisements (IPv6) for
    /// every virtual and excluded address of `instance`.
    case sendGratuitous(instance: String, count: Int)
    /// `instance` changed state. Entering MASTER: own its addresses (answer ARP/ND, forward);
    /// leaving MASTER: stop at once. `reason` is a sentence for the log and lvsadm.
    case stateChanged(instance: String, from: VRRPState, to: VRRPState, reason: String)
    /// A sync group changed state (all its members have by now).
    case groupStateChanged(group: String, to: VRRPState)
    /// Run this notify script.
    case runNotify(VRRPCommand)
}
