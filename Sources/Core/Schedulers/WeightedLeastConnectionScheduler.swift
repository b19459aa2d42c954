// Placeholder until the real WeightedLeastConnection scheduler lands: selects the first available server.
public struct WeightedLeastConnectionScheduler: Scheduler {
    public init(pool: RealServerPool, flags: SchedulerFlags) {}
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        pool.indices.first { pool[$0].isAvailable }
    }
}
