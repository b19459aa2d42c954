import Control
import Foundation
import Health
import KeepalivedHealth
import Testing

/// keepalived's own sample configurations (`doc/samples/keepalived.conf.*` in its repository)
/// as a corpus: each is either run (parsed, and every checker block planned for the health
/// engine) or refused with a located sentence (`file:line:column: error: ...`); none is half
/// run. The samples are GPL and not in this repository: point `LVSD_KEEPALIVED_SAMPLES` at a
/// directory holding them to run this (it is skipped otherwise, so it is no CI proof);
/// Docs/keepalived-conf.md lists what each resolves to.
@Suite struct KeepalivedSamplesTests {
    static let directory = ProcessInfo.processInfo.environment["LVSD_KEEPALIVED_SAMPLES"]

    @Test(.enabled(if: directory != nil, "set LVSD_KEEPALIVED_SAMPLES to a directory with keepalived's doc/samples"))
    func everySampleRunsOrIsRefusedWithALocation() throws {
        let dir = try #require(Self.directory)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("keepalived.conf.") }.sorted()
        #expect(!files.isEmpty, "no keepalived.conf.* in \(dir)")
        for name in files {
            let path = dir + "/" + name
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let config: KeepalivedConfig
            do {
                config = try KeepalivedFile.parse(text, file: name)
            } catch {
                let sentence = "\(error)"
                #expect(sentence.range(of: #"^\#(name):\d+:\d+: error: "#, options: .regularExpression) != nil, "\(name): \(sentence)")
                print("keepalived sample \(name): refused: \(sentence)")
                continue
            }
            let result = try KeepalivedHealthPlan.make(from: config)
            let planned = result.plan.services.reduce(0) { $0 + $1.realServers.reduce(0) { $0 + $1.checkers.count } }
            let written = config.virtualServers.reduce(0) { total, vs in total + vs.services.count * vs.realServers.reduce(0) { $0 + $1.checkers.count } }
            #expect(planned == written, "\(name): \(written) checker blocks, \(planned) planned")
            let notRun = result.plan.checkers.filter { !$0.kind.isImplemented }
            print("keepalived sample \(name): runs: \(config.director.services.count) virtual services, \(planned) checkers\(notRun.isEmpty ? "" : ", \(notRun.count) failing closed")")
        }
    }
}
