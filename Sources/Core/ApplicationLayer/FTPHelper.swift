import Wire

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
    var expectations: FTPExpectations?
    var counters = FTPCounters()

    func deallocate() {
        expectations?.deallocate()
    }
}
