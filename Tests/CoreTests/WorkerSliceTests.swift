import Core
import PacketBuilder
import Testing
import Wire

/// FullNAT local ports split between workers (Docs/adr/0002): worker k of N hands out only
/// ports ≡ k mod N, the slices cover the range exactly once, and a director built for a
/// slice uses nothing else.
@Suite struct WorkerSliceTests {
    static let lip = IPAddress("198.18.1.100")!

    @Test(arguments: [1, 2, 3, 4, 7])
    func slicesPartitionTheDefaultRange(workers: Int) {
        var seen = [Int](repeating: 0, count: 65536)
        var total = 0
        for k in 0..<workers {
            var pool = LocalPortPool(address: Self.lip, slice: WorkerSlice(index: k, count: workers))
            let expected = (1024...65535).filter { $0 % workers == k }.count
            #expect(pool.available == expected, "worker \(k) of \(workers)")
            var count = 0
            while let port = pool.allocate() {
                #expect(Int(port) % workers == k, "worker \(k) of \(workers) handed out \(port)")
                seen[Int(port)] += 1
                count += 1
            }
            #expect(count == expected)
            total += count
        }
        #expect(total == 65535 - 1024 + 1)
        #expect(seen[1024...].allSatisfy { $0 == 1 }, "every port of the range belongs to exactly one worker")
        #expect(seen[..<1024].allSatisfy { $0 == 0 })
    }

    @Test func aSliceKeepsTheOldestFreedFirstOrder() {
        var pool = LocalPortPool(address: Self.lip, range: 10...29, slice: WorkerSlice(index: 1, count: 3))
        // 10...29 ≡ 1 mod 3: 10, 13, 16, 19, 22, 25, 28.
        let all = (0..<7).compactMap { _ in pool.allocate() }
        #expect(all == [10, 13, 16, 19, 22, 25, 28])
        #expect(pool.allocate() == nil)
        pool.release(19)
        pool.release(10)
        #expect(pool.allocate() == 19)
        #expect(pool.allocate() == 10)
        #expect(pool.allocate() == nil)
    }

    @Test func aRangeSmallerThanTheWorkerCountLeavesSomeWorkersWithoutPorts() {
        // 10 ≡ 2 and 11 ≡ 3 mod 4: workers 0 and 1 have none and say so with nil.
        for (k, expected) in [(0, [UInt16]()), (1, []), (2, [10]), (3, [11])] {
            var pool = LocalPortPool(address: Self.lip, range: 10...11, slice: WorkerSlice(index: k, count: 4))
            #expect(pool.available == expected.count)
            #expect((0..<3).compactMap { _ in pool.allocate() } == expected)
        }
    }

    @Test func ownsIsPortModuloCount() {
        let slice = WorkerSlice(index: 2, count: 5)
        #expect(slice.owns(2) && slice.owns(7) && slice.owns(65532))
        #expect(!slice.owns(0) && !slice.owns(3) && !slice.owns(65535))
        #expect(WorkerSlice.whole.owns(0) && WorkerSlice.whole.owns(65535))
        #expect("\(slice)" == "worker 2 of 5")
    }

    /// A FullNAT director built as worker 1 of 2 rewrites every new connection's source to an
    /// odd local port, over IPv4 and IPv6, and counts them as ordinary connections.
    @Test(arguments: [false, true])
    func aFullNATDirectorAllocatesOnlyItsSlice(ipv6: Bool) {
        let f = ipv6 ? Lab.v6 : Lab.v4
        var config = Lab.config(.fullNAT)
        config.workerSlice = WorkerSlice(index: 1, count: 2)
        let h = Harness(config)
        var ports: [UInt16] = []
        for i in 0..<40 {
            let (verdict, out) = h.run(Lab.fromClient(f, .tcp, clientPort: 30000 + UInt16(i)))
            #expect(verdict == .forward(interface: 1))
            // The source port sits right after the IP header in both families.
            let l4 = 14 + (ipv6 ? 40 : 20)
            ports.append(UInt16(out[l4]) << 8 | UInt16(out[l4 + 1]))
        }
        #expect(ports.allSatisfy { $0 % 2 == 1 }, "\(ports)")
        #expect(Set(ports).count == 40)
        #expect(ports.first == 1025, "the slice starts at the range's first odd port")
        #expect(h.director.table.count == 40)
    }
}
