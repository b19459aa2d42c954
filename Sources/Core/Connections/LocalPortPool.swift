import Wire

/// The free local ports of one FullNAT local address (LIP), handed out oldest-freed first.
///
/// DPVS keeps a per-LIP port pool for the same reason (dpvs `sa_pool.c`): a port goes back
/// to the tail when its connection expires, so the real server sees the longest possible
/// gap before a LIP:lport pair is reused and its TIME_WAIT can drain. A port still held by
/// a connection is never in the ring, so it can never be handed out twice.
///
/// With several workers each worker's pool holds only its slice of the range (ports
/// ≡ slice.index mod slice.count), as DPVS splits a LIP's ports between lcores: the fanout
/// program steers a reply to LIP:lport to worker `lport mod count`, the one that allocated it.
public struct LocalPortPool: ~Copyable {
    public let address: IPAddress
    public let range: ClosedRange<UInt16>
    public let slice: WorkerSlice
    @usableFromInline let ring: UnsafeMutablePointer<UInt16>
    @usableFromInline let size: Int
    @usableFromInline var head = 0
    /// Each free port's index in `ring` (by `port - range.lowerBound`), so `take` can pull a
    /// given port out in O(1); stale for ports in use, which `take` tells by the window.
    let position: UnsafeMutablePointer<UInt16>
    public private(set) var available: Int

    /// Ports handed out and not yet released: the FullNAT connections on this LIP (each holds
    /// exactly one port from allocation until it is removed), counted without a table walk.
    public var inUse: Int { size - available }

    /// The ports DPVS and Linux use by default for outgoing connections' sources.
    public static let defaultRange: ClosedRange<UInt16> = 1024...65535

    /// `rotation` picks where in the ring the first port is handed out (taken modulo the
    /// ring's size): 0 starts at the range's first port. A director started with a random
    /// rotation does not hand out the LIP:lport pairs a predecessor on the same LIP used
    /// moments before, which the real servers may still hold in TIME_WAIT.
    public init(address: IPAddress, range: ClosedRange<UInt16> = LocalPortPool.defaultRange,
                slice: WorkerSlice = .whole, rotation: Int = 0) {
        self.address = address
        self.range = range
        self.slice = slice
        // The slice's first port in the range, then every count-th one.
        let lower = Int(range.lowerBound), upper = Int(range.upperBound)
        let first = lower + ((slice.index - lower % slice.count) + slice.count) % slice.count
        size = first > upper ? 0 : (upper - first) / slice.count + 1
        ring = .allocate(capacity: max(size, 1))
        position = .allocate(capacity: upper - lower + 1)
        position.initialize(repeating: 0, count: upper - lower + 1)
        for i in 0..<size {
            ring[i] = UInt16(first + i * slice.count)
            position[first + i * slice.count - lower] = UInt16(i)
        }
        available = size
        head = size > 0 ? (rotation % size + size) % size : 0
    }

    deinit {
        ring.deallocate()
        position.deallocate()
    }

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
        precondition(range.contains(port) && slice.owns(port) && available < size,
                     "releasing a port the pool did not hand out")
        var tail = head + available
        if tail >= size { tail -= size }
        ring[tail] = port
        position[Int(port - range.lowerBound)] = UInt16(tail)
        available += 1
    }

    /// Takes `port` itself out of the free ports, for a connection a sync master made: false
    /// when the port is outside this pool's share or already held. The port at the head of the
    /// ring moves into its place, so the ring stays a FIFO but for that one port.
    public mutating func take(_ port: UInt16) -> Bool {
        guard range.contains(port), slice.owns(port), available > 0 else { return false }
        let at = Int(position[Int(port - range.lowerBound)])
        guard at < size, ring[at] == port else { return false }
        var offset = at - head
        if offset < 0 { offset += size }
        guard offset < available else { return false }
        let moved = ring[head]
        ring[at] = moved
        position[Int(moved - range.lowerBound)] = UInt16(at)
        ring[head] = port
        head = head + 1 == size ? 0 : head + 1
        available -= 1
        return true
    }
}
