/// The kernel's `hsiphash` on a 64-bit kernel, which lib/siphash.c implements as SipHash-1-3
/// (one compression round, three finalization rounds) over a 128-bit key given as two 64-bit
/// words, returning the low 32 bits. Maglev hashing (ip_vs_mh.c) hashes one 32-bit word with
/// it; 32-bit kernels use HalfSipHash-1-3 instead and would build different tables.
///
/// SipHash is Aumasson and Bernstein's (INDOCRYPT 2012). The round function is shared with
/// SipHash-2-4, so the test suite checks it against the paper's 2-4 vector.
public enum SipHash13 {
    /// `hsiphash(&word, 4, key)` on a little-endian 64-bit kernel: the word's four bytes in
    /// memory are read back as the same 32-bit value.
    @inlinable
    public static func hash(_ word: UInt32, key0: UInt64, key1: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: hash(word: UInt64(word), length: 4, key0: key0, key1: key1,
                                        compressionRounds: 1, finalizationRounds: 3))
    }

    /// SipHash-c-d of a message of at most 7 bytes held little-endian in `word`.
    @inlinable
    public static func hash(word: UInt64, length: Int, key0: UInt64, key1: UInt64,
                            compressionRounds: Int, finalizationRounds: Int) -> UInt64 {
        var v0: UInt64 = 0x736F_6D65_7073_6575 ^ key0
        var v1: UInt64 = 0x646F_7261_6E64_6F6D ^ key1
        var v2: UInt64 = 0x6C79_6765_6E65_7261 ^ key0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ key1
        // Short messages have no full 8-byte block: the only block is the tail with the length
        // in its top byte.
        let b = UInt64(truncatingIfNeeded: length) << 56 | word
        v3 ^= b
        for _ in 0..<compressionRounds { round(&v0, &v1, &v2, &v3) }
        v0 ^= b
        v2 ^= 0xFF
        for _ in 0..<finalizationRounds { round(&v0, &v1, &v2, &v3) }
        return v0 ^ v1 ^ v2 ^ v3
    }

    @inlinable @inline(__always)
    static func round(_ v0: inout UInt64, _ v1: inout UInt64, _ v2: inout UInt64, _ v3: inout UInt64) {
        v0 &+= v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
        v2 &+= v3; v3 = rotl(v3, 16); v3 ^= v2
        v0 &+= v3; v3 = rotl(v3, 21); v3 ^= v0
        v2 &+= v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    }

    @inlinable @inline(__always)
    static func rotl(_ x: UInt64, _ n: UInt64) -> UInt64 { x << n | x >> (64 - n) }
}
