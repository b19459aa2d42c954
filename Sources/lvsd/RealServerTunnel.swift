import Core
import Dispatch
import Foundation
import Lab
import PacketIO
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// IPIP decapsulation in user space, for kernels without the ipip module (this one):
/// frames carrying IPv4 protocol 4 to one of this host's addresses are read from the
/// interface with an AF_PACKET RX ring, the outer IPv4 header is stripped, and the inner
/// packet is written to a TUN device, from which the kernel receives it as if a tunnel
/// interface had (RFC 2003 §3: the inner datagram is forwarded unchanged).
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
    /// This host's IPv4 addresses (network order as `IPv4Packet.destination` reads them).
    let localAddresses: Set<UInt32>
    /// The outer sources accepted (the directors); empty: any.
    let directors: Set<UInt32>
    private(set) var decapsulated = 0
    /// IPIP frames to this host from a source that is not a director, not decapsulated.
    private(set) var foreignSources = 0
    private(set) var writeErrors = 0

    /// Opens /dev/net/tun as `device` and an RX-only AF_PACKET socket on each interface.
    init(device: String, interfaces: [String], directors: Set<UInt32> = []) throws {
        self.directors = directors
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
        // 2 KiB slots: the director sends MTU-sized IPIP packets, and any larger frame on the
        // link (a super-frame from elsewhere) is not for the tunnel.
        configuration.version = .v2
        configuration.receiveRing = RingGeometry(blockSize: 1 << 18, blockCount: 16, frameSize: 2048)
        do {
            sockets = try interfaces.map { try PacketSocket(interface: $0, configuration: configuration) }
        } catch {
            close(fd)
            throw LabError("\(error)")
        }
        localAddresses = Self.ipv4Addresses()
    }

    deinit { close(tunDescriptor) }

    /// Every IPv4 address configured in this namespace (getifaddrs).
    static func ipv4Addresses() -> Set<UInt32> {
        var result: Set<UInt32> = []
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return result }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            if let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) {
                // Safety: an AF_INET ifa_addr is a sockaddr_in.
                let raw = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                result.insert(UInt32(bigEndian: raw))
            }
            cursor = entry.pointee.ifa_next
        }
        return result
    }

    /// Decapsulates until `stopped()` is true; returns how many packets went to the TUN device.
    func run(until stopped: () -> Bool) -> Int {
        let addresses = localAddresses, directors = directors
        while !stopped() {
            var busy = false
            for socket in sockets {
                guard let ring = socket.receiveRing else { continue }
                let count = ring.receive { frame in
                    let packet: UnsafeMutableRawBufferPointer
                    switch TunnelDecapsulation.of(frame.bytes, localAddresses: addresses, directors: directors) {
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
            if !busy, let socket = sockets.first {
                _ = try? socket.wait(for: .readable, timeoutMilliseconds: sockets.count == 1 ? 200 : 10)
            }
        }
        return decapsulated
    }
}
