import Foundation
import PacketIO
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// PacketSocket, RXRing and TXRing against the real kernel: two network namespaces joined
/// by a veth pair (addresses in 198.18.0.0/15), frames sent with the TX ring at one end and
/// received with the RX ring at the other. Root only; nothing in the root namespace is
/// touched, and the namespaces are deleted whether the test passes or fails.
@Suite(.serialized, .enabled(if: getuid() == 0,
    "PacketRingTests need root: they create network namespaces and a veth pair (CI runs as root)"))
struct PacketRingTests {
    @Test func txRingFramesArriveWholeOnThePeerRXRing() async throws {
        let lab = try VethLab()
        defer { lab.tearDown() }
        let frameCount = 1000

        let report = try await NamespaceLab.onNamespaceThread(named: "PacketRingTests") { () throws -> RingReport in
            try NetworkNamespace.enterOnCurrentThread(named: lab.namespaceA)
            // Rings smaller than the traffic, so both wrap several times: 128 TX slots for
            // 1000 frames, 512 KiB of RX blocks for ~737 KB.
            var sendOnly = PacketSocket.Configuration()
            sendOnly.receiveRing = nil
            sendOnly.transmitRing = RingGeometry(blockSize: 1 << 16, blockCount: 4, frameSize: 2048)
            let sender = try PacketSocket(interface: lab.interfaceA, configuration: sendOnly)

            try NetworkNamespace.enterOnCurrentThread(named: lab.namespaceB)
            var receiveOnly = PacketSocket.Configuration()
            receiveOnly.transmitRing = nil
            receiveOnly.receiveRing = RingGeometry(
                blockSize: 1 << 16, blockCount: 8, frameSize: 2048, retireBlockTimeoutMilliseconds: 2)
            receiveOnly.receiveBufferBytes = 4 << 20
            let receiver = try PacketSocket(interface: lab.interfaceB, configuration: receiveOnly)

            return try exchange(frameCount: frameCount, sender: sender, receiver: receiver) { sequence, slot in
                TestFrame.write(sequence: sequence, into: slot, destination: lab.macB, source: lab.macA)
            }
        }

        let expectedBytes = (0..<frameCount).reduce(0) { $0 + TestFrame.length(sequence: $1) }
        #expect(report.sent == frameCount)
        #expect(report.received == frameCount, "frames sent \(report.sent), received \(report.received)")
        #expect(report.receivedBytes == expectedBytes)
        #expect(report.duplicates == 0)
        #expect(report.corrupt == 0)
        #expect(report.truncated == 0)
        #expect(report.checksumNotReady == 0, "raw frames from a TX ring carry no offload state")
        #expect(report.ringDrops == 0)
        print("PacketRingTests: TX ring sent \(report.sent) frames, RX ring received \(report.received) frames, \(report.receivedBytes) bytes (expected \(expectedBytes)), \(report.otherFrames) unrelated frames")
    }

