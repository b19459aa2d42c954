import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A TCP server on 127.0.0.1 inside the test process that answers every connection with one
/// behaviour: the hostile real servers of issue 12 (huge Content-Length, endless body, one byte
/// at a time, endless headers, malformed status line, TLS garbage) and a healthy one to compare
/// with. No namespace, no root: the checks under test connect to it on loopback.
final class HostileServer: @unchecked Sendable {
    // Safety (@unchecked): `listener` and `port` are set once in init; `stopped` is atomic;
    // the connection threads own their descriptors.
    enum Behaviour: Sendable {
        /// Sends these bytes, then closes.
        case answer([UInt8])
        /// Sends `header`, then `chunk` every `interval` (zero: as fast as the peer reads) until
        /// the peer goes away or the server stops.
        case stream(header: [UInt8], chunk: [UInt8], interval: Duration)
    }

    let port: UInt16
    private let listener: Int32
    private let behaviour: Behaviour
    private let stopped = Atomic<Bool>(false)
    private let threads = Mutex<[Thread]>([])

    init(_ behaviour: Behaviour) throws {
        self.behaviour = behaviour
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(fd, p, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, p, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let accepter = Thread { [self] in acceptLoop() }
        accepter.start()
    }

    deinit { stop() }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let worker = Thread { [self] in serve(client) }
            worker.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        // Read what the checker sent (the request), so closing does not reset the connection.
        var request = [UInt8](repeating: 0, count: 4096)
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = recv(fd, &request, request.count, 0)
        switch behaviour {
        case .answer(let bytes):
            _ = send(bytes, on: fd)
            shutdown(fd, Int32(SHUT_WR))
            // Let the checker read to our close before the descriptor goes.
            _ = recv(fd, &request, request.count, 0)
        case .stream(let header, let chunk, let interval):
            guard send(header, on: fd) else { return }
            while !stopped.load(ordering: .acquiring) {
                guard send(chunk, on: fd) else { return }
                if interval > .zero { usleep(UInt32(interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000)) }
            }
        }
    }

    /// All of `bytes`; false once the peer has gone (MSG_NOSIGNAL: no SIGPIPE in the test process).
    private func send(_ bytes: [UInt8], on fd: Int32) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}

extension HostileServer.Behaviour {
    static func http(_ text: String) -> Self { .answer(Array(text.utf8)) }
    static let healthy = http("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
    static let hugeContentLength = http("HTTP/1.0 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\nabc")
    static let malformedStatusLine = http("HTTP/1.0 2x0 OK\r\nContent-Length: 2\r\n\r\nok")
    static let endlessBody = Self.stream(header: Array("HTTP/1.0 200 OK\r\n\r\n".utf8),
                                         chunk: [UInt8](repeating: 0x61, count: 65_536), interval: .zero)
    static let oneBytePerInterval = Self.stream(header: Array("HTTP/1.0 200 OK\r\n\r\n".utf8), chunk: [0x61], interval: .milliseconds(200))
    static let endlessHeaders = Self.stream(header: Array("HTTP/1.0 200 OK\r\n".utf8), chunk: Array("X-Slow: y\r\n".utf8),
                                            interval: .milliseconds(100))
    /// Bytes that are no TLS record: what a TLS client meets at a plain-text or broken server.
    static let tlsGarbage = http(String(repeating: "garbage, not a TLS ServerHello\n", count: 64))
}
