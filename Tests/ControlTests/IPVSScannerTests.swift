@testable import Control
import Testing

/// The one popt reader: what each word becomes, and at which column, under each strictness.
@Suite struct IPVSScannerTests {
    static func scan(_ line: String, _ strictness: IPVSStrictness) throws(IPVSScanError) -> [String] {
        var scanner = IPVSScanner(words: RulesTokenizer.tokens(of: Substring(line)), strictness: strictness)
        var command: IPVSCommand?
        var read: [String] = []
        while let item = try scanner.nextWithValue(command: command) {
            switch item {
            case .argument(let word):
                read.append("arg \(word.text)@\(word.column)")
            case .option(let use):
                command = command ?? use.option.command
                read.append("\(use.option) \(use.name.text)@\(use.name.column)" + (use.value.map { "=\($0.text)@\($0.column)" } ?? ""))
            }
        }
        return read
    }

    @Test func poptClustersGlueValuesAndEndOptions() throws {
        #expect(try Self.scan("-et 198.18.0.10:80 -mw5 -p -- -x", .restore) == [
            "editServer -e@1", "tcpService -t@3=198.18.0.10:80@5", "masquerading -m@20", "weight -w@22=5@23",
            "persistent -p@25", "arg -x@31",
        ])
        #expect(try Self.scan("-a -b -A", .restore) == ["addServer -a@1", "fullNAT -b@4", "addService -A@7"])
        #expect(try Self.scan("-A -b flag-1 --weight=7", .restore) == [
            "addService -A@1", "schedulerFlags -b@4=flag-1@7", "weight --weight@14=7@23",
        ])
    }

    @Test func rulesFileWordsStandAlone() throws {
        #expect(try Self.scan("-A -p abc -p 60", .rulesFile) == ["addService -A@1", "persistent -p@4", "arg abc@7", "persistent -p@11=60@14"])
        #expect(throws: IPVSScanError.self) { try Self.scan("-A -w5", .rulesFile) }
        #expect(throws: IPVSScanError.self) { try Self.scan("-A -s -p", .rulesFile) }
        #expect(throws: IPVSScanError.self) { try Self.scan("-A --", .rulesFile) }
        #expect(try Self.scan("-A -s -p", .restore) == ["addService -A@1", "scheduler -s@4=-p@7"])
    }

    /// popt matches whole long names only: no abbreviations, as ipvsadm.
    @Test func longNamesAreExact() {
        #expect(throws: IPVSScanError.self) { try Self.scan("-A --sched rr", .restore) }
        #expect(throws: IPVSScanError.self) { try Self.scan("-A --sched rr", .rulesFile) }
    }
}
