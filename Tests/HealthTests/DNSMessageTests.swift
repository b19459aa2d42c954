import Health
import Testing

/// DNS_CHECK's query bytes and its judgement of what comes back (check_dns.c dns_make_query,
/// dns_recv_thread), over literal bytes: malformed datagrams get a named reason, never a trap.
@Suite struct DNSMessageTests {
    @Test func queryBytesMatchKeepalived() {
        // id 0x1234, RD, one question: example.test A IN.
        #expect(DNSQuery(id: 0x1234, name: "example.test", type: .a).bytes == [
            0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 4, 0x74, 0x65, 0x73, 0x74, 0,
            0x00, 0x01, 0x00, 0x01,
        ])
        // The root (keepalived's default name) is one zero byte; SOA is 6.
        #expect(DNSQuery(id: 0xBEEF, name: ".", type: .soa).bytes.suffix(5) == [0, 0x00, 0x06, 0x00, 0x01])
        #expect(DNSQuery(id: 1, name: "", type: .soa).bytes.count == 12 + 1 + 4)
        // A fully qualified name with its trailing dot is the same name.
        #expect(DNSQuery(id: 1, name: "example.test.", type: .aaaa).bytes == DNSQuery(id: 1, name: "example.test", type: .aaaa).bytes)
        #expect(DNSQuery(id: 1, name: "x", type: .aaaa).bytes.suffix(4) == [0x00, 28, 0x00, 0x01])
    }

    @Test func namesThatCannotBeQueriedAreNamed() {
        #expect(DNSQuery.problem(name: "example.test") == nil)
        #expect(DNSQuery.problem(name: ".") == nil)
        #expect(DNSQuery.problem(name: "a..b") == "DNS_CHECK name 'a..b' has an empty label")
        let long = String(repeating: "x", count: 64)
        #expect(DNSQuery.problem(name: "\(long).test")?.contains("longer than 63 bytes") == true)
        let many = Array(repeating: String(repeating: "y", count: 63), count: 5).joined(separator: ".")
        #expect(DNSQuery.problem(name: many) == "DNS_CHECK name '\(many)' is longer than 255 bytes")
    }

    func reply(id: UInt16 = 0x1234, flags: UInt16 = 0x8180, extra: [UInt8] = []) -> [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xFF), UInt8(flags >> 8), UInt8(flags & 0xFF), 0, 1, 0, 1, 0, 0, 0, 0] + extra
    }

    @Test func repliesAreJudgedAsKeepalivedDoes() {
        let q = DNSQuery(id: 0x1234, name: "example.test", type: .a)
        #expect(q.judge(reply()[...]) == .answered)
        // Only the header counts: an answer section keepalived does not read, or none at all.
        #expect(q.judge(reply(extra: [0xC0, 0x0C, 0xFF])[...]) == .answered)
        #expect(q.judge(reply(flags: 0x8183)[...]) == .error(rcode: 3))
        #expect(DNSReplyVerdict.rcodeName(3) == "NXDOMAIN" && DNSReplyVerdict.rcodeName(5) == "REFUSED")
        #expect(q.judge(reply(flags: 0x818F)[...]) == .error(rcode: 15))
        #expect(DNSReplyVerdict.rcodeName(15) == "rcode 15")
    }

    @Test func malformedDatagramsAreIgnoredWithAReason() {
        let q = DNSQuery(id: 0x1234, name: "example.test", type: .a)
        #expect(q.judge([][...]) == .ignored(.shorterThanHeader(0)))
        #expect(q.judge(Array(reply().prefix(11))[...]) == .ignored(.shorterThanHeader(11)))
        #expect(q.judge(reply(id: 0x4321)[...]) == .ignored(.idMismatch(expected: 0x1234, got: 0x4321)))
        // Our own query reflected back (QR clear) is not an answer.
        #expect(q.judge(q.bytes[...]) == .ignored(.notAResponse))
        #expect(DNSIgnoredReason.idMismatch(expected: 1, got: 2).description == "reply id 2 is not the query's 1")
        // A slice that does not start at 0 reads the same.
        let padded = [0xAA, 0xBB] + reply(flags: 0x8182)
        #expect(q.judge(padded[2...]) == .error(rcode: 2))
        // Every truncation and every single-byte corruption of a valid reply: no trap.
        let valid = reply(extra: [1, 2, 3, 4])
        for n in 0...valid.count { _ = q.judge(valid.prefix(n)) }
        for i in valid.indices {
            for b in [UInt8(0), 0xFF, 0x80] {
                var bad = valid
                bad[i] = b
                _ = q.judge(bad[...])
            }
        }
    }
}
