import Core
import PacketBuilder
import TestSupport
import Testing
import Wire

/// The sequence-number translator every rewrite that changes a stream's numbering shares (SYN
/// proxy now; PROXY protocol, TOA, an FTP helper later). Each test translates a segment the
/// builder made and compares it, byte for byte, with the segment the builder makes with the
/// translated numbers, so the incremental checksum is proven exact, not just plausible.
@Suite struct SequenceAdjustmentTests {
    static let client = "198.18.0.1"
    static let server = "198.18.1.10"

    /// TCP options: NOP NOP timestamp (value, echo).
    static func timestamp(_ value: UInt32, _ echo: UInt32) -> [UInt8] {
        [1, 1, 8, 10] + bytes(value) + bytes(echo)
    }
    /// TCP options: NOP NOP SACK with `blocks` (left, right) edges.
    static func sack(_ blocks: [(UInt32, UInt32)]) -> [UInt8] {
        [1, 1, 5, UInt8(2 + 8 * blocks.count)] + blocks.flatMap { bytes($0.0) + bytes($0.1) }
    }
    static func bytes(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// A client → server (or server → client) IPv4 TCP packet, no Ethernet header.
    static func packet(fromClient: Bool, flags: TCPFlags, seq: UInt32, ack: UInt32, window: UInt16 = 502,
                       options: [UInt8] = [], payload: [UInt8] = []) -> [UInt8] {
        let ip = fromClient ? Frame.raw.ipv4(source: client, destination: server)
                            : Frame.raw.ipv4(source: server, destination: client)
        let (sport, dport): (UInt16, UInt16) = fromClient ? (40000, 80) : (80, 40000)
        return ip.tcp(sourcePort: sport, destinationPort: dport, flags: flags, sequence: seq, acknowledgment: ack,
                      window: window, options: options).payload(payload).bytes
    }

    /// `bytes` after `body` ran on its TCP segment.
    static func translated(_ bytes: [UInt8], _ body: (TCPSegment) -> Void) throws -> [UInt8] {
        var out = bytes
        try out.withUnsafeMutableBytes { raw in
            // Safety: the segment view lives inside the closure; its length is the array's after the 20-byte IPv4 header.
            let tcp = try TCPSegment(raw.baseAddress! + 20, length: raw.count - 20)
            body(tcp)
        }
        return out
    }

    static let proxied = SequenceAdjustment(serverSequenceOffset: 0x1000_0000, timestampOffset: 5000)

    @Test func serverDataGetsTheClientsNumbering() throws {
        let payload = Array("HTTP/1.1 200 OK\r\n".utf8)
        let sent = Self.packet(fromClient: false, flags: [.ack, .psh], seq: 0x2000_0001, ack: 0x7000_0080,
                               options: Self.timestamp(100_000, 777), payload: payload)
        let expected = Self.packet(fromClient: false, flags: [.ack, .psh], seq: 0x3000_0001, ack: 0x7000_0080,
                                   options: Self.timestamp(105_000, 777), payload: payload)
        #expect(try Self.translated(sent) { Self.proxied.translateFromServer($0) } == expected)
    }

    @Test func clientAcknowledgmentsAndEchoesGoBackToTheServersNumbering() throws {
        let sent = Self.packet(fromClient: true, flags: .ack, seq: 0x7000_0080, ack: 0x3000_0101,
                               options: Self.timestamp(42, 105_000))
        let expected = Self.packet(fromClient: true, flags: .ack, seq: 0x7000_0080, ack: 0x2000_0101,
                                   options: Self.timestamp(42, 100_000))
        #expect(try Self.translated(sent) { Self.proxied.translateFromClient($0) } == expected)
    }

    @Test func sackBlocksNameTheOtherSidesBytes() throws {
        // The client acknowledges the server's data out of order (RFC 2018): both edges of each
        // block move by the server's offset.
        let blocks: [(UInt32, UInt32)] = [(0x3000_2000, 0x3000_3000), (0x3000_4000, 0x3000_4800), (0xFFFF_FFF0, 0x0000_0010)]
        let sent = Self.packet(fromClient: true, flags: .ack, seq: 9, ack: 0x3000_1000, options: Self.sack(blocks))
        let expected = Self.packet(fromClient: true, flags: .ack, seq: 9, ack: 0x2000_1000,
                                   options: Self.sack(blocks.map { ($0.0 &- 0x1000_0000, $0.1 &- 0x1000_0000) }))
        #expect(try Self.translated(sent) { Self.proxied.translateFromClient($0) } == expected)
        // A server's SACK names the client's bytes: with no client offset nothing changes.
        let fromServer = Self.packet(fromClient: false, flags: .ack, seq: 0x2000_0000, ack: 100, options: Self.sack(blocks))
        let expectedFromServer = Self.packet(fromClient: false, flags: .ack, seq: 0x3000_0000, ack: 100, options: Self.sack(blocks))
        #expect(try Self.translated(fromServer) { Self.proxied.translateFromServer($0) } == expectedFromServer)
    }

    @Test func wrapsAroundTwoToTheThirtyTwo() throws {
        let nearTop = SequenceAdjustment(serverSequenceOffset: 0x0000_0100)
        let sent = Self.packet(fromClient: false, flags: .ack, seq: 0xFFFF_FFA0, ack: 1, payload: [1, 2, 3])
        let expected = Self.packet(fromClient: false, flags: .ack, seq: 0x0000_00A0, ack: 1, payload: [1, 2, 3])
        #expect(try Self.translated(sent) { nearTop.translateFromServer($0) } == expected)
        // The client's ack just past zero goes back below it.
        let ack = Self.packet(fromClient: true, flags: .ack, seq: 1, ack: 0x0000_00A3)
        let ackExpected = Self.packet(fromClient: true, flags: .ack, seq: 1, ack: 0xFFFF_FFA3)
        #expect(try Self.translated(ack) { nearTop.translateFromClient($0) } == ackExpected)
        // A "negative" offset is its two's complement.
        let back = SequenceAdjustment(serverSequenceOffset: 0 &- 0x100)
        #expect(try Self.translated(expected) { back.translateFromServer($0) } == sent)
    }

    @Test func retransmissionsTranslateAlikeBecauseTheOffsetIsPerConnection() throws {
        let first = Self.packet(fromClient: false, flags: .ack, seq: 0x2000_0001, ack: 5, payload: Array(repeating: 7, count: 100))
        let later = Self.packet(fromClient: false, flags: .ack, seq: 0x2000_0065, ack: 5, payload: Array(repeating: 8, count: 100))
        let a = try Self.translated(first) { Self.proxied.translateFromServer($0) }
        _ = try Self.translated(later) { Self.proxied.translateFromServer($0) }
        let again = try Self.translated(first) { Self.proxied.translateFromServer($0) }
        #expect(a == again)
    }

    @Test func finKeepsItsFlagsAndRstWithoutAckKeepsItsAckField() throws {
        let fin = Self.packet(fromClient: false, flags: [.fin, .ack], seq: 0x2000_0500, ack: 0x7000_0100)
        let finExpected = Self.packet(fromClient: false, flags: [.fin, .ack], seq: 0x3000_0500, ack: 0x7000_0100)
        #expect(try Self.translated(fin) { Self.proxied.translateFromServer($0) } == finExpected)
        // RFC 9293 §3.1: without ACK the acknowledgment field is not a number; it stays as sent.
        let rst = Self.packet(fromClient: true, flags: .rst, seq: 0x7000_0100, ack: 0x3000_0000)
        #expect(try Self.translated(rst) { Self.proxied.translateFromClient($0) } == rst)
        let rstAck = Self.packet(fromClient: true, flags: [.rst, .ack], seq: 0x7000_0100, ack: 0x3000_0000)
        let rstAckExpected = Self.packet(fromClient: true, flags: [.rst, .ack], seq: 0x7000_0100, ack: 0x2000_0000)
        #expect(try Self.translated(rstAck) { Self.proxied.translateFromClient($0) } == rstAckExpected)
    }

    @Test func serverWindowsAreRescaledToTheScaleTheClientWasTold() throws {
        // The server scales by 9, the client was told 7: raw windows grow by 2 bits, clamped.
        let wider = SequenceAdjustment(serverWindowShift: 2)
        for (raw, seen) in [(UInt16(0), UInt16(0)), (1, 4), (0x1000, 0x4000), (0x3FFF, 0xFFFC), (0x4000, 0xFFFF), (0xFFFF, 0xFFFF)] {
            let sent = Self.packet(fromClient: false, flags: .ack, seq: 1, ack: 1, window: raw)
            let expected = Self.packet(fromClient: false, flags: .ack, seq: 1, ack: 1, window: seen)
            #expect(try Self.translated(sent) { wider.translateFromServer($0) } == expected, "window \(raw)")
        }
        // The server scales by 6, the client was told 7: raw windows lose a bit (rounded down).
        let narrower = SequenceAdjustment(serverWindowShift: -1)
        for (raw, seen) in [(UInt16(0), UInt16(0)), (1, 0), (3, 1), (0xFFFF, 0x7FFF)] {
            let sent = Self.packet(fromClient: false, flags: .ack, seq: 1, ack: 1, window: raw)
            let expected = Self.packet(fromClient: false, flags: .ack, seq: 1, ack: 1, window: seen)
            #expect(try Self.translated(sent) { narrower.translateFromServer($0) } == expected, "window \(raw)")
        }
        // A SYN's window is never scaled (RFC 7323 §2.2), and the client's windows never are.
        let synAck = Self.packet(fromClient: false, flags: [.syn, .ack], seq: 1, ack: 1, window: 0x1000)
        #expect(try Self.translated(synAck) { wider.translateFromServer($0) } == synAck)
        let clientAck = Self.packet(fromClient: true, flags: .ack, seq: 1, ack: 1, window: 0x1000)
        #expect(try Self.translated(clientAck) { wider.translateFromClient($0) } == clientAck)
    }

    @Test func insertedClientBytesShiftTheClientsNumbersBothWays() throws {
        // A 108-byte PROXY protocol v1 header ahead of the client's first byte.
        let proxyHeader = SequenceAdjustment(clientSequenceOffset: 108)
        let data = Self.packet(fromClient: true, flags: .ack, seq: 0xFFFF_FFF0, ack: 9, payload: [0x47])
        let dataExpected = Self.packet(fromClient: true, flags: .ack, seq: 0x0000_005C, ack: 9, payload: [0x47])
        #expect(try Self.translated(data) { proxyHeader.translateFromClient($0) } == dataExpected)
        let blocks: [(UInt32, UInt32)] = [(200, 300)]
        let ack = Self.packet(fromClient: false, flags: .ack, seq: 9, ack: 0x0000_005D, options: Self.sack(blocks))
        let ackExpected = Self.packet(fromClient: false, flags: .ack, seq: 9, ack: 0xFFFF_FFF1, options: Self.sack([(92, 192)]))
        #expect(try Self.translated(ack) { proxyHeader.translateFromServer($0) } == ackExpected)
    }

    @Test func identityChangesNothingAndMalformedOptionsAreLeftAlone() throws {
        let sent = Self.packet(fromClient: true, flags: [.ack, .psh], seq: 1, ack: 2, options: Self.timestamp(3, 4), payload: [9, 9, 9])
        #expect(try Self.translated(sent) { SequenceAdjustment.identity.translateFromClient($0) } == sent)
        #expect(try Self.translated(sent) { SequenceAdjustment.identity.translateFromServer($0) } == sent)
        // A SACK whose length claims a block past the header is not walked into.
        let bogus = Self.packet(fromClient: true, flags: .ack, seq: 1, ack: 0x3000_0000, options: [1, 1, 5, 18, 0, 0, 0, 1])
        let bogusExpected = Self.packet(fromClient: true, flags: .ack, seq: 1, ack: 0x2000_0000, options: [1, 1, 5, 18, 0, 0, 0, 1])
        #expect(try Self.translated(bogus) { Self.proxied.translateFromClient($0) } == bogusExpected)
        // A SACK with a trailing half block translates the whole block only.
        let half = Self.packet(fromClient: true, flags: .ack, seq: 1, ack: 0x3000_0000,
                               options: [1, 1, 5, 14] + Self.bytes(0x3000_0010) + Self.bytes(0x3000_0020) + Self.bytes(0x3000_0030))
        let halfExpected = Self.packet(fromClient: true, flags: .ack, seq: 1, ack: 0x2000_0000,
                                       options: [1, 1, 5, 14] + Self.bytes(0x2000_0010) + Self.bytes(0x2000_0020) + Self.bytes(0x3000_0030))
        #expect(try Self.translated(half) { Self.proxied.translateFromClient($0) } == halfExpected)
    }
}

/// Random segments, well-formed and not: translation never traps, keeps a valid checksum
/// valid, and the opposite offsets give back the exact bytes.
@Suite struct SequenceAdjustmentRandomTests {
    @Test func randomSegmentsRoundTripWithValidChecksums() throws {
        var rng = SplitMix64(seed: 0x5EC0_AD17)
        for round in 0..<5_000 {
            // Options: a mix of timestamps, SACK blocks, NOPs and garbage, up to 40 bytes.
            var options: [UInt8] = []
            while options.count < 36 {
                switch rng.next() % 5 {
                case 0: options += [1, 1, 8, 10] + (0..<8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                case 1:
                    let blocks = Int(rng.next() % 4) + 1
                    options += [1, 1, 5, UInt8(2 + 8 * blocks)] + (0..<(8 * blocks)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                case 2: options += [1]
                case 3: options += (0..<Int(rng.next() % 6)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                default: break
                }
            }
            let cut = Int(rng.next() % 41)
            options = Array(options.prefix(cut))
            let flags = TCPFlags(rawValue: UInt8(truncatingIfNeeded: rng.next()))
            let payload = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let fromClient = rng.next() & 1 == 0
            let sent = SequenceAdjustmentTests.packet(
                fromClient: fromClient, flags: flags, seq: UInt32(truncatingIfNeeded: rng.next()),
                ack: UInt32(truncatingIfNeeded: rng.next()), window: UInt16(truncatingIfNeeded: rng.next()),
                options: options, payload: payload)
            let clientOffset = UInt32(truncatingIfNeeded: rng.next()), serverOffset = UInt32(truncatingIfNeeded: rng.next())
            let timestampOffset = UInt32(truncatingIfNeeded: rng.next())
            let forward = SequenceAdjustment(clientSequenceOffset: clientOffset, serverSequenceOffset: serverOffset,
                                             timestampOffset: timestampOffset)
            let backward = SequenceAdjustment(clientSequenceOffset: 0 &- clientOffset, serverSequenceOffset: 0 &- serverOffset,
                                              timestampOffset: 0 &- timestampOffset)
            let there = try SequenceAdjustmentTests.translated(sent) {
                fromClient ? forward.translateFromClient($0) : forward.translateFromServer($0)
            }
            #expect(Self.checksumValid(there), "round \(round)")
            let back = try SequenceAdjustmentTests.translated(there) {
                fromClient ? backward.translateFromClient($0) : backward.translateFromServer($0)
            }
            #expect(back == sent, "round \(round)")
        }
    }

    /// Whether the TCP checksum of an IPv4 packet without IP options verifies.
    static func checksumValid(_ packet: [UInt8]) -> Bool {
        var bytes = packet
        return bytes.withUnsafeMutableBytes { raw in
            // Safety: views live inside the closure over the array's own bytes.
            guard let ip = try? IPv4Packet(raw.baseAddress!, length: raw.count),
                  let tcp = try? TCPSegment(ip.payload, length: ip.payloadLength) else { return false }
            return tcp.isChecksumValid(pseudoHeaderSum: ip.pseudoHeaderSum)
        }
    }
}

extension SequenceAdjustmentTests {
    @Test func unalignedOptionsKeepTheChecksumExact() throws {
        // One NOP before the timestamp, three before a SACK: their fields sit at odd offsets.
        let options: [UInt8] = [1, 8, 10] + Self.bytes(100_000) + Self.bytes(0x3000_0010) + [1, 1, 1, 5, 10]
            + Self.bytes(0x3000_0100) + Self.bytes(0x3000_0200)
        let sent = Self.packet(fromClient: true, flags: .ack, seq: 5, ack: 0x3000_0001, options: options)
        let translatedOptions: [UInt8] = [1, 8, 10] + Self.bytes(100_000) + Self.bytes(0x3000_0010 &- 5000)
            + [1, 1, 1, 5, 10] + Self.bytes(0x2000_0100) + Self.bytes(0x2000_0200)
        let expected = Self.packet(fromClient: true, flags: .ack, seq: 5, ack: 0x2000_0001, options: translatedOptions)
        #expect(try Self.translated(sent) { Self.proxied.translateFromClient($0) } == expected)
    }
}
