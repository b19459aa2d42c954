import Wire

/// A data connection's tie to the control connection that announced it (IPVS's `cp->control`
/// of a connection ip_vs_ftp created, ip_vs_control_add): while it lives, the control
/// connection is not expired (`Connection.controlled` counts its data connections). Kept
/// beside the table, one per data connection handle; the control's client port and virtual
/// port (its addresses are the data connection's) say whether the control's slot still holds
/// it, as a handle may have changed hands.
@usableFromInline
struct FTPDataLink {
    var control: ConnectionHandle = 0
    var controlClientPort: UInt16 = 0
    var controlVirtualPort: UInt16 = 0
}

/// The FTP helper's state on one worker (Docs/ftp.md).
@usableFromInline
struct FTPHelper {
    /// How long an announced data connection waits for its first packet. nf_conntrack_ftp
    /// gives its expectations 5 minutes; a client opens its data connection at once, so one
    /// minute is plenty and bounds what a stream of PASV replies can hold.
    static let expectationTimeout: UInt64 = 60_000_000_000

    /// The helper runs: some NAT or FullNAT TCP service is on one of `ports`.
    var enabled = false
    var ports = FTPPorts.standard
    /// One per connection handle, allocated with the first FTP service: the control
    /// connection of each data connection the helper created.
    var links: UnsafeMutablePointer<FTPDataLink>?
    var expectations: FTPExpectations?
    var counters = FTPCounters()

    func deallocate() {
        links?.deallocate()
        expectations?.deallocate()
    }
}
