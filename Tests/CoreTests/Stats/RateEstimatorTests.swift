import Core
import Testing

/// The estimator against values worked out by hand from ip_vs_est.c's arithmetic.
@Suite struct RateEstimatorTests {
    static let second: UInt64 = 1_000_000_000

    static func totals(_ c: UInt64, _ pi: UInt64, _ po: UInt64, _ bi: UInt64, _ bo: UInt64) -> TrafficStats {
        var s = TrafficStats()
        s.connections = c
        s.packetsIn = pi
        s.packetsOut = po
        s.bytesIn = bi
        s.bytesOut = bo
        return s
    }

    @Test func noSampleBeforeTwoSeconds() {
        var e = RateEstimator(now: 0)
        #expect(e.update(totals: Self.totals(10, 100, 50, 10_000, 5_000), now: 2 * Self.second - 1) == 0)
        #expect(e.rates == TrafficRates())
        #expect(e.scaledCPS == 0)
    }

    /// 10 connections, 100/50 packets, 10000/5000 bytes in the first 2 s:
    /// cps = (10 << 9) >> 2 = 1280 → (1280 + 511) >> 10 = 1; inpps = (100 << 9) >> 2 = 12800 →
    /// 12; outpps 6400 → 6; inbps = (10000 << 4) >> 2 = 40000 → (40000 + 15) >> 5 = 1250;
    /// outbps 20000 → 625.
    @Test func firstSampleIsAQuarterOfTheRate() {
        var e = RateEstimator(now: 0)
        #expect(e.update(totals: Self.totals(10, 100, 50, 10_000, 5_000), now: 2 * Self.second) == 1)
        #expect(e.scaledCPS == 1280)
        #expect(e.scaledInPPS == 12_800)
        #expect(e.scaledOutPPS == 6_400)
        #expect(e.scaledInBPS == 40_000)
        #expect(e.scaledOutBPS == 20_000)
        #expect(e.rates == TrafficRates(connectionsPerSecond: 1, packetsInPerSecond: 12, packetsOutPerSecond: 6,
                                        bytesInPerSecond: 1250, bytesOutPerSecond: 625))
    }

    /// Second sample at the same rate: cps = 1280 + (5120 - 1280) >> 2 = 2240 → 2;
    /// inpps = 12800 + 9600 = 22400 → (22400 + 511) >> 10 = 22; inbps = 40000 + 30000 = 70000 → 2187.
    @Test func secondSampleMovesAQuarterOfTheRemainingWay() {
        var e = RateEstimator(now: 0)
        e.update(totals: Self.totals(10, 100, 50, 10_000, 5_000), now: 2 * Self.second)
        e.update(totals: Self.totals(20, 200, 100, 20_000, 10_000), now: 4 * Self.second)
        #expect(e.scaledCPS == 2240)
        #expect(e.scaledInPPS == 22_400)
        #expect(e.scaledInBPS == 70_000)
        #expect(e.rates.connectionsPerSecond == 2)
        #expect(e.rates.packetsInPerSecond == 22)
        #expect(e.rates.bytesInPerSecond == (70_000 + 15) >> 5)
        #expect(e.rates.bytesInPerSecond == 2187)
    }

    /// A steady 5 conn/s, 50 packets/s, 5000 B/s settles within three units of the scaled rate
    /// (the shift stops moving when the gap is under 4) and reads exactly.
    @Test func steadyRateConverges() {
        var e = RateEstimator(now: 0)
        for k in UInt64(1)...60 {
            e.update(totals: Self.totals(10 * k, 100 * k, 50 * k, 10_000 * k, 5_000 * k), now: 2 * k * Self.second)
        }
        #expect((5117...5120).contains(e.scaledCPS))
        #expect(e.rates == TrafficRates(connectionsPerSecond: 5, packetsInPerSecond: 50, packetsOutPerSecond: 25,
                                        bytesInPerSecond: 5000, bytesOutPerSecond: 2500))
    }

    /// When traffic stops, the signed arithmetic shift decays every average to exactly 0.
    @Test func idleDecaysToZero() {
        var e = RateEstimator(now: 0)
        let busy = Self.totals(10, 100, 50, 10_000, 5_000)
        e.update(totals: busy, now: 2 * Self.second)
        // 1280 - ceil(1280 / 4) = 960 after the first idle sample.
        e.update(totals: busy, now: 4 * Self.second)
        #expect(e.scaledCPS == 960)
        for k in UInt64(3)...80 { e.update(totals: busy, now: 2 * k * Self.second) }
        #expect(e.scaledCPS == 0)
        #expect(e.scaledInBPS == 0)
        #expect(e.rates == TrafficRates())
    }

    /// A caller late by two intervals takes three samples: all the traffic lands in the first.
    @Test func lateUpdateTakesEveryMissedSample() {
        var e = RateEstimator(now: 0)
        #expect(e.update(totals: Self.totals(10, 0, 0, 0, 0), now: 6 * Self.second) == 3)
        // 1280, then 1280 - 320 = 960, then 960 - 240 = 720.
        #expect(e.scaledCPS == 720)
        #expect(e.nextSample == 8 * Self.second)
    }

    @Test func zeroRestartsFromTheCurrentCounters() {
        var e = RateEstimator(now: 0)
        let busy = Self.totals(10, 100, 50, 10_000, 5_000)
        e.update(totals: busy, now: 2 * Self.second)
        e.zero(totals: busy)
        #expect(e.rates == TrafficRates())
        #expect(e.last == busy)
        e.update(totals: Self.totals(14, 100, 50, 10_000, 5_000), now: 4 * Self.second)
        // Only the 4 connections since the zeroing count: (4 << 9) >> 2 = 512.
        #expect(e.scaledCPS == 512)
        #expect(e.rates.connectionsPerSecond == (512 + 0x1FF) >> 10)
    }

    @Test func statsAccountCountsFromItsZeroPoint() {
        var account = StatsAccount(totals: Self.totals(3, 30, 0, 300, 0), now: 0)
        #expect(account.shown(Self.totals(3, 30, 0, 300, 0)) == TrafficStats())
        #expect(account.shown(Self.totals(5, 31, 2, 400, 9)) == Self.totals(2, 1, 2, 100, 9))
        account.tick(totals: Self.totals(13, 130, 0, 1300, 0), now: 2 * Self.second)
        #expect(account.rates.connectionsPerSecond == 1)
        account.zero(totals: Self.totals(13, 130, 0, 1300, 0))
        #expect(account.shown(Self.totals(13, 130, 0, 1300, 0)) == TrafficStats())
        #expect(account.rates == TrafficRates())
        let opened = StatsAccount(totals: Self.totals(7, 0, 0, 0, 0), now: 0, zeroPoint: TrafficStats())
        #expect(opened.shown(Self.totals(7, 0, 0, 0, 0)).connections == 7)
    }
}