    /// The kernel's own UDP through veth leaves the checksum to offload: the RX ring must
    /// flag those frames TP_STATUS_CSUMNOTREADY, which a forwarder has to complete.
    @Test func kernelUDPThroughVethIsFlaggedChecksumNotReady() async throws {
        let lab = try VethLab()
        defer { lab.tearDown() }
        let datagrams = 100

        let (flagged, seen) = try await NamespaceLab.onNamespaceThread(named: "PacketRingTests") { () throws -> (Int, Int) in
            try NetworkNamespace.enterOnCurrentThread(named: lab.namespaceB)
            var receiveOnly = PacketSocket.Configuration()
            receiveOnly.transmitRing = nil
            receiveOnly.receiveRing = RingGeometry(
                blockSize: 1 << 16, blockCount: 8, frameSize: 2048, retireBlockTimeoutMilliseconds: 2)
            let receiver = try PacketSocket(interface: lab.interfaceB, configuration: receiveOnly)
            let rx = try required(receiver.receiveRing, "an RX ring")

            try NetworkNamespace.enterOnCurrentThread(named: lab.namespaceA)
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard udp >= 0 else { throw ThreadFailure(description: "cannot open a UDP socket: \(String(cString: strerror(errno)))") }
            defer { close(udp) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(9).bigEndian
            address.sin_addr.s_addr = inet_addr(lab.addressB)
            let payload = [UInt8](repeating: 0x5A, count: 200)
            for _ in 0..<datagrams {
                let sent = withUnsafePointer(to: &address) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(udp, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
                guard sent == payload.count else { throw ThreadFailure(description: "sendto failed: \(String(cString: strerror(errno)))") }
            }

            var flagged = 0, seen = 0
            let deadline = Date().addingTimeInterval(3)
            while seen < datagrams && Date() < deadline {
                let frames = rx.receive { frame in
                    guard TestFrame.isUDPToDiscard(frame.bytes) else { return }
                    seen += 1
                    if frame.checksumNotReady { flagged += 1 }
                }
                if frames == 0 { _ = try receiver.wait(for: .readable, timeoutMilliseconds: 20) }
            }
            return (flagged, seen)
        }
        #expect(seen == datagrams)
        #expect(flagged == datagrams, "\(flagged) of \(seen) UDP frames were flagged TP_STATUS_CSUMNOTREADY")
    }

    /// Two sockets in one PACKET_FANOUT hash group share the flows between them, each frame
    /// delivered once.
    @Test func fanoutHashGroupSplitsFlowsBetweenTwoSockets() async throws {
        let lab = try VethLab()
        defer { lab.tearDown() }
        let frameCount = 512

        let (counts, sent) = try await NamespaceLab.onNamespaceThread(named: "PacketRingTests") { () throws -> ([Int], Int) in
            try NetworkNamespace.enterOnCurrentThread(named: lab.namespaceA)
            var sendOnly = PacketSocket.Configuration()
            sendOnly.receiveRing = nil
            let sender = try PacketSocket(interface: lab.interfaceA, configuration: sendOnly)
            let tx = try required(sender.transmitRing, "a TX ring")

            try NetworkNamespace.enterOnCurrentThread(named: lab.namespaceB)
            var member = PacketSocket.Configuration()
            member.transmitRing = nil
            member.receiveRing = RingGeometry(
                blockSize: 1 << 16, blockCount: 16, frameSize: 2048, retireBlockTimeoutMilliseconds: 2)
            member.fanout = PacketSocket.Fanout(group: UInt16(truncatingIfNeeded: getpid()), mode: .hash)
            let members = try [PacketSocket(interface: lab.interfaceB, configuration: member),
                               PacketSocket(interface: lab.interfaceB, configuration: member)]

            var counts = [0, 0]
            var sent = 0
            func drain() throws {
                // At most one lap of each ring, so a ring that never frees a block fails
                // the test at its deadline instead of spinning.
                for (index, socket) in members.enumerated() {
                    for _ in 0..<16 {
                        let frames = socket.receiveRing!.receive { frame in
                            if TestFrame.isFanoutProbe(frame.bytes) { counts[index] += 1 }
                        }
                        if frames == 0 { break }
                    }
                }
            }
            while sent < frameCount {
                if tx.enqueue({ slot in
                    TestFrame.writeUDPProbe(flow: sent, into: slot, destination: lab.macB, source: lab.macA)
                }) {
                    sent += 1
                    if sent % 32 == 0 { try tx.flush() }
                } else {
                    try tx.flush()
                    _ = try sender.wait(for: .writable, timeoutMilliseconds: 20)
                }
            }
            while !(try tx.flush()) { _ = try sender.wait(for: .writable, timeoutMilliseconds: 20) }
            let deadline = Date().addingTimeInterval(3)
            while counts[0] + counts[1] < frameCount && Date() < deadline {
                try drain()
                _ = try members[0].wait(for: .readable, timeoutMilliseconds: 5)
            }
            try drain()
            return (counts, sent)
        }
        #expect(sent == frameCount)
        #expect(counts[0] + counts[1] == frameCount, "fanout members received \(counts)")
        #expect(counts[0] > 0 && counts[1] > 0, "hash fanout gave every flow to one socket: \(counts)")
    }

    /// The headroom the kernel leaves before a received frame, for each ring version and
    /// `PACKET_RESERVE`, with virtio-net headers as lvsd opens its rings: what
    /// `RingVersion.headroom` computes, which sizes lvsd's reserve (none after a V3 frame).
    @Test(arguments: [(RingVersion.v2, 32), (.v3, 0), (.v3, 32), (.v3, 112)])
    func receivedFramesHaveTheHeadroomTheReserveBuys(_ version: RingVersion, _ reserve: Int) async throws {
        let lab = try VethLab(tag: "hr")
        defer { lab.tearDown() }
        let seen = try await NamespaceLab.onNamespaceThread(named: "PacketRingTests") { () throws -> [Int] in
            try NetworkNamespace.enterOnCurrentThread(named: lab.namespaceA)
            var sendOnly = PacketSocket.Configuration()
            sendOnly.receiveRing = nil
            sendOnly.transmitRing = RingGeometry(blockSize: 1 << 16, blockCount: 1, frameSize: 2048)
            let sender = try PacketSocket(interface: lab.interfaceA, configuration: sendOnly)
            try NetworkNamespace.enterOnCurrentThread(named: lab.namespaceB)
            var receiveOnly = PacketSocket.Configuration()
            receiveOnly.version = version
            receiveOnly.virtioNetHeader = true
            receiveOnly.reserve = reserve
            receiveOnly.transmitRing = nil
            receiveOnly.receiveRing = version == .v2 ? .receiveDefault
                : RingGeometry(blockSize: 1 << 16, blockCount: 4, frameSize: 2048, retireBlockTimeoutMilliseconds: 2)
            let receiver = try PacketSocket(interface: lab.interfaceB, configuration: receiveOnly)
            let tx = try required(sender.transmitRing, "a TX ring")
            let rx = try required(receiver.receiveRing, "an RX ring")
            _ = tx.enqueue { TestFrame.write(sequence: 7, into: $0, destination: lab.macB, source: lab.macA) }
            try tx.flush()
            var found: [Int] = []
            let deadline = Date().addingTimeInterval(3)
            while found.isEmpty && Date() < deadline {
                _ = try receiver.wait(for: .readable, timeoutMilliseconds: 10)
                _ = rx.receive { frame in
                    if TestFrame.sequence(frame.bytes) == 7 { found = [frame.headroom, frame.tailroom] }
                }
            }
            return found
        }
        #expect(seen.first == version.headroom(reserve: reserve, virtioNetHeader: true), "headroom, tailroom: \(seen)")
        if version == .v3 { #expect(seen.last == 0) }
    }

    @Test func aMissingInterfaceIsNamedInTheError() throws {
        var error: PacketIOError?
        do { _ = try PacketSocket(interface: "lvst-missing0") } catch let caught { error = caught }
        let message = try #require(error).message
        #expect(message.hasPrefix("cannot find interface lvst-missing0: No such device"), "\(message)")
    }
}

/// Ring geometry is checked before any system call, so these run without root.
@Suite struct PacketRingGeometryTests {
    @Test func blockSizeMustBeWholePages() {
        var configuration = PacketSocket.Configuration()
        configuration.receiveRing = RingGeometry(blockSize: 1000, blockCount: 4, frameSize: 256)
        #expect(throws: PacketIOError(message:
            "cannot set up the RX ring on eth9: block size 1000 must be a positive multiple of the page size (\(sysconf(Int32(_SC_PAGESIZE))))")) {
            _ = try PacketSocket(interface: "eth9", configuration: configuration)
        }
    }

    @Test func frameSizeMustBeAlignedAndHoldTheHeader() {
        var configuration = PacketSocket.Configuration()
        configuration.transmitRing = RingGeometry(blockSize: 1 << 16, blockCount: 4, frameSize: 64)
        #expect(throws: PacketIOError(message:
            "cannot set up the TX ring on eth9: frame size 64 must be a multiple of 16 larger than the 68-byte frame header")) {
            _ = try PacketSocket(interface: "eth9", configuration: configuration)
        }
        configuration.transmitRing = RingGeometry(blockSize: 1 << 16, blockCount: 4, frameSize: 1000)
        #expect(throws: PacketIOError.self) {
            _ = try PacketSocket(interface: "eth9", configuration: configuration)
        }
    }

    @Test func interfaceNamesAreAtMostFifteenCharacters() {
        #expect(throws: PacketIOError(message:
            "cannot open AF_PACKET socket on 'sixteen-chars-xx': an interface name has 1 to 15 characters")) {
            _ = try PacketSocket(interface: "sixteen-chars-xx")
        }
    }

    @Test func defaultGeometriesHoldFullSizeFrames() {
        #expect(RingGeometry.transmitDefault.frameCount == 2048)
        #expect(RingGeometry.transmitDefault.frameSize - 48 >= 1514)
        #expect(RingGeometry.receiveDefault.byteCount == 16 << 20)
    }
}

