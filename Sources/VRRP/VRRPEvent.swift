import Wire

/// What happens to the VRRP side of lvsd, fed to `VRRPRouter.handle(_:now:)` with the time
/// it happened. Socket reads, link monitoring and script runs are the caller's; the router
/// only decides.
public enum VRRPEvent: Hashable, Sendable {
    /// Leave INIT: owners become MASTER, the others BACKUP (or FAULT if a tracked interface
    /// is already down or a tracked script has not answered yet).
    case start
    /// The clock reached `VRRPRouter.nextDeadline` (early or repeated calls are harmless).
    case timer
    /// A validated advertisement (`VRRPAdvertisement` accepted its bytes) arrived.
    case advertisement(VRRPReceivedAdvert)
    /// An advertisement whose bytes were refused; counted on the instance with `interface`
    /// and VRID `virtualRouterID` when the bytes got that far, else on the router.
    case invalidAdvertisement(interface: String?, virtualRouterID: UInt8?, VRRPError)
    /// An interface's link went up or down.
    case interface(String, up: Bool)
    /// A `vrrp_script` run ended: exit status 0 is success; a timeout or signal is failure.
    case scriptResult(String, success: Bool)
    /// lvsd is stopping: masters send a priority 0 advert so a backup takes over after
    /// Skew_Time instead of Master_Down_Interval (RFC 5798 §6.4.3), then all go to STOP.
    case shutdown
}
