import Health
import Testing

/// SMTP_CHECK's reply reader (RFC 5321 4.2): codes, multi-line replies, bounded lines,
/// malformed input named.
@Suite struct SMTPReplyReaderTests {
    func read(_ chunks: String...) -> SMTPReplyReader {
        var r = SMTPReplyReader()
        for c in chunks { r.consume(Array(c.utf8)[...]) }
        return r
    }

    @Test func codesAndLines() {
        #expect(read("220 mail.example.test ESMTP\r\n").code == 220)
        #expect(read("250 ok\n").code == 250, "a bare LF ends a line too")
        #expect(read("221\r\n").code == 221, "a code alone is a whole reply")
        // Split across reads, even inside the CR LF.
        #expect(read("2", "20 hi\r", "\n").code == 220)
        #expect(read("220 no newline yet").code == nil)
    }

    @Test func multiLineRepliesEndAtTheirLastLine() {
        var r = read("220-first line\r\n220-second\r\n")
        #expect(r.code == nil)
        r.consume(Array("220 last\r\n".utf8)[...])
        #expect(r.code == 220)
        // What follows the reply is not read into it.
        #expect(read("250-a\r\n250 b\r\n999 later\r\n").code == 250)
    }

    @Test func malformedAndOverlongRepliesAreNamed() {
        #expect(read("hello\r\n").malformed == "a reply line does not start with a 3-digit code")
        #expect(read("22\r\n").malformed != nil)
        #expect(read("2x0 x\r\n").malformed != nil)
        #expect(read("\r\n").malformed != nil)
        let long = read(String(repeating: "a", count: SMTPReplyReader.maximumReplyLength + 1))
        #expect(long.tooLong && long.code == nil)
        // Binary garbage: no trap.
        var r = SMTPReplyReader()
        r.consume((0...255).map { UInt8($0) }[...])
        #expect(r.code == nil)
    }
}
