/// A VRRP advertisement: version 2 (RFC 3768 §5.1, IPv4 only) or version 3 (RFC 5798 §5.1,
/// IPv4 or IPv6), the IP payload of protocol 112.
///
/// ```
///  0                   1                   2                   3
/// |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
/// v2: |  Auth Type    |   Adver Int   |          Checksum             |
/// v3: |(rsvd) |     Max Adver Int     |          Checksum             |
/// |                  IPv4 or IPv6 address(es) ...                    |
/// v2: |                   Authentication Data (8 bytes)               |
/// ```
///
/// The validating initializer checks everything the bytes alone can decide — length, version,
/// type, that the count field matches the addresses present, and the checksum (v2: over the
/// message, RFC 3768 §5.3.8; v3: with the IP pseudo-header, RFC 5798 §5.2.8). What needs the
/// receiving instance (VRID, priority, auth data, interval, TTL) is the VRRP module's to check.
public struct VRRPAdvertisement {
    public enum Offset {
        public static let versionType = 0
        public static let virtualRouterID = 1
        public static let priority = 2
        public static let addressCount = 3
        /// v2: the authentication type byte.
        public static let authType = 4
        /// v2: the advertisement interval in seconds.
        public static let advertInterval = 5
        /// v3: four reserved bits, then the maximum advertisement interval in centiseconds.
        public static let maxAdvertInterval = 4
        public static let checksum = 6
        public static let addresses = 8
    }
    public static let headerLength = 8
    /// v2's authentication data after the addresses (RFC 3768 §5.3.10); v3 has none.
    public static let authDataLength = 8
    /// The only type defined (RFC 5798 §5.2.2).
    public static let advertisementType: UInt8 = 1
    /// The 12 bits of v3's interval field.
    public static let maxAdvertIntervalMask: UInt16 = 0x0FFF
    /// Sent with, and accepted only at, TTL / hop limit 255 (RFC 5798 §5.1.1.3, §5.1.2.3): a
    /// smaller one was routed and is not from this link.
    @inlinable public static var ttl: UInt8 { 255 }
    /// 224.0.0.18 (RFC 5798 §5.1.1.2).
    public static let ipv4Group = IPAddress(ipv4: 0xE000_0012)
    /// ff02::12 (RFC 5798 §5.1.2.2).
    public static let ipv6Group = IPAddress(high: 0xFF02_0000_0000_0000, low: 0x12)

    @usableFromInline let base: UnsafeMutableRawPointer
    /// The message's length: header, addresses and (v2) authentication data.
    public let length: Int
    /// The family of the addresses, which is the IP header's (v3 carries no family field).
    public let isIPv6: Bool

    /// Validates `length` bytes of an IP payload that arrived from `source` to `destination`
    /// (their family decides the address size and the v3 pseudo-header).
    @inlinable
    public init(_ base: UnsafeMutableRawPointer, length: Int, source: IPAddress, destination: IPAddress) throws(VRRPError) {
        guard length >= VRRPAdvertisement.headerLength else { throw .truncated }
        let isIPv6 = !source.isIPv4
        let versionType = base.wireU8(Offset.versionType)
        let version = versionType >> 4
        // v2 is IPv4 only (RFC 3768 §5.3.1); v3 is both.
        guard version == 3 || (version == 2 && !isIPv6) else { throw .badVersion }
        guard versionType & 0x0F == VRRPAdvertisement.advertisementType else { throw .badType }
        let addressLength = isIPv6 ? 16 : 4
        let body = length - VRRPAdvertisement.headerLength - (version == 2 ? VRRPAdvertisement.authDataLength : 0)
        guard body >= 0 else { throw .truncated }
        guard body % addressLength == 0 else { throw .badLength }
        guard body / addressLength == Int(base.wireU8(Offset.addressCount)) else { throw .addressCountMismatch }
        let initial = version == 2 ? 0 : VRRPAdvertisement.pseudoHeaderSum(source: source, destination: destination, length: length)
        guard Checksum.fold(Checksum.sum(base, count: length, initial: initial)) == 0xFFFF else { throw .badChecksum }
        self.base = base
        self.length = length
        self.isIPv6 = isIPv6
    }

    /// A view over a message the caller has bounded and checked (or is writing).
    @inlinable
    public init(unchecked base: UnsafeMutableRawPointer, length: Int, isIPv6: Bool) {
        self.base = base
        self.length = length
        self.isIPv6 = isIPv6
    }

    /// 2 or 3 once validated.
    @inlinable public var version: VRRPVersion { base.wireU8(Offset.versionType) >> 4 == 2 ? .v2 : .v3 }
    @inlinable public var type: UInt8 { base.wireU8(Offset.versionType) & 0x0F }
    @inlinable public var virtualRouterID: UInt8 { base.wireU8(Offset.virtualRouterID) }
    /// 255: the address owner; 0: the master is leaving (RFC 5798 §5.2.4).
    @inlinable public var priority: UInt8 { base.wireU8(Offset.priority) }
    @inlinable public var addressCount: Int { Int(base.wireU8(Offset.addressCount)) }
    @inlinable public var checksum: UInt16 {
        get { base.wireU16(Offset.checksum) }
        nonmutating set { base.wireSetU16(newValue, Offset.checksum) }
    }
    /// v2 only: what follows the addresses is authenticated this way.
    @inlinable public var authType: VRRPAuthType { VRRPAuthType(rawValue: base.wireU8(Offset.authType)) }
    /// The sender's advertisement interval in centiseconds, whichever the version: v2's whole
    /// seconds times 100, v3's 12-bit field as is.
    @inlinable public var intervalCentiseconds: UInt16 {
        version == .v2 ? UInt16(base.wireU8(Offset.advertInterval)) * 100
            : base.wireU16(Offset.maxAdvertInterval) & VRRPAdvertisement.maxAdvertIntervalMask
    }
    @inlinable public var addressLength: Int { isIPv6 ? 16 : 4 }