// MARK: - Exchange

private struct RingReport: Sendable {
    var sent = 0
    var received = 0
    var receivedBytes = 0
    var duplicates = 0
    var corrupt = 0
    var truncated = 0
    var checksumNotReady = 0
    var otherFrames = 0
    var ringDrops = 0
}

/// Sends `frameCount` frames written by `write` through the sender's TX ring in batches of
/// 64 while draining the receiver's RX ring, then waits (at most 3 s) for the rest.
private func exchange(
    frameCount: Int, sender: PacketSocket, receiver: PacketSocket,
    write: (Int, UnsafeMutableRawBufferPointer) -> Int
) throws -> RingReport {
    let tx = try required(sender.transmitRing, "a TX ring")
    let rx = try required(receiver.receiveRing, "an RX ring")
    _ = try receiver.statistics()  // reset the kernel's counters
    var report = RingReport()
    var seen = [Bool](repeating: false, count: frameCount)

    // At most one lap of the ring per call, so a ring that never frees a block fails the
    // test at its deadline instead of spinning.
    func drain() {
        for _ in 0..<rx.geometry.blockCount {
            let frames = rx.receive { frame in
                guard let sequence = TestFrame.sequence(frame.bytes) else {
                    report.otherFrames += 1
                    return
                }
                if frame.isTruncated { report.truncated += 1 }
                if frame.checksumNotReady { report.checksumNotReady += 1 }
                guard sequence < frameCount, TestFrame.matches(frame.bytes, sequence: sequence) else {
                    report.corrupt += 1
                    return
                }
                if seen[sequence] {
                    report.duplicates += 1
                    return
                }
                seen[sequence] = true
                report.received += 1
                report.receivedBytes += frame.bytes.count
            }
            if frames == 0 { break }
        }
    }

    let deadline = Date().addingTimeInterval(5)
    while report.sent < frameCount && Date() < deadline {
        if tx.enqueue({ write(report.sent, $0) }) {
            report.sent += 1
            if report.sent % 64 == 0 {
                try tx.flush()
                drain()
            }
        } else {
            try tx.flush()
            _ = try sender.wait(for: .writable, timeoutMilliseconds: 20)
            drain()
        }
    }
    while tx.queuedFrames > 0 && Date() < deadline {
        if !(try tx.flush()) { _ = try sender.wait(for: .writable, timeoutMilliseconds: 20) }
    }
    let settle = Date().addingTimeInterval(3)
    while report.received < report.sent && Date() < settle {
        drain()
        _ = try receiver.wait(for: .readable, timeoutMilliseconds: 10)
    }
    drain()
    report.ringDrops = Int(try receiver.statistics().drops)
    return report
}

