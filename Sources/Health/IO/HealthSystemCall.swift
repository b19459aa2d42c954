#if canImport(Glibc)
import Glibc
#endif

/// The one place Health decides what EINTR and EAGAIN mean for its sockets and processes.
///
/// - EINTR: retry at once (a signal arrived before the call did anything).
/// - EAGAIN / EWOULDBLOCK / EINPROGRESS: the non-blocking call must wait; the probe returns to
///   the loop with what it waits for.
/// - Anything else is the check's answer (ECONNREFUSED, EHOSTUNREACH, ...), carried as errno.
enum HealthSystemCall {
    enum Outcome: Equatable {
        case done(Int)
        case wouldBlock
        case failed(Int32)
    }

    @inline(__always)
    static func run(_ body: () -> Int) -> Outcome {
        while true {
            let result = body()
            if result >= 0 { return .done(result) }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK, EINPROGRESS: return .wouldBlock
            default: return .failed(code)
            }
        }
    }

    /// `strerror` in lower case without a trailing period: "connection refused".
    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        var s = String(cString: text)
        if let first = s.first { s = first.lowercased() + s.dropFirst() }
        return s
    }
}

/// A descriptor closed exactly once, when the owner lets go of it.
final class OwnedDescriptor {
    private(set) var fd: Int32

    init(_ fd: Int32) { self.fd = fd }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}

/// Thread-level signal settings for threads that write to sockets.
public enum HealthSignals {
    /// Blocks SIGPIPE on the calling thread, so a write to a socket the server closed returns
    /// EPIPE instead of killing the process. OpenSSL writes with write(2), without MSG_NOSIGNAL;
    /// blocking the signal per thread keeps the process-wide disposition untouched.
    public static func blockBrokenPipeOnCurrentThread() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}
