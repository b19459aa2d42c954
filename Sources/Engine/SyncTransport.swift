import Core
import Foundation
import POSIX
import Synchronization
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The sync daemons' sockets (IPVS `make_send_sock` / `make_receive_sock`,
/// net/netfilter/ipvs/ip_vs_sync.c): plain UDP sockets of the kernel's stack, bound to the
/// `--mcast-interface`, never on the packet path. The master's workers hand finished
/// messages to `SyncSender.send` between batches; the backup's `SyncReceiver` thread reads
/// datagrams and hands each to the workers' sync inboxes.
enum SyncSocket {
    /// A UDP socket bound to `interface` (SO_BINDTODEVICE), close-on-exec.
    static func open(interface: String) throws(EngineError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EngineError("sync: cannot open a UDP socket: \(SystemCall.describe(errno))") }
        let bound = interface.withCString { setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(interface.utf8.count + 1)) }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw EngineError("sync: cannot bind to interface \(interface): \(SystemCall.describe(code)); check --mcast-interface (ip link)")
        }
        return fd
    }

    static func set<T: BitwiseCopyable>(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: T, _ what: String) throws(EngineError) {
        let result = withUnsafeBytes(of: value) { setsockopt(fd, level, name, $0.baseAddress, socklen_t($0.count)) }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw EngineError("sync: \(what): \(SystemCall.describe(code))")
        }
    }

    static func address(_ group: IPAddress, port: UInt16) -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = group.ipv4.bigEndian
        return sa
    }

    static func interfaceIndex(_ name: String) throws(EngineError) -> Int32 {
        let index = if_nametoindex(name)
        guard index != 0 else {
            throw EngineError("sync: interface \(name) does not exist in this network namespace; check --mcast-interface (ip link)")
        }
        return Int32(index)
    }
}

/// The master's socket: finished messages out to the group (or a unicast peer), TTL and
/// interface as configured, never looped back to this host. Non-blocking: a message the
/// socket cannot take now is counted and lost, as IPVS drops a sync buffer it cannot send;
/// the next sync of the connection (every 50th packet, or its next state change) repairs it.
public final class SyncSender: @unchecked Sendable {
    // Safety (@unchecked): the descriptor is set once; sendto(2) on one UDP socket from
    // several workers is safe; the counters are atomics.
    public let settings: SyncDaemonSettings
    private let fd: Int32
    private var destination: sockaddr_in
    private let sent = Atomic<UInt64>(0)
    private let bytes = Atomic<UInt64>(0)
    private let failed = Atomic<UInt64>(0)

    public init(_ settings: SyncDaemonSettings) throws(EngineError) {
        self.settings = settings
        let index = try SyncSocket.interfaceIndex(settings.interface)
        let fd = try SyncSocket.open(interface: settings.interface)
        var request = ip_mreqn()
        request.imr_ifindex = index
        try SyncSocket.set(fd, Int32(IPPROTO_IP), IP_MULTICAST_IF, request, "IP_MULTICAST_IF \(settings.interface)")
        try SyncSocket.set(fd, Int32(IPPROTO_IP), IP_MULTICAST_TTL, Int32(settings.ttl), "IP_MULTICAST_TTL")
        try SyncSocket.set(fd, Int32(IPPROTO_IP), IP_TTL, Int32(settings.ttl), "IP_TTL")
        try SyncSocket.set(fd, Int32(IPPROTO_IP), IP_MULTICAST_LOOP, Int32(0), "IP_MULTICAST_LOOP")
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        self.fd = fd
        destination = SyncSocket.address(settings.group, port: settings.port)
    }

    deinit { close(fd) }

    /// One message, as `Director.drainSync` hands it (valid only during the call).
    public func send(_ message: UnsafeRawBufferPointer) {
        let outcome = withUnsafePointer(to: &destination) { dest in
            dest.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                SystemCall.run { sendto(fd, message.baseAddress, message.count, Int32(MSG_DONTWAIT), sa, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        if case .done = outcome {
            sent.add(1, ordering: .relaxed)
            bytes.add(UInt64(message.count), ordering: .relaxed)
        } else {
            failed.add(1, ordering: .relaxed)
        }
    }

    /// Messages sent, their UDP payload bytes, and messages the socket refused.
    public var counts: (messages: UInt64, bytes: UInt64, failed: UInt64) {
        (sent.load(ordering: .relaxed), bytes.load(ordering: .relaxed), failed.load(ordering: .relaxed))
    }
}

/// The backup's socket and thread: joins the group on the interface, reads each datagram
/// into a fresh buffer and hands it to `deliver` (which posts it to the workers). The thread
/// wakes every 100 ms (SO_RCVTIMEO) to see whether it should stop.
public final class SyncReceiver: @unchecked Sendable {
    // Safety (@unchecked): the descriptor and closure are set once; the counters and the
    // stop flag are atomics; the thread is joined (`finished`) before `stop` returns.
    public let settings: SyncDaemonSettings
    private let fd: Int32
    private let deliver: @Sendable ([UInt8]) -> Void
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let received = Atomic<UInt64>(0)
    private let bytes = Atomic<UInt64>(0)

    public init(_ settings: SyncDaemonSettings, deliver: @escaping @Sendable ([UInt8]) -> Void) throws(EngineError) {
        self.settings = settings
        self.deliver = deliver
        let index = try SyncSocket.interfaceIndex(settings.interface)
        let fd = try SyncSocket.open(interface: settings.interface)
        try SyncSocket.set(fd, SOL_SOCKET, SO_REUSEADDR, Int32(1), "SO_REUSEADDR")
        try SyncSocket.set(fd, SOL_SOCKET, SO_RCVBUFFORCE, Int32(4 << 20), "SO_RCVBUFFORCE")
        try SyncSocket.set(fd, SOL_SOCKET, SO_RCVTIMEO, timeval(tv_sec: 0, tv_usec: 100_000), "SO_RCVTIMEO")
        var local = SyncSocket.address(settings.group.isMulticastIPv4 ? settings.group : .zeroIPv4, port: settings.port)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw EngineError("sync: cannot bind UDP port \(settings.port): \(SystemCall.describe(code))")
        }
        if settings.group.isMulticastIPv4 {
            var membership = ip_mreqn()
            membership.imr_multiaddr.s_addr = settings.group.ipv4.bigEndian
            membership.imr_ifindex = index
            try SyncSocket.set(fd, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, membership, "joining \(settings.group) on \(settings.interface)")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    public func start() {
        let thread = Thread { [self] in
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65_536, alignment: 8)
            defer {
                buffer.deallocate()
                finished.signal()
            }
            while !stopping.load(ordering: .acquiring) {
                let outcome = SystemCall.run { recv(fd, buffer, 65_536, 0) }
                guard case .done(let n) = outcome, n > 0 else { continue }
                received.add(1, ordering: .relaxed)
                bytes.add(UInt64(n), ordering: .relaxed)
                deliver([UInt8](UnsafeRawBufferPointer(start: buffer, count: n)))
            }
        }
        thread.name = "lvsd-sync-backup"
        thread.start()
    }

    /// Ends the thread and waits for it (at most one receive timeout).
    public func stop() {
        stopping.store(true, ordering: .releasing)
        finished.wait()
    }

    /// Datagrams received and their bytes.
    public var counts: (messages: UInt64, bytes: UInt64) {
        (received.load(ordering: .relaxed), bytes.load(ordering: .relaxed))
    }
}

extension IPAddress {
    var isMulticastIPv4: Bool { isIPv4 && ipv4 >> 28 == 0xE }
    static var zeroIPv4: IPAddress { IPAddress(ipv4: 0) }
}
