import Core
import Health
import Testing
import Wire

/// Status code sets, digests, the HTTP request and response rules, hex patterns, scripts and
/// the schedule grid.
@Suite struct HealthValueTests {
    @Test func statusCodeRanges() throws {
        #expect(HTTPStatusCodes.default.description == "200-299")
        #expect(HTTPStatusCodes.default.contains(200) && HTTPStatusCodes.default.contains(299))
        #expect(!HTTPStatusCodes.default.contains(199) && !HTTPStatusCodes.default.contains(300) && !HTTPStatusCodes.default.contains(503))
        let codes = try HTTPStatusCodes(parsing: ["200", "301-302", "404", "500-599"])
        #expect(codes.description == "200, 301-302, 404, 500-599")
        #expect(codes.ranges == [200...200, 301...302, 404...404, 500...599])
        #expect(codes.contains(302) && codes.contains(599) && !codes.contains(303) && !codes.contains(0) && !codes.contains(600))
        #expect(try HTTPStatusCodes(parsing: ["100-599"]).ranges == [100...599])
        for bad in ["99", "600", "300-200", "abc", "2x0", "-200", "200-", "200-1000", ""] {
            #expect(throws: HealthConfigError.self, "\(bad)") { try HTTPStatusCodes(parsing: [bad]) }
        }
        do {
            _ = try HTTPStatusCodes(parsing: ["600"])
        } catch {
            #expect(error.message == "invalid HTTP status code '600': use a code or a range min-max within 100-599")
        }
        #expect(throws: HealthConfigError.self) { try HTTPStatusCodes(parsing: []) }
    }

    /// RFC 1321 test vectors, through OpenSSL's EVP MD5.
    @Test func md5KnownDigests() throws {
        #expect(MD5Digest.of([])?.description == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5Digest.of(Array("abc".utf8))?.description == "900150983cd24fb0d6963f7d28e17f72")
        #expect(MD5Digest.of(Array("The quick brown fox jumps over the lazy dog".utf8))?.description == "9e107d9d372bb6826bd81d3542a419d6")
        let parsed = try MD5Digest(hex: "9E107D9D372BB6826BD81D3542A419D6")
        #expect(parsed == MD5Digest.of(Array("The quick brown fox jumps over the lazy dog".utf8)))
        #expect(throws: HealthConfigError.self) { try MD5Digest(hex: "9e107d9d") }
        #expect(throws: HealthConfigError.self) { try MD5Digest(hex: "9e107d9d372bb6826bd81d3542a419zz") }
    }