/// A failure on the namespace thread, where Swift Testing's `#require` has no test to
/// record into: thrown back to the test instead.
private struct ThreadFailure: Error, CustomStringConvertible {
    var description: String
}

private func required<T>(_ value: T?, _ what: String) throws -> T {
    guard let value else { throw ThreadFailure(description: "the socket has no \(what)") }
    return value
}

// MARK: - Frames

/// Test frames: EtherType 0x88B5 (IEEE local experimental), "LVST", a 32-bit sequence
/// number, then a pattern derived from it; lengths vary from 60 to 1514 bytes.
private enum TestFrame {
    static let etherType: UInt16 = 0x88B5
    static let magic: [UInt8] = Array("LVST".utf8)

    static func length(sequence: Int) -> Int { 60 + (sequence * 97) % 1455 }

    static func byte(_ index: Int, sequence: Int) -> UInt8 { UInt8(truncatingIfNeeded: index &* 31 &+ sequence) }

    static func write(sequence: Int, into slot: UnsafeMutableRawBufferPointer, destination: [UInt8], source: [UInt8]) -> Int {
        let length = length(sequence: sequence)
        for index in 0..<6 {
            slot[index] = destination[index]
            slot[6 + index] = source[index]
        }
        slot[12] = UInt8(etherType >> 8)
        slot[13] = UInt8(etherType & 0xFF)
        for index in 0..<4 { slot[14 + index] = magic[index] }
        for index in 0..<4 { slot[18 + index] = UInt8(truncatingIfNeeded: sequence >> (24 - 8 * index)) }
        for index in 22..<length { slot[index] = byte(index, sequence: sequence) }
        return length
    }

