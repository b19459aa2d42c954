import Control
import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// The POSIX calls behind lvsd's control socket, under `SystemCall`'s policy: a call a signal
/// interrupts is retried; any other failure (EAGAIN included: the socket's timeout ran out)
/// is thrown with its errno.
enum UnixSocket {
    struct Failure: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// `sun_path` holds 108 bytes including the terminating NUL.
    static let maximumPathLength = 107

    static func stream() throws(Failure) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(call: "socket", code: errno) }
        return fd
    }

    /// Calls `body` with a `sockaddr_un` for `path` (the caller has checked its length).
    static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8.prefix(maximumPathLength))
        // Safety: sun_path is a 108-byte tuple; at most 107 bytes are written, the rest stay 0.
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    static func connect(_ fd: Int32, to path: String) throws(Failure) {
        switch SystemCall.run({ Int(withAddress(path) { Glibc.connect(fd, $0, $1) }) }) {
        case .done: return
        case .wouldBlock: throw Failure(call: "connect", code: EAGAIN)
        case .failed(let code): throw Failure(call: "connect", code: code)
        }
    }

    /// Receive and send timeouts, so a peer that stops talking cannot hold the other end.
    static func setTimeouts(_ fd: Int32, seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a peer that hung up is an error here, not a SIGPIPE for the process.
            let outcome = bytes.withUnsafeBytes { raw in
                SystemCall.run { send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            switch outcome {
            case .done(let n): offset += n
            case .wouldBlock: throw Failure(call: "send", code: EAGAIN)
            case .failed(let code): throw Failure(call: "send", code: code)
            }
        }
    }

    /// Exactly `count` bytes, or an error (ECONNRESET when the peer closed early).
    static func readExactly(_ fd: Int32, _ count: Int) throws(Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let outcome = buffer.withUnsafeMutableBytes { raw in
                SystemCall.run { recv(fd, raw.baseAddress! + offset, count - offset, 0) }
            }
            switch outcome {
            case .done(0): throw Failure(call: "recv", code: ECONNRESET)
            case .done(let n): offset += n
            case .wouldBlock: throw Failure(call: "recv", code: EAGAIN)
            case .failed(let code): throw Failure(call: "recv", code: code)
            }
        }
        return buffer
    }

    /// One frame: header, then body.
    static func readFrame(_ fd: Int32) throws(FrameFailure) -> [UInt8] {
        let header: [UInt8]
        do {
            header = try readExactly(fd, ControlFrame.headerLength)
        } catch {
            throw .socket(error)
        }
        let length: Int
        do {
            length = try ControlFrame.bodyLength(header: header)
        } catch {
            throw .frame(error)
        }
        do {
            return try readExactly(fd, length)
        } catch {
            throw .socket(error)
        }
    }

    enum FrameFailure: Error, CustomStringConvertible {
        case socket(Failure)
        case frame(ControlFrame.FrameError)

        var description: String {
            switch self {
            case .socket(let failure): failure.description
            case .frame(let error): error.description
            }
        }
    }
}
