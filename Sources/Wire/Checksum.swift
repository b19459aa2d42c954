/// The Internet checksum: RFC 1071 sums and RFC 1624 incremental updates.
///
/// Sums are carried in a `UInt32` accumulator of 16-bit words and folded only at the end,
/// so callers can chain a pseudo-header sum into a payload sum without intermediate folds.
public enum Checksum {
    /// Adds the 16-bit big-endian words of `count` bytes at `base` to `initial` (RFC 1071 §4.1).
    /// An odd trailing byte is padded with zero on the right.
    @inlinable
    public static func sum(_ base: UnsafeRawPointer, count: Int, initial: UInt32 = 0) -> UInt32 {
        var acc: UInt64 = 0
        var i = 0
        // Eight bytes at a time: ones' complement addition is byte-order independent as long
        // as the final fold is done in the same order, so add native words and swap once.
        while i + 8 <= count {
            let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            acc &+= (w & 0xFFFF_FFFF) &+ (w >> 32)
            i += 8
        }
        var native = UInt64(0)
        while i + 2 <= count {
            native &+= UInt64(base.loadUnaligned(fromByteOffset: i, as: UInt16.self))
            i += 2
        }
        acc &+= native
        // Fold the native-order sum to 16 bits, then convert to network order.
        while acc >> 16 != 0 { acc = (acc & 0xFFFF) &+ (acc >> 16) }
        var total = UInt32(UInt16(truncatingIfNeeded: acc).bigEndian)
        if i < count { total &+= UInt32(base.load(fromByteOffset: i, as: UInt8.self)) << 8 }
        return total &+ initial
    }

    /// Folds a 32-bit accumulator to 16 bits with end-around carry.
    @inlinable
    public static func fold(_ sum: UInt32) -> UInt16 {
        var s = sum
        s = (s & 0xFFFF) &+ (s >> 16)
        s = (s & 0xFFFF) &+ (s >> 16)
        return UInt16(truncatingIfNeeded: s)
    }

    /// The checksum field value for an accumulated sum: the ones' complement of the fold.
    @inlinable
    public static func finish(_ sum: UInt32) -> UInt16 { ~fold(sum) }

    /// Sum of the IPv4 pseudo-header (RFC 793 §3.1, RFC 768).
    @inlinable
    public static func pseudoHeaderIPv4(source: UInt32, destination: UInt32, protocol proto: IPProtocol, length: Int) -> UInt32 {
        (source >> 16) &+ (source & 0xFFFF) &+ (destination >> 16) &+ (destination & 0xFFFF)
            &+ UInt32(proto.rawValue) &+ UInt32(truncatingIfNeeded: length)
    }

    /// Sum of the IPv6 pseudo-header (RFC 8200 §8.1).
    @inlinable
    public static func pseudoHeaderIPv6(source: IPAddress, destination: IPAddress, nextHeader: IPProtocol, length: Int) -> UInt32 {
        addressSum(source) &+ addressSum(destination)
            &+ UInt32(truncatingIfNeeded: length >> 16) &+ UInt32(truncatingIfNeeded: length & 0xFFFF)
            &+ UInt32(nextHeader.rawValue)
    }

    /// Sum of the eight 16-bit words of an address, unfolded.
    @inlinable
    public static func addressSum(_ a: IPAddress) -> UInt32 {
        wordSum(a.high) &+ wordSum(a.low)
    }

    @inlinable
    static func wordSum(_ w: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: w >> 48) &+ UInt32(truncatingIfNeeded: (w >> 32) & 0xFFFF)
            &+ UInt32(truncatingIfNeeded: (w >> 16) & 0xFFFF) &+ UInt32(truncatingIfNeeded: w & 0xFFFF)
    }

    // MARK: RFC 1624 incremental update: HC' = ~(~HC + ~m + m')

    /// Updates `checksum` for one 16-bit field changing from `old` to `new` (RFC 1624 eqn. 3).
    @inlinable
    public static func update(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
        ~fold(UInt32(~checksum) &+ UInt32(~old) &+ UInt32(new))
    }

    /// Updates `checksum` for a 32-bit field (an IPv4 address) changing from `old` to `new`.
    @inlinable
    public static func update(_ checksum: UInt16, old: UInt32, new: UInt32) -> UInt16 {
        let s = UInt32(~checksum)
            &+ UInt32(~UInt16(truncatingIfNeeded: old >> 16)) &+ UInt32(~UInt16(truncatingIfNeeded: old))
            &+ (new >> 16) &+ (new & 0xFFFF)
        return ~fold(s)
    }

    /// Updates `checksum` for an address changing from `old` to `new` (IPv4-mapped or IPv6).
    @inlinable
    public static func update(_ checksum: UInt16, old: IPAddress, new: IPAddress) -> UInt16 {
        // ~m summed word by word equals 0xFFFF×8 − Σm in ones' complement; fold keeps it exact.
        let oldSum = UInt32(fold(addressSum(old)))
        let s = UInt32(~checksum) &+ UInt32(~UInt16(truncatingIfNeeded: oldSum)) &+ addressSum(new)
        return ~fold(s)
    }
}
