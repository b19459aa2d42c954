import CAdminSocket
import Control
import Logging
import Foundation
import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// lvsd's end of the control socket: a Unix stream socket at `path`, mode 0600, answering
/// one `ControlRequest` per connection with the handler's `ControlResponse`.
///
/// Only root may use it: the file mode keeps other users from connecting, and each
/// connection's peer is checked with SO_PEERCRED (so a socket whose mode was loosened still
/// refuses them), answered with `ControlResponse.permissionDenied`. Requests are served
/// one at a time on one thread the server owns; a client gets 5 seconds to send its
/// request. `stop()` closes the socket and removes the file.
public final class ControlSocketServer: @unchecked Sendable {
    public let path: String
    private let handler: @Sendable (ControlRequest) -> ControlResponse
    private let logger: Logger
    private let listener: Int32
    /// A pipe whose write end `stop()` uses to wake the accept loop.
    private let wake: (read: Int32, write: Int32)
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var running = false
    private var removed = false

    /// How long a client may take to send its request (and to take the answer).
    public static let clientTimeoutSeconds = 5

    /// Binds `path` (creating its directory, mode 0755, if missing) and starts listening.
    /// A stale socket file left by a dead lvsd is replaced; a live one, or a path that is not
    /// a socket, is an error.
    public init(path: String, logger: Logger = Logger(label: "lvsd.control", factory: { _ in SwiftLogNoOpLogHandler() }),
                handler: @escaping @Sendable (ControlRequest) -> ControlResponse) throws(ControlSocketError) {
        self.path = path
        self.handler = handler
        self.logger = logger
        guard !path.isEmpty, path.utf8.count <= UnixSocket.maximumPathLength else {
            throw ControlSocketError("the control socket path '\(path)' is longer than \(UnixSocket.maximumPathLength) bytes")
        }
        try Self.prepare(path)
        let fd: Int32
        do {
            fd = try UnixSocket.stream()
        } catch {
            throw ControlSocketError("cannot create the control socket: \(error)")
        }
        let bound = UnixSocket.withAddress(path) { bind(fd, $0, $1) }
        if bound != 0 {
            let code = errno
            close(fd)
            throw ControlSocketError("cannot bind the control socket \(path): \(String(cString: strerror(code)))")
        }
        // The file exists with the umask's mode for a moment; SO_PEERCRED guards that window.
        guard chmod(path, 0o600) == 0, listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw ControlSocketError("cannot set up the control socket \(path): \(String(cString: strerror(code)))")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw ControlSocketError("cannot create a pipe for the control socket: \(String(cString: strerror(code)))")
        }
        for end in fds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        listener = fd
        wake = (fds[0], fds[1])
    }

    deinit {
        stop()
        close(listener)
        close(wake.read)
        close(wake.write)
    }

    /// Makes room for the socket: its directory exists, and no other lvsd answers there.
    private static func prepare(_ path: String) throws(ControlSocketError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o755])
            } catch {
                throw ControlSocketError("cannot create the directory \(directory) for the control socket: \(error.localizedDescription)")
            }
        }
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            throw ControlSocketError("\(path) exists and is not a socket; remove it or give lvsd another --socket path")
        }
        if let fd = try? UnixSocket.stream() {
            defer { close(fd) }
            if (try? UnixSocket.connect(fd, to: path)) != nil {
                throw ControlSocketError("another lvsd is answering on \(path); stop it first or give this one another --socket path")
            }
        }
        unlink(path)
    }

    /// Starts serving on a thread of its own.
    public func start() {
        lock.lock()
        defer { lock.unlock() }
        guard !running, !removed else { return }
        running = true
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.name = "lvsd-control"
        thread.start()
    }

    /// Stops serving (after the request in progress, if any) and removes the socket file.
    public func stop() {
        lock.lock()
        let wasRunning = running
        running = false
        let remove = !removed
        removed = true
        lock.unlock()
        if wasRunning {
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
            finished.wait()
        }
        if remove { unlink(path) }
    }

    private func serve() {
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            if case .failed(let code) = SystemCall.run({ Int(poll(&fds, 2, -1)) }) {
                logger.error("lvsd: control socket poll failed: \(String(cString: strerror(code)))")
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            serveClient(client)
            close(client)
        }
    }

    private func serveClient(_ fd: Int32) {
        UnixSocket.setTimeouts(fd, seconds: Self.clientTimeoutSeconds)
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        guard lvs_peer_credentials(fd, &pid, &uid, &gid) == 0 else {
            logger.error("lvsd: control socket: cannot read the peer's credentials: \(String(cString: strerror(errno)))")
            return
        }
        guard uid == 0 else {
            logger.error("lvsd: control socket: refused pid \(pid) (uid \(uid)): only root may use it")
            // Take in what the client sends (up to a small request's size, never decoded)
            // before answering, so it is not writing into a closed socket when the refusal
            // arrives.
            discardRequest(fd)
            respond(fd, .permissionDenied)
            return
        }
        let body: [UInt8]
        do {
            body = try UnixSocket.readFrame(fd)
        } catch {
            logger.warning("lvsd: control socket: pid \(pid): \(error)")
            return
        }
        let request: ControlRequest
        do {
            request = try ControlFrame.decode(ControlRequest.self, body: body)
        } catch {
            respond(fd, .failed(AdminError("lvsadm: lvsd could not read the request", detail: error.description,
                                           exitCode: AdminError.operationExit)))
            return
        }
        guard request.version == ControlRequest.currentVersion else {
            respond(fd, ControlResponse.unsupportedVersion(request.version))
            return
        }
        respond(fd, handler(request))
    }

    /// Reads and drops one request frame of at most 64 KiB from a client that will be refused.
    private func discardRequest(_ fd: Int32) {
        guard let header = try? UnixSocket.readExactly(fd, ControlFrame.headerLength) else { return }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        if length <= 64 << 10 { _ = try? UnixSocket.readExactly(fd, length) }
    }

    private func respond(_ fd: Int32, _ response: ControlResponse) {
        do {
            try UnixSocket.writeAll(fd, try ControlFrame.encode(response))
        } catch {
            logger.warning("lvsd: control socket: cannot send the answer: \(error)")
        }
    }
}

/// Why the control socket could not be set up, as a sentence for the operator.
public struct ControlSocketError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
