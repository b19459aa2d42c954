import Core
import Testing
import Wire

/// `LocalPortPool.take`: a backup takes the exact local port a sync master's FullNAT
/// connection holds, so its own connections never get it. (The pool is non-copyable, so
/// results are taken out before `#expect` sees them.)
@Suite struct LocalPortPoolTakeTests {
    static let lip = IPAddress("198.18.1.100")!

    @Test func takenPortsAreNeverHandedOut() {
        var pool = LocalPortPool(address: Self.lip, range: 10...19)
        let taken = [pool.take(15), pool.take(10), pool.take(15)]
        #expect(taken == [true, true, false], "15 is already held the second time")
        let available = pool.available
        #expect(available == 8)
        var handed: [UInt16] = []
        while let p = pool.allocate() { handed.append(p) }
        #expect(Set(handed) == Set([11, 12, 13, 14, 16, 17, 18, 19]))
        #expect(handed.count == 8)
    }

    @Test func aReleasedPortCanBeTakenAgainAndAHeldOneCannot() {
        var pool = LocalPortPool(address: Self.lip, range: 10...14, rotation: 2)
        let first = pool.allocate()
        #expect(first == 12)
        let whileHeld = pool.take(12)
        pool.release(12)
        let afterRelease = pool.take(12)
        let inUse = pool.inUse
        #expect(!whileHeld && afterRelease && inUse == 1)
        // Ports outside the range or another worker's share are refused.
        let outside = [pool.take(9), pool.take(15)]
        #expect(outside == [false, false])
        var sliced = LocalPortPool(address: Self.lip, range: 10...19, slice: WorkerSlice(index: 1, count: 2))
        let shares = [sliced.take(12), sliced.take(13)]
        #expect(shares == [false, true])
    }

    @Test func takeKeepsEveryOtherPortFree() {
        // Take every port in a scrambled order, interleaved with allocations and releases.
        var pool = LocalPortPool(address: Self.lip, range: 100...163)
        var held = Set<UInt16>()
        var order = Array(UInt16(100)...163)
        var state: UInt64 = 7
        for i in order.indices.reversed() {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            order.swapAt(i, Int(state >> 33) % (i + 1))
        }
        for (k, port) in order.enumerated() {
            if held.contains(port) { continue }
            let took = pool.take(port)
            #expect(took)
            held.insert(port)
            if k % 5 == 0, let p = pool.allocate() {
                #expect(!held.contains(p))
                held.insert(p)
            }
            if k % 7 == 0, let p = held.first {
                pool.release(p)
                held.remove(p)
            }
            let inUse = pool.inUse
            #expect(inUse == held.count)
        }
    }
}
