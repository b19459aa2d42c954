import AdminSocket
import Control
import Core
import Foundation
import TestSupport
import Testing
import Wire

/// The built `lvsadm` executable against an in-process control socket served by the real
/// `AdminResponder` (with a fake engine): argv, stdin, stdout, stderr and exit codes.
@Suite(.serialized) struct AdminExecutableTests {
    static func lvsadm() throws -> String { try BuiltExecutable.lvsadm() }

    struct Run: Equatable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: String, _ arguments: [String], stdin: String = "", environment: [String: String] = [:]) throws -> Run {
        let run = try Command.run(executable, arguments, environment: environment, stdin: stdin)
        return Run(status: run.status, stdout: run.stdout, stderr: run.stderr)
    }

    @Test func commandsListingsAndErrorsThroughTheBinary() throws {
        let lvsadm = try Self.lvsadm()
        try AdminSocketTests.withSocketPath { path in
            let engine = AdminSessionTests.FakeEngine()
            let responder = AdminResponder(config: DirectorConfig(), install: engine.install, observe: engine.observe, clock: { 0 })
            let server = try ControlSocketServer(path: path, handler: { responder.handle($0) })
            server.start()
            defer { server.stop() }
            let s = ["--socket", path]

            #expect(try Self.run(lvsadm, ["-A", "-t", "198.18.0.10:80", "-s", "rr"] + s) == Run(status: 0, stdout: "", stderr: ""))
            #expect(try Self.run(lvsadm, s + ["-a", "-t", "198.18.0.10:80", "-r", "198.18.1.11:8080", "-m", "-w", "2"]).status == 0)
            #expect(try Self.run(lvsadm, ["-R"] + s, stdin: "-a -t 198.18.0.10:80 -r 198.18.1.12:8080 -m\n--set 0 0 60\n").status == 0)
            let listing = try Self.run(lvsadm, ["-Ln"] + s)
            #expect(listing == Run(status: 0, stdout: [
                "IP Virtual Server version 1.2.1 (size=4096)",
                "Prot LocalAddress:Port Scheduler Flags",
                "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
                "TCP  198.18.0.10:80 rr",
                "  -> 198.18.1.11:8080             Masq    2      0          0         ",
                "  -> 198.18.1.12:8080             Masq    1      0          0         ",
            ].map { $0 + "\n" }.joined(), stderr: ""))
            // LVSD_SOCKET instead of --socket.
            #expect(try Self.run(lvsadm, ["-L", "--timeout"], environment: ["LVSD_SOCKET": path])
                == Run(status: 0, stdout: "Timeout (tcp tcpfin udp): 900 120 60\n", stderr: ""))
            #expect(try Self.run(lvsadm, ["-S", "-n"] + s).stdout == """
                --set 900 120 60
                -A -t 198.18.0.10:80 -s rr
                -a -t 198.18.0.10:80 -r 198.18.1.11:8080 -m -w 2
                -a -t 198.18.0.10:80 -r 198.18.1.12:8080 -m -w 1

                """)

            #expect(try Self.run(lvsadm, ["-A", "-t", "198.18.0.10:80"] + s)
                == Run(status: 255, stdout: "", stderr: "Service already exists\nservice TCP 198.18.0.10:80 already exists\n"))
            #expect(try Self.run(lvsadm, ["-a", "-t", "198.18.0.10:80", "-r", "198.18.1.13", "-w", "x"] + s)
                == Run(status: 2, stdout: "", stderr: "illegal weight specified\na weight is a number from 0 to 65535, not 'x'\n"))
            #expect(try Self.run(lvsadm, ["-n", "-L"] + s)
                == Run(status: 255, stdout: "", stderr: "Try `lvsadm -h' or 'lvsadm --help' for more information.\n"))
            #expect(try Self.run(lvsadm, ["-L", "-n", "-t", "198.18.0.11:80"] + s).status == 1)
            let help = try Self.run(lvsadm, ["-h"])
            #expect(help.status == 0)
            #expect(help.stdout.hasPrefix("lvsadm v1.31"))
            let nobody = try Self.run(lvsadm, ["-L", "--socket", path + ".absent"])
            #expect(nobody.status == 2)
            #expect(nobody.stderr.hasPrefix("Can't initialize ipvs: lvsd does not answer at \(path).absent: No such file or directory\n"))
        }
    }

    /// A user other than root is turned away by the real binary, with the sentence and exit 2.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                   "running as nobody needs root and setpriv"))
    func nonRootUserIsRefused() throws {
        let lvsadm = try Self.lvsadm()
        try AdminSocketTests.withSocketPath { path in
            let server = try ControlSocketServer(path: path, handler: { _ in .applied })
            server.start()
            defer { server.stop() }
            let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups", lvsadm]
            let denied = Run(status: 2, stdout: "", stderr: "lvsadm: permission denied: the lvsd control socket is for root only\n")
            #expect(try Self.run("/usr/bin/setpriv", asNobody + ["-C", "--socket", path]) == denied)
            // Mode loosened: lvsd's SO_PEERCRED check answers the same.
            #expect(chmod(path, 0o666) == 0)
            #expect(try Self.run("/usr/bin/setpriv", asNobody + ["-C", "--socket", path]) == denied)
            #expect(try Self.run(lvsadm, ["-C", "--socket", path]).status == 0)
        }
    }
}
