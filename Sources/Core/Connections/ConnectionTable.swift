import CSupport
import Wire

/// The connection table: a fixed-capacity slab of `Connection`s with integer handles, two
/// intrusive hash indexes and a timer wheel. Nothing here allocates after `init`.
///
/// - In-hash: keyed by what the client sends, (proto, CIP, cport, VIP, vport); templates
///   use cport 0 and the masked client address (IPVS `ip_vs_conn_hash` / `ip_vs_ct_in_get`).
/// - Out-hash: keyed by what a real server's reply carries, (proto, RIP, rport, CIP|LIP,
///   cport|lport); only NAT and FullNAT connections are linked there.
/// - Both indexes hash the packet's (proto, source, sport, destination, dport) the same
///   way, so one hash serves both probes of an unknown packet.
///
/// Capacity is fixed: when the slab is full `insert` returns nil and the caller drops and
/// counts the new flow. Existing connections are never evicted to make room.
public struct ConnectionTable: ~Copyable {
    @usableFromInline let slots: UnsafeMutablePointer<Connection>
    @usableFromInline let inBuckets: UnsafeMutablePointer<ConnectionHandle>
    @usableFromInline let outBuckets: UnsafeMutablePointer<ConnectionHandle>
    @usableFromInline let bucketMask: Int
    @usableFromInline let seed: UInt64
    public let capacity: Int
    /// Bytes mapped with `lvs_map_huge` for the slab and both bucket arrays (one region), or 0
    /// when the table is small enough for three ordinary allocations.
    @usableFromInline let mappedBytes: Int
    /// Whether the kernel took the transparent-huge-page advice for the table's memory.
    public let hugePages: Bool
    /// Head of the free list (linked through `inNext`), 0 when full.
    @usableFromInline var freeHead: ConnectionHandle
    public private(set) var count: Int

    // Timer wheel: `wheelSlots` circular doubly linked lists, one per tick of 2^tickShift ns
    // (~134 ms, so one turn is ~1100 s). Each list's sentinel is a slab entry past `capacity`,
    // which makes unlinking O(1) without knowing the slot.
    @usableFromInline static var wheelSlots: Int { 8192 }
    @usableFromInline static var tickShift: UInt64 { 27 }
    @usableFromInline var wheelTick: UInt64

    /// - Parameters:
    ///   - capacity: the most connections (and templates) ever held at once.
    ///   - seed: keys the hash so remote peers cannot aim at one bucket; inject a fixed one in tests.
    ///   - now: the clock's current reading, where the wheel starts.
    public init(capacity: Int, seed: UInt64, now: UInt64 = 0) {
        precondition(capacity > 0 && capacity < Int(UInt32.max))
        self.capacity = capacity
        self.seed = seed
        var buckets = 1
        while buckets < capacity { buckets <<= 1 }
        bucketMask = buckets - 1
        // Slot 0 is the "none" handle and never used; sentinels follow the connections.
        let total = capacity + 1 + Self.wheelSlots
        let slabBytes = MemoryLayout<Connection>.stride * total
        let bucketBytes = MemoryLayout<ConnectionHandle>.stride * buckets
        // A big table is one region of 2 MiB pages: every lookup is a random access, and
        // with 4 KiB pages each one also misses the TLB (a 1M table spans ~34,000 pages, far
        // more than the TLB holds), a page walk of its own to memory. drain.sh measures it.
        var huge: Int32 = 0
        let region = slabBytes + 2 * bucketBytes >= Self.hugePageThreshold
            ? lvs_map_huge(slabBytes + 2 * bucketBytes, &huge) : nil
        if let region {
            mappedBytes = slabBytes + 2 * bucketBytes
            hugePages = huge != 0
            // The region is 2 MiB aligned; the slab's size is a multiple of 128 bytes, so the
            // bucket arrays after it stay aligned too.
            slots = region.bindMemory(to: Connection.self, capacity: total)
            inBuckets = (region + slabBytes).bindMemory(to: ConnectionHandle.self, capacity: buckets)
            outBuckets = (region + slabBytes + bucketBytes).bindMemory(to: ConnectionHandle.self, capacity: buckets)
        } else {
            mappedBytes = 0
            hugePages = false
            // 64-byte alignment puts each 128-byte entry on exactly two cache lines.
            slots = UnsafeMutableRawPointer.allocate(byteCount: slabBytes, alignment: 64)
                .bindMemory(to: Connection.self, capacity: total)
            inBuckets = .allocate(capacity: buckets)
            outBuckets = .allocate(capacity: buckets)
        }
        slots.initialize(repeating: Connection(), count: total)
        for s in 0..<Self.wheelSlots {
            let sentinel = ConnectionHandle(capacity + 1 + s)
            slots[Int(sentinel)].wheelNext = sentinel
            slots[Int(sentinel)].wheelPrev = sentinel
        }
        inBuckets.initialize(repeating: 0, count: buckets)
        outBuckets.initialize(repeating: 0, count: buckets)
        for h in 1..<capacity { slots[h].inNext = ConnectionHandle(h + 1) }
        slots[capacity].inNext = 0
        freeHead = 1
        count = 0
        wheelTick = now >> Self.tickShift
    }

