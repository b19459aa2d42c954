import Core

// libFuzzer target: `lvsd realserver`'s IPIP decapsulator (`TunnelDecapsulation.of`), fed
// whole Ethernet frames as the AF_PACKET ring hands them over. Byte 0 chooses whether a
// director list is given; the rest is the frame. The inner datagram it returns must lie
// inside the frame, start at the outer payload and hold at least an IPv4 header; a frame
// from a director outside the list is never decapsulated.

let local: Set<UInt32> = [0xC612_0102, 0xC612_0002]  // 198.18.1.2, 198.18.0.2
let directors: Set<UInt32> = [0xC612_0101]            // 198.18.1.1

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 1 else { return 0 }
    let length = size - 1
    let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: max(length, 1), alignment: 8)
    defer { frame.deallocate() }
    frame.baseAddress!.copyMemory(from: data + 1, byteCount: length)
    let bytes = UnsafeMutableRawBufferPointer(start: frame.baseAddress, count: length)
    let restricted = data[0] & 1 != 0
    switch TunnelDecapsulation.of(bytes, localAddresses: local, directors: restricted ? directors : []) {
    case .inner(let inner):
        let start = inner.baseAddress! - frame.baseAddress!
        precondition(start >= 14 + 20 && start + inner.count <= length, "inner \(start)+\(inner.count) of a \(length)-byte frame")
        precondition(inner.count >= 20, "inner datagram of \(inner.count) bytes")
        if restricted {
            let source = UInt32(bigEndian: (frame.baseAddress! + 14 + 12).loadUnaligned(as: UInt32.self))
            precondition(directors.contains(source), "decapsulated a frame from \(source), no director")
        }
    case .foreign:
        precondition(restricted, "foreign without a director list")
    case .notForUs:
        break
    }
    return 0
}
