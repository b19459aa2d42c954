import Testing
import Wire

/// IPVS sync protocol version 1 (`struct ip_vs_sync_mesg`, `ip_vs_sync_v4`, `ip_vs_sync_v6`,
/// net/netfilter/ipvs/ip_vs_sync.c). Every vector is written out by hand from the kernel's
/// struct layout, in network byte order.
@Suite struct SyncMessageTests {
    static let client = IPAddress("198.18.0.100")!
    static let vip = IPAddress("198.18.0.10")!
    static let rs1 = IPAddress("198.18.1.11")!
    static let lip = IPAddress("198.18.1.100")!

    /// One IPv4 NAT connection, ESTABLISHED, syncid 5.
    static let oneNAT: [UInt8] = [
        0x00, 0x05, 0x00, 0x2C,  // reserved 0, syncid 5, size 44
        0x01, 0x01, 0x00, 0x00,  // nr_conns 1, version 1, spare 0
        // ip_vs_sync_v4
        0x00, 0x06, 0x00, 0x24,  // type v4, TCP, ver 0 | size 36
        0x00, 0x00, 0x00, 0x00,  // flags: IP_VS_CONN_F_MASQ, active
        0x00, 0x01, 0x9C, 0x40,  // state ESTABLISHED, cport 40000
        0x00, 0x50, 0x1F, 0x90,  // vport 80, dport 8080
        0x00, 0x00, 0x00, 0x00,  // fwmark
        0x00, 0x00, 0x03, 0x84,  // timeout 900 s
        0xC6, 0x12, 0x00, 0x64,  // caddr 198.18.0.100
        0xC6, 0x12, 0x00, 0x0A,  // vaddr 198.18.0.10
        0xC6, 0x12, 0x01, 0x0B,  // daddr 198.18.1.11
    ]

    static var oneNATRecord: SyncConnectionRecord {
        SyncConnectionRecord(proto: .tcp, flags: .forwarding(SyncConnectionFlags.forwardMasquerade), state: 1,
                             clientAddress: client, clientPort: 40000, virtualAddress: vip, virtualPort: 80,
                             destinationAddress: rs1, destinationPort: 8080, timeout: 900)
    }

    /// Three entries: IPv4 with sequence data (62 bytes, 2 of padding), an IPv6 template,
    /// and an IPv4 FullNAT connection with lvsd's local-endpoint option.
    static let three: [UInt8] = [
        0x00, 0x00, 0x00, 0xBC,  // syncid 0, size 8 + 64 + 72 + 44 = 188
        0x03, 0x01, 0x00, 0x00,
        // 1: IPv4, IP_VS_OPT_SEQ_DATA
        0x00, 0x06, 0x00, 0x3E,  // size 62
        0x00, 0x00, 0x06, 0x00,  // IP_VS_CONN_F_IN_SEQ | OUT_SEQ, MASQ
        0x00, 0x01, 0x9C, 0x40,
        0x00, 0x50, 0x1F, 0x90,
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x03, 0x84,
        0xC6, 0x12, 0x00, 0x64,
        0xC6, 0x12, 0x00, 0x0A,
        0xC6, 0x12, 0x01, 0x0B,
        0x01, 0x18,              // option SEQ_DATA, 24 bytes
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03,  // in_seq
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x06,  // out_seq
        0x00, 0x00,              // padding to 4
        // 2: IPv6 template, direct routing, 360 s
        0x01, 0x06, 0x00, 0x48,  // type INET6, size 72
        0x00, 0x00, 0x10, 0x03,  // IP_VS_CONN_F_TEMPLATE | DROUTE
        0x00, 0x00, 0x00, 0x00,  // state 0, cport 0
        0x00, 0x50, 0x00, 0x50,
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x68,
        0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,  // 2001:db8::100
        0x20, 0x01, 0x0D, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x10,  // 2001:db8::10
        0x20, 0x01, 0x0D, 0xB8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x11,  // 2001:db8:1::11
        // 3: IPv4 FullNAT, SYN_RECV (inactive), LIP:lport 198.18.1.100:1024
        0x00, 0x06, 0x00, 0x2C,  // size 44
        0x00, 0x00, 0x01, 0x05,  // INACTIVE | FullNAT (5)
        0x00, 0x03, 0x9C, 0x41,  // SYN_RECV, cport 40001
        0x00, 0x50, 0x1F, 0x90,
        0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x3C,  // 60 s
        0xC6, 0x12, 0x00, 0x64,
        0xC6, 0x12, 0x00, 0x0A,
        0xC6, 0x12, 0x01, 0x0B,
        0x60, 0x06, 0x04, 0x00,  // lvsd option 0x60, 6 bytes: lport 1024
        0xC6, 0x12, 0x01, 0x64,  // LIP 198.18.1.100
    ]

