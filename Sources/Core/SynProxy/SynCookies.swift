import Wire

/// What a SYN cookie carries back from the client's SYN to its ACK, so the director can open
/// the real server's half with the client's options without having kept any state.
public struct SynCookieOptions: Equatable, Sendable {
    /// The client's MSS rounded down to the cookie's table (`SynCookies.maximumSegmentSizes`).
    public var maximumSegmentSize: UInt16
    /// The client's window scale; nil when it sent none or sent no timestamps.
    public var windowScale: UInt8?
    public var sackPermitted: Bool
    /// The client asked for ECN (ECE and CWR on its SYN, RFC 3168 §6.1.1).
    public var explicitCongestionNotification: Bool
    /// The client sends timestamps (RFC 7323), so the options above came back in its TSecr.
    public var timestamps: Bool

    public init(maximumSegmentSize: UInt16, windowScale: UInt8? = nil, sackPermitted: Bool = false,
                explicitCongestionNotification: Bool = false, timestamps: Bool = false) {
        self.maximumSegmentSize = maximumSegmentSize
        self.windowScale = windowScale
        self.sackPermitted = sackPermitted
        self.explicitCongestionNotification = explicitCongestionNotification
        self.timestamps = timestamps
    }
}

/// SYN cookies (D. J. Bernstein, 1996; RFC 4987 §3.6), with Linux's layout
/// (net/ipv4/syncookies.c `secure_tcp_syn_cookie`, `check_tcp_syn_cookie`,
/// `cookie_init_timestamp`, `cookie_timestamp_decode`), rewritten here:
///
/// ```
/// ISN = H(k0; CIP, VIP, cport, vport) + client ISN + (minute << 24)
///       + ((H(k1; CIP, VIP, cport, vport, minute) + MSS index) mod 2^24)
/// ```
///
/// The first hash hides the minute counter; the second authenticates it and the 2-bit MSS
/// index. A cookie is valid for the minute it was made and the next (Linux's
/// `MAX_SYNCOOKIE_AGE`). Window scale, SACK-permitted and ECN do not fit: when the client
/// sends timestamps they ride in the low 6 bits of the director's TSval, which the client
/// echoes in TSecr; without timestamps they are lost (the real server gets MSS only).
///
/// H is SipHash-2-4 over the two addresses (IPv4-mapped or IPv6), the ports and the minute.
/// `k0` is fixed at start; `k1` is rotated (`rotate`), the previous key staying good for the
/// cookies made under it, so a rotation never refuses a client mid-handshake.
///
/// A forged ACK passes when its 24 authenticated bits land on one of 4 MSS indexes and its
/// minute on one of 2 out of 256: about 1 in 2^29 per guess, as with Linux's cookies. As in
/// Linux, the client's ISN is added rather than hashed, so an ACK whose sequence number is a
/// little off reads back another MSS index; it still had to carry the cookie.
public struct SynCookies: Sendable {
    /// Linux's `msstab` (IPv4) and `msstab` of syncookies.c's IPv6 twin: the values most
    /// clients send, so the rounding costs them nothing.
    public static let maximumSegmentSizesIPv4: (UInt16, UInt16, UInt16, UInt16) = (536, 1300, 1440, 1460)
    public static let maximumSegmentSizesIPv6: (UInt16, UInt16, UInt16, UInt16) = (1220, 1420, 1440, 8940)
    /// RFC 9293 §3.7.1: the MSS a SYN without the option implies (536 for IPv4; IPv6's 1220,
    /// RFC 8200 §5's 1280 minus headers, is the table's smallest).
    static let cookieBits: UInt32 = 24
    static let cookieMask: UInt32 = (1 << 24) - 1
    /// Minutes a cookie stays good: the one it was made in and the next.
    static let maximumAge: UInt32 = 2
    /// Low TSval bits that carry the options (Linux `TSBITS`), and their parts.
    static let timestampBits: UInt32 = 6
    static let timestampMask: UInt32 = (1 << 6) - 1
    static let windowScaleMask: UInt32 = 0x0F
    static let sackBit: UInt32 = 1 << 4
    static let ecnBit: UInt32 = 1 << 5
    /// RFC 7323 §2.3: shifts above 14 are used as 14.
    static let maximumWindowScale: UInt8 = 14

    var hashKey: (UInt64, UInt64)
    /// The authenticating key of the minutes before `newerKeySince`, and of those from it on.
    var olderKey: (UInt64, UInt64)
    var newerKey: (UInt64, UInt64)
    var newerKeySince: UInt32

    /// Keys come from the caller (random at lvsd's start); Core makes no system calls.
    public init(hashKey: (UInt64, UInt64), authenticationKey: (UInt64, UInt64)) {
        self.hashKey = hashKey
        self.olderKey = authenticationKey
        self.newerKey = authenticationKey
        self.newerKeySince = 0
    }

    /// The authenticating key of cookies made in minute `count`.
    func authenticationKey(minute count: UInt32) -> (UInt64, UInt64) {
        count >= newerKeySince ? newerKey : olderKey
    }

    /// Makes `key` the authenticating key from the minute after `now`'s on, so cookies made
    /// earlier in this minute keep their key; the key in force now stays good for cookies made
    /// in this minute. Rotate no more often than every two minutes (a cookie's age), so no
    /// cookie outlives its key.
    public mutating func rotate(authenticationKey key: (UInt64, UInt64), now: UInt64) {
        let count = Self.minute(now)
        olderKey = authenticationKey(minute: count)
        newerKey = key
        newerKeySince = count &+ 1
    }

