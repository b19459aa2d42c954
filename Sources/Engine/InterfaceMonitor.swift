import Foundation
import Logging
import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// Follows the kernel's changes to the director's interfaces while lvsd runs: one thread on a
/// NETLINK_ROUTE socket joined to RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR and RTNLGRP_IPV6_IFADDR.
/// Each datagram's changes to the watched interfaces go to `handler` with the whole table as
/// it now stands; the handler turns them into a configuration change (lvsd's Daemon), so the
/// data path sees them as one more snapshot and never waits for this thread.
///
/// The socket subscribes before the first dump, so nothing that happens while lvsd starts is
/// missed (a notification that repeats the dump changes nothing). When the kernel drops
/// notifications (ENOBUFS) the monitor dumps again and reports the difference.
public final class InterfaceMonitor: @unchecked Sendable {
    // Safety (@unchecked): `table` and `stopping` are touched only under `lock`; the socket
    // only on the monitor's thread after `start`; `thread` is set by `start` and read by
    // `stop`, both called by the thread that owns the monitor (lvsd's main thread).
    public typealias Handler = @Sendable (KernelInterfaces, [InterfaceChange]) -> Void

    private let socket: RouteNetlinkSocket
    private let watched: Set<String>
    private let logger: Logger
    private let lock = NSLock()
    private var table: KernelInterfaces
    private let wake = SelfPipe()
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    /// Subscribes, then reads every interface of the namespace. Throws when netlink is not
    /// usable (an error for the operator to read; nothing on the host has changed).
    public init(interfaces: [String], logger: Logger) throws {
        socket = try RouteNetlinkSocket(groups: [.link, .ipv4Addresses, .ipv6Addresses])
        watched = Set(interfaces)
        self.logger = logger
        table = try KernelInterfaces.read()
    }

    /// The interfaces as last read.
    public var current: KernelInterfaces {
        lock.lock()
        defer { lock.unlock() }
        return table
    }

    /// Starts the thread that reads the notifications and calls `handler` for each batch of
    /// changes to the watched interfaces.
    public func start(_ handler: @escaping Handler) {
        let thread = Thread { [self] in
            run(handler)
            finished.signal()
        }
        thread.name = "lvsd-interfaces"
        self.thread = thread
        thread.start()
    }

    /// Stops the thread and waits for it (at most one handler call in flight).
    public func stop() {
        lock.lock()
        let started = thread != nil && !stopping
        stopping = true
        lock.unlock()
        guard started else { return }
        wake.signal()
        finished.wait()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func run(_ handler: Handler) {
        var fds = [pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0)]
        while !isStopping {
            _ = SystemCall.run { Int(poll(&fds, nfds_t(fds.count), 1000)) }
            if isStopping { return }
            guard fds[0].revents != 0 else { continue }
            let changes: [InterfaceChange]
            do {
                changes = try drain()
            } catch {
                logger.warning("lvsd: interfaces: \(error); reading them again")
                changes = resynchronise()
            }
            guard !changes.isEmpty else { continue }
            handler(current, changes)
        }
    }

    /// Folds every waiting notification in; the changes to watched interfaces.
    private func drain() throws -> [InterfaceChange] {
        var changes: [InterfaceChange] = []
        while true {
            let messages = try socket.receive(blocking: false)
            if messages.isEmpty { return changes }
            lock.lock()
            let all = table.apply(messages)
            lock.unlock()
            changes += all.filter { watched.contains($0.interfaceName) }
        }
    }

    /// A fresh dump compared with the table (after lost notifications or a bad message).
    private func resynchronise() -> [InterfaceChange] {
        let fresh: KernelInterfaces
        do { fresh = try KernelInterfaces.read() } catch {
            logger.error("lvsd: interfaces: cannot read them again (\(error)); lvsd keeps what it knew")
            return []
        }
        lock.lock()
        let old = table
        table = fresh
        lock.unlock()
        return watched.sorted().flatMap { KernelInterfaces.changes(of: $0, from: old[$0], to: fresh[$0]) }
    }
}
