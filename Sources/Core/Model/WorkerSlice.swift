/// Which of a multi-worker engine's workers a `Director` is, for the state the workers must
/// split rather than share (Docs/adr/0002).
///
/// FullNAT local ports: worker `index` of `count` hands out only ports with
/// `lport mod count == index`, so the fanout program, which steers a reply to LIP:lport by
/// `lport mod count`, brings it back to the worker that owns the connection. DPVS gives each
/// lcore its own slice of every local address's ports for the same reason (dpvs `sa_pool.c`).
public struct WorkerSlice: Hashable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The whole: one worker.
    public static let whole = WorkerSlice(index: 0, count: 1)

    /// - Precondition: `0 <= index < count`.
    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count, "worker \(index) of \(count)")
        self.index = index
        self.count = count
    }

    /// Whether `port` belongs to this worker.
    @inlinable public func owns(_ port: UInt16) -> Bool { Int(port) % count == index }

    public var description: String { "worker \(index) of \(count)" }
}
