/// Round-robin scheduling: each new connection goes to the next available server after the
/// one chosen last, wrapping around the pool.
///
/// Port of net/netfilter/ipvs/ip_vs_rr.c (`ip_vs_rr_schedule`). IPVS keeps a cursor on the
/// destination list (`svc->sched_data`), starting at the list head; a search begins just after
/// the cursor and, if nothing after it is available, wraps to the first server and gives up
/// after re-checking the server under the cursor. So with one available server that server is
/// chosen again, and the cursor only moves on a hit.
///
/// Invalidated by: a pool change. `init` runs again then and the cursor returns to the head,
/// as a freshly created IPVS service would start (IPVS keeps the cursor across `-a`, and moves
/// it back one entry on `-d` of the current server; a rebuilt scheduler cannot tell the two
/// apart, so it starts over).
public struct RoundRobinScheduler: Scheduler {
    /// Index of the server chosen last; -1 is IPVS's list head (nothing chosen yet).
    @usableFromInline var cursor: Int

    public init(pool: RealServerPool, flags: SchedulerFlags) {
        cursor = -1
    }

    @inlinable
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        let count = pool.count
        guard count > 0 else { return nil }
        // A cursor beyond the pool can only come from a pool that shrank without a rebuild;
        // starting from the head is what IPVS does when its cursor is the list head.
        let last = cursor < count ? cursor : -1
        // Candidates in IPVS order: last+1 ..< count, then 0 ... last with the server under
        // the cursor checked last; from the head that is simply every server once.
        var index = last + 1
        var remaining = count
        while remaining > 0 {
            if index == count { index = 0 }
            if pool[index].isAvailable {
                cursor = index
                return index
            }
            index += 1
            remaining -= 1
        }
        return nil
    }
}