    static var threeRecords: [SyncConnectionRecord] {
        var seq = oneNATRecord
        seq.sequence = SyncSequence(input: .init(initial: 1, delta: 2, previousDelta: 3),
                                    output: .init(initial: 4, delta: 5, previousDelta: 6))
        let template = SyncConnectionRecord(
            proto: .tcp, flags: SyncConnectionFlags.forwarding(SyncConnectionFlags.forwardDirectRoute).union(.template),
            state: 0, clientAddress: IPAddress("2001:db8::100")!, clientPort: 0,
            virtualAddress: IPAddress("2001:db8::10")!, virtualPort: 80,
            destinationAddress: IPAddress("2001:db8:1::11")!, destinationPort: 80, timeout: 360)
        var full = SyncConnectionRecord(
            proto: .tcp, flags: SyncConnectionFlags.forwarding(SyncConnectionFlags.forwardFullNAT).union(.inactive),
            state: 3, clientAddress: client, clientPort: 40001, virtualAddress: vip, virtualPort: 80,
            destinationAddress: rs1, destinationPort: 8080, timeout: 60)
        full.localEndpoint = Endpoint(lip, 1024)
        return [seq, template, full]
    }

    func parse(_ bytes: [UInt8]) -> SyncError? {
        withFrame(bytes) { base, length -> SyncError? in
            do throws(SyncError) {
                _ = try SyncMessage(base, length: length)
                return nil
            } catch {
                return error
            }
        }.0
    }

    func records(_ bytes: [UInt8]) throws -> (UInt8, [SyncConnectionRecord]) {
        try withFrame(bytes) { base, length in
            let m = try SyncMessage(base, length: length)
            var out: [SyncConnectionRecord] = []
            m.forEachConnection { out.append($0.record) }
            return (m.syncID, out)
        }.0
    }

