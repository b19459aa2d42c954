import Testing
import Wire

/// GUE variant 0 (draft-ietf-intarea-gue-09 §3.1) with and without Linux's private flags word
/// and its remote checksum offload option (include/net/gue.h, draft-herbert-remotecsumoffload).
@Suite struct GUEHeaderTests {
    /// A plain header for an IPv4 payload, then the payload's first byte.
    static let plain: [UInt8] = [0x00, 0x04, 0x00, 0x00, 0x45]
    /// Two words of options: private flags with REMCSUM, start 20 and offset 36 (TCP in IPv4).
    static let remote: [UInt8] = [0x02, 0x04, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x24, 0x45]

    func parse(_ bytes: [UInt8]) -> WireError? { parseError(bytes) { try GUEHeader($0, length: $1) } }

    @Test func readFields() throws {
        try reading(Self.plain) { base, length in
            let gue = try GUEHeader(base, length: length)
            #expect(gue.headerLength == 4)
            #expect(gue.protocolType == .ipip)
            #expect(gue.flags == 0)
            #expect(gue.payload == base + 4)
            #expect(gue.remoteChecksum == nil)
        }
        try reading(Self.remote) { base, length in
            let gue = try GUEHeader(base, length: length)
            #expect(gue.headerLength == 12)
            #expect(gue.flags == GUEHeader.privateFlagsFlag)
            #expect(gue.payload == base + 12)
            #expect(gue.remoteChecksum?.start == 20)
            #expect(gue.remoteChecksum?.offset == 36)
        }
    }

    @Test func emitBothForms() {
        let plain = mutated([UInt8](repeating: 0xEE, count: 5)) { base, _ in GUEHeader.emit(into: base, protocolType: .ipip) }
        #expect(plain == [0x00, 0x04, 0x00, 0x00, 0xEE])
        let remote = mutated([UInt8](repeating: 0xEE, count: 13)) { base, _ in
            GUEHeader.emit(into: base, protocolType: .ipip, remoteChecksumStart: 20, offset: 36)
        }
        #expect(remote == Array(Self.remote.dropLast()) + [0xEE])
    }

    /// `validate_gue_flags`: unknown flags or private flags, or flags whose fields do not fit
    /// the optional-field length, make the header invalid; so does a control message.
    @Test func parseErrors() {
        #expect(parse([0x00, 0x04, 0x00]) == .truncated)
        #expect(parse([0x02, 0x04, 0x00, 0x00]) == .truncated)
        #expect(parse([0x20, 0x04, 0x00, 0x00]) == .unsupported)
        #expect(parse([0x00, 0x04, 0x80, 0x00]) == .unsupported)
        #expect(parse([0x00, 0x04, 0x00, 0x01]) == .badHeaderLength)
        #expect(parse([0x01, 0x04, 0x00, 0x01, 0x80, 0, 0, 0]) == .badHeaderLength)
        #expect(parse([0x02, 0x04, 0x00, 0x01, 0x40, 0, 0, 0, 0, 20, 0, 36]) == .unsupported)
        // The private flags word alone, no flag in it: valid, no option.
        #expect(parse([0x01, 0x04, 0x00, 0x01, 0, 0, 0, 0]) == nil)
        #expect(parse(Self.remote) == nil)
    }
}
