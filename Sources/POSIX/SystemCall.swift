#if canImport(Glibc)
import Glibc
#endif

/// The one place SwiftLVS decides what EINTR and EAGAIN mean, for every module that makes
/// system calls (PacketIO's packet sockets, Health's probes, AdminSocket's control socket).
///
/// - EINTR: a signal arrived before the call did anything; retry at once. Shutdown is
///   signalled by a flag the caller checks, never by an interrupted call.
/// - EAGAIN / EWOULDBLOCK: the descriptor is non-blocking (or its SO_RCVTIMEO/SO_SNDTIMEO ran
///   out) and nothing can be done now; the caller waits or moves on. A caller names one more
///   errno that means the same for its call (`alsoWouldBlock`): ENOBUFS for a packet socket's
///   full transmit queue, EINPROGRESS for a non-blocking connect.
/// - Anything else is a real failure, handed back with its errno for the caller to name.
public enum SystemCall {
    public enum Outcome: Equatable, Sendable {
        /// The call's non-negative result (bytes, ready descriptors, 0 for success).
        case done(Int)
        case wouldBlock
        case failed(Int32)
    }

    /// Runs `body` (a system call returning -1 and setting errno on failure) under the
    /// policy above. Inlinable: the packet path calls it for every kick and poll.
    @inlinable @inline(__always)
    public static func run(alsoWouldBlock extra: Int32? = nil, _ body: () -> Int) -> Outcome {
        while true {
            let result = body()
            if result >= 0 { return .done(result) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK || code == extra { return .wouldBlock }
            return .failed(code)
        }
    }

    /// `strerror` in lower case without a trailing period: "connection refused".
    public static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        var s = String(cString: text)
        if let first = s.first { s = first.lowercased() + s.dropFirst() }
        return s
    }
}
