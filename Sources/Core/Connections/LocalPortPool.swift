import Wire

/// The free local ports of one FullNAT local address (LIP), handed out oldest-freed first.
///
/// DPVS keeps a per-LIP port pool for the same reason (dpvs `sa_pool.c`): a port goes back
/// to the tail when its connection expires, so the real server sees the longest possible
/// gap before a LIP:lport pair is reused and its TIME_WAIT can drain. A port still held by
/// a connection is never in the ring, so it can never be handed out twice.
public struct LocalPortPool: ~Copyable {
    public let address: IPAddress
    public let range: ClosedRange<UInt16>
    @usableFromInline let ring: UnsafeMutablePointer<UInt16>
    @usableFromInline let size: Int
    @usableFromInline var head = 0
    public private(set) var available: Int

    /// The ports DPVS and Linux use by default for outgoing connections' sources.
    public static let defaultRange: ClosedRange<UInt16> = 1024...65535

    public init(address: IPAddress, range: ClosedRange<UInt16> = LocalPortPool.defaultRange) {
        self.address = address
        self.range = range
        size = Int(range.upperBound) - Int(range.lowerBound) + 1
        ring = .allocate(capacity: size)
        for i in 0..<size { ring[i] = UInt16(Int(range.lowerBound) + i) }
        available = size
    }

    deinit { ring.deallocate() }

    /// Takes the longest-free port, or nil when every port is in use.
    public mutating func allocate() -> UInt16? {
        guard available > 0 else { return nil }
        let port = ring[head]
        head = head + 1 == size ? 0 : head + 1
        available -= 1
        return port
    }

    /// Returns `port` to the tail of the ring.
    public mutating func release(_ port: UInt16) {
        precondition(range.contains(port) && available < size, "releasing a port the pool did not hand out")
        var tail = head + available
        if tail >= size { tail -= size }
        ring[tail] = port
        available += 1
    }
}
