import POSIX
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// VRRP's sockets on one interface and family: raw IP sockets of protocol 112 (RFC 5798 §5.1).
///
/// - The receive socket is bound to the interface (SO_BINDTODEVICE), joined to 224.0.0.18 or
///   ff02::12, and left unbound to any address so it sees multicast and unicast adverts alike.
///   IPv4 raw sockets hand over the IP header, which gives the TTL, source and destination;
///   IPv6 ones do not, so the hop limit and destination come as ancillary data
///   (IPV6_RECVHOPLIMIT, IPV6_RECVPKTINFO) and the source from the address.
/// - The send socket is bound to the address adverts leave from (`unicast_src_ip`, or the
///   interface's primary address), so the source is the one v3's checksum covered. A bound
///   raw socket would only receive packets to that address, which is why there are two.
///   TTL / hop limit 255 for multicast and unicast, multicast loop off (a router must not hear
///   itself), multicast out of this interface.
final class VRRPSocket {
    let interface: String
    let interfaceIndex: UInt32
    let isIPv6: Bool
    /// Where adverts leave from.
    let source: IPAddress
    let receiveFD: Int32
    let sendFD: Int32

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(interface: String, isIPv6: Bool, source: IPAddress) throws(Failure) {
        self.interface = interface
        self.isIPv6 = isIPv6
        self.source = source
        let index = if_nametoindex(interface)
        guard index != 0 else { throw Failure(description: "VRRP: no interface \(interface)") }
        interfaceIndex = index
        let family = isIPv6 ? AF_INET6 : AF_INET
        let r = socket(family, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPProtocol.vrrp.rawValue))
        guard r >= 0 else { throw Failure(description: "VRRP: cannot open a raw socket for protocol 112 on \(interface): \(SystemCall.describe(errno)) (lvsd needs CAP_NET_RAW)") }
        let s = socket(family, Int32(SOCK_RAW.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPProtocol.vrrp.rawValue))
        guard s >= 0 else {
            close(r)
            throw Failure(description: "VRRP: cannot open a raw socket for protocol 112 on \(interface): \(SystemCall.describe(errno))")
        }
        receiveFD = r
        sendFD = s
        do {
            for fd in [r, s] { try Self.bindToDevice(fd, interface) }
            if isIPv6 { try configureIPv6() } else { try configureIPv4() }
        } catch {
            close(r)
            close(s)
            throw error
        }
    }

    deinit {
        close(receiveFD)
        close(sendFD)
    }

    private static func bindToDevice(_ fd: Int32, _ name: String) throws(Failure) {
        let ok = name.withCString { setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, $0, socklen_t(strlen($0) + 1)) == 0 }
        guard ok else { throw Failure(description: "VRRP: cannot bind a socket to \(name): \(SystemCall.describe(errno))") }
    }

    private func set(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ what: String) throws(Failure) {
        var v = value
        guard setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw Failure(description: "VRRP: \(what) on \(interface): \(SystemCall.describe(errno))")
        }
    }

    private func configureIPv4() throws(Failure) {
        var group = ip_mreq()
        group.imr_multiaddr.s_addr = VRRPAdvertisement.ipv4Group.ipv4.bigEndian
        group.imr_interface.s_addr = source.ipv4.bigEndian
        guard setsockopt(receiveFD, Int32(IPPROTO_IP), IP_ADD_MEMBERSHIP, &group, socklen_t(MemoryLayout<ip_mreq>.size)) == 0 else {
            throw Failure(description: "VRRP: cannot join 224.0.0.18 on \(interface) (address \(source)): \(SystemCall.describe(errno))")
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = source.ipv4.bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sendFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure(description: "VRRP: cannot send from \(source) on \(interface): \(SystemCall.describe(errno))") }
        var out = in_addr(s_addr: source.ipv4.bigEndian)
        guard setsockopt(sendFD, Int32(IPPROTO_IP), IP_MULTICAST_IF, &out, socklen_t(MemoryLayout<in_addr>.size)) == 0 else {
            throw Failure(description: "VRRP: IP_MULTICAST_IF on \(interface): \(SystemCall.describe(errno))")
        }
        try set(sendFD, Int32(IPPROTO_IP), IP_MULTICAST_TTL, 255, "IP_MULTICAST_TTL")
        try set(sendFD, Int32(IPPROTO_IP), IP_TTL, 255, "IP_TTL")
        try set(sendFD, Int32(IPPROTO_IP), IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP")
        try set(receiveFD, Int32(IPPROTO_IP), IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP")
    }

    private func configureIPv6() throws(Failure) {
        var group = ipv6_mreq()
        group.ipv6mr_multiaddr = Self.in6(VRRPAdvertisement.ipv6Group)
        group.ipv6mr_interface = interfaceIndex
        guard setsockopt(receiveFD, Int32(IPPROTO_IPV6), IPV6_ADD_MEMBERSHIP, &group, socklen_t(MemoryLayout<ipv6_mreq>.size)) == 0 else {
            throw Failure(description: "VRRP: cannot join ff02::12 on \(interface): \(SystemCall.describe(errno))")
        }
        try set(receiveFD, Int32(IPPROTO_IPV6), IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT")
        try set(receiveFD, Int32(IPPROTO_IPV6), IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO")
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = Self.in6(source)
        if source.high >> 54 == 0x3FA { address.sin6_scope_id = interfaceIndex }  // fe80::/10
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sendFD, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard bound == 0 else { throw Failure(description: "VRRP: cannot send from \(source) on \(interface): \(SystemCall.describe(errno))") }
        try set(sendFD, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, Int32(bitPattern: interfaceIndex), "IPV6_MULTICAST_IF")
        try set(sendFD, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, 255, "IPV6_MULTICAST_HOPS")
        try set(sendFD, Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS, 255, "IPV6_UNICAST_HOPS")
        try set(sendFD, Int32(IPPROTO_IPV6), IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP")
    }

    static func in6(_ a: IPAddress) -> in6_addr {
        var out = in6_addr()
        withUnsafeMutableBytes(of: &out) { raw in
            for i in 0..<8 {
                raw[i] = UInt8(truncatingIfNeeded: a.high >> (56 - 8 * UInt64(i)))
                raw[8 + i] = UInt8(truncatingIfNeeded: a.low >> (56 - 8 * UInt64(i)))
            }
        }
        return out
    }

    static func address(_ a: in6_addr) -> IPAddress {
        withUnsafeBytes(of: a) { raw in
            IPAddress(high: raw[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, low: raw[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
        }
    }

    /// Sends `length` bytes at `bytes` to `destination`; nil, or the errno.
    func send(_ bytes: UnsafeRawPointer, length: Int, to destination: IPAddress) -> Int32? {
        let sent: Int
        if isIPv6 {
            var to = sockaddr_in6()
            to.sin6_family = sa_family_t(AF_INET6)
            to.sin6_addr = Self.in6(destination)
            to.sin6_scope_id = interfaceIndex
            sent = withUnsafePointer(to: &to) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.sendto(sendFD, bytes, length, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var to = sockaddr_in()
            to.sin_family = sa_family_t(AF_INET)
            to.sin_addr.s_addr = destination.ipv4.bigEndian
            sent = withUnsafePointer(to: &to) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.sendto(sendFD, bytes, length, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        return sent == length ? nil : errno
    }

    /// What arrived: the VRRP message within `buffer`, and what the IP layer said of it.
    struct Received {
        var offset: Int
        var length: Int
        var source: IPAddress
        var destination: IPAddress
        var ttl: UInt8
    }

    /// Reads one datagram into `buffer` (nil when none is waiting, or it was not a usable one).
    /// `.none` in `more` says the socket is drained.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> (Received?, more: Bool) {
        isIPv6 ? receiveIPv6(into: buffer) : receiveIPv4(into: buffer)
    }

    private func receiveIPv4(into buffer: UnsafeMutableRawBufferPointer) -> (Received?, more: Bool) {
        let n = recv(receiveFD, buffer.baseAddress, buffer.count, 0)
        guard n > 0 else { return (nil, n < 0 && errno == EINTR) }
        guard let ip = try? IPv4Packet(buffer.baseAddress!, length: n), ip.protocol == .vrrp, !ip.isFragment else { return (nil, true) }
        return (Received(offset: ip.headerLength, length: ip.payloadLength, source: ip.sourceAddress,
                         destination: ip.destinationAddress, ttl: ip.timeToLive), true)
    }

    private func receiveIPv6(into buffer: UnsafeMutableRawBufferPointer) -> (Received?, more: Bool) {
        var from = sockaddr_in6()
        var control = [UInt64](repeating: 0, count: 16)
        var iov = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
        let n: Int = withUnsafeMutablePointer(to: &from) { fromPointer in
            withUnsafeMutablePointer(to: &iov) { iovPointer in
                control.withUnsafeMutableBytes { controlBytes in
                    var message = msghdr()
                    message.msg_name = UnsafeMutableRawPointer(fromPointer)
                    message.msg_namelen = socklen_t(MemoryLayout<sockaddr_in6>.size)
                    message.msg_iov = iovPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    let n = recvmsg(receiveFD, &message, 0)
                    if n >= 0 { controlLength = message.msg_controllen }
                    return n
                }
            }
        }
        guard n > 0 else { return (nil, n < 0 && errno == EINTR) }
        var ttl: UInt8 = 0
        var destination = IPAddress.zero
        // Ancillary data: struct cmsghdr { size_t len; int level; int type; } then the data,
        // each message aligned to sizeof(size_t) (CMSG_* are macros Swift does not import).
        control.withUnsafeBytes { raw in
            var offset = 0
            let header = 16
            while offset + header <= min(controlLength, raw.count) {
                let length = raw.load(fromByteOffset: offset, as: Int.self)
                let level = raw.load(fromByteOffset: offset + 8, as: Int32.self)
                let type = raw.load(fromByteOffset: offset + 12, as: Int32.self)
                guard length >= header, offset + length <= raw.count else { break }
                if level == Int32(IPPROTO_IPV6) && type == IPV6_HOPLIMIT && length >= header + 4 {
                    ttl = UInt8(truncatingIfNeeded: raw.load(fromByteOffset: offset + header, as: Int32.self))
                } else if level == Int32(IPPROTO_IPV6) && type == IPV6_PKTINFO && length >= header + 20 {
                    var a = in6_addr()
                    withUnsafeMutableBytes(of: &a) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[(offset + header)..<(offset + header + 16)])) }
                    destination = Self.address(a)
                }
                offset += (length + 7) & ~7
            }
        }
        return (Received(offset: 0, length: n, source: Self.address(from.sin6_addr), destination: destination, ttl: ttl), true)
    }

    private var controlLength = 0

    /// Reads and forgets whatever reached the send socket (a bound raw socket also receives
    /// the unicast adverts to its address; the receive socket has them too).
    func drainSendSocket(into buffer: UnsafeMutableRawBufferPointer) {
        while recv(sendFD, buffer.baseAddress, buffer.count, 0) > 0 {}
    }
}

/// Each interface's addresses from getifaddrs: the first IPv4 one and the IPv6 link-local.
enum InterfaceAddresses {
    static func primary() -> [String: [IPAddress]] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [:] }
        defer { freeifaddrs(head) }
        var out: [String: [IPAddress]] = [:]
        var node = head
        while let n = node {
            defer { node = n.pointee.ifa_next }
            guard let sa = n.pointee.ifa_addr else { continue }
            let name = String(cString: n.pointee.ifa_name)
            if Int32(sa.pointee.sa_family) == AF_INET {
                let a = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
                if !(out[name] ?? []).contains(where: \.isIPv4) { out[name, default: []].append(IPAddress(ipv4: a)) }
            } else if Int32(sa.pointee.sa_family) == AF_INET6 {
                let a = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { VRRPSocket.address($0.pointee.sin6_addr) }
                // fe80::/10 only: VRRP for IPv6 speaks from the link-local address (RFC 5798 §5.1.2.1).
                if a.high >> 54 == 0x3FA && !(out[name] ?? []).contains(where: { !$0.isIPv4 }) { out[name, default: []].append(a) }
            }
        }
        return out
    }
}