    deinit {
        if mappedBytes > 0 {
            lvs_unmap_huge(UnsafeMutableRawPointer(slots), mappedBytes)
        } else {
            UnsafeMutableRawPointer(slots).deallocate()
            inBuckets.deallocate()
            outBuckets.deallocate()
        }
    }

    /// Tables of at least this many bytes get a huge-page region; smaller ones (tests, small
    /// directors) would waste most of a 2 MiB page.
    static let hugePageThreshold = 8 << 20

    /// Bytes of table memory per connection of capacity (slab, both bucket arrays).
    public var bytesPerConnection: Int {
        (MemoryLayout<Connection>.stride * (capacity + 1 + Self.wheelSlots) + 2 * 4 * (bucketMask + 1)) / capacity
    }

    // MARK: Access

    /// The connection at `handle`. Handles come from `insert` or the lookups.
    @inlinable public subscript(handle: ConnectionHandle) -> Connection {
        _read { yield slots[Int(handle)] }
        nonmutating _modify { yield &slots[Int(handle)] }
    }

    /// The entry itself, for the data path to read and write fields in place (copying a
    /// 128-byte `Connection` out and back costs more than the rest of a hit). Valid until the
    /// connection is removed.
    @inlinable public func entry(_ handle: ConnectionHandle) -> UnsafeMutablePointer<Connection> {
        slots + Int(handle)
    }

    // MARK: Prefetching (the batch path)

    /// Starts loading both bucket heads of `bucket`.
    @inlinable public func prefetchBuckets(_ bucket: Int) {
        lvs_prefetch(inBuckets + bucket)
        lvs_prefetch(outBuckets + bucket)
    }

    /// Starts loading the first entry of each chain of `bucket` (both of its cache lines);
    /// call after `prefetchBuckets` had time to land.
    @inlinable public func prefetchChainHeads(_ bucket: Int) {
        let h = inBuckets[bucket]
        if h != 0 {
            lvs_prefetch(slots + Int(h))
            lvs_prefetch(UnsafeRawPointer(slots + Int(h)) + 64)
        }
        let o = outBuckets[bucket]
        if o != 0 {
            lvs_prefetch(slots + Int(o))
            lvs_prefetch(UnsafeRawPointer(slots + Int(o)) + 64)
        }
    }

    // MARK: Hashing

    /// A keyed mix of the 5-tuple (a multiply-xorshift over 64-bit lanes, wyhash-style).
    @inlinable
    func hash(_ proto: TransportProtocol, _ a: IPAddress, _ aPort: UInt16, _ b: IPAddress, _ bPort: UInt16) -> Int {
        @inline(__always) func mix(_ x: UInt64, _ y: UInt64) -> UInt64 {
            let m = x.multipliedFullWidth(by: y)
            return m.high ^ m.low
        }
        var h = mix(a.high ^ seed, b.high ^ 0x9E37_79B9_7F4A_7C15)
        h = mix(h ^ a.low, b.low ^ 0xBF58_476D_1CE4_E5B9)
        h = mix(h ^ (UInt64(aPort) << 24 | UInt64(bPort) << 8 | UInt64(proto.rawValue)), 0x94D0_49BB_1331_11EB)
        return Int(truncatingIfNeeded: h) & bucketMask
    }

    /// The bucket index for a packet's tuple, shared by both probes.
    @inlinable
    public func bucket(_ proto: TransportProtocol, source: IPAddress, sourcePort: UInt16,
                       destination: IPAddress, destinationPort: UInt16) -> Int {
        hash(proto, source, sourcePort, destination, destinationPort)
    }

    // MARK: Lookup

