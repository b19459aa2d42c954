import Wire

/// A passive-mode data connection the server announced (227/229) and the client has not
/// opened yet: IPVS creates it as a connection without client port
/// (`IP_VS_CONN_F_NO_CPORT`, ip_vs_ftp.c); here it waits in a small table of its own, so the
/// connection table's lookups stay exact. The client's SYN to VIP:port takes it.
@usableFromInline
struct FTPExpectation {
    var client: IPAddress = .zero
    var virtual: IPAddress = .zero
    var destination: IPAddress = .zero
    var localAddress: IPAddress = .zero
    var expires: UInt64 = 0
    var clientMAC: MACAddress = .zero
    /// The data port: the same on the VIP and on the real server.
    var port: UInt16 = 0
    var realServer: UInt32 = 0
    var localPool: UInt16 = 0
    var method: ForwardingMethod = .nat
    var ingressInterface: UInt8 = 0
}

/// The bounded table of expected passive data connections, one per worker. Linear: it holds
/// the transfers announced in the last `FTPHelper.expectationTimeout` and not yet opened,
/// which is few; it is searched only for SYNs that missed the connection table, and only
/// while it holds something. Full: the announcement is not expected and counted
/// (`FTPCounters.expectationTableFull`).
@usableFromInline
struct FTPExpectations {
    static let capacity = 1024
    let slots: UnsafeMutablePointer<FTPExpectation>
    var count = 0

    init() {
        slots = .allocate(capacity: Self.capacity)
        slots.initialize(repeating: FTPExpectation(), count: Self.capacity)
    }

    func deallocate() { slots.deallocate() }

    /// Adds `e`, replacing one for the same client and port; false when full of live ones.
    mutating func add(_ e: FTPExpectation, now: UInt64) -> Bool {
        var i = 0
        while i < count {
            if slots[i].expires <= now {
                removeAt(i)
                continue
            }
            if slots[i].client == e.client && slots[i].virtual == e.virtual && slots[i].port == e.port {
                slots[i] = e
                return true
            }
            i += 1
        }
        guard count < Self.capacity else { return false }
        slots[count] = e
        count += 1
        return true
    }

    /// Takes the live expectation for a SYN from `client` to `virtual`:`port`.
    mutating func take(client: IPAddress, virtual: IPAddress, port: UInt16, now: UInt64) -> FTPExpectation? {
        var i = 0
        while i < count {
            if slots[i].expires <= now {
                removeAt(i)
                continue
            }
            if slots[i].port == port && slots[i].client == client && slots[i].virtual == virtual {
                let e = slots[i]
                removeAt(i)
                return e
            }
            i += 1
        }
        return nil
    }

    private mutating func removeAt(_ i: Int) {
        count -= 1
        slots[i] = slots[count]
    }
}

/// What the FTP helper did and refused, by name (`Director.ftpCounters`).
public struct FTPCounters: Sendable, Hashable {
    /// PORT/EPRT lines seen (active mode) and 227/229 replies seen (passive mode).
    public var activeLines: UInt64 = 0
    public var passiveReplies: UInt64 = 0
    /// Lines whose length changed when rewritten.
    public var rewritten: UInt64 = 0
    /// Data connections created: active ones at the PORT/EPRT, passive ones at the client's SYN.
    public var dataConnections: UInt64 = 0
    /// A recognised verb or reply whose numbers did not parse: left as sent.
    public var malformed: UInt64 = 0
    /// A PORT/EPRT naming an address other than the client's (RFC 2577 §3, FTP bounce): no
    /// data connection, left as sent.
    public var foreignAddress: UInt64 = 0
    /// The expectation table was full of live entries: the passive transfer is not expected.
    public var expectationTableFull: UInt64 = 0
    /// No FullNAT local port, or no connection slot, for a data connection.
    public var noDataConnection: UInt64 = 0
    /// A rewritten line would not fit the frame's tailroom, or the frame is a GSO super-frame
    /// or fragment: left as sent.
    public var notRewritable: UInt64 = 0
    public init() {}

    /// Each counter by the name lvsd prints.
    public var named: [(String, UInt64)] {
        [("ftp-active-lines", activeLines), ("ftp-passive-replies", passiveReplies), ("ftp-rewritten", rewritten),
         ("ftp-data-connections", dataConnections), ("ftp-malformed", malformed), ("ftp-foreign-address", foreignAddress),
         ("ftp-expectation-table-full", expectationTableFull), ("ftp-no-data-connection", noDataConnection),
         ("ftp-not-rewritable", notRewritable)]
    }

    /// Two workers' counters summed.
    public func adding(_ o: FTPCounters) -> FTPCounters {
        var s = self
        s.activeLines &+= o.activeLines
        s.passiveReplies &+= o.passiveReplies
        s.rewritten &+= o.rewritten
        s.dataConnections &+= o.dataConnections
        s.malformed &+= o.malformed
        s.foreignAddress &+= o.foreignAddress
        s.expectationTableFull &+= o.expectationTableFull
        s.noDataConnection &+= o.noDataConnection
        s.notRewritable &+= o.notRewritable
        return s
    }
}

/// Per-connection state of an FTP control connection, beside the connection table (whose
/// 128-byte entries have no room): the sequence shifts its rewrites left in each direction.
/// The owner's client address and port say whether the entry belongs to the connection now in
/// the slot; a mismatch is a fresh entry.
@usableFromInline
struct FTPControlEntry {
    var client: IPAddress = .zero
    var clientPort: UInt16 = 0
    var fromClient = FTPSequenceDelta()
    var fromServer = FTPSequenceDelta()
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
    /// One entry per connection handle, allocated with the first FTP service.
    var entries: UnsafeMutablePointer<FTPControlEntry>?
    var expectations: FTPExpectations?
    var counters = FTPCounters()

    func deallocate() {
        entries?.deallocate()
        expectations?.deallocate()
    }
}
