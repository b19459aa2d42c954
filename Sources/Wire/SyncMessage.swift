/// An IPVS connection-sync message, protocol version 1 (`struct ip_vs_sync_mesg`,
/// net/netfilter/ipvs/ip_vs_sync.c): an 8-byte header, then `connectionCount` connection
/// entries (`SyncConnection`), each padded to 4 bytes. The datagram a sync master sends to
/// 224.0.0.81:8848 (or a unicast peer) and a backup installs.
///
/// ```
///  0               1               2               3
///  | reserved = 0  |    syncid     |            size (whole message)      |
///  | nr_conns      |  version = 1  |            spare = 0                 |
///  | connection 1 ... (padded to 4) | connection 2 ... | ...
/// ```
///
/// The initializer validates the whole message once: header, then every connection's framing
/// and options (`SyncConnection.validate`). After it, `forEachConnection` walks unchecked. A
/// message that fails any check is refused whole, where the kernel applies the connections
/// before the bad one and drops the rest: a datagram whose framing lies cannot be trusted in
/// its earlier entries either.
///
/// What a single connection may carry that a receiver must skip (an unknown mandatory option,
/// persistence-engine data, a protocol or state it does not know) is not a framing error: the
/// kernel skips that connection and goes on, and so does `Core`.
public struct SyncMessage {
    public enum Offset {
        public static let reserved = 0
        public static let syncID = 1
        public static let size = 2
        public static let connectionCount = 4
        public static let version = 5
        public static let spare = 6
    }
    public static let headerLength = 8
    /// `SYNC_PROTO_VER`.
    public static let version: UInt8 = 1
    /// The version-0 header's length (`struct ip_vs_sync_mesg_v0`), the least the kernel reads.
    public static let minimumLength = 4
    /// `IP_VS_SYNC_GROUP` and `IP_VS_SYNC_PORT`: where a master sends by default.
    public static let defaultGroup = IPAddress(ipv4: 0xE000_0051)
    public static let defaultPort: UInt16 = 8848
    /// The most connections one message counts (`nr_conns` is one byte).
    public static let maximumConnections = 255

    @usableFromInline let base: UnsafeMutableRawPointer
    /// The whole message (the size field, equal to the datagram's length).
    public let length: Int

    /// Validates `length` bytes at `base` as a complete version-1 message.
    public init(_ base: UnsafeMutableRawPointer, length: Int) throws(SyncError) {
        // ip_vs_process_message: too short for even a v0 header, then size == datagram.
        guard length >= SyncMessage.minimumLength else { throw .truncated }
        guard Int(base.wireU16(Offset.size)) == length else { throw .sizeMismatch }
        // The kernel reads anything else as a version-0 message, which lvsd does not speak.
        guard length >= SyncMessage.headerLength, base.wireU8(Offset.reserved) == 0,
              base.wireU8(Offset.version) == SyncMessage.version, base.wireU16(Offset.spare) == 0 else {
            throw .unsupportedVersion
        }
        let count = Int(base.wireU8(Offset.connectionCount))
        var offset = SyncMessage.headerLength
        for _ in 0..<count {
            let size = try SyncConnection.validate(base + offset, available: length - offset)
            // The next entry starts 4-byte aligned; the last one's padding may be absent.
            offset += (size + 3) & ~3
        }
        self.base = base
        self.length = length
    }

    /// The sync group the message belongs to (`--syncid`); a backup with a non-zero syncid
    /// ignores other groups' messages.
    @inlinable public var syncID: UInt8 { base.wireU8(Offset.syncID) }
    @inlinable public var connectionCount: Int { Int(base.wireU8(Offset.connectionCount)) }

    /// Calls `body` with each connection entry, in order.
    @inlinable
    public func forEachConnection(_ body: (SyncConnection) throws -> Void) rethrows {
        var offset = SyncMessage.headerLength
        for _ in 0..<connectionCount {
            let c = SyncConnection(unchecked: base + offset)
            try body(c)
            offset += (c.size + 3) & ~3
        }
    }

    /// Writes a header for an empty message; `SyncMessageWriter` keeps size and count.
    @inlinable
    public static func emitHeader(into base: UnsafeMutableRawPointer, syncID: UInt8) {
        base.wireSetU8(0, Offset.reserved)
        base.wireSetU8(syncID, Offset.syncID)
        base.wireSetU16(UInt16(headerLength), Offset.size)
        base.wireSetU8(0, Offset.connectionCount)
        base.wireSetU8(version, Offset.version)
        base.wireSetU16(0, Offset.spare)
    }
}

/// Why a sync message was refused whole. Each case is a named counter on the receiver.
public enum SyncError: Error, Equatable, Sendable, CaseIterable, CustomStringConvertible {
    /// Shorter than a header.
    case truncated
    /// The size field is not the datagram's length.
    case sizeMismatch
    /// Not a version-1 message (version 0, or reserved/spare not zero).
    case unsupportedVersion
    /// The count promises a connection the message has no room for (`sizeof(ip_vs_sync_v4)`).
    case connectionTruncated
    /// A connection's size runs past the message, or is smaller than its fixed part.
    case badConnectionSize
    /// A connection's version nibble (top 4 bits of `ver_size`) is not 0.
    case badConnectionVersion
    /// A connection type that is neither IPv4 (0) nor IPv6 (bit 0).
    case badConnectionType
    /// An option header (type, length) cut by the connection's end.
    case optionTruncated
    /// An option of length 0, running past the connection, or of the wrong length for its type.
    case badOptionLength
    /// A known option given twice in one connection.
    case duplicateOption

    /// The counter's name, as lvsd prints it.
    public var description: String {
        switch self {
        case .truncated: "sync-truncated"
        case .sizeMismatch: "sync-size-mismatch"
        case .unsupportedVersion: "sync-unsupported-version"
        case .connectionTruncated: "sync-connection-truncated"
        case .badConnectionSize: "sync-bad-connection-size"
        case .badConnectionVersion: "sync-bad-connection-version"
        case .badConnectionType: "sync-bad-connection-type"
        case .optionTruncated: "sync-option-truncated"
        case .badOptionLength: "sync-bad-option-length"
        case .duplicateOption: "sync-duplicate-option"
        }
    }
}
