@testable import Control
import Core
import Testing

/// `tunable ftp_ports` (ip_vs_ftp's `ports=`): read, written back, refused with file, line
/// and column.
@Suite struct FTPPortsTunableTests {
    func parse(_ lines: String...) throws(ConfigError) -> DirectorConfig {
        try RulesFile.parse(lines.joined(separator: "\n"), file: "ftp.rules")
    }

    @Test func defaultIsPort21AndTheLineSetsAList() throws {
        #expect(try parse("-A -t 198.18.0.10:21 -s rr").tunables.ftpPorts == .standard)
        #expect(FTPPorts.standard.ports == [21])
        let config = try parse("tunable ftp_ports 21,2121,990")
        #expect(config.tunables.ftpPorts.ports == [21, 2121, 990])
        #expect(try parse("tunable ftp_ports 0").tunables.ftpPorts == .none)
        // Duplicates are kept once.
        #expect(try parse("tunable ftp_ports 21,21").tunables.ftpPorts.ports == [21])
    }

    @Test func writerRoundTripsTheList() throws {
        let config = try parse("tunable ftp_ports 2121,21", "-A -t 198.18.0.10:2121 -s rr", "-a -t 198.18.0.10:2121 -r 198.18.1.2:21 -m")
        let saved = RulesWriter.save(config)
        #expect(saved.contains("tunable ftp_ports 2121,21\n"))
        #expect(try RulesFile.parse(saved, file: "saved.rules") == config)
        // The default is not written.
        #expect(!RulesWriter.save(try parse("-A -t 198.18.0.10:21 -s rr")).contains("ftp_ports"))
    }

    @Test(arguments: [
        ("tunable ftp_ports 21,x", 22, "invalid FTP port 'x'; give ports from 1 to 65535 separated by commas (0 alone: no FTP helper)"),
        ("tunable ftp_ports 21,,22", 22, "invalid FTP port ''; give ports from 1 to 65535 separated by commas (0 alone: no FTP helper)"),
        ("tunable ftp_ports 70000", 19, "invalid FTP port '70000'; give ports from 1 to 65535 separated by commas (0 alone: no FTP helper)"),
        ("tunable ftp_ports 21,0", 22, "invalid FTP port '0'; give ports from 1 to 65535 separated by commas (0 alone: no FTP helper)"),
        ("tunable ftp_ports 1,2,3,4,5,6,7,8,9", 19, "too many FTP ports; at most 8, as ip_vs_ftp takes"),
    ] as [(String, Int, String)])
    func badListsAreLocated(line: String, column: Int, message: String) {
        do {
            _ = try parse(line)
            Issue.record("\(line) parsed")
        } catch {
            #expect(error.file == "ftp.rules" && error.line == 1)
            #expect(error.column == column)
            #expect(error.message == message)
        }
    }

    @Test func keepalivedConfReadsItInTheLvsdDirectorBlock() throws {
        let config = try KeepalivedFile.parse("""
            lvsd_director {
                tunable ftp_ports 2121
            }
            virtual_server 198.18.0.10 2121 {
                protocol TCP
                lb_kind NAT
                real_server 198.18.1.2 21 {
                }
            }
            """, file: "keepalived.conf")
        #expect(config.director.tunables.ftpPorts.ports == [2121])
        do {
            _ = try KeepalivedFile.parse("lvsd_director {\n    tunable ftp_ports 21,x\n}\n", file: "keepalived.conf")
            Issue.record("a bad port parsed")
        } catch {
            #expect(error.line == 2 && error.column == 26)
            #expect(error.message.hasPrefix("invalid FTP port 'x'"))
        }
    }
}
