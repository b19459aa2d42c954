// Placeholder until the real WeightedRoundRobin scheduler lands: selects the first available server.
public struct WeightedRoundRobinScheduler: Scheduler {
    public init(pool: RealServerPool, flags: SchedulerFlags) {}
    public mutating func select(from pool: RealServerPool, flow: FlowTuple) -> Int? {
        pool.indices.first { pool[$0].isAvailable }
    }
}
