import Foundation
import PacketBuilder
import PacketIO
import TestSupport
import Testing
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// `FanoutProgram` attached to a real PACKET_FANOUT_CBPF group: three sockets on one end of a
/// veth pair (namespaces `lvst-<pid>-labmw-a` and `-b`), frames sent from the other end, and
/// every frame must arrive on the member the interpreter in FanoutProgramTests predicts.
/// This pins down what the interpreter assumes about the kernel: offsets from the network
/// header, the EtherType from SKF_AD_PROTOCOL, members numbered in join order, ARP to 0.
@Suite(.serialized, .enabled(if: getuid() == 0,
    "FanoutKernelTests need root: they create network namespaces and a veth pair (CI runs as root)"))
struct FanoutKernelTests {
    static let vip4 = "198.18.77.10", vip6 = "2001:db8:77::10", lip4 = "198.18.77.100"
    static let marker: [UInt8] = Array("MWKT".utf8)

    @Test func eachFrameReachesTheMemberTheProgramNames() async throws {
        let lab = try FanoutLab()
        defer { lab.tearDown() }
        let members = 3
        let program = try FanoutProgram(workers: members, virtualAddresses: [IPAddress(Self.vip4)!, IPAddress(Self.vip6)!],
                                        localAddresses: [IPAddress(Self.lip4)!])
        // The frames: client → VIP (v4 and v6), NAT replies, FullNAT replies to the LIP, each
        // tagged with its sequence number; then ARP, which must all go to member 0.
        var frames: [[UInt8]] = []
        var expected: [Int] = []
        var state: UInt64 = 2024
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 17
        }
        for i in 0..<240 {
            let cport = UInt16(1024 + next() % 60000)
            let client4 = "198.18.\(128 + next() % 100).\(1 + next() % 250)"
            let client6 = "2001:db8:8000::\(String(1 + next() % 0xFFFE, radix: 16))"
            let eth = Frame.ethernet(destination: lab.macB, source: lab.macA)
            let payload = Self.marker + withUnsafeBytes(of: UInt32(i).bigEndian, Array.init)
            let frame: Frame
            switch i % 4 {
            case 0: frame = eth.ipv4(source: client4, destination: Self.vip4).tcp(sourcePort: cport, destinationPort: 80, flags: [.syn])
            case 1: frame = eth.ipv4(source: "198.18.77.11", destination: client4).tcp(sourcePort: 8080, destinationPort: cport, flags: [.ack])
            case 2: frame = eth.ipv4(source: "198.18.77.11", destination: Self.lip4).udp(sourcePort: 8080, destinationPort: cport)
            default: frame = eth.ipv6(source: client6, destination: Self.vip6).tcp(sourcePort: cport, destinationPort: 80, flags: [.syn])
            }
            let bytes = frame.payload(payload).bytes
            frames.append(bytes)
            expected.append(ClassicBPF.worker(program, bytes))
        }
        let arpCount = 12
        for i in 0..<arpCount {
            frames.append(Frame.ethernet(destination: .broadcast, source: lab.macA)
                .arp(operation: 1, senderMAC: lab.macA, senderIP: "198.18.77.\(200 + i)", targetMAC: .zero, targetIP: Self.vip4).bytes)
        }
        let planned = expected.reduce(into: [Int](repeating: 0, count: members)) { $0[$1] += 1 }
        #expect(planned.allSatisfy { $0 > 0 }, "the tuples should spread over all members: \(planned)")
        let toSend = frames