    /// The connection (or, with `template`, the persistence template) a client packet belongs to.
    @inlinable
    public func lookupIn(bucket: Int, _ proto: TransportProtocol, client: IPAddress, clientPort: UInt16,
                         virtual: IPAddress, virtualPort: UInt16, template: Bool = false) -> ConnectionHandle {
        var h = inBuckets[bucket]
        while h != 0 {
            // Compare in place: copying the 128-byte entry would read both of its cache lines.
            let e = slots + Int(h)
            if e.pointee.clientPort == clientPort && e.pointee.virtualPort == virtualPort && e.pointee.proto == proto
                && e.pointee.clientAddress == client && e.pointee.virtualAddress == virtual
                && e.pointee.flags.contains(.template) == template {
                return h
            }
            h = e.pointee.inNext
        }
        return 0
    }

    /// The NAT/FullNAT connection a real server's reply belongs to.
    @inlinable
    public func lookupOut(bucket: Int, _ proto: TransportProtocol, realServer: IPAddress, realPort: UInt16,
                          replyDestination: IPAddress, replyPort: UInt16) -> ConnectionHandle {
        var h = outBuckets[bucket]
        while h != 0 {
            let e = slots + Int(h)
            if e.pointee.destinationPort == realPort && e.pointee.proto == proto
                && e.pointee.destinationAddress == realServer {
                let fullNAT = e.pointee.method == .fullNAT
                if (fullNAT ? e.pointee.localPort : e.pointee.clientPort) == replyPort
                    && (fullNAT ? e.pointee.localAddress : e.pointee.clientAddress) == replyDestination {
                    return h
                }
            }
            h = e.pointee.outNext
        }
        return 0
    }

    // MARK: Insert and remove

    /// Takes a free slot, copies `connection` into it, links it in the in-hash (and the
    /// out-hash when `connection.method.repliesTraverseDirector` and it is not a template),
    /// and arms its timer. Returns nil when the table is full.
    public mutating func insert(_ connection: Connection) -> ConnectionHandle? {
        let h = freeHead
        guard h != 0 else { return nil }
        freeHead = slots[Int(h)].inNext
        count += 1
        var c = connection
        c.flags.insert(.inUse)
        c.flags.remove(.hashedOut)
        let ib = hash(c.proto, c.clientAddress, c.clientPort, c.virtualAddress, c.virtualPort)
        c.inNext = inBuckets[ib]
        inBuckets[ib] = h
        if c.method.repliesTraverseDirector && !c.flags.contains(.template) {
            let (rd, rp) = c.replyDestination
            let ob = hash(c.proto, c.destinationAddress, c.destinationPort, rd, rp)
            c.outNext = outBuckets[ob]
            outBuckets[ob] = h
            c.flags.insert(.hashedOut)
        }
        slots[Int(h)] = c
        linkTimer(h)
        return h
    }

    /// Unlinks `handle` from both hashes and the wheel and returns its slot to the free list.
    public mutating func remove(_ handle: ConnectionHandle) {
        let c = slots[Int(handle)]
        precondition(c.flags.contains(.inUse), "removing a free connection slot")
        if !c.flags.contains(.unhashed) {
            unlink(handle, from: inBuckets, bucket: hash(c.proto, c.clientAddress, c.clientPort, c.virtualAddress, c.virtualPort),
                   next: \.inNext)
        }
        if c.flags.contains(.hashedOut) {
            let (rd, rp) = c.replyDestination
            unlink(handle, from: outBuckets, bucket: hash(c.proto, c.destinationAddress, c.destinationPort, rd, rp),
                   next: \.outNext)
        }
        unlinkTimer(handle)
        slots[Int(handle)] = Connection()
        slots[Int(handle)].inNext = freeHead
        freeHead = handle
        count -= 1
    }

    /// Takes a template out of the in-hash so lookups no longer find it, while it stays
    /// allocated for the connections it controls (ip_vs_check_template).
    public mutating func unhashTemplate(_ handle: ConnectionHandle) {
        let c = slots[Int(handle)]
        guard c.flags.contains(.template), !c.flags.contains(.unhashed) else { return }
        unlink(handle, from: inBuckets, bucket: hash(c.proto, c.clientAddress, c.clientPort, c.virtualAddress, c.virtualPort),
               next: \.inNext)
        slots[Int(handle)].flags.insert(.unhashed)
    }

