import Health
import Testing

/// HTTP_GET's `regex`, `regex_no_match`, `regex_min_offset`, `regex_max_offset` and the options
/// that map onto Swift's Regex, judged over literal bodies.
@Suite struct BodyRegexTests {
    func verdict(_ regex: BodyRegex, _ body: String) throws -> String? {
        regex.verdict(on: Array(body.utf8)[...], compiled: try regex.compiled())
    }

    @Test func matchAndNoMatch() throws {
        #expect(try verdict(BodyRegex(pattern: "status: (ok|degraded)"), "<p>status: ok</p>") == nil)
        #expect(try verdict(BodyRegex(pattern: "status: ok"), "status: down") == "the body does not match regex 'status: ok'")
        #expect(try verdict(BodyRegex(pattern: "ERROR", noMatch: true), "all fine") == nil)
        #expect(try verdict(BodyRegex(pattern: "ERROR", noMatch: true), "an ERROR here")
                == "the body matches regex 'ERROR' at offset 3 (regex_no_match)")
        #expect(try verdict(BodyRegex(pattern: "^$"), "") == nil, "an empty body is a subject too")
    }

    @Test func offsetsCountBodyBytes() throws {
        let body = "ok....ok"
        #expect(try verdict(BodyRegex(pattern: "ok", minOffset: 1), body) == nil, "the second ok, at 6")
        #expect(try verdict(BodyRegex(pattern: "ok", minOffset: 1, maxOffset: 5), body) != nil, "6 is past regex_max_offset 5")
        #expect(try verdict(BodyRegex(pattern: "ok", maxOffset: 0), body) == nil)
        #expect(try verdict(BodyRegex(pattern: "ok", minOffset: 100), body) != nil, "an offset past the body searches nothing")
        // Multi-byte UTF-8 before the match: the offset is in bytes, as PCRE2's.
        #expect(try verdict(BodyRegex(pattern: "x", noMatch: true), "é x") == "the body matches regex 'x' at offset 3 (regex_no_match)")
        #expect(BodyRegex(pattern: "a", minOffset: 5, maxOffset: 2).problem == "regex_max_offset 2 is below regex_min_offset 5")
    }

    @Test func optionsAndBadPatterns() throws {
        #expect(try verdict(BodyRegex(pattern: "STATUS"), "status") != nil)
        #expect(try verdict(BodyRegex(pattern: "STATUS", options: ["caseless"]), "status") == nil)
        #expect(try verdict(BodyRegex(pattern: "a.b"), "a\nb") != nil)
        #expect(try verdict(BodyRegex(pattern: "a.b", options: ["dotall"]), "a\nb") == nil)
        #expect(try verdict(BodyRegex(pattern: "^ok$"), "x\nok\ny") != nil)
        #expect(try verdict(BodyRegex(pattern: "^ok$", options: ["multiline"]), "x\nok\ny") == nil)
        #expect(try verdict(BodyRegex(pattern: "o k # comment", options: ["extended"]), "ok") == nil)
        #expect(BodyRegex(pattern: "a", options: ["caseless", "firstline", "utf"]).ignoredOptions == ["firstline", "utf"])
        #expect(BodyRegex(pattern: "(unclosed").problem?.hasPrefix("regex '(unclosed' does not compile") == true)
        // Invalid UTF-8 in a body: read with replacement characters, no trap.
        let bad = BodyRegex(pattern: "ok")
        #expect(bad.verdict(on: [0xFF, 0xFE, 0x6F, 0x6B][...], compiled: try bad.compiled()) == nil)
    }
}
