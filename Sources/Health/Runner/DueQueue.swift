/// Checkers waiting for their next run, earliest first: a binary min-heap of (time, checker).
/// Ties go to the lower checker index so runs are deterministic.
struct DueQueue {
    private var heap: [(at: Duration, id: Int)] = []

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var next: Duration? { heap.first?.at }

    mutating func push(_ id: Int, at time: Duration) {
        heap.append((time, id))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.less(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    mutating func popDue(_ now: Duration) -> (at: Duration, id: Int)? {
        guard let first = heap.first, first.at <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && Self.less(heap[l], heap[m]) { m = l }
                if r < heap.count && Self.less(heap[r], heap[m]) { m = r }
                if m == i { break }
                heap.swapAt(i, m)
                i = m
            }
        }
        return first
    }

    private static func less(_ a: (at: Duration, id: Int), _ b: (at: Duration, id: Int)) -> Bool {
        a.at < b.at || (a.at == b.at && a.id < b.id)
    }
}
