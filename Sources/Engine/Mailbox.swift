import Synchronization
import Wire

/// A bounded single-producer, single-consumer queue of messages for a worker, which drains
/// it between batches: one thread posts, the worker's own thread receives.
///
/// No locks: the producer owns `tail`, the consumer owns `head`, and each publishes its
/// index with a release store the other reads with an acquire load, so a message's bytes
/// are written before the consumer can see its slot and read before the producer can reuse
/// it (the classic Lamport ring). An empty check is two loads of lines nobody writes while
/// the mailbox is idle, cheap enough for every turn of the worker loop.
///
/// One mailbox per producer: worker 0 posts learned neighbours to each other worker's; a
/// configuration snapshot from the control plane (reload) would come through a mailbox of
/// its own, drained at the same point of the loop.
final class Mailbox<Message: Sendable>: @unchecked Sendable {
    // Safety (@unchecked): `slots` is touched only by the producer in `post` (a slot between
    // tail and head + capacity, invisible to the consumer until the tail store) and by the
    // consumer in `receive` (a slot between head and tail, which the producer does not touch
    // until the head store); the atomics order those accesses.
    private let slots: UnsafeMutablePointer<Message?>
    private let mask: Int
    private let head = Atomic<Int>(0)
    private let tail = Atomic<Int>(0)

    /// - Parameter capacity: rounded up to a power of two.
    init(capacity: Int) {
        var size = 1
        while size < capacity { size <<= 1 }
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: nil, count: size)
    }

    deinit {
        slots.deinitialize(count: mask + 1)
        slots.deallocate()
    }

    /// Producer only. False when the mailbox is full (the consumer is behind): keep the
    /// message and post it again later.
    func post(_ message: Message) -> Bool {
        let t = tail.load(ordering: .relaxed)
        guard t &- head.load(ordering: .acquiring) <= mask else { return false }
        slots[t & mask] = message
        tail.store(t &+ 1, ordering: .releasing)
        return true
    }

    /// Consumer only. Hands every waiting message to `body`, oldest first; returns how many.
    @inline(__always)
    func receive(_ body: (Message) -> Void) -> Int {
        let h = head.load(ordering: .relaxed)
        let t = tail.load(ordering: .acquiring)
        if h == t { return 0 }
        var i = h
        while i != t {
            let message = slots[i & mask].take()!
            body(message)
            i &+= 1
        }
        head.store(t, ordering: .releasing)
        return t &- h
    }
}

/// What a worker can be told between batches.
enum WorkerMessage: Sendable {
    /// Worker 0, which alone receives ARP, learned where a real server's address lives.
    case neighbour(IPAddress, MACAddress, interface: Int)
}
