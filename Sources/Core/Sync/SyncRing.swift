import Wire

/// What the data path writes when a connection is to be synced: its handle and enough of its
/// key to tell, when the note is read, that the slot still holds the same connection (a slot
/// freed and reused by another flow in between is not synced). The connection itself is read
/// at drain time, so a note says "sync this one now", never a state that may be stale.
@usableFromInline
struct SyncNote {
    @usableFromInline var handle: ConnectionHandle
    @usableFromInline var clientAddressLow: UInt32
    @usableFromInline var clientPort: UInt16
    @usableFromInline var virtualPort: UInt16

    @inlinable init(_ h: ConnectionHandle, _ c: UnsafeMutablePointer<Connection>) {
        handle = h
        clientAddressLow = UInt32(truncatingIfNeeded: c.pointee.clientAddress.low)
        clientPort = c.pointee.clientPort
        virtualPort = c.pointee.virtualPort
    }

    /// Whether `c` is still the connection this note was written for.
    @inlinable func matches(_ c: Connection) -> Bool {
        // A template retired from the hash since is no longer the client's: not synced.
        c.flags.contains(.inUse) && !c.flags.contains(.unhashed) && c.clientPort == clientPort
            && c.virtualPort == virtualPort
            && UInt32(truncatingIfNeeded: c.clientAddress.low) == clientAddressLow
    }
}

/// One worker's sync notes: a fixed ring allocated when the master starts, written by the
/// data path and read by the same worker between batches (`Director.drainSync`), so it needs
/// no lock and no atomics.
@usableFromInline
final class SyncState {
    @usableFromInline var settings: SyncSettings
    @usableFromInline let ring: UnsafeMutablePointer<SyncNote>
    @usableFromInline let capacity: Int
    @usableFromInline var head = 0
    @usableFromInline var count = 0
    /// Where messages are built (`settings.maxMessageLength` bytes).
    let message: UnsafeMutableRawPointer
    @usableFromInline var counters = SyncCounters()
    /// The refresh walk (`Director.refreshSync`): the next slot, the slots owed by the time
    /// that passed, the fraction of a slot owed (in slot × nanoseconds / period units), and
    /// when it last ran (0: not yet).
    var refreshCursor = 1
    var refreshOwed = 0
    var refreshCredit: UInt64 = 0
    var refreshClock: UInt64 = 0

    init(_ settings: SyncSettings) {
        self.settings = settings
        capacity = settings.ringCapacity
        ring = .allocate(capacity: capacity)
        message = .allocate(byteCount: settings.maxMessageLength, alignment: 8)
    }

    deinit {
        ring.deallocate()
        message.deallocate()
    }

    /// Appends a note, or counts it lost when the ring is full.
    @inlinable func append(_ note: SyncNote) {
        guard count < capacity else {
            counters.ringFull &+= 1
            return
        }
        var tail = head + count
        if tail >= capacity { tail -= capacity }
        ring[tail] = note
        count += 1
    }

    func pop() -> SyncNote? {
        guard count > 0 else { return nil }
        let note = ring[head]
        head = head + 1 == capacity ? 0 : head + 1
        count -= 1
        return note
    }
}

/// A sync master's and backup's counters, each by name.
public struct SyncCounters: Sendable, Hashable {
    // Master.
    /// Notes lost to a full ring.
    public var ringFull: UInt64 = 0
    /// Notes whose connection had gone (expired, or its slot reused) before the drain.
    public var notesStale: UInt64 = 0
    /// Connections of a mixed-family service (IPv4 VIP, IPv6 real server), which the format
    /// cannot carry (the kernel does not sync heterogeneous pools either).
    public var notesMixedFamily: UInt64 = 0
    public var messagesBuilt: UInt64 = 0
    public var connectionsSent: UInt64 = 0
    /// Connections and templates the refresh walk noted, and its whole passes over the table.
    public var connectionsRefreshed: UInt64 = 0
    public var refreshPasses: UInt64 = 0
    // Backup.
    public var messagesReceived: UInt64 = 0
    /// Messages of another sync group (`--syncid`), ignored as the kernel does.
    public var messagesOtherGroup: UInt64 = 0
    public var connectionsInstalled: UInt64 = 0
    public var connectionsUpdated: UInt64 = 0
    /// Messages refused whole, by why.
    public var rejected: [SyncError: UInt64] = [:]
    /// Connections skipped, by why.
    public var dropped: [SyncDropReason: UInt64] = [:]

    public init() {}

    public subscript(error: SyncError) -> UInt64 { rejected[error, default: 0] }
    public subscript(reason: SyncDropReason) -> UInt64 { dropped[reason, default: 0] }
    public var messagesRejected: UInt64 { rejected.values.reduce(0, +) }
    public var connectionsDropped: UInt64 { dropped.values.reduce(0, +) }
}

/// Why a backup skipped one connection of a valid message. Each is a named counter.
public enum SyncDropReason: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// An option without IPVS_OPT_F_PARAM that lvsd does not know (the kernel skips it too).
    case unknownMandatoryOption
    /// Persistence-engine data (`--pe sip`), which lvsd has no engine for.
    case persistenceEngineUnsupported
    /// Neither TCP nor UDP.
    case unsupportedProtocol
    /// A state number past the protocol's table.
    case badState
    /// A forwarding code lvsd does not have (local node, bypass).
    case unsupportedForwarding
    /// No virtual service (protocol, VIP, vport) here.
    case unknownService
    /// The service has no such real server (RIP:rport) here.
    case unknownRealServer
    /// A FullNAT connection without lvsd's local-endpoint option (a kernel or DPVS master).
    case missingLocalEndpoint
    /// A FullNAT local address this director does not have.
    case unknownLocalAddress
    /// A local port outside this worker's share (`WorkerSlice`) or the port range.
    case foreignLocalPort
    /// The local port is held by another connection here.
    case localPortInUse
    /// The end of a connection this director has already replaced with another to a different
    /// real server (`ip_vs_proc_conn`: an inactive entry for a replaced connection).
    case replacedConnection
    case connectionTableFull

    public var description: String {
        switch self {
        case .unknownMandatoryOption: "sync-unknown-mandatory-option"
        case .persistenceEngineUnsupported: "sync-persistence-engine-unsupported"
        case .unsupportedProtocol: "sync-unsupported-protocol"
        case .badState: "sync-bad-state"
        case .unsupportedForwarding: "sync-unsupported-forwarding"
        case .unknownService: "sync-unknown-service"
        case .unknownRealServer: "sync-unknown-real-server"
        case .missingLocalEndpoint: "sync-missing-local-endpoint"
        case .unknownLocalAddress: "sync-unknown-local-address"
        case .foreignLocalPort: "sync-foreign-local-port"
        case .localPortInUse: "sync-local-port-in-use"
        case .replacedConnection: "sync-replaced-connection"
        case .connectionTableFull: "sync-connection-table-full"
        }
    }
}
