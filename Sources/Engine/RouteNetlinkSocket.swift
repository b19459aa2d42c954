import POSIX
#if canImport(Glibc)
import Glibc
#endif

/// A NETLINK_ROUTE socket (rtnetlink(7)): dumps of the links and addresses of the caller's
/// network namespace, and, when bound to multicast groups, the kernel's notifications of
/// their changes. Control plane only: each receive allocates its messages.
final class RouteNetlinkSocket {
    /// Multicast groups as `sockaddr_nl.nl_groups` bits (<linux/rtnetlink.h> RTMGRP_*).
    struct Groups: OptionSet {
        let rawValue: UInt32
        static let link = Groups(rawValue: 0x1)
        static let ipv4Addresses = Groups(rawValue: 0x10)
        static let ipv6Addresses = Groups(rawValue: 0x100)
    }

    enum Failure: Error, CustomStringConvertible {
        case system(String, Int32)
        case message(RouteNetlinkError)
        /// The kernel refused a request (NLMSG_ERROR with its errno).
        case refused(Int32)
        /// Notifications were lost (ENOBUFS): the receive buffer overflowed; dump again.
        case overflow
        /// A dump did not end (no NLMSG_DONE) within the receive timeout.
        case timedOut

        var description: String {
            switch self {
            case let .system(call, code): "rtnetlink: \(call): \(SystemCall.describe(code))"
            case let .message(error): error.description
            case let .refused(code): "rtnetlink: the kernel refused the dump: \(SystemCall.describe(code))"
            case .overflow: "rtnetlink: notifications lost (receive buffer overflow)"
            case .timedOut: "rtnetlink: the kernel did not finish the dump within 5 s"
            }
        }
    }

    let descriptor: Int32
    private var sequence: UInt32 = 0
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    init(groups: Groups = []) throws(Failure) {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0 /* NETLINK_ROUTE */)
        guard fd >= 0 else { throw .system("socket(AF_NETLINK)", errno) }
        // `sockaddr_nl` (<linux/netlink.h>): family (u16), pad (u16), port id (u32, 0: the
        // kernel picks), groups (u32). Glibc does not import it; 12 bytes in host order.
        var address = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: UInt16(AF_NETLINK)) { address.replaceSubrange(0..<2, with: $0) }
        withUnsafeBytes(of: groups.rawValue) { address.replaceSubrange(8..<12, with: $0) }
        // Safety: bind reads `socklen` bytes of the buffer, which holds all 12.
        let bound = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw .system("bind", code)
        }
        if groups.isEmpty {
            // A dump's socket: a kernel that never finishes the dump is an error, not a hang.
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        } else {
            // Room for a burst of notifications (an interface going down drops every address).
            var size: Int32 = 1 << 20
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Every link, then every address, of this network namespace.
    func dump() throws(Failure) -> [RouteNetlinkMessage] {
        try dump(RouteNetlinkMessage.getLink) + dump(RouteNetlinkMessage.getAddress)
    }

    private func dump(_ type: UInt16) throws(Failure) -> [RouteNetlinkMessage] {
        sequence &+= 1
        let request = RouteNetlinkMessage.dumpRequest(type: type, sequence: sequence)
        let sent = SystemCall.run { request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) } }
        if case let .failed(code) = sent { throw .system("send", code) }
        var messages: [RouteNetlinkMessage] = []
        while true {
            let received = try receive(blocking: true)
            if received.isEmpty { throw .timedOut }
            for message in received {
                switch message {
                case .done: return messages
                case let .error(code) where code != 0: throw .refused(code)
                default: messages.append(message)
                }
            }
        }
    }

    /// The messages of one datagram; empty when `blocking` is false and none is waiting.
    func receive(blocking: Bool) throws(Failure) -> [RouteNetlinkMessage] {
        let flags = blocking ? Int32(0) : Int32(MSG_DONTWAIT)
        let outcome = SystemCall.run { buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, flags) } }
        switch outcome {
        case .wouldBlock: return []
        case let .failed(code): throw code == ENOBUFS ? .overflow : .system("recv", code)
        case let .done(count):
            let parsed = buffer.withUnsafeBytes { bytes in
                Result { () throws(RouteNetlinkError) in try RouteNetlinkMessage.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<count])) }
            }
            switch parsed {
            case let .success(messages): return messages
            case let .failure(error): throw .message(error)
            }
        }
    }
}
