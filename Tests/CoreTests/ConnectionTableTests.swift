import Foundation
@testable import Core
import TestSupport
import Testing
import Wire

/// The connection table's contract: layout, both hash indexes, templates, removal from the
/// middle of chains, capacity, free-list reuse and the timer wheel; and `LocalPortPool`.
@Suite struct ConnectionTableTests {
    static let tick: UInt64 = 1 << 27
    static let second: UInt64 = 1_000_000_000
    static let cip = IPAddress("198.18.0.100")!
    static let vip = IPAddress("198.18.0.10")!
    static let rip = IPAddress("198.18.1.11")!
    static let lip = IPAddress("198.18.1.100")!
    static let cip6 = IPAddress("2001:db8::100")!
    static let vip6 = IPAddress("2001:db8::10")!
    static let rip6 = IPAddress("2001:db8:1::11")!

    static func connection(_ method: ForwardingMethod, proto: TransportProtocol = .tcp,
                           client: IPAddress = cip, clientPort: UInt16 = 40000,
                           virtual: IPAddress = vip, virtualPort: UInt16 = 80,
                           real: IPAddress = rip, realPort: UInt16 = 8080,
                           local: IPAddress = lip, localPort: UInt16 = 1024,
                           expires: UInt64 = 60 * second, template: Bool = false) -> Connection {
        var c = Connection()
        c.proto = proto
        c.method = method
        c.clientAddress = client
        c.clientPort = clientPort
        c.virtualAddress = virtual
        c.virtualPort = virtualPort
        c.destinationAddress = real
        c.destinationPort = realPort
        if method == .fullNAT {
            c.localAddress = local
            c.localPort = localPort
        }
        c.expires = expires
        if template { c.flags = [.template] }
        return c
    }

    static func findIn(_ t: borrowing ConnectionTable, _ c: Connection, template: Bool = false) -> ConnectionHandle {
        let b = t.bucket(c.proto, source: c.clientAddress, sourcePort: c.clientPort,
                         destination: c.virtualAddress, destinationPort: c.virtualPort)
        return t.lookupIn(bucket: b, c.proto, client: c.clientAddress, clientPort: c.clientPort,
                          virtual: c.virtualAddress, virtualPort: c.virtualPort, template: template)
    }

    /// Probes the out-hash with the tuple a reply to `c` carries (RIP:rport → `to`:`port`).
    static func findOut(_ t: borrowing ConnectionTable, _ c: Connection, to: IPAddress, port: UInt16) -> ConnectionHandle {
        let b = t.bucket(c.proto, source: c.destinationAddress, sourcePort: c.destinationPort,
                         destination: to, destinationPort: port)
        return t.lookupOut(bucket: b, c.proto, realServer: c.destinationAddress, realPort: c.destinationPort,
                           replyDestination: to, replyPort: port)
    }

