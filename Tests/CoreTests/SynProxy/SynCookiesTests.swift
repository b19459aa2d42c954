import Core
import TestSupport
import Testing
import Wire

/// SYN cookies: what a cookie proves (the tuple, the client's ISN, its age), what it carries
/// (the MSS index; window scale, SACK and ECN in the timestamp) and what it loses.
@Suite struct SynCookiesTests {
    static let minute: UInt64 = 60_000_000_000
    static let client = IPAddress(ipv4: 0xC612_0001)        // 198.18.0.1
    static let virtual = IPAddress(ipv4: 0xC612_000A)       // 198.18.0.10
    static let cookies = SynCookies(hashKey: (0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210),
                                    authenticationKey: (0x1111_2222_3333_4444, 0x5555_6666_7777_8888))

    func make(_ c: SynCookies = cookies, seq: UInt32 = 0x5B8E_2D10, mss: UInt16 = 1460, now: UInt64) -> UInt32 {
        c.cookie(client: Self.client, clientPort: 46018, virtual: Self.virtual, virtualPort: 80,
                 clientSequence: seq, maximumSegmentSize: mss, ipv6: false, now: now)
    }
    func check(_ cookie: UInt32, with c: SynCookies = cookies, seq: UInt32 = 0x5B8E_2D10, port: UInt16 = 46018,
               client: IPAddress = client, now: UInt64) -> UInt16? {
        c.check(cookie: cookie, client: client, clientPort: port, virtual: Self.virtual, virtualPort: 80,
                clientSequence: seq, ipv6: false, now: now)
    }

    @Test func validInItsMinuteAndTheNextOnly() {
        let made = 1000 * Self.minute + 17_000_000_000
        let cookie = make(now: made)
        #expect(check(cookie, now: made) == 1460)
        #expect(check(cookie, now: 1001 * Self.minute + 59_000_000_000) == 1460)
        #expect(check(cookie, now: 1002 * Self.minute) == nil)
        #expect(check(cookie, now: 1200 * Self.minute) == nil)
        // A cookie from the future (a clock step back) is refused too.
        #expect(check(cookie, now: 999 * Self.minute) == nil)
    }

    @Test func boundToTheTupleAndTheClientsSequence() {
        let now = 50 * Self.minute
        let cookie = make(now: now)
        #expect(check(cookie, now: now) != nil)
        // As with Linux's cookies, the client's ISN is added, not hashed: an ISN a little off
        // moves the MSS index (it never gives back the one the SYN carried) and one further off
        // fails; either way the ACK must still carry a cookie only the SYN's sender saw.
        #expect(check(cookie, seq: 0x5B8E_2D11, now: now) != 1460)
        #expect(check(cookie, seq: 0x5B8E_2E10, now: now) == nil)
        #expect(check(cookie, port: 46019, now: now) == nil)
        #expect(check(cookie, client: IPAddress(ipv4: 0xC612_0002), now: now) == nil)
        #expect(check(cookie &+ 1, now: now) == nil)
        // Another director's keys do not accept it.
        let other = SynCookies(hashKey: (1, 2), authenticationKey: (3, 4))
        #expect(check(cookie, with: other, now: now) == nil)
    }

    @Test func forgedAcksFromRandomSourcesAreRefused() {
        // 200,000 guesses against 1 in 2^29 odds: none may pass.
        var rng = SplitMix64(seed: 12)
        let now = 7 * Self.minute
        var accepted = 0
        for _ in 0..<200_000 {
            let source = IPAddress(ipv4: 0xC612_0000 | UInt32(truncatingIfNeeded: rng.next() & 0xFFFF))
            let port = UInt16(truncatingIfNeeded: rng.next())
            let seq = UInt32(truncatingIfNeeded: rng.next())
            let guess = UInt32(truncatingIfNeeded: rng.next())
            if check(guess, seq: seq, port: port, client: source, now: now) != nil { accepted += 1 }
        }
        #expect(accepted == 0)
    }

