/// Round-robin scheduling: each new connection goes to the next available server after the
/// one chosen last, wrapping around the pool.
///
/// Port of net/netfilter/ipvs/ip_vs_rr.c (`ip_vs_rr_schedule`). IPVS keeps a cursor on the
/// destination list (`svc->sched_data`), starting at the list head; a search begins just after
/// the cursor and, if nothing after it is available, wraps to the first server and gives up
/// after re-checking the server under the cursor. So with one available server that server is
/// chosen again, and the cursor only moves on a hit.
///
/// Across a pool change the cursor stays on its server (IPVS keeps it across `-a`), or, when
/// that server was deleted, steps back to the nearest earlier one still there
/// (`ip_vs_rr_del_dest`); see `carryCursor`.
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

    /// Takes over `old`'s position after the pool changed from `previous` to `current`,
    /// matching servers by identity.
    public mutating func carryCursor(from old: RoundRobinScheduler, previous: RealServerPool, current: RealServerPool) {
        var i = min(old.cursor, previous.count - 1)
        while i >= 0 {
            let id = previous.id(at: i)
            if let j = current.indices.first(where: { current.id(at: $0) == id }) {
                cursor = j
                return
            }
            i -= 1
        }
        cursor = -1
    }
}
