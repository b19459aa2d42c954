import Control
import Foundation
import Health
import KeepalivedHealth
import Testing

/// keepalived's own sample configurations (`doc/samples/keepalived.conf.*` in its repository)
/// as a corpus: each is either run (parsed, and every checker block planned for the health
/// engine) or refused with a located sentence (`file:line:column: error: ...`); none is half
/// run. The samples are GPL and not in this repository: Debian's keepalived package (a test
/// dependency) installs them under /usr/share/doc/keepalived/samples, which this reads unless
/// `LVSD_KEEPALIVED_SAMPLES` names another directory; it is skipped only on a machine with
/// neither (a minimal image that drops /usr/share/doc). Docs/keepalived-conf.md lists what
/// each resolves to.
@Suite struct KeepalivedSamplesTests {
    static let directory: String? = {
        if let chosen = ProcessInfo.processInfo.environment["LVSD_KEEPALIVED_SAMPLES"] { return chosen }
        let debian = "/usr/share/doc/keepalived/samples"
        let samples = (try? FileManager.default.contentsOfDirectory(atPath: debian))?.filter { $0.hasPrefix("keepalived.conf.") } ?? []
        return samples.isEmpty ? nil : debian
    }()

    @Test(.enabled(if: directory != nil, "no keepalived samples: install keepalived or set LVSD_KEEPALIVED_SAMPLES"))
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
