import Control
import Foundation
import TestSupport
import Testing

/// Bad input gives a located error, never a crash: every prefix of seed 002's
/// keepalived.conf and a thousand seeded random edits of it either parse or throw a
/// `ConfigError` that points inside the text.
@Suite struct KeepalivedRobustnessTests {
    static let seed = try! String(contentsOfFile: KeepalivedSeedTests.seedPath, encoding: .utf8)

    /// Parses `text`; an error must name a line and column that exist (or be line-less).
    func check(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        do {
            _ = try KeepalivedFile.parse(text, file: keepalivedFile)
            return true
        } catch {
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            #expect(error.file == keepalivedFile, sourceLocation: sourceLocation)
            #expect(error.line >= 1 && error.line <= lines.count, "\(error) for \(text.debugDescription)", sourceLocation: sourceLocation)
            if error.line >= 1, error.line <= lines.count {
                #expect(error.column >= 1 && error.column <= lines[error.line - 1].count + 1, "\(error)", sourceLocation: sourceLocation)
            }
            #expect(!error.message.isEmpty, sourceLocation: sourceLocation)
            return false
        }
    }

    @Test func everyPrefixOfTheSeedParsesOrFailsWithALocation() {
        let characters = Array(Self.seed)
        var parsed = 0
        for end in 0...characters.count where check(String(characters[..<end])) { parsed += 1 }
        // Most prefixes cut a block open; the whole file and the empty one parse.
        #expect(parsed >= 2 && parsed < characters.count)
    }

    @Test func seededRandomEditsParseOrFailWithALocation() {
        // Seeded, so every run makes the same edits.
        var rng = SplitMix64(seed: 0x5EED_0002)
        func next() -> UInt64 { rng.next() }
        let pieces = ["{", "}", "\"", "'", "#", "!", "\\", "@", "@^x ", "$X=1", "~SEQ", " ", "\n", "\t", "\r\n", "include x",
                      "real_server", "virtual_server", "TCP_CHECK", "url", "0", "-1", "65536", "1.5", "::", "198.18.0.1-300", "/33", "é"]
        let base = Array(Self.seed)
        var outcomes = (parsed: 0, failed: 0)
        for _ in 0..<1000 {
            var text = base
            for _ in 0..<(1 + Int(next() % 3)) {
                let at = Int(next() % UInt64(text.count + 1))
                switch next() % 3 {
                case 0: text.insert(contentsOf: pieces[Int(next() % UInt64(pieces.count))], at: at)
                case 1: if at < text.count { text.remove(at: at) }
                default: if at < text.count { text[at] = Array(pieces[Int(next() % UInt64(pieces.count))])[0] }
                }
            }
            if check(String(text)) { outcomes.parsed += 1 } else { outcomes.failed += 1 }
        }
        #expect(outcomes.parsed > 0 && outcomes.failed > 0)
    }
}
