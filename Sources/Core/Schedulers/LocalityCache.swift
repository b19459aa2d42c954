import Wire

/// The destination-address cache of the locality-based schedulers (lblc, lblcr): for each
/// recently seen destination, up to `width` servers, when it was last used and when its server
/// set last changed.
///
/// IPVS keeps these entries in a 1024-bucket hash table of lists, allocating one entry per new
/// destination, and trims them from a timer: every minute, entries idle for 6 minutes once
/// there are more than 16 per bucket on average, and every 30 minutes entries idle for the
/// expiration time (sysctl `lblc_expiration` / `lblcr_expiration`, 24 hours). SwiftLVS must not
/// allocate per packet, so the table here is fixed at what IPVS aims for (`max_size` = 1024 × 16
/// entries), allocated once in `init`:
///
/// | IPVS | here |
/// | --- | --- |
/// | bucket = `hash_32(fold(daddr), 10)` (`ip_vs_lblc_hashkey`) | the same bucket, holding 16 entries instead of a list |
/// | entry idle ≥ expiration is deleted by the 30-minute check | treated as absent from that instant on (exact, not up to 30 minutes late) |
/// | more entries than `max_size`: drop those idle ≥ 6 minutes | a new destination in a full bucket replaces the entry idle longest |
///
/// Memory: 16384 entries × (16 + 8 + 8 + 1 + 4 × width) bytes: about 0.6 MiB for lblc, 1.1 MiB
/// for lblcr's 8-server sets.
///
/// Unsafe storage, one door: the buffers are allocated in `init`, freed in `deinit`, and only
/// indexed through the methods below with slot numbers this class produced.
@usableFromInline
final class LocalityCache {
    @usableFromInline static let bucketBits = 10
    @usableFromInline static let ways = 16
    @usableFromInline static let capacity = (1 << bucketBits) * ways

    /// Servers per entry: 1 for lblc, the set capacity for lblcr.
    @usableFromInline let width: Int
    /// Nanoseconds an entry may stay unused before it expires.
    @usableFromInline let expiration: UInt64
    @usableFromInline let addresses: UnsafeMutablePointer<IPAddress>
    @usableFromInline let lastUse: UnsafeMutablePointer<UInt64>
    @usableFromInline let lastModified: UnsafeMutablePointer<UInt64>
    /// Servers held by each entry; 0 marks a free slot.
    @usableFromInline let counts: UnsafeMutablePointer<UInt8>
    /// `width` server indices per entry, newest first (IPVS adds set members at the list head).
    @usableFromInline let members: UnsafeMutablePointer<Int32>

    init(width: Int, expiration: UInt64) {
        precondition(width >= 1 && width <= Int(UInt8.max))
        self.width = width
        self.expiration = expiration
        let n = Self.capacity
        // Safety: every buffer holds `capacity` (members: capacity × width) initialized elements
        // until deinit; indices come from `bucket(of:)` and `width`, both within those bounds.
        addresses = .allocate(capacity: n)
        addresses.initialize(repeating: .zero, count: n)
        lastUse = .allocate(capacity: n)
        lastUse.initialize(repeating: 0, count: n)
        lastModified = .allocate(capacity: n)
        lastModified.initialize(repeating: 0, count: n)
        counts = .allocate(capacity: n)
        counts.initialize(repeating: 0, count: n)
        members = .allocate(capacity: n * width)
        members.initialize(repeating: -1, count: n * width)
    }

    deinit {
        addresses.deallocate()
        lastUse.deallocate()
        lastModified.deallocate()
        counts.deallocate()
        members.deallocate()
    }

    /// The first slot of the bucket `ip_vs_lblc_hashkey` / `ip_vs_lblcr_hashkey` gives.
    @inlinable
    static func bucket(of address: IPAddress) -> Int {
        Int(SchedulerHash.hash32(SchedulerHash.fold(address), bits: bucketBits)) * ways
    }

    /// Live: in use and used less than `expiration` ago. A clock that went backwards (another
    /// worker's reading) counts as a fresh use rather than an ancient one.
    @inlinable
    func isLive(_ slot: Int, now: UInt64) -> Bool {
        counts[slot] > 0 && (now < lastUse[slot] || now - lastUse[slot] < expiration)
    }

    /// The live entry for `address`, if any (`ip_vs_lblc_get`).
    @inlinable
    func find(_ address: IPAddress, now: UInt64) -> Int? {
        let first = Self.bucket(of: address)
        for slot in first..<(first + Self.ways) where counts[slot] > 0 && addresses[slot] == address {
            if isLive(slot, now: now) { return slot }
            counts[slot] = 0
            return nil
        }
        return nil
    }

    /// A slot for a new entry for `address` holding `server`: a free or expired one in the
    /// bucket, else the one idle longest (earliest in the bucket among equals).
    @inlinable
    func insert(_ address: IPAddress, server: Int32, now: UInt64) -> Int {
        let first = Self.bucket(of: address)
        var victim = first
        for slot in first..<(first + Self.ways) {
            if !isLive(slot, now: now) {
                victim = slot
                break
            }
            if lastUse[slot] < lastUse[victim] { victim = slot }
        }
        addresses[victim] = address
        lastUse[victim] = now
        lastModified[victim] = now
        counts[victim] = 1
        members[victim * width] = server
        return victim
    }

    /// Server `k` (0 = newest) of the entry in `slot`.
    @inlinable
    func member(_ slot: Int, _ k: Int) -> Int { Int(members[slot * width + k]) }

    /// Adds `server` at the head of a set (`ip_vs_dest_set_insert` with check): nothing if it is
    /// already there; when the set is full, `evict` (a member position) makes room first.
    @inlinable
    func add(_ server: Int32, to slot: Int, now: UInt64, evicting evict: Int) {
        let count = Int(counts[slot])
        for k in 0..<count where members[slot * width + k] == server { return }
        if count == width { remove(at: evict, from: slot, now: now) }
        let n = Int(counts[slot])
        let base = slot * width
        var k = n
        while k > 0 {
            members[base + k] = members[base + k - 1]
            k -= 1
        }
        members[base] = server
        counts[slot] = UInt8(n + 1)
        lastModified[slot] = now
    }

    /// Removes the member at position `k` (`ip_vs_dest_set_erase`).
    @inlinable
    func remove(at k: Int, from slot: Int, now: UInt64) {
        let n = Int(counts[slot])
        let base = slot * width
        var i = k
        while i < n - 1 {
            members[base + i] = members[base + i + 1]
            i += 1
        }
        members[base + n - 1] = -1
        counts[slot] = UInt8(n - 1)
        lastModified[slot] = now
    }
}
