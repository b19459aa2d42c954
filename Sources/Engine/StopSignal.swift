import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM as a flag the worker loop reads between batches.
///
/// The signals are ignored for delivery and watched with DispatchSource instead, so no Swift
/// code runs in signal context; the source's handler (on a Dispatch queue) sets an atomic
/// the loop polls. The loop waits in `poll` with a short timeout, so it notices within that.
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    private let received = Atomic<Int32>(0)
    private nonisolated(unsafe) var sources: [DispatchSourceSignal] = []

    public init() {}

    /// Starts watching SIGINT and SIGTERM. Call once, before the loop.
    public func install() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                received.store(number, ordering: .relaxed)
                flag.store(true, ordering: .releasing)
            }
            source.resume()
            sources.append(source)
        }
    }

    public func request() { flag.store(true, ordering: .releasing) }

    @inline(__always)
    public var isSet: Bool { flag.load(ordering: .acquiring) }

    /// The signal that stopped the loop, 0 if none did.
    public var signalNumber: Int32 { received.load(ordering: .relaxed) }
}
