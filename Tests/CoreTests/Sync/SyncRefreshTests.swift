import Core
import PacketBuilder
import Testing
import Wire

/// The master's refresh walk (`Director.refreshSync`): once per refresh period every synced
/// connection is noted again, idle or not, so a backup that started late learns it; the walk
/// is paced by time and leaves half the note ring to the data path.
@Suite struct SyncRefreshTests {
    static let period: UInt64 = 3_000_000_000

    /// A master with one ESTABLISHED NAT connection whose first sync note has been drained.
    static func masterWithOneConnection(ringCapacity: Int = 4096) -> Harness {
        let master = Harness(Lab.config(.nat))
        master.director.startSyncMaster(SyncSettings(ringCapacity: ringCapacity, refreshPeriod: period))
        ConnectionSyncTests.handshake(master)
        #expect(ConnectionSyncTests.drain(master.director).count == 1)
        return master
    }

    @Test func anIdleConnectionIsNotedOncePerPeriod() {
        let master = Self.masterWithOneConnection()
        // The first call only starts the clock.
        #expect(master.director.refreshSync(now: master.now) == 0)
        var noted = 0
        // One period in 30 steps, no packet meanwhile: the walk reaches the connection once.
        for _ in 0..<30 {
            master.now += Self.period / 30
            noted += master.director.refreshSync(now: master.now)
        }
        #expect(noted == 1)
        #expect(master.director.syncCounters.refreshPasses == 1)
        #expect(master.director.syncCounters.connectionsRefreshed == 1)
        // What the walk noted is a normal sync message: a backup that never heard the first
        // one installs the connection from it and forwards its next packet to the same server.
        let messages = ConnectionSyncTests.drain(master.director)
        let backup = Harness(Lab.config(.nat))
        backup.now = master.now
        #expect(ConnectionSyncTests.deliver(messages, to: backup).isEmpty)
        #expect(backup.director.syncCounters.connectionsInstalled == 1)
        let (verdict, _) = backup.run(Lab.fromClient(Lab.v4, .tcp, flags: [.ack]))
        #expect(verdict == .forward(interface: 1))
        #expect(!backup.director.lastEvent.newConnection)
        // The next period notes it again.
        master.now += Self.period
        #expect(master.director.refreshSync(now: master.now) == 1)
        #expect(master.director.syncCounters.refreshPasses == 2)
    }

    @Test func halfOpenAndClosingConnectionsAreNotRefreshed() {
        let master = Harness(Lab.config(.nat))
        master.director.startSyncMaster(SyncSettings(refreshPeriod: Self.period))
        _ = master.run(Lab.fromClient(Lab.v4, .tcp, flags: [.syn]))
        #expect(master.director.table.count == 1)
        master.director.refreshSync(now: master.now)
        master.now += Self.period
        #expect(master.director.refreshSync(now: master.now) == 0)
        #expect(master.director.syncCounters.refreshPasses == 1)

        // Established, then the client's FIN: the move was synced when it happened, and the
        // walk leaves the closing connection alone.
        let closing = Self.masterWithOneConnection()
        _ = closing.run(Lab.fromClient(Lab.v4, .tcp, flags: [.fin, .ack]))
        #expect(closing.director.connections()[0].state != .established)
        _ = ConnectionSyncTests.drain(closing.director)
        closing.director.refreshSync(now: closing.now)
        closing.now += Self.period
        #expect(closing.director.refreshSync(now: closing.now) == 0)
    }

    @Test func withoutAPeriodOrAsBackupNothingIsWalked() {
        let ipvs = Harness(Lab.config(.nat))
        ipvs.director.startSyncMaster(SyncSettings())
        ConnectionSyncTests.handshake(ipvs)
        _ = ConnectionSyncTests.drain(ipvs.director)
        ipvs.director.refreshSync(now: ipvs.now)
        ipvs.now += 10 * Self.period
        #expect(ipvs.director.refreshSync(now: ipvs.now) == 0)
        #expect(ipvs.director.syncCounters.refreshPasses == 0)

        let stopped = Self.masterWithOneConnection()
        stopped.director.stopSyncMaster()
        stopped.director.refreshSync(now: stopped.now)
        stopped.now += Self.period
        #expect(stopped.director.refreshSync(now: stopped.now) == 0)
    }

    @Test func aLongStallCatchesUpByOnePassOnly() {
        let master = Self.masterWithOneConnection()
        master.director.refreshSync(now: master.now)
        master.now += 50 * Self.period
        #expect(master.director.refreshSync(now: master.now) == 1)
        #expect(master.director.syncCounters.refreshPasses == 1)
    }

    @Test func theWalkLeavesHalfTheRingToTheDataPath() {
        // 40 established connections from 40 clients, a ring of 16 notes: one call notes at
        // most 8, the rest wait for the next calls; every connection is noted once a pass.
        let master = Harness(Lab.config(.nat))
        master.director.startSyncMaster(SyncSettings(ringCapacity: 16, refreshPeriod: Self.period))
        let f = Lab.v4
        for k in 0..<40 {
            let client = "198.18.0.\(150 + k)"
            for flags: TCPFlags in [[.syn], [.ack], [.ack, .psh]] {
                let frame = Lab.l4(Lab.ip(.ethernet(destination: Lab.directorClientMAC, source: Lab.clientMAC), f,
                                          from: client, to: f.vip), .tcp, from: 40000, to: Lab.virtualPort, flags: flags)
                _ = master.run(frame)
            }
            _ = ConnectionSyncTests.drain(master.director)
        }
        #expect(master.director.table.count == 40)
        master.director.refreshSync(now: master.now)
        master.now += Self.period
        var noted: [Int] = []
        var sent = 0
        while master.director.syncCounters.refreshPasses == 0 {
            let n = master.director.refreshSync(now: master.now)
            noted.append(n)
            master.director.drainSync { _ in sent += 1 }
            // No time passes: the calls walk what the one period owed, exactly one pass.
            if noted.count > 100 { break }
        }
        #expect(noted.allSatisfy { $0 <= 8 }, "\(noted)")
        #expect(noted.reduce(0, +) == 40, "\(noted)")
        #expect(master.director.syncCounters.ringFull == 0)
        #expect(sent >= 5)
    }
}

extension SyncRefreshTests {
    @Test func oneCallWalksABoundedSliceAndTheRestIsOwed() {
        // A table larger than one call's budget: a whole period owed takes several calls,
        // and the connection (in slot 1) is noted once in the pass.
        let master = Harness(Lab.config(.nat), capacity: 200_000)
        master.director.startSyncMaster(SyncSettings(refreshPeriod: Self.period))
        ConnectionSyncTests.handshake(master)
        _ = ConnectionSyncTests.drain(master.director)
        master.director.refreshSync(now: master.now)
        master.now += Self.period
        var calls = 0, noted = 0
        while master.director.syncCounters.refreshPasses == 0 && calls < 10 {
            noted += master.director.refreshSync(now: master.now)
            calls += 1
        }
        #expect(calls == (master.director.table.capacity + 65_535) / 65_536)
        #expect(noted == 1)
    }
}