    /// The sequence number of one of our frames, or nil for any other frame.
    static func sequence(_ bytes: UnsafeMutableRawBufferPointer) -> Int? {
        guard bytes.count >= 22, bytes[12] == UInt8(etherType >> 8), bytes[13] == UInt8(etherType & 0xFF),
              bytes[14] == magic[0], bytes[15] == magic[1], bytes[16] == magic[2], bytes[17] == magic[3]
        else { return nil }
        return (18..<22).reduce(0) { $0 << 8 | Int(bytes[$1]) }
    }

    static func matches(_ bytes: UnsafeMutableRawBufferPointer, sequence: Int) -> Bool {
        guard bytes.count == length(sequence: sequence) else { return false }
        for index in 22..<bytes.count where bytes[index] != byte(index, sequence: sequence) { return false }
        return true
    }

    /// IPv4/UDP to 198.18.77.99 (nobody's address) from 198.18.77.1, source port varying by
    /// flow, destination port 4789: enough for the kernel's flow hash to spread flows.
    static func writeUDPProbe(flow: Int, into slot: UnsafeMutableRawBufferPointer, destination: [UInt8], source: [UInt8]) -> Int {
        let header: [UInt8] = destination + source + [0x08, 0x00,
            0x45, 0x00, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
            198, 18, 77, 1, 198, 18, 77, 99,
            UInt8(truncatingIfNeeded: (20000 + flow) >> 8), UInt8(truncatingIfNeeded: 20000 + flow),
            0x12, 0xB5, 0x00, 0x0C, 0x00, 0x00,
            0x4C, 0x56, 0x53, 0x54]
        for (index, value) in header.enumerated() { slot[index] = value }
        for index in header.count..<60 { slot[index] = 0 }
        return 60
    }

    static func isFanoutProbe(_ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        bytes.count >= 46 && bytes[12] == 0x08 && bytes[13] == 0x00 && bytes[23] == 17
            && bytes[33] == 99 && bytes[36] == 0x12 && bytes[37] == 0xB5
    }

    /// The kernel's UDP datagrams to port 9 (discard) in the checksum test.
    static func isUDPToDiscard(_ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard bytes.count >= 42, bytes[12] == 0x08, bytes[13] == 0x00, bytes[23] == 17 else { return false }
        let headerLength = Int(bytes[14] & 0x0F) * 4
        guard bytes.count >= 14 + headerLength + 8 else { return false }
        return bytes[14 + headerLength + 2] == 0 && bytes[14 + headerLength + 3] == 9
    }
}

// MARK: - Namespaces

/// Two namespaces `lvst-<pid>-labring-a` and `-b` (a `NamespaceLab`) with a veth pair between
/// them, fixed MACs, 198.18.77.1/24 and 198.18.77.2/24, IPv6 off (no autoconfiguration
/// chatter), and a permanent neighbour entry so A never has to ARP. Created entirely inside
/// the namespaces (`ip -n`): the root namespace is never touched.
private struct VethLab: Sendable {
    let lab: NamespaceLab
    let namespaceA: String
    let namespaceB: String
    let interfaceA: String
    let interfaceB: String
    let macA: [UInt8] = [0x02, 0x00, 0xC6, 0x12, 0x4D, 0x01]
    let macB: [UInt8] = [0x02, 0x00, 0xC6, 0x12, 0x4D, 0x02]
    let addressA = "198.18.77.1"
    let addressB = "198.18.77.2"

    /// `tag` goes into every name (at most 3 characters: an interface name has 15).
    init(tag: String = "") throws {
        let pid = getpid()
        let (interfaceA, interfaceB) = ("lvst\(pid)\(tag)a", "lvst\(pid)\(tag)b")
        let a: NamespaceLab.PairEnd = (interfaceA, Self.text(macA), "\(addressA)/24")
        let b: NamespaceLab.PairEnd = (interfaceB, Self.text(macB), "\(addressB)/24")
        let neighbour = addressB
        lab = try NamespaceLab(tag: "ring\(tag)") { lab in
            try lab.buildPair(a, b)
            try Command.ip(["-n", lab.namespace("a"), "neigh", "replace", neighbour, "lladdr", b.mac, "dev", interfaceA, "nud", "permanent"])
        }
        (self.interfaceA, self.interfaceB) = (interfaceA, interfaceB)
        (namespaceA, namespaceB) = (lab.namespace("a"), lab.namespace("b"))
    }

    /// Deletes both namespaces (and with them the veth pair); safe to call twice.
    func tearDown() { lab.tearDown() }

    private static func text(_ mac: [UInt8]) -> String {
        mac.map { String(format: "%02x", $0) }.joined(separator: ":")
    }

}
