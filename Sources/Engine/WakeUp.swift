#if canImport(Glibc)
import Glibc
#endif

/// A self-pipe an idle worker polls beside its sockets, so a control task posted to it (a
/// configuration snapshot, a listing) is taken at once rather than when the idle poll's
/// 50 ms timeout ends. Signalled only by the control plane, never per frame.
///
/// If the pipe cannot be made the descriptor is -1, which poll(2) skips: the worker then
/// takes tasks at the next timeout, as it would without one.
final class WakeUp: @unchecked Sendable {
    // Safety (@unchecked): the descriptors are set once; pipe reads and writes are atomic.
    /// The end the worker polls.
    let descriptor: Int32
    private let writer: Int32

    init() {
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

    /// Makes the worker's next (or current) poll return.
    func signal() {
        guard writer >= 0 else { return }
        var byte: UInt8 = 1
        // A full pipe only means the worker has not woken for earlier signals yet.
        _ = write(writer, &byte, 1)
    }

    /// Consumes the signals, so the next poll waits again.
    func clear() {
        guard descriptor >= 0 else { return }
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &bytes, { read(descriptor, $0.baseAddress, $0.count) }) > 0 {}
    }
}
