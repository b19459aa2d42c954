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
