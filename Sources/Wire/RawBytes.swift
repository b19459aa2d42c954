/// The one door to raw memory in `Wire`.
///
/// Every view in this module reads and writes through these helpers, so byte order and
/// unaligned access are decided in one place. Views never outlive the buffer they were
/// made from: the caller owns the bytes (a ring slot, a pcap record, a test array) and
/// makes views inside the scope that borrows them.
extension UnsafeMutableRawPointer {
    // Safety: callers have proven `offset + size <= length` once, in a validating initializer.
    @inline(__always) @usableFromInline
    func wireU8(_ offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }

    @inline(__always) @usableFromInline
    func wireSetU8(_ value: UInt8, _ offset: Int) { storeBytes(of: value, toByteOffset: offset, as: UInt8.self) }

    @inline(__always) @usableFromInline
    func wireU16(_ offset: Int) -> UInt16 { UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }

    @inline(__always) @usableFromInline
    func wireSetU16(_ value: UInt16, _ offset: Int) { storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self) }

    @inline(__always) @usableFromInline
    func wireU32(_ offset: Int) -> UInt32 { UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }

    @inline(__always) @usableFromInline
    func wireSetU32(_ value: UInt32, _ offset: Int) { storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self) }

    @inline(__always) @usableFromInline
    func wireU64(_ offset: Int) -> UInt64 { UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }

    @inline(__always) @usableFromInline
    func wireSetU64(_ value: UInt64, _ offset: Int) { storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self) }

    @inline(__always) @usableFromInline
    func wireMAC(_ offset: Int) -> MACAddress {
        MACAddress(rawValue: UInt64(wireU16(offset)) << 32 | UInt64(wireU32(offset + 2)))
    }

    @inline(__always) @usableFromInline
    func wireSetMAC(_ value: MACAddress, _ offset: Int) {
        wireSetU16(UInt16(truncatingIfNeeded: value.rawValue >> 32), offset)
        wireSetU32(UInt32(truncatingIfNeeded: value.rawValue), offset + 2)
    }

    @inline(__always) @usableFromInline
    func wireIPv6(_ offset: Int) -> IPAddress {
        IPAddress(high: wireU64(offset), low: wireU64(offset + 8))
    }

    @inline(__always) @usableFromInline
    func wireSetIPv6(_ value: IPAddress, _ offset: Int) {
        wireSetU64(value.high, offset)
        wireSetU64(value.low, offset + 8)
    }
}