    /// The digest covers the body after the blank line, cut at Content-Length, wherever the
    /// reads split the response.
    @Test func responseDigestCoversTheBodyOnly() {
        let body = Array("<html>hello</html>\n".utf8)
        let head = Array("HTTP/1.0 200 OK\r\nServer: test\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        let expected = MD5Digest.of(body)
        for split in [1, 3, 7, 64, 4096] {
            var reader = HTTPResponseReader(digest: true)
            let all = head + body + Array("trailing garbage".utf8)
            var i = 0
            while i < all.count {
                reader.consume(all[i..<min(all.count, i + split)])
                i += split
            }
            #expect(reader.headerComplete && reader.statusCode == 200 && reader.contentLength == body.count)
            #expect(reader.finishDigest() == expected, "read in pieces of \(split)")
        }
        // Without Content-Length, everything up to the close is hashed.
        var reader = HTTPResponseReader(digest: true)
        reader.consume(Array("HTTP/1.1 404 Not Found\r\n\r\nnot here".utf8)[...])
        #expect(reader.statusCode == 404 && reader.contentLength == nil && reader.bodyBytes == 8)
        #expect(reader.finishDigest() == MD5Digest.of(Array("not here".utf8)))
    }

    /// html.c's status line and Content-Length rules.
    @Test func statusLineAndContentLength() {
        func status(_ s: String) -> Int {
            var r = HTTPResponseReader(digest: false)
            r.consume(Array((s + "\r\n\r\n").utf8)[...])
            return r.statusCode
        }
        #expect(status("HTTP/1.0 200 OK") == 200)
        #expect(status("HTTP/1.1 503 Service Unavailable") == 503)
        #expect(status("HTTP/1.0 200 ") == 200)
        #expect(status("HTTP/1.0 200") == 0, "keepalived needs the space after the code")
        #expect(status("HTTP/1.0 20 OK") == 0)
        #expect(status("HTTP/1.0 2000 OK") == 0)
        #expect(status("HTTP/1.0 abc OK") == 0)
        #expect(status("garbage") == 0)
        func length(_ header: String) -> Int? {
            var r = HTTPResponseReader(digest: false)
            r.consume(Array("HTTP/1.0 200 OK\r\n\(header)\r\n\r\n".utf8)[...])
            return r.contentLength
        }
        #expect(length("Content-Length: 42") == 42)
        #expect(length("content-length:7") == 7)
        #expect(length("Content-Length: 42x") == nil)
        #expect(length("Content-Length: ") == nil)
        #expect(length("X-Content-Length: 5") == nil)
        #expect(length("Content-Length: 9223372036854775807") == Int.max)
        // Issue 12: `* 10` was checked, `+ digit` was not; this trapped the daemon.
        for huge in ["9223372036854775808", "9223372036854775809", "92233720368547758070", String(repeating: "9", count: 200)] {
            var r = HTTPResponseReader(digest: true)
            r.consume(Array("HTTP/1.0 200 OK\r\nContent-Length: \(huge)\r\n\r\nbody".utf8)[...])
            #expect(r.headerComplete && r.contentLength == nil)
            #expect(r.malformed?.hasPrefix("Content-Length \(huge.prefix(40))") == true && r.malformed?.hasSuffix("is too large for any body") == true)
        }
        // Body bytes are counted, never beyond the cap's concern: a Content-Length body ends the read.
        var complete = HTTPResponseReader(digest: false)
        complete.consume(Array("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)[...])
        #expect(complete.bodyComplete && !complete.bodyTooLong)
        var tooLong = HTTPResponseReader(digest: false)
        tooLong.consume([UInt8](repeating: 65, count: HTTPResponseReader.maximumHeaderLength + 1)[...])
        #expect(tooLong.headerTooLong && !tooLong.headerComplete)
    }

    /// keepalived's request template, byte for byte.
    @Test func requestBytes() {
        let d = ep("198.18.1.12", 80)
        #expect(String(decoding: HTTPRequest.bytes(path: "/", virtualhost: nil, destination: d, version: .http10), as: UTF8.self)
                == "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 198.18.1.12:80\r\n\r\n")
        #expect(String(decoding: HTTPRequest.bytes(path: "/health", virtualhost: "www.example.com", destination: d, version: .http11), as: UTF8.self)
                == "GET /health HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n")
        #expect(String(decoding: HTTPRequest.bytes(path: "/", virtualhost: nil, destination: ep("2001:db8::12", 8080), version: .http10Close), as: UTF8.self)
                == "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [2001:db8::12]:8080\r\n\r\n")
    }

    @Test func hexPatterns() throws {
        let payload = try HexPattern(parsing: "01 02 0a0B ff", allowWildcards: false)
        #expect(payload.bytes == [0x01, 0x02, 0x0A, 0x0B, 0xFF])
        #expect(try HexPattern(parsing: "1 2", allowWildcards: false).bytes == [1, 2], "a single digit is one byte")
        let reply = try HexPattern(parsing: "de ax xx", allowWildcards: true)
        #expect(reply.bytes == [0xDE, 0xA0, 0x00] && reply.wildcardMask == [0x00, 0x0F, 0xFF])
        #expect(reply.matchesPrefix(of: [0xDE, 0xA7, 0x42, 0x99]))
        #expect(reply.matchesPrefix(of: [0xDE]), "only the shorter length is compared")
        #expect(!reply.matchesPrefix(of: [0xDE, 0xB7]))
        #expect(throws: HealthConfigError.self) { try HexPattern(parsing: "0x", allowWildcards: false) }
        #expect(throws: HealthConfigError.self) { try HexPattern(parsing: "zz", allowWildcards: true) }
        #expect(throws: HealthConfigError.self) { try HexPattern(parsing: "  ", allowWildcards: true) }
        #expect(UDPCheckConfig.defaultPayload.count == 32)
        #expect(String(decoding: UDPCheckConfig.defaultPayload, as: UTF8.self) == "keepalived check - keepalived ch", "layer4.c set_buf: the pattern repeated over 32 bytes")
    }

