import Wire

/// Source-hashing scheduling: a client address (optionally with its port) always maps to the
/// same server while the pool is unchanged, through a 256-bucket table.
///
/// Port of net/netfilter/ipvs/ip_vs_sh.c as in current Linux (`ip_vs_sh_reassign`,
/// `ip_vs_sh_hashkey`, `ip_vs_sh_get`, `ip_vs_sh_get_fallback`, `ip_vs_sh_schedule`):
///
/// - Table: buckets are dealt to the servers in pool order, each server taking `weight`
///   consecutive buckets per turn (at least one, so a weight-0 server still owns buckets and
///   its clients get no server unless `.fallback` is set), wrapping until all 256 are dealt.
/// - Key: the client address folded to 32 bits (IPv4 as is; IPv6 as the XOR of its four
///   32-bit words, all in host order), plus the client port with `.port` (sh-port), hashed with
///   the kernel's `hash_32(key, 8)`: the top 8 bits of `key * 0x61C88647` (mod 2^32). Linux
///   releases before `hash_32` was adopted here used `(key * 2654435761) & 255`, which looks
///   only at the key's low 8 bits; current kernels are the reference.
/// - Choice: the bucket's server if it is available. Without `.fallback` an unavailable server
///   means no server. With `.fallback` (sh-fallback) the search walks the table from a start
///   derived from the hash and takes the first available server.
///
/// Invalidated by: any pool change (servers added, removed, weights edited), as IPVS calls
/// `ip_vs_sh_reassign` from add_dest, del_dest and upd_dest. `init` rebuilds the table.
/// Availability changes (overload) need no rebuild: they are read at `select` time.
public struct SourceHashingScheduler: Scheduler {
    /// IP_VS_SH_TAB_BITS with the kernel's default configuration.
    public static let tableBits = 8
    public static let tableSize = 1 << tableBits
    @usableFromInline static let tableMask: UInt32 = UInt32(tableSize - 1)
    /// GOLDEN_RATIO_32 of include/linux/hash.h, the multiplier of `hash_32`.
    @usableFromInline static let goldenRatio32: UInt32 = 0x61C8_8647

    /// Server index per bucket; -1 when the pool has no servers (IPVS's NULL bucket).
    @usableFromInline let buckets: [Int32]
    @usableFromInline let fallback: Bool
    @usableFromInline let hashesPort: Bool

    public init(pool: RealServerPool, flags: SchedulerFlags) {
        fallback = flags.contains(.fallback)
        hashesPort = flags.contains(.port)

        // IPVS deals buckets over its destination list, which holds every configured server
        // (quiescent and overloaded included) but not removed ones.
        func member(after index: Int) -> Int {
            var next = index + 1
            while next < pool.count {
                if !pool[next].isRemoved { return next }
                next += 1
            }
            return -1
        }
        var table = [Int32](repeating: -1, count: Self.tableSize)
        var current = -1
        var dealt: Int32 = 0
        if member(after: -1) >= 0 {
            for bucket in 0..<Self.tableSize {
                if current < 0 { current = member(after: -1) }
                table[bucket] = Int32(current)
                // A weight below 1 still takes one bucket, since the count reaches it at once.
                dealt += 1
                if dealt >= pool[current].weight {
                    current = member(after: current)
                    dealt = 0
                }
            }
        }
        buckets = table
    }

    /// `hash_32(port + fold, 8)` before any fallback offset is added.
    @inlinable
    func baseHash(_ flow: FlowTuple) -> UInt32 {
        let address = flow.clientAddress
        let fold: UInt32
        if address.isIPv4 {
            fold = address.ipv4
        } else {
            fold = UInt32(truncatingIfNeeded: address.high >> 32) ^ UInt32(truncatingIfNeeded: address.high)
                ^ UInt32(truncatingIfNeeded: address.low >> 32) ^ UInt32(truncatingIfNeeded: address.low)
        }
        // sh-port reads the source port for TCP, UDP and SCTP, the only protocols a flow has here.
        let port: UInt32 = hashesPort ? UInt32(flow.clientPort) : 0
        return ((port &+ fold) &* Self.goldenRatio32) >> UInt32(32 - Self.tableBits)
    }

    /// The bucket's server when it exists and is available.
    @inlinable
    func availableServer(inBucket bucket: UInt32, of pool: RealServerPool) -> Int? {
        let server = Int(buckets[Int(bucket)])
        guard server >= 0, server < pool.count, pool[server].isAvailable else { return nil }
        return server
    }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        let hash = baseHash(flow)
        let home = hash & Self.tableMask
        if let server = availableServer(inBucket: home, of: pool) { return server }
        guard fallback, buckets[Int(home)] >= 0 else { return nil }
        // ip_vs_sh_get_fallback: the n-th retry uses offset (n + home) mod 256 added to the hash
        // again, so it probes bucket (n + 2 * home) mod 256; all 256 buckets get probed once.
        for attempt in 0..<UInt32(Self.tableSize) {
            let offset = (attempt &+ home) & Self.tableMask
            let bucket = (offset &+ hash) & Self.tableMask
            if buckets[Int(bucket)] < 0 { return nil }
            if let server = availableServer(inBucket: bucket, of: pool) { return server }
        }
        return nil
    }
}
