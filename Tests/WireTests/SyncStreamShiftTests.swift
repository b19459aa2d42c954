import Testing
import Wire

/// A connection's stream shift in a version-1 sync entry: IPVS's `IPVS_OPT_SEQ_DATA` (in_seq
/// then out_seq, each init_seq, delta, previous_delta in network order, with
/// IP_VS_CONN_F_IN_SEQ / _OUT_SEQ for the directions that move; ip_vs_sync.c
/// `ip_vs_sync_conn`, `ip_vs_proc_seqopt`) and lvsd's option 0x63 for the rest, which carries
/// IPVS_OPT_F_PARAM (0x40) so a kernel backup skips it. Vectors written out by hand.
@Suite struct SyncStreamShiftTests {
    static let client = IPAddress("198.18.0.100")!
    static let vip = IPAddress("198.18.0.10")!
    static let rs = IPAddress("198.18.1.11")!

    /// An FTP control connection through NAT with a PROXY v1 header of 28 bytes at 5001 (the
    /// client's stream moves, the server's does not), a SYN proxy's timestamp offset and
    /// window shift of −2.
    static let shifted: [UInt8] = [
        0x00, 0x00, 0x00, 0x57,  // syncid 0, size 8 + 79 = 87
        0x01, 0x01, 0x00, 0x00,
        0x00, 0x06, 0x00, 0x4F,  // IPv4, TCP, size 36 + 26 + 17 = 79
        0x00, 0x00, 0x04, 0x00,  // IP_VS_CONN_F_IN_SEQ, MASQ
        0x00, 0x01, 0x9C, 0x40,  // ESTABLISHED, cport 40000
        0x00, 0x15, 0x00, 0x15,  // vport 21, dport 21
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x03, 0x84,
        0xC6, 0x12, 0x00, 0x64,
        0xC6, 0x12, 0x00, 0x0A,
        0xC6, 0x12, 0x01, 0x0B,
        0x01, 0x18,              // IPVS_OPT_SEQ_DATA, 24 bytes
        0x00, 0x00, 0x13, 0x89, 0x00, 0x00, 0x00, 0x1C, 0x00, 0x00, 0x00, 0x00,  // in_seq 5001, 28, 0
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // out_seq: none
        0x63, 0x0F,              // lvsd stream shift, 15 bytes
        0x01, 0x02, 0x03, 0x04,  // timestamp offset
        0xFE,                    // window shift −2
        0x01,                    // PROXY protocol v1
        0x06,                    // SYN seen, header sent
        0x00, 0x00, 0x13, 0x89,  // client ISN + 1
        0x90, 0x00, 0x00, 0x01,  // server ISN + 1
    ]

    static var shiftedRecord: SyncConnectionRecord {
        var r = SyncConnectionRecord(proto: .tcp, flags: SyncConnectionFlags.forwarding(SyncConnectionFlags.forwardMasquerade)
                                         .union(.inputSequence),
                                     state: 1, clientAddress: client, clientPort: 40000, virtualAddress: vip, virtualPort: 21,
                                     destinationAddress: rs, destinationPort: 21, timeout: 900)
        r.sequence = SyncSequence(input: .init(initial: 5001, delta: 28, previousDelta: 0),
                                  output: .init(initial: 0, delta: 0, previousDelta: 0))
        r.streamShift = SyncStreamShift(timestampOffset: 0x0102_0304, serverWindowShift: -2, proxyProtocol: 1,
                                        state: [.synSeen, .headerSent], firstSequence: 5001, serverFirstSequence: 0x9000_0001)
        return r
    }

    static func write(_ record: SyncConnectionRecord) -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: 512)
        let length = buffer.withUnsafeMutableBytes { raw in
            // Safety: the writer stays inside this closure and within the buffer.
            var w = SyncMessageWriter(raw.baseAddress!, capacity: 512, syncID: 0)
            let appended = w.append(record)
            #expect(appended)
            return w.length
        }
        return Array(buffer[..<length])
    }

    static func read(_ bytes: [UInt8]) throws -> [SyncConnectionRecord] {
        var copy = bytes
        return try copy.withUnsafeMutableBytes { raw throws -> [SyncConnectionRecord] in
            // Safety: the message view lives only inside this closure.
            let m = try SyncMessage(raw.baseAddress!, length: raw.count)
            var out: [SyncConnectionRecord] = []
            m.forEachConnection { out.append($0.record) }
            return out
        }
    }

    @Test func emitsTheKernelsSequenceOptionAndLvsdsOwn() {
        #expect(Self.write(Self.shiftedRecord) == Self.shifted)
        #expect(Self.shiftedRecord.encodedLength == 79)
    }

    @Test func parsesBackToTheSameRecord() throws {
        #expect(try Self.read(Self.shifted) == [Self.shiftedRecord])
    }

    @Test func aKernelBackupSkipsLvsdsOptionAndKeepsTheSequenceData() throws {
        // IPVS_OPT_F_PARAM: an option a receiver does not know is skipped, not fatal.
        #expect(SyncOptionType.lvsdStreamShift.rawValue == 0x63 && SyncOptionType.lvsdStreamShift.isOptional)
        // A kernel master's entry: the sequence option alone, IN_SEQ and OUT_SEQ as it sets them.
        var kernel = Self.shiftedRecord
        kernel.streamShift = nil
        kernel.flags.insert(.outputSequence)
        kernel.sequence?.output = .init(initial: 0x9000_0100, delta: 0xFFFF_FFFF, previousDelta: 0)
        let bytes = Self.write(kernel)
        #expect(Array(bytes[12..<16]) == [0x00, 0x00, 0x06, 0x00])
        #expect(Array(bytes[58..<70]) == [0x90, 0x00, 0x01, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00])
        #expect(try Self.read(bytes) == [kernel])
    }

    @Test func aStreamOptionOfTheWrongLengthIsRefused() throws {
        var bytes = Self.shifted
        bytes[71] = 0x0E  // 14 bytes: one short
        bytes[3] = 0x56
        bytes[11] = 0x4E
        bytes.removeLast()
        #expect(throws: SyncError.badOptionLength) { try Self.read(bytes) }
    }
}