    @Test func scriptLines() throws {
        #expect(try ScriptCommand(parsing: "/usr/bin/check.sh 198.18.1.12 80").arguments == ["/usr/bin/check.sh", "198.18.1.12", "80"])
        #expect(try ScriptCommand(parsing: "\"/opt/my script\" 'a b' c\\ d").arguments == ["/opt/my script", "a b", "c d"])
        #expect(throws: HealthConfigError.self) { try ScriptCommand(parsing: "\"unterminated") }
        #expect(throws: HealthConfigError.self) { try ScriptCommand(parsing: "   ") }
    }

    /// Grid points: anchor + k × delay_loop, strictly after now, whatever a check took.
    @Test func scheduleGrid() {
        let anchor: Duration = .milliseconds(2_500), period: Duration = .seconds(10)
        #expect(CheckSchedule.nextGridPoint(after: .zero, anchor: anchor, period: period) == anchor)
        #expect(CheckSchedule.nextGridPoint(after: anchor, anchor: anchor, period: period) == .milliseconds(12_500))
        #expect(CheckSchedule.nextGridPoint(after: .milliseconds(12_499), anchor: anchor, period: period) == .milliseconds(12_500))
        #expect(CheckSchedule.nextGridPoint(after: .milliseconds(31_000), anchor: anchor, period: period) == .milliseconds(32_500),
                "a check that overran skips the grid points it missed")
        #expect(CheckSchedule.nanoseconds(.milliseconds(1500)) == 1_500_000_000)
        // 1000 periods of a 7 ms check on a 100 ms grid end exactly on the grid: no drift.
        var t: Duration = .zero
        for _ in 0..<1000 { t = CheckSchedule.nextGridPoint(after: t + .milliseconds(7), anchor: .zero, period: .milliseconds(100)) }
        #expect(t == .seconds(100))
    }

    @Test func targetDestinationAndProblems() {
        let t = CheckTarget(service: vip, realServer: rs1, connectPort: 8080, bindAddress: ip("198.18.0.1"))
        #expect(t.destination == ep("198.18.1.11", 8080))
        #expect(t.source == ep("198.18.0.1", 0))
        #expect(t.description == "198.18.1.11:80 via 198.18.1.11:8080")
        #expect(t.problems.isEmpty)
        let mixed = CheckTarget(service: vip, realServer: rs1, bindAddress: ip("2001:db8::1"))
        #expect(mixed.problems == ["bindto address 2001:db8::1 does not match the address family of the destination 198.18.1.11"])
        let linkLocal = CheckTarget(service: vip, realServer: ep("fe80::1", 80))
        #expect(linkLocal.problems == ["the link-local destination fe80::1 needs bind_if"])
        #expect(CheckTarget(service: vip, realServer: rs1, bindPort: 4000).source == ep("0.0.0.0", 4000))
    }

    @Test func defaultTimingsFollowKeepalived() {
        #expect(CheckerTiming.defaults(for: .tcp) == CheckerTiming(delayLoop: .seconds(60), connectTimeout: .seconds(5), retry: 1,
                                                                 delayBeforeRetry: .seconds(1)))
        #expect(CheckerTiming.defaults(for: .httpGet).delayBeforeRetry == .seconds(3))
        #expect(CheckerTiming.defaults(for: .sslGet).delayBeforeRetry == .seconds(3))
        #expect(CheckerTiming.defaults(for: .misc).retry == 0)
        #expect(CheckerTiming.defaults(for: .tcp).effectiveWarmup == .seconds(60), "warmup defaults to delay_loop")
        let c = CheckerConfig(target: CheckTarget(service: vip, realServer: rs1), spec: .ping)
        #expect(c.timing == CheckerTiming.defaults(for: .ping))
    }
}
