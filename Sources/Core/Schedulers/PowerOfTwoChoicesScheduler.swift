/// Power-of-two-choices scheduling: draw two servers at random, each with probability in
/// proportion to its weight, and keep the less loaded of the two (Mitzenmacher, "The Power of
/// Two Random Choices").
///
/// Port of net/netfilter/ipvs/ip_vs_twos.c (`ip_vs_twos_schedule`):
///
/// | step | rule |
/// | --- | --- |
/// | candidates | available servers (not overloaded, weight > 0, not removed) in pool order; none means no server |
/// | draws | `r1`, `r2` = random u32 mod (sum of weights + 1), so each lies in 0...sum |
/// | pick | walking the candidates, subtract each weight from both draws; choice 1 is the first server where `r1` reaches ≤ 0, choice 2 likewise for `r2` (so the first candidate also takes the draw 0, and has weight + 1 chances in sum + 1) |
/// | keep | choice 2 when `w2 * overhead1 > w1 * overhead2` (overhead = active × 256 + inactive), else choice 1: ties keep choice 1 |
///
/// The kernel draws from `get_random_u32`. Here the randomness is a SplitMix64 generator
/// (Steele, Lea and Flood, OOPSLA 2014) stored in the scheduler value, so a given seed replays
/// the same choices: tests pass a seed; the Director's seed is derived from the pool's server
/// addresses, so services differ but every run is reproducible. The products are 64-bit
/// (IPVS multiplies in `int`, which only differs past 2^31).
///
/// Invalidated by: nothing; a rebuilt scheduler restarts its random sequence.
public struct PowerOfTwoChoicesScheduler: Scheduler {
    /// SplitMix64 state.
    @usableFromInline var state: UInt64

    public init(pool: RealServerPool, flags: SchedulerFlags) {
        var seed: UInt64 = 0x7477_6F73_5F73_6565  // "twos_see"
        for index in pool.indices {
            seed = (seed ^ UInt64(SchedulerHash.fold(pool[index].address))) &* 0x100_0000_01B3
            seed = (seed ^ UInt64(pool[index].port)) &* 0x100_0000_01B3
        }
        self.init(pool: pool, flags: flags, seed: seed)
    }

    public init(pool: RealServerPool, flags: SchedulerFlags, seed: UInt64) {
        state = seed
    }

    /// The next 32 random bits (the high half of a SplitMix64 output).
    @inlinable
    public mutating func nextRandom() -> UInt32 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt32(truncatingIfNeeded: (z ^ (z >> 31)) >> 32)
    }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        var total: Int64 = 0
        for index in pool.indices where pool[index].isAvailable { total += Int64(pool[index].weight) }
        guard total > 0 else { return nil }
        total += 1
        var draw1 = Int64(UInt64(nextRandom()) % UInt64(total))
        var draw2 = Int64(UInt64(nextRandom()) % UInt64(total))
        var choice1 = -1, choice2 = -1
        for index in pool.indices {
            let server = pool[index]
            guard server.isAvailable else { continue }
            draw1 -= Int64(server.weight)
            draw2 -= Int64(server.weight)
            if draw1 <= 0 && choice1 < 0 { choice1 = index }
            if draw2 <= 0 && choice2 < 0 { choice2 = index }
            if choice1 >= 0 && choice2 >= 0 { break }
        }
        let first = pool[choice1], second = pool[choice2]
        let overhead1 = Int64(LeastConnectionScheduler.overhead(first))
        let overhead2 = Int64(LeastConnectionScheduler.overhead(second))
        return Int64(second.weight) * overhead1 > Int64(first.weight) * overhead2 ? choice2 : choice1
    }
}
