import AdminSocket
import CAdminSocket
import Control
import Core
import Foundation
import Testing
import Wire

/// The control socket pair in one process: a real Unix socket, the real client and server,
/// a handler standing in for lvsd.
@Suite(.serialized) struct AdminSocketTests {
    /// A fresh directory under /tmp and a socket path in it, removed afterwards.
    static func withSocketPath(_ body: (String) throws -> Void) rethrows {
        let directory = "/tmp/lvsadm-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory + "/lvsd.sock")
    }

    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        return status.st_mode
    }

    @Test func requestsAndAnswersCrossTheSocket() throws {
        try Self.withSocketPath { path in
            let engine = AdminSessionTests.FakeEngine()
            let responder = AdminResponder(config: DirectorConfig(), install: engine.install, observe: engine.observe, clock: { 0 })
            let server = try ControlSocketServer(path: path, handler: { responder.handle($0) })
            server.start()
            defer { server.stop() }
            // The socket file is a socket, mode 0600; its new directory 0755.
            let mode = try #require(Self.mode(path))
            #expect(mode & S_IFMT == S_IFSOCK)
            #expect(mode & 0o777 == 0o600)
            #expect(Self.mode((path as NSString).deletingLastPathComponent).map { $0 & 0o777 } == 0o755)

            let settings = ServiceSettings(key: tcp("198.18.0.10", 80), scheduler: "rr")
            #expect(try ControlSocketClient.send(ControlRequest(.apply([.addService(settings)])), to: path).get() == .applied)
            let again = try ControlSocketClient.send(ControlRequest(.apply([.addService(settings)])), to: path).get()
            guard case .failed(let error) = again else { Issue.record("expected a refusal, got \(again)"); return }
            #expect(error.message == "Service already exists")
            let answer = try ControlSocketClient.send(ControlRequest(.snapshot(includeConnections: true)), to: path).get()
            guard case .snapshot(let snapshot) = answer else { Issue.record("expected a snapshot, got \(answer)"); return }
            #expect(snapshot.services.map(\.key) == [tcp("198.18.0.10", 80)])
            #expect(snapshot.services[0].scheduler == "rr")

            // The whole CLI path: argv → socket → printed text.
            let invocation = try LvsadmCommandLine.parse(["-Ln", "--socket", path])
            let outcome = Lvsadm.run(invocation, standardInput: { "" }, send: {
                ControlSocketClient.send($0, to: Lvsadm.socketPath(invocation, environment: [:]))
            })
            #expect(outcome.exitCode == 0)
            #expect(outcome.standardOutput.hasSuffix("TCP  198.18.0.10:80 rr\n"))
        }
    }

    @Test func stopRemovesTheSocket() throws {
        try Self.withSocketPath { path in
            let server = try ControlSocketServer(path: path, handler: { _ in .applied })
            server.start()
            #expect(Self.mode(path) != nil)
            server.stop()
            #expect(Self.mode(path) == nil)
            let answer = ControlSocketClient.send(ControlRequest(.snapshot(includeConnections: false)), to: path)
            guard case .failure(let error) = answer else { Issue.record("expected no answer, got \(answer)"); return }
            #expect(error.message == "Can't initialize ipvs: lvsd does not answer at \(path): No such file or directory")
            #expect(error.exitCode == 2)
        }
    }

    /// A second lvsd may not take over a live socket; a dead one's socket is replaced; a
    /// file that is not a socket is left alone.
    @Test func socketPathConflicts() throws {
        try Self.withSocketPath { path in
            let first = try ControlSocketServer(path: path, handler: { _ in .applied })
            first.start()
            #expect(throws: ControlSocketError("another lvsd is answering on \(path); stop it first or give this one another --socket path")) {
                _ = try ControlSocketServer(path: path, handler: { _ in .applied })
            }
            first.stop()
            // A socket file nobody listens on (a crashed lvsd) is replaced.
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(bound == 0)
            close(fd)
            let second = try ControlSocketServer(path: path, handler: { _ in .applied })
            second.start()
            #expect(try ControlSocketClient.send(ControlRequest(.apply([])), to: path).get() == .applied)
            second.stop()
            #expect(FileManager.default.createFile(atPath: path, contents: Data("not a socket".utf8)))
            #expect(throws: ControlSocketError("\(path) exists and is not a socket; remove it or give lvsd another --socket path")) {
                _ = try ControlSocketServer(path: path, handler: { _ in .applied })
            }
        }
    }

    /// Garbage on the socket gets a refusal, not a crash, and the server keeps serving.
    @Test func badFramesAreRefused() throws {
        try Self.withSocketPath { path in
            let server = try ControlSocketServer(path: path, handler: { _ in .applied })
            server.start()
            defer { server.stop() }
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(connected == 0)
            let junk: [UInt8] = [0, 0, 0, 5] + Array("{oops".utf8)
            #expect(send(fd, junk, junk.count, 0) == junk.count)
            var header = [UInt8](repeating: 0, count: 4)
            #expect(recv(fd, &header, 4, Int32(MSG_WAITALL)) == 4)
            let length = try ControlFrame.bodyLength(header: header)
            var body = [UInt8](repeating: 0, count: length)
            #expect(recv(fd, &body, length, Int32(MSG_WAITALL)) == length)
            let response = try ControlFrame.decode(ControlResponse.self, body: body)
            guard case .failed(let error) = response else { Issue.record("expected a refusal, got \(response)"); return }
            #expect(error.message == "lvsadm: lvsd could not read the request")
            // Another version of the protocol is named, not misread.
            let old = try ControlSocketClient.send(ControlRequest(.apply([]), version: 0), to: path).get()
            #expect(old == ControlResponse.unsupportedVersion(0))
            #expect(try ControlSocketClient.send(ControlRequest(.apply([])), to: path).get() == .applied)
        }
    }

    @Test func framesAreLengthPrefixedJSON() throws {
        let frame = try ControlFrame.encode(ControlRequest(.apply([.clear])))
        let length = try ControlFrame.bodyLength(header: frame.prefix(4))
        #expect(length == frame.count - 4)
        #expect(String(decoding: frame.dropFirst(4), as: UTF8.self).contains("\"version\":1"))
        #expect(try ControlFrame.decode(ControlRequest.self, body: frame.dropFirst(4)) == ControlRequest(.apply([.clear])))
        #expect(throws: ControlFrame.FrameError.tooLong(0x7FFF_FFFF)) { try ControlFrame.bodyLength(header: [0x7F, 0xFF, 0xFF, 0xFF]) }
        let everything: [AdminCommand] = [
            .addService(ServiceSettings(key: ServiceKey(.udp, ip("2001:db8::10"), 53), scheduler: "sh", flags: [.port], persistence: 60, prefixLength: 64)),
            .editService(ServiceSettings(key: tcp("198.18.0.10", 80))),
            .deleteService(tcp("198.18.0.10", 80)), .clear,
            .addServer(tcp("198.18.0.10", 80), RealServerSettings(address: ip("198.18.1.1"), port: 80, method: .fullNAT, weight: 3,
                                                                  upperThreshold: 9, lowerThreshold: 4)),
            .editServer(tcp("198.18.0.10", 80), RealServerSettings(address: ip("198.18.1.1"), port: 80)),
            .deleteServer(tcp("198.18.0.10", 80), address: ip("198.18.1.1"), port: 80),
            .setTimeouts(tcp: 1, tcpFin: 2, udp: 3), .zero(nil), .zero(tcp("198.18.0.10", 80)),
            .addLocalAddress(tcp("198.18.0.10", 80), ip("198.18.2.1")), .deleteLocalAddress(tcp("198.18.0.10", 80), ip("198.18.2.1")),
        ]
        let request = ControlRequest(.apply(everything))
        #expect(try ControlFrame.decode(ControlRequest.self, body: try ControlFrame.encode(request).dropFirst(4)) == request)
        let snapshot = ControlResponse.snapshot(AdminFixtures.snapshot)
        #expect(try ControlFrame.decode(ControlResponse.self, body: try ControlFrame.encode(snapshot).dropFirst(4)) == snapshot)
    }

    /// Runs `body` on a thread of its own whose credentials are nobody's (uid and gid 65534)
    /// by the raw setresuid/setresgid system calls, which change only that thread.
    static func asNobody<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T? {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { done.signal() }
            guard lvs_thread_setresgid(65534, 65534, 65534) == 0, lvs_thread_setresuid(65534, 65534, 65534) == 0 else { return }
            box.value = body()
        }
        thread.start()
        done.wait()
        return box.value
    }

    /// Other users are kept out twice: by the socket's mode, and (mode loosened) by SO_PEERCRED.
    @Test(.enabled(if: getuid() == 0, "acting as another user needs root"))
    func onlyRootMayUseTheSocket() throws {
        try Self.withSocketPath { path in
            let served = ManagedCounter()
            let server = try ControlSocketServer(path: path, handler: { _ in served.add(); return .applied })
            server.start()
            defer { server.stop() }
            let denied = "lvsadm: permission denied: the lvsd control socket is for root only"

            let byMode = Self.asNobody { ControlSocketClient.send(ControlRequest(.apply([.clear])), to: path) }
            guard case .failure(let modeError)? = byMode else { Issue.record("nobody reached the socket: \(String(describing: byMode))"); return }
            #expect(modeError.message == denied)
            #expect(modeError.exitCode == 2)

            #expect(chmod(path, 0o666) == 0)
            let byCredentials = Self.asNobody { ControlSocketClient.send(ControlRequest(.apply([.clear])), to: path) }
            guard case .success(.failed(let credentialError))? = byCredentials else {
                Issue.record("expected lvsd's refusal, got \(String(describing: byCredentials))")
                return
            }
            #expect(credentialError.message == denied)
            #expect(served.value == 0)
            // Root still gets through.
            #expect(try ControlSocketClient.send(ControlRequest(.apply([])), to: path).get() == .applied)
            #expect(served.value == 1)
        }
    }
}

/// A value handed from a helper thread to the test (written before the semaphore signals).
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// A counter the server thread and the test share.
final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
