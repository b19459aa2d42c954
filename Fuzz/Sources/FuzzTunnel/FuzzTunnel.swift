import Core
import Wire

// libFuzzer target: `lvsd realserver`'s decapsulator (`TunnelDecapsulation.of`: IPIP,
// IPv6-in-IP, GRE and GUE, over IPv4 or IPv6), fed whole Ethernet frames as the AF_PACKET
// ring hands them over. Byte 0 chooses whether a director list is given (bit 0) and whether
// GUE is on (bit 1); the rest is the frame. The inner datagram it returns must lie inside the
// frame after at least an outer IPv4 header and hold at least an IPv4 header (an IPv6 one when
// it says version 6); a frame from a director outside the list is never decapsulated.

let local: Set<IPAddress> = [IPAddress("198.18.1.2")!, IPAddress("198.18.0.2")!, IPAddress("2001:db8:1::2")!]
let directors: Set<IPAddress> = [IPAddress("198.18.1.1")!, IPAddress("2001:db8:1::1")!]
let guePort: UInt16 = 6080

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 1 else { return 0 }
    let length = size - 1
    let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: max(length, 1), alignment: 8)
    defer { frame.deallocate() }
    frame.baseAddress!.copyMemory(from: data + 1, byteCount: length)
    let bytes = UnsafeMutableRawBufferPointer(start: frame.baseAddress, count: length)
    let restricted = data[0] & 1 != 0
    let gue = data[0] & 2 != 0
    switch TunnelDecapsulation.of(bytes, localAddresses: local, directors: restricted ? directors : [],
                                  guePort: gue ? guePort : 0) {
    case .inner(let inner):
        let start = inner.baseAddress! - frame.baseAddress!
        precondition(start >= 14 + 20 && start + inner.count <= length, "inner \(start)+\(inner.count) of a \(length)-byte frame")
        let version = inner.count > 0 ? inner[0] >> 4 : 0
        precondition(inner.count >= (version == 6 ? 40 : 20), "inner datagram of \(inner.count) bytes, version \(version)")
        if restricted {
            // Decapsulated, so the Ethernet header (tags included) parsed.
            let ethernet = try! EthernetFrame(frame.baseAddress!, length: length)
            let outer = ethernet.payload
            let source: IPAddress
            if ethernet.etherType == .ipv6 {
                let high = UInt64(bigEndian: (outer + 8).loadUnaligned(as: UInt64.self))
                let low = UInt64(bigEndian: (outer + 16).loadUnaligned(as: UInt64.self))
                source = IPAddress(high: high, low: low)
            } else {
                source = IPAddress(ipv4: UInt32(bigEndian: (outer + 12).loadUnaligned(as: UInt32.self)))
            }
            precondition(directors.contains(source), "decapsulated a frame from \(source), no director")
        }
    case .foreign:
        precondition(restricted, "foreign without a director list")
    case .notForUs:
        break
    }
    return 0
}
