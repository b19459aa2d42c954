import Wire

/// Maglev hashing: a client address (optionally with its port) maps to a server through a
/// prime-sized lookup table that every server fills from its own permutation, so tables built
/// by two directors for the same servers are identical, and a server change moves few keys.
///
/// Port of net/netfilter/ipvs/ip_vs_mh.c (`generate_hash_secret`, `ip_vs_mh_hashkey`,
/// `ip_vs_mh_gcd_weight`, `ip_vs_mh_shift_weight`, `ip_vs_mh_permutate`, `ip_vs_mh_populate`,
/// `ip_vs_mh_get`, `ip_vs_mh_get_fallback`), which implements Eisenbud et al., "Maglev: A Fast
/// and Reliable Software Network Load Balancer", NSDI'16, §3.4:
///
/// | step | rule |
/// | --- | --- |
/// | hash | `hashkey(addr, port, key, o)` = `hsiphash` (SipHash-1-3 on 64-bit kernels, `SipHash13`) of the 32-bit word `o + port + fold(addr)`; the two keys are IPVS's fixed ones, both words 2654435761 and both 2654446892, so every director agrees |
/// | permutation | per configured server (pool order, removed ones left out): `offset = hashkey(rip, rport, key1, 0) mod M`, `skip = hashkey(rip, rport, key2, 0) mod (M - 1) + 1`; its preferences are `offset, offset + skip, ...` mod M |
/// | weights | from `lastWeight` (IPVS `last_weight`: the latest non-zero weight), divided by their gcd and shifted right by `max(0, fls(max / gcd) - bits)` where `bits` = ⌊bit length of M / 2⌋ (6 for 4093), so huge weights do not stall the fill; `turns = that, or 1 if it shifted to 0 but the weight is not 0` |
/// | fill | servers take turns in pool order, each claiming `turns` slots per turn at its next unclaimed preference, until all M slots are claimed; a server with 0 turns claims none |
/// | lookup | slot `hashkey(caddr, port, key1, 0) mod M`, port = client port with `.port` (mh-port), else 0; its server if available (weight > 0, not overloaded) |
/// | mh-fallback | when that server is unavailable, probe slots `hashkey(caddr, port, key1, (home + i) mod M) mod M` for i = 0..<M and take the first available server; an empty slot ends the search |
///
/// Quiescing a server (weight 0) keeps its slots, because its `lastWeight` is unchanged: its
/// clients get no server (or, with mh-fallback, another one) and nobody else's clients move.
/// Removing a server rebuilds the table without it; Maglev then moves its keys and, unlike a
/// perfect consistent hash, a small share of other keys whose slots are claimed in a
/// different order (NSDI'16 §3.4 and Figure 12 measure this).
///
/// Hashing assumes a little-endian 64-bit kernel (x86-64, arm64), where `hsiphash` is
/// SipHash-1-3 and the hashed word's bytes are its value in little-endian order; 32-bit
/// kernels use HalfSipHash and build other tables. A server is hashed by its own address
/// family; IPVS folds by the service's family, which differs only for mixed-family TUN pools.
/// IPVS refuses more servers than slots (-EINVAL); here the extra servers simply get no slot.
///
/// Invalidated by: any pool change (IPVS's add_dest, del_dest and upd_dest all rebuild). `init`
/// builds the table, allocating `tableSize` Int32s; `select` only reads it.
public struct MaglevHashingScheduler: Scheduler {
    /// IPVS's selectable table sizes (`primes[]`), indexed by CONFIG_IP_VS_MH_TAB_INDEX - 8.
    public static let ipvsTableSizes = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071]
    /// The size for IPVS's default CONFIG_IP_VS_MH_TAB_INDEX, 12.
    public static let defaultTableSize = 4093
    /// `generate_hash_secret`: both words of each key.
    public static let offsetKey: UInt64 = 2_654_435_761
    public static let skipKey: UInt64 = 2_654_446_892

    /// Server index per slot; -1 when no server has a positive `lastWeight` (IPVS's NULL slots).
    @usableFromInline let lookup: [Int32]
    public let tableSize: Int
    @usableFromInline let fallback: Bool
    @usableFromInline let hashesPort: Bool

    public init(pool: RealServerPool, flags: SchedulerFlags) {
        self.init(pool: pool, flags: flags, tableSize: Self.defaultTableSize)
    }

    /// - Parameter tableSize: M, a prime; IPVS offers `ipvsTableSizes`, any prime works.
    public init(pool: RealServerPool, flags: SchedulerFlags, tableSize: Int) {
        precondition(tableSize >= 3 && Self.isPrime(tableSize), "Maglev table size \(tableSize) must be a prime of at least 3")
        self.tableSize = tableSize
        fallback = flags.contains(.fallback)
        hashesPort = flags.contains(.port)
        lookup = Self.populate(pool: pool, tableSize: tableSize)
    }

    // MARK: Table (ip_vs_mh_permutate, ip_vs_mh_populate)

    /// IP_VS_MH_TAB_BITS for a table of `tableSize` slots: half the bit length of M, which is
    /// CONFIG_IP_VS_MH_TAB_INDEX / 2 for every size IPVS offers.
    public static func weightBits(tableSize: Int) -> Int { (Int.bitWidth - tableSize.leadingZeroBitCount) / 2 }

    /// Slots per turn for each server (0 for removed ones), as `ip_vs_mh_permutate` sets them.
    public static func turns(pool: RealServerPool, tableSize: Int) -> [Int32] {
        var divisor: Int32 = 0
        var maximum: Int32 = 0
        for index in pool.indices where !pool[index].isRemoved {
            let weight = pool[index].lastWeight
            if weight > 0 { divisor = divisor > 0 ? WeightedRoundRobinScheduler.gcd(weight, divisor) : weight }
            maximum = max(maximum, weight)
        }
        guard divisor >= 1 else { return [Int32](repeating: 0, count: pool.count) }
        let highest = maximum / divisor
        let shift = max(0, (Int32.bitWidth - highest.leadingZeroBitCount) - weightBits(tableSize: tableSize))
        return pool.indices.map { index in
            let server = pool[index]
            guard !server.isRemoved else { return 0 }
            let turns = (server.lastWeight / divisor) >> Int32(shift)
            return turns != 0 ? turns : (server.lastWeight != 0 ? 1 : 0)
        }
    }

    static func populate(pool: RealServerPool, tableSize m: Int) -> [Int32] {
        var table = [Int32](repeating: -1, count: m)
        let turns = Self.turns(pool: pool, tableSize: m)
        let members = pool.indices.filter { turns[$0] > 0 }
        guard !members.isEmpty else { return table }
        // A claimed slot is one no longer -1: the table doubles as IPVS's bitmap.
        var next = members.map { Int(hash(pool[$0].address, port: pool[$0].port, key: offsetKey, offset: 0)) % m }
        let skips = members.map { Int(hash(pool[$0].address, port: pool[$0].port, key: skipKey, offset: 0)) % (m - 1) + 1 }
        var filled = 0
        while true {
            for (k, server) in members.enumerated() {
                for _ in 0..<turns[server] {
                    var slot = next[k]
                    while table[slot] >= 0 {
                        slot += skips[k]
                        if slot >= m { slot -= m }
                    }
                    next[k] = slot
                    table[slot] = Int32(server)
                    filled += 1
                    if filled == m { return table }
                }
            }
        }
    }

    // MARK: Lookup (ip_vs_mh_hashkey, ip_vs_mh_get, ip_vs_mh_get_fallback)

    /// `ip_vs_mh_hashkey` before the modulo.
    @inlinable
    public static func hash(_ address: IPAddress, port: UInt16, key: UInt64, offset: UInt32) -> UInt32 {
        let word = offset &+ UInt32(port) &+ SchedulerHash.fold(address)
        return SipHash13.hash(word, key0: key, key1: key)
    }

    /// The client's home slot.
    @inlinable
    public func slot(for flow: FlowTuple) -> Int {
        Int(Self.hash(flow.clientAddress, port: hashesPort ? flow.clientPort : 0, key: Self.offsetKey, offset: 0))
            % tableSize
    }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        let home = slot(for: flow)
        let server = Int(lookup[home])
        guard server >= 0, server < pool.count else { return nil }
        if pool[server].isAvailable { return server }
        guard fallback else { return nil }
        let port = hashesPort ? flow.clientPort : 0
        for attempt in 0..<tableSize {
            let offset = UInt32((attempt + home) % tableSize)
            let probe = Int(Self.hash(flow.clientAddress, port: port, key: Self.offsetKey, offset: offset)) % tableSize
            let candidate = Int(lookup[probe])
            guard candidate >= 0, candidate < pool.count else { return nil }
            if pool[candidate].isAvailable { return candidate }
        }
        return nil
    }

    static func isPrime(_ n: Int) -> Bool {
        guard n >= 2 else { return false }
        var d = 2
        while d * d <= n {
            if n % d == 0 { return false }
            d += 1
        }
        return true
    }
}