        let report = try await NamespaceLab.onNamespaceThread(named: "FanoutKernelTests") { () throws -> KernelReport in
            try NetworkNamespace.enterOnCurrentThread(named: lab.namespaceA)
            var sendOnly = PacketSocket.Configuration()
            sendOnly.receiveRing = nil
            let sender = try PacketSocket(interface: lab.interfaceA, configuration: sendOnly)
            let tx = try requireRing(sender.transmitRing)

            try NetworkNamespace.enterOnCurrentThread(named: lab.namespaceB)
            var member = PacketSocket.Configuration()
            member.transmitRing = nil
            member.receiveRing = RingGeometry(blockSize: 1 << 16, blockCount: 8, frameSize: 2048, retireBlockTimeoutMilliseconds: 2)
            member.fanout = .newGroup(mode: .program)
            var sockets = [try PacketSocket(interface: lab.interfaceB, configuration: member)]
            let group = try requireRing(sockets[0].fanoutGroup)
            member.fanout = PacketSocket.Fanout(group: group, mode: .program)
            for _ in 1..<members { sockets.append(try PacketSocket(interface: lab.interfaceB, configuration: member)) }
            try sockets[0].attachFanoutProgram(program)

            var report = KernelReport(members: members)
            func drain() {
                for (index, socket) in sockets.enumerated() {
                    for _ in 0..<8 {
                        let n = socket.receiveRing!.receive { frame in report.record(frame.bytes, member: index) }
                        if n == 0 { break }
                    }
                }
            }
            for bytes in toSend {
                while !tx.enqueue({ slot in
                    for (i, byte) in bytes.enumerated() { slot[i] = byte }
                    return bytes.count
                }) {
                    _ = try tx.flush()
                    _ = try sender.wait(for: .writable, timeoutMilliseconds: 20)
                }
                report.sent += 1
                if report.sent % 32 == 0 { _ = try tx.flush(); drain() }
            }
            while !(try tx.flush()) { _ = try sender.wait(for: .writable, timeoutMilliseconds: 20) }
            let deadline = Date().addingTimeInterval(3)
            while report.marked.count + report.arp.reduce(0, +) < toSend.count && Date() < deadline {
                drain()
                _ = try sockets[0].wait(for: .readable, timeoutMilliseconds: 5)
            }
            drain()
            return report
        }
        #expect(report.sent == frames.count)
        #expect(report.marked.count == expected.count, "received \(report.marked.count) of \(expected.count) marked frames")
        var wrong: [String] = []
        for (sequence, member) in report.marked where expected[sequence] != member {
            wrong.append("frame \(sequence) (kind \(sequence % 4)) on member \(member), program says \(expected[sequence])")
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
        #expect(report.duplicates == 0)
        #expect(report.arp == [arpCount] + [Int](repeating: 0, count: members - 1), "ARP per member: \(report.arp)")
        let perMember = report.marked.values.reduce(into: [Int](repeating: 0, count: members)) { $0[$1] += 1 }
        #expect(perMember == planned, "frames per member \(perMember), planned \(planned)")
    }
}

private struct KernelReport: Sendable {
    var sent = 0
    /// Sequence number → the member that received it.
    var marked: [Int: Int] = [:]
    var duplicates = 0
    var arp: [Int]

    init(members: Int) { arp = [Int](repeating: 0, count: members) }

    mutating func record(_ bytes: UnsafeMutableRawBufferPointer, member: Int) {
        let frame = Array(bytes)
        if frame.count >= 42, frame[12] == 0x08, frame[13] == 0x06, frame[28] == 198, frame[29] == 18, frame[30] == 77,
           frame[31] >= 200 {
            arp[member] += 1
            return
        }
        let marker = FanoutKernelTests.marker
        guard frame.count >= 8, let at = (0...(frame.count - 8)).last(where: { Array(frame[$0..<$0 + 4]) == marker }) else { return }
        let sequence = Int(frame[at + 4]) << 24 | Int(frame[at + 5]) << 16 | Int(frame[at + 6]) << 8 | Int(frame[at + 7])
        if marked[sequence] != nil { duplicates += 1 } else { marked[sequence] = member }
    }
}

private struct RingMissing: Error, CustomStringConvertible {
    var description: String { "the socket lacks a ring or a fanout group" }
}

private func requireRing<T>(_ value: T?) throws -> T {
    guard let value else { throw RingMissing() }
    return value
}

/// Namespaces `lvst-<pid>-labmw-a` and `-b` (a `NamespaceLab`) joined by a veth pair, IPv6
/// off (no autoconfiguration chatter), created with `ip -n` only: the root namespace is untouched.
private struct FanoutLab: Sendable {
    let lab: NamespaceLab
    let namespaceA: String
    let namespaceB: String
    let interfaceA: String
    let interfaceB: String
    let macA = MACAddress("02:00:c6:12:4d:a1")!
    let macB = MACAddress("02:00:c6:12:4d:b2")!

    init() throws {
        let pid = getpid()
        let (interfaceA, interfaceB) = ("lvst\(pid)ma", "lvst\(pid)mb")
        let a: NamespaceLab.PairEnd = (interfaceA, macA.description, nil)
        let b: NamespaceLab.PairEnd = (interfaceB, macB.description, nil)
        lab = try NamespaceLab(tag: "mw") { lab in try lab.buildPair(a, b) }
        (self.interfaceA, self.interfaceB) = (interfaceA, interfaceB)
        (namespaceA, namespaceB) = (lab.namespace("a"), lab.namespace("b"))
    }

    func tearDown() { lab.tearDown() }
}
