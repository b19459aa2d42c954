/// The one door to raw memory in `Wire`.
///
/// Every view in this module reads and writes through these helpers, so byte order and
/// unaligned access are decided in one place. Views never outlive the buffer they were
/// made from: the caller owns the bytes (a ring slot, a pcap record, a test array) and
/// makes views inside the scope that borrows them.
///
/// Each view keeps its `base` internal, so no other module reads or writes a field by
/// offset. The one pointer a view hands out is where the next layer starts (`payload`,
/// `upper`): another module needs it to make the next view, and nothing else.
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

/// Bytes no protocol view interprets — a payload, or a run of headers copied whole — for
/// code that moves bytes without reading them (cutting a super-frame into segments).
public struct RawBytes {
    @usableFromInline let base: UnsafeMutableRawPointer
    public let count: Int

    /// `count` bytes the caller owns from `base`.
    @inlinable
    public init(_ base: UnsafeMutableRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    /// Where the bytes start, to make a protocol view over them.
    @inlinable public var start: UnsafeMutableRawPointer { base }

    /// The `length` bytes from `offset` on; the caller keeps `offset + length <= count`.
    @inlinable
    public func slice(from offset: Int, count length: Int) -> RawBytes {
        RawBytes(base + offset, count: length)
    }

    /// Copies all of `source` to the start of these bytes (memmove: the two may overlap).
    /// The caller keeps `source.count <= count`.
    @inlinable
    public func copy(from source: RawBytes) {
        // Safety: both ranges are the callers' own, bounded by their counts; copyMemory is a memmove.
        base.copyMemory(from: source.base, byteCount: source.count)
    }
}
