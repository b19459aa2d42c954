import Core
import Dispatch
import Foundation
import Lab
import PacketIO
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// TUN decapsulation in user space, for kernels without the ipip, ip6_tunnel, gre or fou
/// modules (this one): tunnel frames to one of this host's addresses (IPIP, IPv6-in-IP, GRE,
/// GUE on `guePort`; IPv4 or IPv6 outside, see `TunnelDecapsulation`) are read from the
/// interface with an AF_PACKET RX ring, the outer headers are stripped, and the inner packet
/// is written to a TUN device, from which the kernel receives it as if a tunnel interface had
/// (RFC 2003 §3, RFC 2473 §3: the inner datagram is forwarded unchanged).
final class RealServerTunnel {
    /// TUNSETIFF = _IOW('T', 202, int); IFF_TUN and IFF_NO_PI from <linux/if_tun.h>.
    private static let tunSetInterface: UInt = 0x4004_54CA
    private static let iffTun: Int16 = 0x0001
    private static let iffNoPI: Int16 = 0x1000
    /// struct ifreq: a 16-byte name, then a union whose first member is `short ifr_flags`.
    private static let ifreqSize = 40

    let device: String
    let tunDescriptor: Int32
    let sockets: [PacketSocket]
    /// This host's IPv4 and IPv6 addresses.
    let localAddresses: Set<IPAddress>
    /// The outer sources accepted (the directors); empty: any.
    let directors: Set<IPAddress>
    /// The UDP port GUE arrives on; 0: no GUE.
    let guePort: UInt16
    /// Bound to `guePort` so that the kernel, which sees each GUE datagram too, has a
    /// listener and does not answer the director with port-unreachable; never read (its
    /// small buffer overflows and the kernel drops quietly).
    private var gueSink: Int32 = -1
    /// Raw sockets for protocols 4, 41 and 47 in both families, for the same reason: without
    /// a handler for the protocol the kernel answers every tunnel packet with ICMP
    /// protocol-unreachable (IPv4) or parameter-problem (IPv6, unknown next header),
    /// rate-limited, back to the director (ip_protocol_deliver_rcu, ip6_protocol_deliver_rcu),
    /// unless a raw socket takes the packet. A raw socket whose queue is full does not count
    /// as taking it (measured on 6.18: every packet then counted in IpInUnknownProtos), so
    /// they are drained, unread, on every pass of the decapsulation loop.
    private var protocolSinks: [Int32] = []
    /// Where drained raw packets go: only their first bytes are copied (MSG_TRUNC).
    private var sinkScratch = [UInt8](repeating: 0, count: 64)
    private(set) var decapsulated = 0
    /// Tunnel frames to this host from a source that is not a director, not decapsulated.
    private(set) var foreignSources = 0
    private(set) var writeErrors = 0

