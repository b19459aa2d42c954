import Wire

/// The address folding and multiplicative hash that IPVS's table schedulers share.
///
/// IPVS hashes an address as one 32-bit word: IPv4 as is, IPv6 as the XOR of its four 32-bit
/// words (ip_vs_sh.c, ip_vs_dh.c, ip_vs_lblc.c, ip_vs_lblcr.c, ip_vs_mh.c all fold this way,
/// then convert to host order; XOR commutes with the byte swap, so folding host-order words is
/// the same). Current kernels then take `hash_32` (include/linux/hash.h); older ones used
/// `(key * 2654435761) & mask`, which only looks at the key's low bits.
public enum SchedulerHash {
    /// GOLDEN_RATIO_32 of include/linux/hash.h, the multiplier of `hash_32`.
    public static let goldenRatio32: UInt32 = 0x61C8_8647

    /// The 32-bit fold of an address, in host order.
    @inlinable
    public static func fold(_ address: IPAddress) -> UInt32 {
        if address.isIPv4 { return address.ipv4 }
        return UInt32(truncatingIfNeeded: address.high >> 32) ^ UInt32(truncatingIfNeeded: address.high)
            ^ UInt32(truncatingIfNeeded: address.low >> 32) ^ UInt32(truncatingIfNeeded: address.low)
    }

    /// `hash_32(key, bits)`: the top `bits` bits of `key * GOLDEN_RATIO_32` (mod 2^32).
    @inlinable
    public static func hash32(_ key: UInt32, bits: Int) -> UInt32 {
        (key &* goldenRatio32) >> UInt32(32 - bits)
    }
}