    @Test func maximumSegmentSizeRoundsDownToLinuxsTable() {
        let now = 3 * Self.minute
        let cases: [(offered: UInt16, carried: UInt16)] = [
            (0, 536), (535, 536), (536, 536), (1299, 536), (1300, 1300), (1439, 1300), (1440, 1440),
            (1459, 1440), (1460, 1460), (8960, 1460), (65535, 1460),
        ]
        for (offered, carried) in cases {
            #expect(check(make(mss: offered, now: now), now: now) == carried, "MSS \(offered)")
        }
        let v6 = Self.cookies.cookie(client: Self.client, clientPort: 1, virtual: Self.virtual, virtualPort: 2,
                                     clientSequence: 3, maximumSegmentSize: 9000, ipv6: true, now: now)
        #expect(Self.cookies.check(cookie: v6, client: Self.client, clientPort: 1, virtual: Self.virtual, virtualPort: 2,
                                   clientSequence: 3, ipv6: true, now: now) == 8940)
    }

    @Test func cookiesWorkOverIPv6Addresses() throws {
        let client = try #require(IPAddress("2001:db8::1"))
        let virtual = try #require(IPAddress("2001:db8::10"))
        let now = 9 * Self.minute
        let cookie = Self.cookies.cookie(client: client, clientPort: 5000, virtual: virtual, virtualPort: 443,
                                         clientSequence: 77, maximumSegmentSize: 1440, ipv6: true, now: now)
        #expect(Self.cookies.check(cookie: cookie, client: client, clientPort: 5000, virtual: virtual, virtualPort: 443,
                                   clientSequence: 77, ipv6: true, now: now) == 1440)
        let neighbour = try #require(IPAddress("2001:db8::2"))
        #expect(Self.cookies.check(cookie: cookie, client: neighbour, clientPort: 5000, virtual: virtual, virtualPort: 443,
                                   clientSequence: 77, ipv6: true, now: now) == nil)
    }

    @Test func rotationKeepsCookiesOfTheMinuteGoodAndRetiresTheOldKey() {
        var c = Self.cookies
        let t = 100 * Self.minute + 30_000_000_000
        let before = make(c, now: t)
        c.rotate(authenticationKey: (9, 9), now: t)
        // Made earlier in the minute of the rotation: still good then and in the next minute.
        #expect(check(before, with: c, now: t) == 1460)
        #expect(check(before, with: c, now: t + Self.minute) == 1460)
        // Made after the rotation, in the same minute: the old key still makes it.
        let sameMinute = make(c, now: t + 1)
        #expect(sameMinute == before)
        // From the next minute the new key makes cookies, and they are not the old key's.
        let next = make(c, now: t + Self.minute)
        #expect(check(next, with: c, now: t + Self.minute) == 1460)
        #expect(next != make(Self.cookies, now: t + Self.minute))
        #expect(check(next, with: Self.cookies, now: t + Self.minute) == nil)
    }

    @Test func timestampCarriesWindowScaleSackAndECN() {
        let now: UInt32 = 1_000_000
        for scale in [nil] + (0...14).map { UInt8?($0) } {
            for sack in [false, true] {
                for ecn in [false, true] {
                    let ts = SynCookies.timestamp(nowMilliseconds: now, windowScale: scale, sackPermitted: sack,
                                                  explicitCongestionNotification: ecn)
                    #expect(ts <= now && now - ts < 64, "never ahead of the clock, at most 63 ms behind")
                    let back = SynCookies.options(maximumSegmentSize: 1300, timestampEcho: ts)
                    #expect(back == SynCookieOptions(maximumSegmentSize: 1300, windowScale: scale, sackPermitted: sack,
                                                     explicitCongestionNotification: ecn, timestamps: true))
                }
            }
        }
        // RFC 7323 §2.3: a shift above 14 is used as 14.
        let big = SynCookies.timestamp(nowMilliseconds: now, windowScale: 15, sackPermitted: false,
                                       explicitCongestionNotification: false)
        #expect(SynCookies.options(maximumSegmentSize: 536, timestampEcho: big).windowScale == 14)
        // Near zero the timestamp goes back across the wrap rather than ahead of the clock.
        let early = SynCookies.timestamp(nowMilliseconds: 10, windowScale: nil, sackPermitted: true,
                                         explicitCongestionNotification: true)
        #expect(early == 0xFFFF_FFFF)
    }

    @Test func withoutTimestampsOnlyTheMSSSurvives() {
        #expect(SynCookies.options(maximumSegmentSize: 1460, timestampEcho: nil)
                == SynCookieOptions(maximumSegmentSize: 1460))
    }
}
