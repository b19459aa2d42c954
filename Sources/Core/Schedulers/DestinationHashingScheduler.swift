import Wire

/// Destination-hashing scheduling: a destination (virtual) address always maps to the same
/// server while the pool is unchanged, through a 256-bucket table. Meant for cache clusters
/// behind a firewall-mark service, where the destination varies per flow.
///
/// Port of net/netfilter/ipvs/ip_vs_dh.c as in current Linux (`ip_vs_dh_reassign`,
/// `ip_vs_dh_hashkey`, `ip_vs_dh_schedule`):
///
/// | step | rule |
/// | --- | --- |
/// | table | bucket `i` belongs to the `i mod n`-th configured server (pool order, removed servers left out); weights play no part, unlike sh |
/// | key | the destination address folded to 32 bits (`SchedulerHash.fold`), then `hash_32(key, 8)` |
/// | choice | the bucket's server if it is available (positive weight, not overloaded, not removed), else no server: dh has no fallback flag |
///
/// Invalidated by: any pool change (IPVS calls `ip_vs_dh_reassign` from add_dest, del_dest and
/// upd_dest). `init` rebuilds the table; availability is read at `select` time.
public struct DestinationHashingScheduler: Scheduler {
    /// IP_VS_DH_TAB_BITS with the kernel's default configuration.
    public static let tableBits = 8
    public static let tableSize = 1 << tableBits

    /// Server index per bucket; -1 when the pool has no servers (IPVS's NULL bucket).
    @usableFromInline let buckets: [Int32]

    public init(pool: RealServerPool, flags: SchedulerFlags) {
        // IPVS walks its destination list, which holds quiescent and overloaded servers but not
        // removed ones, one server per bucket, wrapping at the end.
        var members: [Int32] = []
        for index in pool.indices where !pool[index].isRemoved { members.append(Int32(index)) }
        buckets = members.isEmpty
            ? [Int32](repeating: -1, count: Self.tableSize)
            : (0..<Self.tableSize).map { members[$0 % members.count] }
    }

    /// `ip_vs_dh_hashkey`: the bucket of a destination address.
    @inlinable
    public static func bucket(of address: IPAddress) -> Int {
        Int(SchedulerHash.hash32(SchedulerHash.fold(address), bits: tableBits))
    }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        let server = Int(buckets[Self.bucket(of: flow.virtualAddress)])
        guard server >= 0, server < pool.count, pool[server].isAvailable else { return nil }
        return server
    }
}
