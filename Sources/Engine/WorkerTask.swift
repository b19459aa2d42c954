import Core
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Work the control plane hands to one worker, done on the worker's own thread between
/// batches: a configuration swap (reload, lvsadm) or a look at its director (listings,
/// statistics). The director is never touched from another thread while its worker runs,
/// so this is how the control plane reaches it without a lock on the data path.
final class WorkerTask<L: Link>: @unchecked Sendable {
    // Safety (@unchecked): `body` runs exactly once, on the worker's thread or, after the
    // worker stopped, on the waiting thread; `done` orders it before the waiter goes on.
    private let body: (PacketWorker<L>) -> Void
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping (PacketWorker<L>) -> Void) { self.body = body }

    func run(on worker: PacketWorker<L>) {
        body(worker)
        done.signal()
    }

    /// Waits up to `nanoseconds`; false on timeout.
    func wait(nanoseconds: UInt64) -> Bool {
        done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success
    }
}

/// Where a worker's loop is. While it runs, only its thread may drain its control mailbox;
/// before it starts and after it finished, the control plane runs tasks itself, holding the
/// worker "borrowed" so the loop cannot start under it.
final class WorkerLiveness: Sendable {
    private static let notStarted = 0, running = 1, finished = 2, borrowed = 3
    private let state = Atomic<Int>(0)

    /// The loop starts: waits while the control plane has the worker borrowed.
    func started() {
        while !state.compareExchange(expected: Self.notStarted, desired: Self.running, ordering: .acquiringAndReleasing).exchanged {
            sched_yield()
        }
    }

    func finished() { state.store(Self.finished, ordering: .releasing) }

    /// Runs `body` on the calling thread if the loop is not running (not started or
    /// finished), and returns true; false if the loop runs (post to its mailbox instead).
    func whileIdle(_ body: () -> Void) -> Bool {
        for idle in [Self.notStarted, Self.finished] {
            if state.compareExchange(expected: idle, desired: Self.borrowed, ordering: .acquiringAndReleasing).exchanged {
                body()
                state.store(idle, ordering: .releasing)
                return true
            }
        }
        return false
    }
}

/// Each worker's `ReconfigureSummary` and how long its swap held it, written by the workers'
/// threads, read after all did.
final class ReconfigureResults: @unchecked Sendable {
    // Safety (@unchecked): slot k is written only by worker k's task, and read only after
    // every task signalled (the semaphore orders the write before the read).
    private var summaries: [ReconfigureSummary]
    private var stalls: [UInt64]
    init(count: Int) {
        summaries = Array(repeating: ReconfigureSummary(), count: count)
        stalls = Array(repeating: 0, count: count)
    }
    func store(_ summary: ReconfigureSummary, stall: UInt64, at index: Int) {
        summaries[index] = summary
        stalls[index] = stall
    }

    /// Services and real servers as worker 0 saw them (every worker has the same ones);
    /// connections on removed servers summed over the workers' tables.
    var total: ReconfigureSummary {
        var sum = summaries[0]
        for s in summaries.dropFirst() { sum.connectionsOnRemoved += s.connectionsOnRemoved }
        return sum
    }

    /// The longest any worker spent swapping, in nanoseconds: the longest forwarding stall.
    var longestStall: UInt64 { stalls.max() ?? 0 }
}