    func write(_ records: [SyncConnectionRecord], syncID: UInt8 = 0, capacity: Int = 1500) -> [UInt8] {
        var buffer = [UInt8](repeating: 0xEE, count: capacity)
        let length = buffer.withUnsafeMutableBytes { raw in
            // Safety: the writer stays inside this closure and within `capacity`.
            var w = SyncMessageWriter(raw.baseAddress!, capacity: capacity, syncID: syncID)
            for r in records { let appended = w.append(r); #expect(appended) }
            return w.length
        }
        return Array(buffer[..<length])
    }

    // MARK: Read, write, parse, emit

    @Test func readFields() throws {
        _ = try withFrame(Self.oneNAT) { base, length in
            let m = try SyncMessage(base, length: length)
            #expect(m.syncID == 5)
            #expect(m.connectionCount == 1)
            #expect(m.length == 44)
            var seen = 0
            m.forEachConnection { c in
                seen += 1
                #expect(!c.isIPv6)
                #expect(c.proto == .tcp)
                #expect(c.size == 36)
                #expect(c.flags.forwarding == SyncConnectionFlags.forwardMasquerade)
                #expect(!c.flags.contains(.inactive) && !c.flags.contains(.template))
                #expect(c.state == 1)
                #expect(c.clientPort == 40000 && c.virtualPort == 80 && c.destinationPort == 8080)
                #expect(c.firewallMark == 0 && c.timeout == 900)
                #expect(c.clientAddress == Self.client && c.virtualAddress == Self.vip)
                #expect(c.destinationAddress == Self.rs1)
                #expect(c.options == SyncOptions())
            }
            #expect(seen == 1)
        }
    }

    @Test func emitsTheKernelLayout() {
        #expect(write([Self.oneNATRecord], syncID: 5) == Self.oneNAT)
    }

    @Test func paddingIPv6TemplatesSequenceDataAndTheLocalEndpoint() throws {
        #expect(write(Self.threeRecords) == Self.three)
        let (syncID, decoded) = try records(Self.three)
        #expect(syncID == 0)
        var expected = Self.threeRecords
        // The writer sets the sequence flags for an entry that carries sequence data.
        expected[0].flags.formUnion([.inputSequence, .outputSequence])
        #expect(decoded == expected)
    }

    @Test func emptyMessage() throws {
        let bytes = write([], syncID: 9)
        #expect(bytes == [0x00, 0x09, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00])
        #expect(try records(bytes).1.isEmpty)
    }

    @Test func writerStopsAtMaxlenAndAtTheCountByte() {
        // 8 + 2 × 36 = 80; the third entry starts at 80 and needs 36 more.
        var buffer = [UInt8](repeating: 0, count: 100)
        buffer.withUnsafeMutableBytes { raw in
            var w = SyncMessageWriter(raw.baseAddress!, capacity: 100, syncID: 0)
            let results = (0..<3).map { _ in w.append(Self.oneNATRecord) }
            #expect(results == [true, true, false])
            #expect(w.connectionCount == 2 && w.length == 80)
        }
        var big = [UInt8](repeating: 0, count: 65535)
        big.withUnsafeMutableBytes { raw in
            var w = SyncMessageWriter(raw.baseAddress!, capacity: 65535, syncID: 0)
            for _ in 0..<255 { let appended = w.append(Self.oneNATRecord); #expect(appended) }
            let the256th = w.append(Self.oneNATRecord)
            #expect(!the256th, "nr_conns is one byte")
        }
    }

    @Test func mixedFamiliesAreNotOneEntry() {
        var r = Self.oneNATRecord
        #expect(r.isSingleFamily)
        r.destinationAddress = IPAddress("2001:db8:1::11")!
        #expect(!r.isSingleFamily)
        r = Self.oneNATRecord
        r.localEndpoint = Endpoint(IPAddress("2001:db8:1::100")!, 1024)
        #expect(!r.isSingleFamily)
    }

    @Test func lvsdOptionIsOneTheKernelSkips() {
        // ip_vs_proc_sync_conn matches `ptype & ~IPVS_OPT_F_PARAM` against 1, 2, 3 and skips
        // an unknown option only with IPVS_OPT_F_PARAM (0x40) set.
        let t = SyncOptionType.lvsdLocalEndpoint
        #expect(t.rawValue == 0x60)
        #expect(t.isOptional)
        #expect(![1, 2, 3].contains(t.rawValue & ~SyncOptionType.optionalBit))
    }

    @Test func clientPeerOptionIsExactBytesAndReadsBack() throws {
        var r = Self.oneNATRecord
        r.clientPeer = SyncClientPeer(mac: MACAddress(0x02, 0x4C, 0x53, 0x00, 0x02, 0x00), interface: 1)
        #expect(SyncOptionType.lvsdClientPeer.rawValue == 0x61 && SyncOptionType.lvsdClientPeer.isOptional)
        let bytes = write([r], syncID: 5)
        #expect(bytes == Self.withOption([0x61, 0x07, 0x02, 0x4C, 0x53, 0x00, 0x02, 0x00, 0x01]))
        #expect(r.encodedLength == 36 + 9)
        #expect(try records(bytes).1 == [r])
        // Twice is a framing error, a wrong length too, as for the kernel's own options.
        #expect(parse(Self.withOption([0x61, 0x07, 2, 0, 0, 0, 0, 1, 0, 0x61, 0x07, 2, 0, 0, 0, 0, 1, 0])) == .duplicateOption)
        #expect(parse(Self.withOption([0x61, 0x06, 2, 0, 0, 0, 0, 1])) == .badOptionLength)
    }

    @Test func steeringKeyOptionIsExactBytesAndReadsBack() throws {
        var r = Self.oneNATRecord
        r.steeringKey = 0xA1B2_C3D4
        #expect(SyncOptionType.lvsdSteeringKey.rawValue == 0x62 && SyncOptionType.lvsdSteeringKey.isOptional)
        let bytes = write([r], syncID: 5)
        #expect(bytes == Self.withOption([0x62, 0x04, 0xA1, 0xB2, 0xC3, 0xD4]))
        #expect(r.encodedLength == 36 + 6)
        #expect(try records(bytes).1 == [r])
        #expect(parse(Self.withOption([0x62, 0x03, 1, 2, 3])) == .badOptionLength)
        #expect(parse(Self.withOption([0x62, 0x04, 1, 2, 3, 4, 0x62, 0x04, 1, 2, 3, 4])) == .duplicateOption)
    }

    // MARK: Options a receiver skips

    /// `oneNAT` with one option appended (`option` is type, length, data).
    static func withOption(_ option: [UInt8]) -> [UInt8] {
        var bytes = oneNAT
        let size = 36 + option.count
        bytes[10] = UInt8(size >> 8); bytes[11] = UInt8(size & 0xFF)
        bytes += option
        let total = bytes.count
        bytes[2] = UInt8(total >> 8); bytes[3] = UInt8(total & 0xFF)
        return bytes
    }

    @Test func unknownOptionalOptionIsSkipped() throws {
        let (_, decoded) = try records(Self.withOption([0x45, 0x02, 0xAB, 0xCD]))
        #expect(decoded == [Self.oneNATRecord])
    }

    @Test func unknownMandatoryOptionMarksTheConnection() throws {
        let (_, decoded) = try records(Self.withOption([0x05, 0x01, 0x00]))
        #expect(decoded.count == 1)
        #expect(decoded[0].carriesUnknownMandatoryOption)
    }

    @Test func persistenceEngineOptionsAreReported() throws {
        let (_, decoded) = try records(Self.withOption([0x02, 0x02, 0x01, 0x02, 0x03, 0x03, 0x73, 0x69, 0x70]))
        #expect(decoded[0].carriesPersistenceEngine)
        #expect(!decoded[0].carriesUnknownMandatoryOption)
    }

    // MARK: Refusals, one per error

    static func setU16(_ bytes: [UInt8], at offset: Int, _ value: UInt16) -> [UInt8] {
        var b = bytes
        b[offset] = UInt8(value >> 8)
        b[offset + 1] = UInt8(value & 0xFF)
        return b
    }

    @Test func refusals() {
        #expect(parse([0x00, 0x00, 0x00]) == .truncated)
        #expect(parse(Array(Self.oneNAT.dropLast())) == .sizeMismatch)
        #expect(parse(Self.oneNAT + [0]) == .sizeMismatch)
        // A version-0 header (nr_conns first) and a v1 header with reserved or spare set.
        #expect(parse([0x01, 0x05, 0x00, 0x08, 0x01, 0x00, 0x00, 0x00]) == .unsupportedVersion)
        var b = Self.oneNAT; b[5] = 2
        #expect(parse(b) == .unsupportedVersion)
        b = Self.oneNAT; b[7] = 1
        #expect(parse(b) == .unsupportedVersion)
        // nr_conns 2 with room for one.
        b = Self.oneNAT; b[4] = 2
        #expect(parse(b) == .connectionTruncated)
        #expect(parse(Self.setU16(Self.oneNAT, at: 10, 40)) == .badConnectionSize, "size past the message")
        #expect(parse(Self.setU16(Self.withOption([0x45, 0x02, 0, 0]), at: 10, 35)) == .badConnectionSize,
                "size below the fixed part")
        #expect(parse(Self.setU16(Self.oneNAT, at: 10, 0x1024)) == .badConnectionVersion)
        b = Self.oneNAT; b[8] = 2
        #expect(parse(b) == .badConnectionType)
        b = Self.oneNAT; b[8] = 1
        #expect(parse(b) == .badConnectionSize, "an IPv6 entry needs 72 bytes")
        #expect(parse(Self.withOption([0x45])) == .optionTruncated)
        #expect(parse(Self.withOption([0x45, 0x00])) == .badOptionLength, "length 0")
        #expect(parse(Self.withOption([0x45, 0x03, 0x00])) == .badOptionLength, "past the entry")
        #expect(parse(Self.withOption([0x01, 0x01, 0x00])) == .badOptionLength, "sequence data is 24 bytes")
        #expect(parse(Self.withOption([0x60, 0x02, 0x04, 0x00])) == .badOptionLength, "local endpoint needs an address")
        #expect(parse(Self.withOption([0x03, 17] + [UInt8](repeating: 0x61, count: 17))) == .badOptionLength,
                "a PE name has at most 16 bytes")
        #expect(parse(Self.withOption([0x03, 0x01, 0x61, 0x03, 0x01, 0x62])) == .duplicateOption)
        #expect(parse(Self.withOption([0x45, 0x01, 0x00, 0x45, 0x01, 0x00])) == nil, "unknown options may repeat")
        #expect(parse(Self.oneNAT) == nil)
        #expect(parse(Self.three) == nil)
    }

    @Test func everyErrorHasACounterName() {
        let names = SyncError.allCases.map(\.description)
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0.hasPrefix("sync-") })
    }
}
