import Control
import Core
import Foundation
import Testing
import Wire

/// `include` (lib/parser.c `check_include`, `open_glob_file`): relative to the including
/// file's directory, glob patterns, nesting, and lvsd's cycle check, with every error
/// located in the file where it is.
@Suite struct KeepalivedIncludeTests {
    static let service = """
        virtual_server 198.18.0.10 80 {
            protocol TCP
            lb_kind DR
            real_server 198.18.1.1 80 {
            }
        }
        """

    @Test func relativeIncludeIsReadFromTheIncludingFilesDirectory() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("include services/web.conf\n", to: dir.appendingPathComponent("keepalived.conf"))
        try write(Self.service, to: dir.appendingPathComponent("services/web.conf"))
        let config = try KeepalivedFile.load(path: dir.appendingPathComponent("keepalived.conf").path)
        #expect(config.director.services.map(\.key) == [tcp("198.18.0.10", 80)])
        #expect(config.files == [dir.appendingPathComponent("keepalived.conf").path, dir.path + "/services/web.conf"])
    }

    @Test func nestedIncludesAreRelativeToEachIncludedFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("include a/first.conf\n", to: dir.appendingPathComponent("keepalived.conf"))
        try write("include b/second.conf\n", to: dir.appendingPathComponent("a/first.conf"))
        try write(Self.service, to: dir.appendingPathComponent("a/b/second.conf"))
        let config = try KeepalivedFile.load(path: dir.appendingPathComponent("keepalived.conf").path)
        #expect(config.director.services.count == 1)
        #expect(config.files.last == dir.path + "/a/b/second.conf")
    }

    @Test func globIncludesEveryMatchInSortedOrder() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("include conf.d/*.conf\n", to: dir.appendingPathComponent("keepalived.conf"))
        for (name, last) in [("20-b.conf", 2), ("10-a.conf", 1), ("30-c.conf", 3)] {
            try write(Self.service.replacingOccurrences(of: "198.18.0.10", with: "198.18.0.\(last)"), to: dir.appendingPathComponent("conf.d/\(name)"))
        }
        try write("garbage that is not included", to: dir.appendingPathComponent("conf.d/README"))
        let config = try KeepalivedFile.load(path: dir.appendingPathComponent("keepalived.conf").path)
        #expect(config.director.services.map(\.key.address) == [ip("198.18.0.1"), ip("198.18.0.2"), ip("198.18.0.3")])
    }

    @Test func braceExpansionIsAGlob() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("include {one,two}.conf\n", to: dir.appendingPathComponent("keepalived.conf"))
        try write(Self.service, to: dir.appendingPathComponent("one.conf"))
        try write(Self.service.replacingOccurrences(of: "198.18.0.10", with: "198.18.0.11"), to: dir.appendingPathComponent("two.conf"))
        let config = try KeepalivedFile.load(path: dir.appendingPathComponent("keepalived.conf").path)
        #expect(config.director.services.map(\.key.address) == [ip("198.18.0.10"), ip("198.18.0.11")])
    }

    @Test func includeInsideABlockSplicesItsStatementsThere() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("""
            virtual_server 198.18.0.10 80 {
                protocol TCP
                include servers/*.conf
            }
            """, to: dir.appendingPathComponent("keepalived.conf"))
        try write("real_server 198.18.1.1 80 {\n    weight 3\n}\n", to: dir.appendingPathComponent("servers/1.conf"))
        try write("real_server 198.18.1.2 80 {\n    weight 4\n}\n", to: dir.appendingPathComponent("servers/2.conf"))
        let config = try KeepalivedFile.load(path: dir.appendingPathComponent("keepalived.conf").path)
        #expect(config.director.services.first?.realServers.map(\.weight) == [3, 4])
    }

    @Test func errorsInAnIncludedFileNameThatFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("global_defs {\n    router_id lb1\n}\ninclude web.conf\n", to: dir.appendingPathComponent("keepalived.conf"))
        try write("virtual_server 198.18.0.10 80 {\n    protocol TCP\n    lb_algo xyz\n}\n", to: dir.appendingPathComponent("web.conf"))
        #expect(throws: ConfigError(file: dir.path + "/web.conf", line: 3, column: 13,
                                    message: "unknown scheduler 'xyz' (known: \(knownSchedulers))")) {
            try KeepalivedFile.load(path: dir.appendingPathComponent("keepalived.conf").path)
        }
    }

    @Test func lexicalErrorsInAnIncludedFileNameThatFileToo() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("include inner.conf\n", to: dir.appendingPathComponent("keepalived.conf"))
        try write("\n\nvrrp_script x {\n  script \"/bin/true\n}\n", to: dir.appendingPathComponent("inner.conf"))
        #expect(throws: ConfigError(file: dir.path + "/inner.conf", line: 4, column: 10,
                                    message: "this double quote is never closed on its line; add the closing \"")) {
            try KeepalivedFile.load(path: dir.appendingPathComponent("keepalived.conf").path)
        }
    }

    @Test func blockOpenedInOneFileMayCloseInAnother() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("virtual_server 198.18.0.10 80 {\n    protocol TCP\ninclude tail.conf\n", to: dir.appendingPathComponent("keepalived.conf"))
        try write("    real_server 198.18.1.1 80 {\n    }\n}\n", to: dir.appendingPathComponent("tail.conf"))
        let config = try KeepalivedFile.load(path: dir.appendingPathComponent("keepalived.conf").path)
        #expect(config.director.services.first?.realServers.count == 1)
    }

    @Test func directCycleIsAnErrorAtTheIncludeLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let main = dir.appendingPathComponent("keepalived.conf").path
        try write("# top\ninclude keepalived.conf\n", to: URL(fileURLWithPath: main))
        #expect(throws: ConfigError(file: main, line: 2, column: 9, message:
            "include cycle: \(main) -> \(dir.path)/keepalived.conf; a file may not include itself, directly or through others")) {
            try KeepalivedFile.load(path: main)
        }
    }

    @Test func indirectCycleNamesTheChain() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let main = dir.appendingPathComponent("keepalived.conf").path
        try write("include a.conf\n", to: URL(fileURLWithPath: main))
        try write("include sub/b.conf\n", to: dir.appendingPathComponent("a.conf"))
        try write("\ninclude ../a.conf\n", to: dir.appendingPathComponent("sub/b.conf"))
        #expect(throws: ConfigError(file: dir.path + "/sub/b.conf", line: 2, column: 9, message:
            "include cycle: \(dir.path)/a.conf -> \(dir.path)/sub/b.conf -> \(dir.path)/sub/../a.conf; a file may not include itself, directly or through others")) {
            try KeepalivedFile.load(path: main)
        }
    }

    @Test func includingTheSameFileTwiceSideBySideIsNotACycle() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("include common.conf\ninclude common.conf\n", to: dir.appendingPathComponent("keepalived.conf"))
        try write("global_defs {\n    router_id lb1\n}\n", to: dir.appendingPathComponent("common.conf"))
        let config = try KeepalivedFile.load(path: dir.appendingPathComponent("keepalived.conf").path)
        #expect(config.files.count == 3)
        #expect(config.globalDefs.routerID == "lb1")
    }

    @Test func missingFileIsAnErrorButAnEmptyGlobIsAWarning() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let main = dir.appendingPathComponent("keepalived.conf").path
        try write("include missing.conf\n", to: URL(fileURLWithPath: main))
        #expect(throws: ConfigError(file: main, line: 1, column: 9, message: "the included file '\(dir.path)/missing.conf' does not exist")) {
            try KeepalivedFile.load(path: main)
        }
        try write("include conf.d/*.conf\n", to: URL(fileURLWithPath: main))
        let config = try KeepalivedFile.load(path: main)
        #expect(config.warnings == [ConfigWarning(file: main, line: 1, column: 9,
                                                  message: "'include conf.d/*.conf' matches no file; nothing is included")])
    }

    @Test func includeVariantsAreIncludes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("includea one.conf\nincluder two.conf\n", to: dir.appendingPathComponent("keepalived.conf"))
        try write(Self.service, to: dir.appendingPathComponent("one.conf"))
        try write(Self.service.replacingOccurrences(of: "198.18.0.10", with: "198.18.0.11"), to: dir.appendingPathComponent("two.conf"))
        let config = try KeepalivedFile.load(path: dir.appendingPathComponent("keepalived.conf").path)
        #expect(config.director.services.count == 2)
    }

    @Test func quotedPatternMayHaveSpacesButTwoWordsAreAnError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let main = dir.appendingPathComponent("keepalived.conf").path
        try write("include \"my services.conf\"\n", to: URL(fileURLWithPath: main))
        try write(Self.service, to: dir.appendingPathComponent("my services.conf"))
        #expect(try KeepalivedFile.load(path: main).director.services.count == 1)
        try write("include my services.conf\n", to: URL(fileURLWithPath: main))
        #expect(throws: ConfigError(file: main, line: 1, column: 12, message:
            "'include' takes one file name or glob pattern; quote a name that contains spaces")) {
            try KeepalivedFile.load(path: main)
        }
    }

    @Test func directoriesMatchedByAGlobAreSkippedWithAWarning() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let main = dir.appendingPathComponent("keepalived.conf").path
        try write("include conf.d/*\n", to: URL(fileURLWithPath: main))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("conf.d/old"), withIntermediateDirectories: true)
        try write(Self.service, to: dir.appendingPathComponent("conf.d/web.conf"))
        let config = try KeepalivedFile.load(path: main)
        #expect(config.director.services.count == 1)
        #expect(messages(config).contains("'\(dir.path)/conf.d/old/' matched by 'include conf.d/*' is a directory; skipping it"))
    }

    @Test func unreadableMainFileIsAnErrorWithoutALine() {
        #expect(throws: ConfigError.self) { try KeepalivedFile.load(path: "/nonexistent/swiftlvs/keepalived.conf") }
        do {
            _ = try KeepalivedFile.load(path: "/nonexistent/swiftlvs/keepalived.conf")
        } catch {
            #expect(error.line == 0)
            #expect(error.message.hasPrefix("cannot read the configuration file: "))
        }
    }
}
