import Wire

/// Remembers which connection the first fragment of a datagram belonged to, so the later
/// fragments (which carry no ports) follow it. Direct-mapped and fixed-size: a collision
/// overwrites the older datagram, whose remaining fragments then drop as
/// `fragmentWithoutConnection`, the same outcome as a director that does not track.
@usableFromInline
struct FragmentCache {
    struct Entry {
        var source: IPAddress = .zero
        var destination: IPAddress = .zero
        var identification: UInt32 = 0
        var proto: IPProtocol = .hopByHop
        var connection: ConnectionHandle = 0
        /// The first fragment's ports: the slot may since hold another connection.
        var sourcePort: UInt16 = 0
        var destinationPort: UInt16 = 0
        var expires: UInt64 = 0
    }
    static let size = 4096
    /// RFC 791's reassembly timer upper bound (15 s suggested, 30 s common in stacks).
    static let lifetime: UInt64 = 30_000_000_000
    var entries: [Entry] = Array(repeating: Entry(), count: FragmentCache.size)

    @inline(__always)
    static func index(_ source: IPAddress, _ destination: IPAddress, _ id: UInt32, _ proto: IPProtocol) -> Int {
        var h = (source.low ^ destination.low &* 0x9E37_79B9_7F4A_7C15) ^ (source.high &+ destination.high)
        h ^= UInt64(id) &* 0xBF58_476D_1CE4_E5B9 ^ UInt64(proto.rawValue)
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & (size - 1)
    }

    mutating func remember(_ source: IPAddress, _ destination: IPAddress, _ id: UInt32, _ proto: IPProtocol,
                           sourcePort: UInt16, destinationPort: UInt16, connection: ConnectionHandle, now: UInt64) {
        entries[Self.index(source, destination, id, proto)] = Entry(
            source: source, destination: destination, identification: id, proto: proto,
            connection: connection, sourcePort: sourcePort, destinationPort: destinationPort,
            expires: now + Self.lifetime)
    }

    /// The connection and ports the datagram's first fragment had, or a zero handle.
    func connection(_ source: IPAddress, _ destination: IPAddress, _ id: UInt32, _ proto: IPProtocol,
                    now: UInt64) -> (ConnectionHandle, sourcePort: UInt16, destinationPort: UInt16) {
        let e = entries[Self.index(source, destination, id, proto)]
        guard e.connection != 0, e.expires > now, e.identification == id, e.proto == proto,
              e.source == source, e.destination == destination else { return (0, 0, 0) }
        return (e.connection, e.sourcePort, e.destinationPort)
    }
}
