import Wire

/// The program's choices, computed in Swift: where a frame of a given connection lands, for
/// code that must put state on the worker the kernel will hand that connection's frames to
/// (a sync backup installing a synced connection). The same rules as the program's table
/// (FanoutProgram.swift); FanoutProgramTests runs both over the same tuples.
extension FanoutProgram {
    /// Client → VIP, and a NAT reply to the client: `mix(fold(client) ⊕ port) mod N`. `key`:
    /// the program's steering key where it has one (XORed in before the mix; 0: none).
    public static func worker(client: IPAddress, port: UInt16, workers: Int, key: UInt32 = 0) -> Int {
        mixed(fold(client, prefixLength: 128) ^ UInt32(port) ^ key, workers: workers)
    }

    /// A persistent service's frames: `mix(fold(client & netmask)) mod N`; `prefixLength` is the
    /// service's (IPv4: at most 32).
    public static func worker(persistentClient client: IPAddress, prefixLength: Int, workers: Int, key: UInt32 = 0) -> Int {
        mixed(fold(client, prefixLength: client.isIPv4 ? prefixLength + 96 : prefixLength) ^ key, workers: workers)
    }

    /// A client-address VIP's frames from a client, and its NAT real servers' to the client:
    /// `mix(fold(client)) mod N`, the persistence rule with a full-length mask.
    public static func worker(clientAddress client: IPAddress, workers: Int, key: UInt32 = 0) -> Int {
        worker(persistentClient: client, prefixLength: client.isIPv4 ? 32 : 128, workers: workers, key: key)
    }

    /// A FullNAT reply to LIP:lport: `lport mod N`.
    public static func worker(localPort: UInt16, workers: Int) -> Int {
        Int(UInt32(localPort) % UInt32(max(workers, 1)))
    }

    /// The 32-bit words the program loads (network order as integers), masked to `prefixLength`
    /// bits counted over the 128-bit form (an IPv4 address is its last word), XORed.
    static func fold(_ address: IPAddress, prefixLength: Int) -> UInt32 {
        if address.isIPv4 { return address.ipv4 & mask(prefixLength - 96, word: 0) }
        let words = [UInt32(truncatingIfNeeded: address.high >> 32), UInt32(truncatingIfNeeded: address.high),
                     UInt32(truncatingIfNeeded: address.low >> 32), UInt32(truncatingIfNeeded: address.low)]
        var fold: UInt32 = 0
        for (i, word) in words.enumerated() { fold ^= word & mask(prefixLength, word: i) }
        return fold
    }

    static func mixed(_ key: UInt32, workers: Int) -> Int {
        Int(((key &* mixMultiplier) >> 16) % UInt32(max(workers, 1)))
    }
}
