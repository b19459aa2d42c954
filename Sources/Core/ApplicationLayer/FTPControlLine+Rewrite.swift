import Wire

extension FTPControlLine {
    /// Writes the endpoint text a rewritten line carries in place of `Endpoint.start..<end`:
    /// `h1,h2,h3,h4,p1,p2` (PORT, 227), `<d>1<d>a.b.c.d<d>port<d>` or `<d>2<d>v6<d>port<d>`
    /// (EPRT, the IPv6 address as 8 uncompressed groups, RFC 4291 §2.2 form 1) or
    /// `<d><d><d>port<d>` (229). `out` holds at least `maximumEndpointText` bytes; returns
    /// the length written. An IPv6 address in a PORT or 227 line (which cannot carry one)
    /// writes nothing and returns 0.
    public static func writeEndpoint(_ kind: Kind, address: IPAddress, port: UInt16, delimiter: UInt8,
                                     into out: UnsafeMutableRawPointer) -> Int {
        var n = 0
        func byte(_ b: UInt8) { out.storeBytes(of: b, toByteOffset: n, as: UInt8.self); n += 1 }
        func number(_ v: UInt32) {
            var divisor: UInt32 = 10000
            var started = false
            while divisor > 0 {
                let digit = v / divisor % 10
                if digit != 0 || started || divisor == 1 {
                    byte(0x30 + UInt8(digit))
                    started = true
                }
                divisor /= 10
            }
        }
        func hex(_ v: UInt16) {
            var shift = 12
            var started = false
            while shift >= 0 {
                let digit = UInt8((v >> UInt16(shift)) & 0xF)
                if digit != 0 || started || shift == 0 {
                    byte(digit < 10 ? 0x30 + digit : 0x61 + digit - 10)
                    started = true
                }
                shift -= 4
            }
        }
        switch kind {
        case .port, .passiveReply:
            guard address.isIPv4 else { return 0 }
            let a = address.ipv4
            for shift in stride(from: 24, through: 0, by: -8) {
                number(a >> UInt32(shift) & 0xFF)
                byte(comma)
            }
            number(UInt32(port >> 8))
            byte(comma)
            number(UInt32(port & 0xFF))
        case .extendedPort:
            byte(delimiter)
            byte(address.isIPv4 ? 0x31 : 0x32)
            byte(delimiter)
            if address.isIPv4 {
                let a = address.ipv4
                for shift in stride(from: 24, through: 0, by: -8) {
                    number(a >> UInt32(shift) & 0xFF)
                    if shift > 0 { byte(dot) }
                }
            } else {
                for k in 0..<8 {
                    let word = k < 4 ? address.high : address.low
                    hex(UInt16(truncatingIfNeeded: word >> UInt64(48 - 16 * (k % 4))))
                    if k < 7 { byte(colon) }
                }
            }
            byte(delimiter)
            number(UInt32(port))
            byte(delimiter)
        case .extendedPassiveReply:
            byte(delimiter)
            byte(delimiter)
            byte(delimiter)
            number(UInt32(port))
            byte(delimiter)
        }
        return n
    }

    /// Replaces `endpoint`'s text in `payload` (of `length` bytes, with `room` writable bytes
    /// after it) by `text`, moving what follows; the change in length, or nil when a longer
    /// text does not fit in the room.
    public static func replace(_ endpoint: Endpoint, in payload: UnsafeMutableRawPointer, length: Int, room: Int,
                               with text: UnsafeRawBufferPointer) -> Int? {
        let old = endpoint.end - endpoint.start
        let diff = text.count - old
        guard diff <= room, endpoint.end <= length else { return nil }
        if diff != 0 {
            (payload + endpoint.start + text.count).copyMemory(from: payload + endpoint.end, byteCount: length - endpoint.end)
        }
        if let base = text.baseAddress { (payload + endpoint.start).copyMemory(from: base, byteCount: text.count) }
        return diff
    }
}
