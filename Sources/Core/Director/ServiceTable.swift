import Wire

/// Finds a virtual service (or a director address) from a packet's destination on the
/// new-connection path, without `Hasher`'s SipHash: a fixed open-addressed table built with
/// the snapshot, probed linearly. Services are few and change only with the configuration.
@usableFromInline
struct AddressTable {
    @usableFromInline struct Slot {
        var address: IPAddress = .zero
        var port: UInt16 = 0
        var proto: UInt8 = 0
        var used = false
        var value: Int32 = -1
    }
    @usableFromInline var slots: [Slot]
    @usableFromInline let mask: Int

    /// `entries` maps (proto, address, port) to a value; use proto 0 and port 0 for address-only sets.
    init(_ entries: [(proto: UInt8, address: IPAddress, port: UInt16, value: Int)]) {
        var size = 8
        while size < entries.count * 4 { size <<= 1 }
        mask = size - 1
        slots = Array(repeating: Slot(), count: size)
        for e in entries where lookup(e.proto, e.address, e.port) == nil {
            var i = Self.hash(e.proto, e.address, e.port) & mask
            while slots[i].used { i = (i + 1) & mask }
            slots[i] = Slot(address: e.address, port: e.port, proto: e.proto, used: true, value: Int32(e.value))
        }
    }

    @inline(__always) @usableFromInline
    static func hash(_ proto: UInt8, _ a: IPAddress, _ port: UInt16) -> Int {
        let m = (a.low ^ a.high.rotateLeft32() ^ UInt64(port) << 48 ^ UInt64(proto) << 40)
            .multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        return Int(truncatingIfNeeded: m.high ^ m.low)
    }

    @inline(__always) @usableFromInline
    func lookup(_ proto: UInt8, _ address: IPAddress, _ port: UInt16) -> Int? {
        var i = Self.hash(proto, address, port) & mask
        while slots[i].used {
            let s = slots[i]
            if s.port == port && s.proto == proto && s.address == address { return Int(s.value) }
            i = (i + 1) & mask
        }
        return nil
    }

    @inline(__always) @usableFromInline
    func contains(_ address: IPAddress) -> Bool { lookup(0, address, 0) != nil }
}

extension UInt64 {
    @inline(__always) @usableFromInline
    func rotateLeft32() -> UInt64 { self << 32 | self >> 32 }
}