    /// The minute counter of the injected clock (nanoseconds).
    @inlinable static func minute(_ now: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: now / 60_000_000_000) }

    /// The index of the largest table entry not above `mss` (0 when all are above it).
    static func index(of mss: UInt16, ipv6: Bool) -> UInt32 {
        let t = ipv6 ? maximumSegmentSizesIPv6 : maximumSegmentSizesIPv4
        if mss >= t.3 { return 3 }
        if mss >= t.2 { return 2 }
        if mss >= t.1 { return 1 }
        return 0
    }

    static func maximumSegmentSize(index: UInt32, ipv6: Bool) -> UInt16 {
        let t = ipv6 ? maximumSegmentSizesIPv6 : maximumSegmentSizesIPv4
        switch index { case 0: return t.0; case 1: return t.1; case 2: return t.2; default: return t.3 }
    }

    /// The ISN of the director's SYN-ACK to a client SYN with sequence `clientSequence`
    /// offering `mss` (536 when it offered none).
    public func cookie(client: IPAddress, clientPort: UInt16, virtual: IPAddress, virtualPort: UInt16,
                       clientSequence: UInt32, maximumSegmentSize mss: UInt16, ipv6: Bool, now: UInt64) -> UInt32 {
        let count = Self.minute(now)
        let key = authenticationKey(minute: count)
        let data = Self.index(of: mss, ipv6: ipv6)
        return Self.hash(hashKey, client, virtual, clientPort, virtualPort, count: 0)
            &+ clientSequence &+ (count << Self.cookieBits)
            &+ ((Self.hash(key, client, virtual, clientPort, virtualPort, count: count) &+ data) & Self.cookieMask)
    }

    /// The MSS a cookie carries when `cookie` (the client's ACK number − 1) is one this
    /// director made for the same addresses, ports and `clientSequence` (the ACK's sequence
    /// number − 1) no more than a minute before the current one; nil otherwise.
    public func check(cookie: UInt32, client: IPAddress, clientPort: UInt16, virtual: IPAddress, virtualPort: UInt16,
                      clientSequence: UInt32, ipv6: Bool, now: UInt64) -> UInt16? {
        let count = Self.minute(now)
        let stripped = cookie &- (Self.hash(hashKey, client, virtual, clientPort, virtualPort, count: 0) &+ clientSequence)
        let age = (count &- (stripped >> Self.cookieBits)) & (UInt32.max >> Self.cookieBits)
        guard age < Self.maximumAge else { return nil }
        let made = count &- age
        let key = authenticationKey(minute: made)
        let data = (stripped &- Self.hash(key, client, virtual, clientPort, virtualPort, count: made)) & Self.cookieMask
        guard data <= 3 else { return nil }
        return Self.maximumSegmentSize(index: data, ipv6: ipv6)
    }

    /// The TSval of the director's SYN-ACK (Linux `cookie_init_timestamp`): the millisecond
    /// clock with its low 6 bits replaced by the options, never ahead of the clock, so the
    /// real server's later timestamps (translated by `SequenceAdjustment`) do not go back.
    public static func timestamp(nowMilliseconds: UInt32, windowScale: UInt8?, sackPermitted: Bool,
                                 explicitCongestionNotification: Bool) -> UInt32 {
        var options = windowScale.map { UInt32(min($0, maximumWindowScale)) } ?? windowScaleMask
        if sackPermitted { options |= sackBit }
        if explicitCongestionNotification { options |= ecnBit }
        var ts = (nowMilliseconds >> timestampBits) << timestampBits | options
        if ts > nowMilliseconds { ts &-= 1 << timestampBits }
        return ts
    }

    /// Reads back what `timestamp` encoded from the TSecr of the client's ACK (Linux
    /// `cookie_timestamp_decode`, `cookie_ecn_ok`). Without a timestamp on the ACK the client
    /// gets no window scale, SACK or ECN.
    public static func options(maximumSegmentSize mss: UInt16, timestampEcho: UInt32?) -> SynCookieOptions {
        guard let echo = timestampEcho else { return SynCookieOptions(maximumSegmentSize: mss) }
        let bits = echo & timestampMask
        let scale = bits & windowScaleMask
        return SynCookieOptions(
            maximumSegmentSize: mss,
            windowScale: scale == windowScaleMask ? nil : UInt8(min(scale, UInt32(maximumWindowScale))),
            sackPermitted: bits & sackBit != 0,
            explicitCongestionNotification: bits & ecnBit != 0,
            timestamps: true)
    }

    /// SipHash-2-4 (Aumasson and Bernstein, INDOCRYPT 2012) of five 64-bit words, low 32 bits.
    static func hash(_ key: (UInt64, UInt64), _ a: IPAddress, _ b: IPAddress, _ aPort: UInt16, _ bPort: UInt16,
                     count: UInt32) -> UInt32 {
        var v0: UInt64 = 0x736F_6D65_7073_6575 ^ key.0
        var v1: UInt64 = 0x646F_7261_6E64_6F6D ^ key.1
        var v2: UInt64 = 0x6C79_6765_6E65_7261 ^ key.0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ key.1
        @inline(__always) func absorb(_ m: UInt64) {
            v3 ^= m
            SipHash13.round(&v0, &v1, &v2, &v3)
            SipHash13.round(&v0, &v1, &v2, &v3)
            v0 ^= m
        }
        absorb(a.high)
        absorb(a.low)
        absorb(b.high)
        absorb(b.low)
        absorb(UInt64(aPort) << 48 | UInt64(bPort) << 32 | UInt64(count))
        absorb(40 << 56)  // the length block of a 40-byte message
        v2 ^= 0xFF
        for _ in 0..<4 { SipHash13.round(&v0, &v1, &v2, &v3) }
        return UInt32(truncatingIfNeeded: v0 ^ v1 ^ v2 ^ v3)
    }
}