    /// The `index`th address, `0 ..< addressCount`.
    @inlinable public func address(at index: Int) -> IPAddress {
        let offset = Offset.addresses + index * addressLength
        return isIPv6 ? base.wireIPv6(offset) : IPAddress(ipv4: base.wireU32(offset))
    }

    /// v2 only: the eight authentication bytes, first byte most significant (for PASS, the
    /// password zero-padded, RFC 2338 §5.3.10 "Simple Text Password").
    @inlinable public var authData: UInt64 { base.wireU64(length - VRRPAdvertisement.authDataLength) }

    /// The message length for `addressCount` addresses.
    @inlinable
    public static func length(version: VRRPVersion, addressCount: Int, isIPv6: Bool) -> Int {
        headerLength + addressCount * (isIPv6 ? 16 : 4) + (version == .v2 ? authDataLength : 0)
    }

    /// The sum of v3's pseudo-header (RFC 5798 §5.2.8: that of RFC 8200 §8.1 for IPv6, and
    /// the IPv4 analogue of RFC 768 for IPv4).
    @inlinable
    public static func pseudoHeaderSum(source: IPAddress, destination: IPAddress, length: Int) -> UInt32 {
        source.isIPv4
            ? Checksum.pseudoHeaderIPv4(source: source.ipv4, destination: destination.ipv4, protocol: .vrrp, length: length)
            : Checksum.pseudoHeaderIPv6(source: source, destination: destination, nextHeader: .vrrp, length: length)
    }

    /// Writes a whole advertisement at `base`, checksum included, and returns its length
    /// (`length(version:addressCount:isIPv6:)` bytes, which the caller has room for).
    /// `intervalCentiseconds` is rounded down to whole seconds for v2 (keepalived's v2
    /// `advert_int` is whole seconds); `authType`/`authData` are written for v2 only.
    /// `source` and `destination` are the IP header's: v3's checksum covers them.
    @inlinable @discardableResult
    public static func emit(into base: UnsafeMutableRawPointer, version: VRRPVersion, virtualRouterID: UInt8, priority: UInt8,
                            intervalCentiseconds: UInt16, addresses: some Collection<IPAddress>,
                            authType: VRRPAuthType = .none, authData: UInt64 = 0,
                            source: IPAddress, destination: IPAddress) -> Int {
        let isIPv6 = !source.isIPv4
        let count = addresses.count
        let length = length(version: version, addressCount: count, isIPv6: isIPv6)
        base.wireSetU8(version.rawValue << 4 | advertisementType, Offset.versionType)
        base.wireSetU8(virtualRouterID, Offset.virtualRouterID)
        base.wireSetU8(priority, Offset.priority)
        base.wireSetU8(UInt8(truncatingIfNeeded: count), Offset.addressCount)
        if version == .v2 {
            base.wireSetU8(authType.rawValue, Offset.authType)
            base.wireSetU8(UInt8(truncatingIfNeeded: intervalCentiseconds / 100), Offset.advertInterval)
        } else {
            base.wireSetU16(intervalCentiseconds & maxAdvertIntervalMask, Offset.maxAdvertInterval)
        }
        base.wireSetU16(0, Offset.checksum)
        var offset = Offset.addresses
        for address in addresses {
            if isIPv6 { base.wireSetIPv6(address, offset) } else { base.wireSetU32(address.ipv4, offset) }
            offset += isIPv6 ? 16 : 4
        }
        if version == .v2 { base.wireSetU64(authData, offset) }
        let initial = version == .v2 ? 0 : pseudoHeaderSum(source: source, destination: destination, length: length)
        base.wireSetU16(Checksum.finish(Checksum.sum(base, count: length, initial: initial)), Offset.checksum)
        return length
    }

    /// v2 PASS authentication data for `password`: its first eight bytes, zero-padded, as
    /// keepalived sends `auth_pass` (longer passwords are cut to eight bytes).
    public static func authData(password: String) -> UInt64 {
        var value: UInt64 = 0
        var bytes = Array(password.utf8.prefix(authDataLength))
        bytes += Array(repeating: 0, count: authDataLength - bytes.count)
        for byte in bytes { value = value << 8 | UInt64(byte) }
        return value
    }
}

/// The VRRP version, 4 bits of the first byte.
public enum VRRPVersion: UInt8, Hashable, Sendable, CustomStringConvertible {
    /// RFC 3768: IPv4 only, whole-second interval, optional simple-text authentication.
    case v2 = 2
    /// RFC 5798: IPv4 and IPv6, centisecond interval, pseudo-header checksum, no authentication.
    case v3 = 3

    public var description: String { String(rawValue) }
}

/// Why a VRRP advertisement's bytes were refused; each case is a counter by its name.
public enum VRRPError: Error, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Fewer bytes than the fixed header (or v2's header and authentication data).
    case truncated
    /// A version other than 2 or 3, or version 2 over IPv6.
    case badVersion
    /// A type other than advertisement (1).
    case badType
    /// The checksum does not verify.
    case badChecksum
    /// Whole addresses are present, but not as many as the count field says.
    case addressCountMismatch
    /// The addresses' bytes are not a whole number of addresses.
    case badLength

    /// The counter's name, as lvsadm and the logs print it.
    public var description: String {
        switch self {
        case .truncated: "truncated"
        case .badVersion: "bad_version"
        case .badType: "bad_type"
        case .badChecksum: "bad_checksum"
        case .addressCountMismatch: "address_count_mismatch"
        case .badLength: "bad_length"
        }
    }
}