    private func unlink(_ handle: ConnectionHandle, from buckets: UnsafeMutablePointer<ConnectionHandle>, bucket: Int,
                        next: WritableKeyPath<Connection, ConnectionHandle>) {
        var h = buckets[bucket]
        if h == handle {
            buckets[bucket] = slots[Int(h)][keyPath: next]
            return
        }
        while h != 0 {
            let n = slots[Int(h)][keyPath: next]
            if n == handle {
                slots[Int(h)][keyPath: next] = slots[Int(handle)][keyPath: next]
                return
            }
            h = n
        }
        preconditionFailure("connection \(handle) missing from its hash chain")
    }

    // MARK: Timer wheel

    @inlinable func sentinel(forTick tick: UInt64) -> ConnectionHandle {
        ConnectionHandle(capacity + 1 + (Int(truncatingIfNeeded: tick) & (Self.wheelSlots - 1)))
    }

    /// Links `handle` into the wheel slot of its `expires`. Expiry beyond one turn of the
    /// wheel lands in a nearer slot and is re-filed when that slot comes round.
    mutating func linkTimer(_ handle: ConnectionHandle) {
        var tick = slots[Int(handle)].expires >> Self.tickShift
        if tick <= wheelTick { tick = wheelTick + 1 }
        // Never the slot `advance` is draining (a whole turn ahead maps onto it, and re-filing
        // there would spin forever): the farthest other slot, re-filed again when it comes round.
        if tick >= wheelTick + UInt64(Self.wheelSlots) { tick = wheelTick + UInt64(Self.wheelSlots) - 1 }
        let head = sentinel(forTick: tick)
        let first = slots[Int(head)].wheelNext
        slots[Int(handle)].wheelPrev = head
        slots[Int(handle)].wheelNext = first
        slots[Int(first)].wheelPrev = handle
        slots[Int(head)].wheelNext = handle
    }

    mutating func unlinkTimer(_ handle: ConnectionHandle) {
        let c = slots[Int(handle)]
        guard c.wheelNext != 0 else { return }
        slots[Int(c.wheelPrev)].wheelNext = c.wheelNext
        slots[Int(c.wheelNext)].wheelPrev = c.wheelPrev
        slots[Int(handle)].wheelNext = 0
        slots[Int(handle)].wheelPrev = 0
    }

    /// Advances the wheel to `now`, calling `expire` for every connection whose `expires`
    /// has passed. `expire` either removes the connection (returning true) or pushes its
    /// `expires` forward and returns false (a template still controlling connections is
    /// re-armed, as IPVS's ip_vs_conn_expire does). Packets refresh `expires` without
    /// touching the wheel; such entries are re-filed here when their old slot comes round.
    ///
    /// `budget` bounds how many entries one call visits: a call that runs out leaves the wheel
    /// on the tick it was draining and returns false, and the next call goes on from there.
    /// The data path passes a small budget, so a flood's worth of entries expiring in one tick
    /// is reaped over many frames instead of while one frame waits.
    @discardableResult
    public mutating func advance(to now: UInt64, budget: Int = .max,
                                 expire: (inout Self, ConnectionHandle) -> Bool) -> Bool {
        let target = now >> Self.tickShift
        guard target > wheelTick else { return true }
        // A jump longer than a turn visits every slot once.
        let turn = UInt64(Self.wheelSlots)
        var tick = max(wheelTick + 1, target >= turn ? target - turn + 1 : 0)
        var visited = 0
        while tick <= target {
            // While a slot drains the wheel stands on it, so re-filed entries go elsewhere.
            wheelTick = tick
            let head = sentinel(forTick: tick)
            while slots[Int(head)].wheelNext != head {
                if visited == budget {
                    // Not done with this tick: the next call drains it again.
                    wheelTick = tick - 1
                    return false
                }
                visited += 1
                let h = slots[Int(head)].wheelNext
                unlinkTimer(h)
                if slots[Int(h)].expires > now || !expire(&self, h) {
                    linkTimer(h)
                }
            }
            tick += 1
        }
        return true
    }

    /// Re-arms `handle` after its `expires` changed by more than the lazy refresh allows
    /// (not needed for ordinary refreshes).
    public mutating func rearm(_ handle: ConnectionHandle) {
        unlinkTimer(handle)
        linkTimer(handle)
    }

    /// Calls `body` for every live connection and template, in slot order.
    public func forEach(_ body: (ConnectionHandle, Connection) -> Void) {
        for h in 1...capacity where slots[h].flags.contains(.inUse) {
            body(ConnectionHandle(h), slots[h])
        }
    }
}