    /// Opens /dev/net/tun as `device` and an RX-only AF_PACKET socket on each interface.
    init(device: String, interfaces: [String], directors: Set<IPAddress> = [], guePort: UInt16 = 0) throws {
        self.directors = directors
        self.guePort = guePort
        let fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            throw LabError("cannot open /dev/net/tun: \(String(cString: strerror(errno))); the kernel needs CONFIG_TUN")
        }
        var request = [UInt8](repeating: 0, count: Self.ifreqSize)
        let name = Array(device.utf8.prefix(15))
        request.replaceSubrange(0..<name.count, with: name)
        let flags = UInt16(bitPattern: Self.iffTun | Self.iffNoPI)
        request[16] = UInt8(flags & 0xFF)
        request[17] = UInt8(flags >> 8)
        // Safety: the buffer is a full struct ifreq (40 bytes) and outlives the call.
        let result = request.withUnsafeMutableBytes { ioctl(fd, Self.tunSetInterface, $0.baseAddress!) }
        guard result == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw LabError("TUNSETIFF \(device): \(message)")
        }
        tunDescriptor = fd
        self.device = device
        var configuration = PacketSocket.Configuration()
        configuration.transmitRing = nil
        configuration.bypassQdisc = false
        // TPACKET_V2: each frame as soon as it arrives (a V3 block would hold every packet of
        // a short connection, and every ACK of a long one, for its timer; Docs/adr/0003).
        // 2 KiB slots: the director sends MTU-sized tunnel packets, and any larger frame on the
        // link (a super-frame from elsewhere) is not for the tunnel.
        configuration.version = .v2
        configuration.receiveRing = RingGeometry(blockSize: 1 << 18, blockCount: 16, frameSize: 2048)
        do {
            sockets = try interfaces.map { try PacketSocket(interface: $0, configuration: configuration) }
        } catch {
            close(fd)
            throw LabError("\(error)")
        }
        localAddresses = Self.addresses()
        if guePort != 0 { gueSink = Self.bindSink(port: guePort) }
        protocolSinks = Self.protocolSinks()
    }

    deinit {
        close(tunDescriptor)
        if gueSink >= 0 { close(gueSink) }
        for fd in protocolSinks { close(fd) }
    }

    /// A non-blocking raw socket per family and tunnel protocol, its queue room for a few
    /// thousand full-sized packets between two drains (SO_RCVBUFFORCE: net.core.rmem_max is
    /// read-only in a namespace); those that cannot be opened are skipped.
    static func protocolSinks() -> [Int32] {
        var sinks: [Int32] = []
        for family in [AF_INET, AF_INET6] {
            for proto in [Int32(IPPROTO_IPIP), Int32(IPPROTO_IPV6), Int32(IPPROTO_GRE)] {
                let fd = socket(family, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), proto)
                guard fd >= 0 else { continue }
                var room: Int32 = 16 << 20
                setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &room, socklen_t(MemoryLayout<Int32>.size))
                sinks.append(fd)
            }
        }
        return sinks
    }

    /// Empties the raw sinks' queues.
    private func drainProtocolSinks() {
        sinkScratch.withUnsafeMutableBytes { scratch in
            for fd in protocolSinks {
                // Safety: at most scratch.count bytes are written into the scratch buffer.
                while recv(fd, scratch.baseAddress, scratch.count, Int32(MSG_TRUNC) | Int32(MSG_DONTWAIT)) >= 0 {}
            }
        }
    }

    /// A UDP socket on `port` for both families (IPV6_V6ONLY off), with the smallest buffer.
    static func bindSink(port: UInt16) -> Int32 {
        let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var off: Int32 = 0, small: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        // Safety: a sockaddr_in6 passed with its own size.
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard bound == 0 else {
            close(fd)
            return -1
        }
        return fd
    }

    /// Every IPv4 and IPv6 address configured in this namespace (getifaddrs).
    static func addresses() -> Set<IPAddress> {
        var result: Set<IPAddress> = []
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return result }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            if let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) {
                // Safety: an AF_INET ifa_addr is a sockaddr_in.
                let raw = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                result.insert(IPAddress(ipv4: UInt32(bigEndian: raw)))
            } else if let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET6) {
                // Safety: an AF_INET6 ifa_addr is a sockaddr_in6.
                var raw = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                let (high, low) = withUnsafeBytes(of: &raw) { bytes in
                    (UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self)),
                     UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
                }
                result.insert(IPAddress(high: high, low: low))
            }
            cursor = entry.pointee.ifa_next
        }
        return result
    }

    /// Decapsulates until `stopped()` is true; returns how many packets went to the TUN device.
    func run(until stopped: () -> Bool) -> Int {
        let addresses = localAddresses, directors = directors, guePort = guePort
        while !stopped() {
            var busy = false
            for socket in sockets {
                guard let ring = socket.receiveRing else { continue }
                let count = ring.receive { frame in
                    let packet: UnsafeMutableRawBufferPointer
                    switch TunnelDecapsulation.of(frame.bytes, localAddresses: addresses, directors: directors, guePort: guePort) {
                    case .inner(let p): packet = p
                    case .foreign: foreignSources += 1; return
                    case .notForUs: return
                    }
                    if write(tunDescriptor, packet.baseAddress, packet.count) == packet.count {
                        decapsulated += 1
                    } else {
                        writeErrors += 1
                    }
                }
                if count > 0 { busy = true }
            }
            drainProtocolSinks()
            if !busy, let socket = sockets.first {
                _ = try? socket.wait(for: .readable, timeoutMilliseconds: sockets.count == 1 ? 200 : 10)
            }
        }
        return decapsulated
    }
}
