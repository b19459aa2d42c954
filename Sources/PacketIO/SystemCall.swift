#if canImport(Glibc)
import Glibc
#endif

/// The one place PacketIO decides what EINTR and EAGAIN mean.
///
/// - EINTR: a signal arrived before the call did anything; retry at once. Shutdown is
///   signalled by a flag the caller checks between batches, never by an interrupted call.
/// - EAGAIN / EWOULDBLOCK: the socket is non-blocking and nothing can be done now; the
///   caller waits with `PacketSocket.wait` or moves on to its next batch.
/// - ENOBUFS: for packet sockets, the device's transmit queue is full (with
///   PACKET_QDISC_BYPASS there is no qdisc to absorb it). That is congestion like EAGAIN:
///   the frames still marked for sending go out on the next kick.
/// - Anything else is a real failure, handed back with its errno to become a `PacketIOError`.
enum SystemCall {
    enum Outcome: Equatable {
        /// The call's non-negative result (bytes, ready descriptors, 0 for success).
        case done(Int)
        case wouldBlock
        case failed(Int32)
    }

    /// Runs `body` (a system call returning -1 and setting errno on failure) under the
    /// policy above.
    @inline(__always)
    static func run(_ body: () -> Int) -> Outcome {
        while true {
            let result = body()
            if result >= 0 { return .done(result) }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK, ENOBUFS: return .wouldBlock
            default: return .failed(code)
            }
        }
    }
}
