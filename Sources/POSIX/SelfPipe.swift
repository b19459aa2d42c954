#if canImport(Glibc)
import Glibc
#endif

/// A self-pipe a thread polls beside its other descriptors so another thread can wake it:
/// the engine's idle workers (a posted control task is taken at once rather than when the
/// 50 ms idle poll ends) and the health runner (a stop or a new plan).
///
/// If the pipe cannot be made `descriptor` is -1, which poll(2) skips: the poller then
/// wakes at its own timeout, as it would without one (`isValid` says which).
public final class SelfPipe: @unchecked Sendable {
    // Safety (@unchecked): the descriptors are set once; pipe reads and writes are atomic.
    /// The end the worker polls.
    public let descriptor: Int32
    private let writer: Int32

    public init() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            descriptor = -1
            writer = -1
            return
        }
        for fd in ends {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        descriptor = ends[0]
        writer = ends[1]
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if writer >= 0 { close(writer) }
    }

    public var isValid: Bool { descriptor >= 0 }

    /// Makes the poller's next (or current) poll return.
    public func signal() {
        guard writer >= 0 else { return }
        var byte: UInt8 = 1
        // A full pipe only means the poller has not woken for earlier signals yet.
        _ = write(writer, &byte, 1)
    }

    /// Consumes the signals, so the next poll waits again.
    public func clear() {
        guard descriptor >= 0 else { return }
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &bytes, { read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
    }
}