    static func put(_ t: inout ConnectionTable, _ c: Connection,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> ConnectionHandle {
        let h = t.insert(c)
        return try #require(h, sourceLocation: sourceLocation)
    }

    static func live(_ t: borrowing ConnectionTable) -> Set<ConnectionHandle> {
        var s: Set<ConnectionHandle> = []
        t.forEach { h, _ in s.insert(h) }
        return s
    }

    // MARK: Layout

    @Test func connectionIs128Bytes() {
        #expect(MemoryLayout<Connection>.stride == 128)
    }

    @Test func tableCostsAtMost256BytesPerConnectionAtOneMillion() {
        let t = ConnectionTable(capacity: 1_000_000, seed: 1)
        #expect(t.bytesPerConnection <= 256)
        #expect(t.count == 0)
    }

    /// A table past the threshold lives in one 2 MiB-aligned region with the huge-page
    /// advice; where the kernel has transparent huge pages in `madvise` or `always` mode, the
    /// region really is backed by them (smaps' AnonHugePages), which is the point: a random
    /// lookup then costs no page walk of its own. Small tables stay ordinary allocations.
    @Test func bigTableIsOneHugePageRegionAndWorksLikeASmallOne() throws {
        let small = ConnectionTable(capacity: 1000, seed: 1)
        let smallMapped = small.mappedBytes, smallHuge = small.hugePages
        #expect(smallMapped == 0 && !smallHuge)

        var t = ConnectionTable(capacity: 200_000, seed: 9)
        let mapped = t.mappedBytes, huge = t.hugePages
        #expect(mapped >= 200_000 * 128)
        let start = UInt(bitPattern: UnsafeRawPointer(t.slots))
        #expect(start % (2 << 20) == 0, "the region starts on a 2 MiB boundary")
        let mode = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)) ?? ""
        if mode.contains("[madvise]") || mode.contains("[always]") {
            #expect(huge, "madvise(MADV_HUGEPAGE) refused with THP \(mode)")
            let backed = try #require(Self.anonHugePagesKiB(containing: start), "no smaps entry for the table")
            #expect(backed >= 2048, "the table's region has no huge page (AnonHugePages \(backed) kB)")
        }
        // The same contract as a small table, at the far end of the slab too.
        var handles: [ConnectionHandle] = []
        for port in UInt16(1)...2000 {
            handles.append(try Self.put(&t, Self.connection(.nat, clientPort: port)))
        }
        for (i, port) in (UInt16(1)...2000).enumerated() {
            let c = Self.connection(.nat, clientPort: port)
            #expect(Self.findIn(t, c) == handles[i])
            #expect(Self.findOut(t, c, to: Self.cip, port: port) == handles[i])
        }
        for h in handles { t.remove(h) }
        let left = t.count
        #expect(left == 0)
    }

    /// AnonHugePages of the /proc/self/smaps mapping that holds `address`, in kB.
    static func anonHugePagesKiB(containing address: UInt) -> Int? {
        // Read to the end by hand: a procfs file reports size 0, and a big process's smaps is
        // far longer than one read.
        let fd = open("/proc/self/smaps", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let smaps = String(decoding: bytes, as: UTF8.self)
        var inside = false
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= address && address < bounds[1]
            } else if inside, fields.first == "AnonHugePages:", fields.count >= 2 {
                return Int(fields[1])
            }
        }
        return nil
    }

    // MARK: Hash indexes

    @Test func natConnectionIsFoundByClientTupleAndByReplyToTheClient() throws {
        var t = ConnectionTable(capacity: 16, seed: 7)
        let c = Self.connection(.nat)
        let h = try Self.put(&t, c)
        #expect(h != 0)
        #expect(t.count == 1)
        #expect(Self.findIn(t, c) == h)
        #expect(t[h].flags.contains(.inUse) && t[h].flags.contains(.hashedOut))
        // NAT replies go RIP:rport → CIP:cport.
        #expect(Self.findOut(t, c, to: Self.cip, port: 40000) == h)
        #expect(Self.findOut(t, c, to: Self.lip, port: 1024) == 0)
        #expect(Self.findOut(t, c, to: Self.cip, port: 40001) == 0)
        var other = c
        other.destinationPort = 8081
        #expect(Self.findOut(t, other, to: Self.cip, port: 40000) == 0)
        // A different client port or protocol misses the in-hash.
        var miss = c
        miss.clientPort = 40001
        #expect(Self.findIn(t, miss) == 0)
        miss = c
        miss.proto = .udp
        #expect(Self.findIn(t, miss) == 0)
    }

    @Test func fullNATOutKeyIsTheLocalAddressAndPort() throws {
        var t = ConnectionTable(capacity: 16, seed: 7)
        let c = Self.connection(.fullNAT, client: Self.cip6, virtual: Self.vip6, real: Self.rip6,
                                local: IPAddress("2001:db8:1::100")!, localPort: 2000)
        let h = try Self.put(&t, c)
        #expect(Self.findIn(t, c) == h)
        #expect(Self.findOut(t, c, to: IPAddress("2001:db8:1::100")!, port: 2000) == h)
        #expect(Self.findOut(t, c, to: Self.cip6, port: 40000) == 0, "FullNAT replies never carry CIP:cport")
        #expect(t[h].replyDestination == (IPAddress("2001:db8:1::100")!, 2000))
    }

    @Test(arguments: [ForwardingMethod.directRouting, .tunnel])
    func directRoutingAndTunnelAreNotInTheOutHash(_ method: ForwardingMethod) throws {
        var t = ConnectionTable(capacity: 16, seed: 7)
        let c = Self.connection(method, realPort: 80)
        let h = try Self.put(&t, c)
        #expect(Self.findIn(t, c) == h)
        #expect(!t[h].flags.contains(.hashedOut))
        #expect(Self.findOut(t, c, to: Self.cip, port: 40000) == 0)
        t.remove(h)
        #expect(t.count == 0)
        #expect(Self.findIn(t, c) == 0)
    }

    @Test func templatesAreFoundOnlyAsTemplates() throws {
        var t = ConnectionTable(capacity: 16, seed: 7)
        let template = Self.connection(.nat, clientPort: 0, template: true)
        let th = try Self.put(&t, template)
        #expect(Self.findIn(t, template, template: true) == th)
        #expect(Self.findIn(t, template, template: false) == 0)
        #expect(!t[th].flags.contains(.hashedOut), "a template is never a reply target")
        #expect(Self.findOut(t, template, to: Self.cip, port: 0) == 0)
        // A connection with the very same in-key is not a template.
        let conn = Self.connection(.nat, clientPort: 0)
        let ch = try Self.put(&t, conn)
        #expect(Self.findIn(t, conn, template: false) == ch)
        #expect(Self.findIn(t, conn, template: true) == th)
    }

    @Test func unhashedTemplateIsHiddenButStillRemovable() throws {
        var t = ConnectionTable(capacity: 16, seed: 7)
        let template = Self.connection(.directRouting, clientPort: 0, template: true)
        let th = try Self.put(&t, template)
        t.unhashTemplate(th)
        #expect(t[th].flags.contains(.unhashed))
        #expect(Self.findIn(t, template, template: true) == 0)
        #expect(t.count == 1)
        #expect(Self.live(t) == [th])
        // A fresh template for the same client takes the key while the old one lives on.
        let fresh = try Self.put(&t, template)
        #expect(Self.findIn(t, template, template: true) == fresh)
        t.unhashTemplate(th)  // again: a no-op
        t.remove(th)
        #expect(t.count == 1)
        #expect(Self.findIn(t, template, template: true) == fresh)
        // Unhashing a non-template does nothing.
        let c = try Self.put(&t, Self.connection(.directRouting))
        t.unhashTemplate(c)
        #expect(Self.findIn(t, Self.connection(.directRouting)) == c)
    }

    /// Client ports whose in-key and out-key (NAT) all land in one bucket each.
    static func collidingPorts(_ t: borrowing ConnectionTable, count: Int) -> [UInt16] {
        var byBuckets: [[Int]: [UInt16]] = [:]
        for port in UInt16(1000)..<UInt16(60000) {
            let c = connection(.nat, clientPort: port)
            let inB = t.bucket(.tcp, source: c.clientAddress, sourcePort: port, destination: c.virtualAddress,
                               destinationPort: c.virtualPort)
            let outB = t.bucket(.tcp, source: c.destinationAddress, sourcePort: c.destinationPort,
                                destination: c.clientAddress, destinationPort: port)
            byBuckets[[inB, outB], default: []].append(port)
            if byBuckets[[inB, outB]]!.count == count { return byBuckets[[inB, outB]]! }
        }
        return []
    }

    @Test func removeUnlinksFromTheMiddleOfBothChains() throws {
        var t = ConnectionTable(capacity: 4, seed: 99)
        let ports = Self.collidingPorts(t, count: 4)
        try #require(ports.count == 4)
        var handles: [ConnectionHandle] = []
        for p in ports { handles.append(try Self.put(&t, Self.connection(.nat, clientPort: p))) }
        // Each chain is now h4 → h3 → h2 → h1: remove from the middle, then the tail, then the head.
        for victim in [2, 0, 3] {
            t.remove(handles[victim])
            for (i, p) in ports.enumerated() {
                let c = Self.connection(.nat, clientPort: p)
                let alive = t[handles[i]].flags.contains(.inUse)
                #expect(Self.findIn(t, c) == (alive ? handles[i] : 0))
                #expect(Self.findOut(t, c, to: Self.cip, port: p) == (alive ? handles[i] : 0))
            }
        }
        #expect(t.count == 1)
        #expect(Self.live(t) == [handles[1]])
    }

    /// A model check: random inserts and removes against a dictionary, every key probed after
    /// every step, in a table whose 16 buckets force long chains.
    @Test func randomInsertsAndRemovesKeepBothIndexesExact() {
        var t = ConnectionTable(capacity: 16, seed: 3)
        var model: [UInt16: (ConnectionHandle, ForwardingMethod)] = [:]
        var rng = SplitMix64(seed: 42)
        let methods: [ForwardingMethod] = [.nat, .fullNAT, .directRouting, .tunnel]
        for _ in 0..<3000 {
            let port = UInt16(40000 + rng.next(below: 40))
            if let (h, _) = model[port] {
                t.remove(h)
                model[port] = nil
            } else {
                let m = methods[rng.next(below: 4)]
                let c = Self.connection(m, clientPort: port, localPort: port &+ 1)
                if let h = t.insert(c) {
                    #expect(model.count < 16)
                    model[port] = (h, m)
                } else {
                    #expect(model.count == 16)
                }
            }
            #expect(t.count == model.count)
            for port in UInt16(40000)..<40040 {
                let expected = model[port]
                // The in-key does not depend on the method.
                #expect(Self.findIn(t, Self.connection(.nat, clientPort: port)) == (expected?.0 ?? 0))
                // Out-keys: CIP:cport for NAT, LIP:lport for FullNAT; DR and TUN have none.
                for m in [ForwardingMethod.nat, .fullNAT] {
                    let c = Self.connection(m, clientPort: port, localPort: port &+ 1)
                    let (to, rp) = c.replyDestination
                    #expect(Self.findOut(t, c, to: to, port: rp) == (expected?.1 == m ? expected!.0 : 0))
                }
            }
        }
        #expect(Self.live(t) == Set(model.values.map(\.0)))
    }

    // MARK: Capacity and free list

    @Test func insertIntoAFullTableReturnsNilAndChangesNothing() throws {
        var t = ConnectionTable(capacity: 4, seed: 5)
        var handles: [ConnectionHandle] = []
        for p in UInt16(1)...4 { handles.append(try Self.put(&t, Self.connection(.nat, clientPort: p))) }
        #expect(Set(handles).count == 4)
        #expect(handles.allSatisfy { $0 >= 1 && $0 <= 4 })
        let extra = Self.connection(.nat, clientPort: 5)
        #expect(t.insert(extra) == nil)
        #expect(t.count == 4)
        #expect(Self.findIn(t, extra) == 0)
        #expect(Self.findOut(t, extra, to: Self.cip, port: 5) == 0)
        for (i, p) in (UInt16(1)...4).enumerated() {
            #expect(Self.findIn(t, Self.connection(.nat, clientPort: p)) == handles[i])
            #expect(t[handles[i]].clientPort == p)
        }
        #expect(Self.live(t) == Set(handles))
    }

    @Test func removedSlotIsReusedByTheNextInsert() throws {
        var t = ConnectionTable(capacity: 4, seed: 5)
        var handles: [ConnectionHandle] = []
        for p in UInt16(1)...4 { handles.append(try Self.put(&t, Self.connection(.fullNAT, clientPort: p))) }
        t.remove(handles[1])
        #expect(t.count == 3)
        #expect(t[handles[1]].flags.isEmpty, "a freed slot is cleared")
        let again = try Self.put(&t, Self.connection(.fullNAT, clientPort: 9, localPort: 9))
        #expect(again == handles[1])
        #expect(t.insert(Self.connection(.nat, clientPort: 10)) == nil)
        #expect(Self.findIn(t, Self.connection(.fullNAT, clientPort: 9)) == again)
        #expect(Self.findOut(t, Self.connection(.fullNAT), to: Self.lip, port: 9) == again)
        #expect(Self.findIn(t, Self.connection(.fullNAT, clientPort: 2)) == 0)
        // Every slot can be freed and taken again.
        for h in Self.live(t) { t.remove(h) }
        #expect(t.count == 0)
        for p in UInt16(1)...4 { #expect(t.insert(Self.connection(.nat, clientPort: p)) != nil) }
        #expect(t.count == 4)
    }

    // MARK: Timer wheel

    /// Runs `advance` and returns the handles it expired (removing them).
    static func advance(_ t: inout ConnectionTable, to now: UInt64) -> Set<ConnectionHandle> {
        var expired: Set<ConnectionHandle> = []
        t.advance(to: now) { table, h in
            #expect(table[h].expires <= now, "expire called early")
            expired.insert(h)
            table.remove(h)
            return true
        }
        return expired
    }

    @Test func advanceExpiresExactlyTheDueEntries() throws {
        let start: UInt64 = 1000 * Self.second
        var t = ConnectionTable(capacity: 64, seed: 1, now: start)
        var expiry: [ConnectionHandle: UInt64] = [:]
        // Expiries spread over ~10 s at odd offsets, several per tick, some sharing a tick.
        for i in 0..<60 {
            let e = start + UInt64(i) * 170_000_000 + UInt64(i % 7) * 1_000_003
            let h = try Self.put(&t, Self.connection(.nat, clientPort: UInt16(1000 + i), expires: e))
            expiry[h] = e
        }
        var now = start
        while !expiry.isEmpty {
            now += 3 * Self.tick / 2 + 12_345  // crosses at least one tick each step
            let expired = Self.advance(&t, to: now)
            let due = Set(expiry.filter { $0.value <= now }.keys)
            #expect(expired == due)
            for h in expired { expiry[h] = nil }
            #expect(t.count == expiry.count)
        }
    }

    /// A budgeted advance visits at most `budget` entries per call and picks up where it
    /// stopped, so a tick full of expiring entries is reaped across calls, every one of them
    /// exactly once, and the entries due later stay.
    @Test func budgetedAdvanceReapsATickAcrossCallsAndMissesNothing() throws {
        let start: UInt64 = 1000 * Self.second
        var t = ConnectionTable(capacity: 512, seed: 1, now: start)
        // 300 entries due in the same tick, 50 due ten seconds later.
        for i in 0..<300 { _ = try Self.put(&t, Self.connection(.nat, clientPort: UInt16(1000 + i), expires: start + Self.second)) }
        for i in 0..<50 { _ = try Self.put(&t, Self.connection(.nat, clientPort: UInt16(2000 + i), expires: start + 11 * Self.second)) }
        let now = start + 2 * Self.second
        var calls = 0
        var reaped = Set<ConnectionHandle>()
        var done = false
        while !done {
            calls += 1
            done = t.advance(to: now, budget: 64) { table, h in
                #expect(reaped.insert(h).inserted, "entry \(h) reaped twice")
                table.remove(h)
                return true
            }
            #expect(t.count >= 50)
        }
        #expect(reaped.count == 300)
        #expect(calls == 5, "300 entries at 64 a call take 5 calls")
        #expect(t.count == 50)
        // The later ones still expire when their time comes.
        #expect(t.advance(to: start + 12 * Self.second) { table, h in table.remove(h); return true })
        #expect(t.count == 0)
    }

    @Test func entryWhoseExpiryMovedLaterIsRefiledNotExpired() throws {
        let start: UInt64 = 50 * Self.second
        var t = ConnectionTable(capacity: 8, seed: 1, now: start)
        let h = try Self.put(&t, Self.connection(.nat, expires: start + 2 * Self.second))
        // A packet refreshes the expiry without touching the wheel.
        t[h].expires = start + 30 * Self.second
        #expect(Self.advance(&t, to: start + 3 * Self.second).isEmpty)
        #expect(t.count == 1)
        #expect(Self.advance(&t, to: start + 29 * Self.second).isEmpty)
        #expect(Self.advance(&t, to: start + 30 * Self.second + Self.tick) == [h])
        #expect(t.count == 0)
    }

    @Test func clockJumpLongerThanOneTurnExpiresEverythingDue() throws {
        let turn = 8192 * Self.tick
        let start: UInt64 = 10 * Self.second
        var t = ConnectionTable(capacity: 32, seed: 1, now: start)
        var expiry: [ConnectionHandle: UInt64] = [:]
        for i in 0..<16 {
            let e = start + UInt64(i + 1) * (turn / 10)  // 0.1 ... 1.6 turns ahead
            expiry[try Self.put(&t, Self.connection(.nat, clientPort: UInt16(i), expires: e))] = e
        }
        let now = start + turn + turn / 4  // 1.25 turns later
        let due = Set(expiry.filter { $0.value <= now }.keys)
        let expired = Self.advance(&t, to: now)
        #expect(due.count == 12)
        #expect(expired == due)
        #expect(t.count == 4)
        // The rest go on a later, ordinary advance.
        #expect(Self.advance(&t, to: start + 2 * turn).count == 4)
        #expect(t.count == 0)
    }

    /// An expiry more than one wheel turn (~1100 s) ahead, e.g. `ipvsadm --set tcp 7200` or
    /// `-p 3600`, is filed in a nearer slot and must be re-filed, not expired, when that slot
    /// comes round; and it must not hang the wheel.
    @Test func expiryBeyondOneTurnIsRefiledUntilDue() throws {
        let turn = 8192 * Self.tick
        let start: UInt64 = 10 * Self.second
        var t = ConnectionTable(capacity: 8, seed: 1, now: start)
        let far = start + 7200 * Self.second
        let h = try Self.put(&t, Self.connection(.nat, expires: far))
        var now = start
        while now + 60 * Self.second < far {
            now += 60 * Self.second
            #expect(Self.advance(&t, to: now).isEmpty)
        }
        #expect(t.count == 1)
        #expect(Self.advance(&t, to: far + Self.tick) == [h])
        // And a jump over several turns at once.
        let h2 = try Self.put(&t, Self.connection(.nat, expires: far + Self.tick + 3 * turn))
        #expect(Self.advance(&t, to: far + Self.tick + 2 * turn).isEmpty)
        #expect(Self.advance(&t, to: far + 2 * Self.tick + 3 * turn) == [h2])
    }

    @Test func expireReturningFalseKeepsTheEntryRearmed() throws {
        let start: UInt64 = 100 * Self.second
        var t = ConnectionTable(capacity: 8, seed: 1, now: start)
        let h = try Self.put(&t, Self.connection(.nat, clientPort: 0, expires: start + Self.second, template: true))
        var calls = 0
        t.advance(to: start + 2 * Self.second) { table, handle in
            calls += 1
            #expect(handle == h)
            table[handle].expires = start + 10 * Self.second  // re-arm, like a template that still controls
            return false
        }
        #expect(calls == 1)
        #expect(t.count == 1)
        #expect(Self.findIn(t, Self.connection(.nat, clientPort: 0), template: true) == h)
        #expect(Self.advance(&t, to: start + 9 * Self.second).isEmpty)
        #expect(Self.advance(&t, to: start + 10 * Self.second + Self.tick) == [h])
    }

    @Test func rearmFilesAShorterExpiryEarlier() throws {
        let start: UInt64 = 100 * Self.second
        var t = ConnectionTable(capacity: 8, seed: 1, now: start)
        let h = try Self.put(&t, Self.connection(.nat, expires: start + 900 * Self.second))
        t[h].expires = start + 2 * Self.second
        t.rearm(h)
        #expect(Self.advance(&t, to: start + 3 * Self.second) == [h])
    }

    @Test func removedEntryNeverExpires() throws {
        var t = ConnectionTable(capacity: 8, seed: 1)
        let a = try Self.put(&t, Self.connection(.nat, clientPort: 1, expires: Self.second))
        let b = try Self.put(&t, Self.connection(.nat, clientPort: 2, expires: Self.second))
        t.remove(a)
        #expect(Self.advance(&t, to: 5 * Self.second) == [b])
        #expect(t.count == 0)
    }

    // MARK: LocalPortPool

    /// A rotated pool starts at the rotation's port, wraps around the range, and still hands
    /// out every port exactly once; with a worker slice it stays inside the slice.
    @Test func rotatedPoolStartsMidRangeAndHandsOutEveryPortOnce() throws {
        var pool = LocalPortPool(address: Self.lip, range: 10...19, rotation: 13)
        var seen: [UInt16] = []
        while let port = pool.allocate() { seen.append(port) }
        #expect(seen == [13, 14, 15, 16, 17, 18, 19, 10, 11, 12])
        pool.release(15)
        #expect(pool.allocate() == 15)
        var sliced = LocalPortPool(address: Self.lip, range: 10...19, slice: WorkerSlice(index: 1, count: 2), rotation: -1)
        var odd: [UInt16] = []
        while let port = sliced.allocate() { odd.append(port) }
        #expect(odd == [19, 11, 13, 15, 17])
    }

    @Test func localPortsAreHandedOutInOrderUntilExhausted() {
        var pool = LocalPortPool(address: Self.lip, range: 5000...5004)
        #expect(pool.available == 5)
        var got: [UInt16] = []
        while let p = pool.allocate() { got.append(p) }
        #expect(got == [5000, 5001, 5002, 5003, 5004])
        #expect(pool.available == 0)
        #expect(pool.allocate() == nil)
        #expect(pool.allocate() == nil)
    }

    @Test func releasedPortsComeBackOldestFreedFirstAfterTheNeverUsedOnes() {
        var pool = LocalPortPool(address: Self.lip, range: 10...19)
        let first = (0..<3).compactMap { _ in pool.allocate() }
        #expect(first == [10, 11, 12])
        pool.release(11)
        pool.release(10)
        #expect(pool.available == 9)
        var order: [UInt16] = []
        while let p = pool.allocate() { order.append(p) }
        #expect(order == [13, 14, 15, 16, 17, 18, 19, 11, 10])
        // Release everything in a scrambled order: it comes back in exactly that order.
        let scrambled: [UInt16] = [17, 10, 19, 12, 11, 15, 13, 18, 14, 16]
        for p in scrambled { pool.release(p) }
        #expect(pool.available == 10)
        #expect((0..<10).compactMap { _ in pool.allocate() } == scrambled)
        #expect(pool.allocate() == nil)
    }

    @Test func fullRangePoolWrapsAroundItsRing() {
        var pool = LocalPortPool(address: Self.lip)
        #expect(pool.available == 65535 - 1024 + 1)
        #expect(pool.allocate() == 1024)
        pool.release(1024)
        var last: UInt16 = 0
        for _ in 0..<(65535 - 1024) { last = pool.allocate()! }
        #expect(last == 65535)
        #expect(pool.allocate() == 1024)
        #expect(pool.allocate() == nil)
    }
}
