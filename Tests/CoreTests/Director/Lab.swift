import Core
import PacketBuilder
import Wire

/// The addresses every director test uses: a client network on interface 0 and a
/// real-server network on interface 1 (198.18.0.0/15 and 2001:db8::/32 only).
enum Lab {
    static let clientMAC = MACAddress("02:00:00:00:c0:01")!
    static let directorClientMAC = MACAddress("02:00:00:00:00:01")!
    static let directorServerMAC = MACAddress("02:00:00:00:00:02")!
    static let rs1MAC = MACAddress("02:00:00:00:01:11")!
    static let rs2MAC = MACAddress("02:00:00:00:01:12")!

    struct Family {
        let client: String
        let vip: String
        let rs1: String
        let rs2: String
        let lip: String
        let directorServer: String
        let isIPv6: Bool
    }
    static let v4 = Family(client: "198.18.0.100", vip: "198.18.0.10", rs1: "198.18.1.11", rs2: "198.18.1.12",
                           lip: "198.18.1.100", directorServer: "198.18.1.1", isIPv6: false)
    static let v6 = Family(client: "2001:db8::100", vip: "2001:db8::10", rs1: "2001:db8:1::11", rs2: "2001:db8:1::12",
                           lip: "2001:db8:1::100", directorServer: "2001:db8:1::1", isIPv6: true)

    static let clientPort: UInt16 = 40000
    static let virtualPort: UInt16 = 80
    static let realPort: UInt16 = 8080

    static let interfaces = [
        InterfaceConfig(name: "client0", mac: directorClientMAC, mtu: 1500,
                        addresses: [IPAddress("198.18.0.1")!, IPAddress("2001:db8::1")!]),
        InterfaceConfig(name: "server0", mac: directorServerMAC, mtu: 1500,
                        addresses: [IPAddress("198.18.1.1")!, IPAddress("2001:db8:1::1")!]),
    ]

    /// One service per protocol and family, two real servers each, all with `method`.
    static func config(_ method: ForwardingMethod, scheduler: SchedulerKind = .roundRobin,
                       persistence: Persistence? = nil, weights: (Int32, Int32) = (1, 1),
                       upper: UInt32 = 0, lower: UInt32 = 0,
                       localPortRange: ClosedRange<UInt16> = 1024...65535) -> DirectorConfig {
        var services: [VirtualServiceConfig] = []
        var neighbours: [NeighbourConfig] = []
        for f in [v4, v6] {
            neighbours.append(NeighbourConfig(address: IPAddress(f.rs1)!, mac: rs1MAC, interface: 1))
            neighbours.append(NeighbourConfig(address: IPAddress(f.rs2)!, mac: rs2MAC, interface: 1))
            for proto in TransportProtocol.allCases {
                let rsPort = method == .directRouting || method == .tunnel ? virtualPort : realPort
                services.append(VirtualServiceConfig(
                    key: ServiceKey(proto, IPAddress(f.vip)!, virtualPort), scheduler: scheduler,
                    persistence: persistence,
                    realServers: [
                        RealServerConfig(address: IPAddress(f.rs1)!, port: rsPort, weight: weights.0, method: method,
                                         upperThreshold: upper, lowerThreshold: lower),
                        RealServerConfig(address: IPAddress(f.rs2)!, port: rsPort, weight: weights.1, method: method,
                                         upperThreshold: upper, lowerThreshold: lower),
                    ],
                    localAddresses: method == .fullNAT ? [IPAddress(f.lip)!] : []))
            }
        }
        return DirectorConfig(services: services, interfaces: interfaces, neighbours: neighbours,
                              localPortRange: localPortRange)
    }

    // MARK: Frames

    static func ip(_ frame: Frame, _ f: Family, from: String, to: String, ttl: UInt8 = 64, id: UInt16 = 0) -> Frame {
        f.isIPv6 ? frame.ipv6(source: from, destination: to, hopLimit: ttl)
                 : frame.ipv4(source: from, destination: to, ttl: ttl, identification: id)
    }

    static func l4(_ frame: Frame, _ proto: TransportProtocol, from: UInt16, to: UInt16, flags: TCPFlags,
                   seq: UInt32 = 1000, ack: UInt32 = 0) -> Frame {
        proto == .tcp ? frame.tcp(sourcePort: from, destinationPort: to, flags: flags, sequence: seq, acknowledgment: ack)
                      : frame.udp(sourcePort: from, destinationPort: to)
    }

    /// What the client sends to the VIP.
    static func fromClient(_ f: Family, _ proto: TransportProtocol, flags: TCPFlags = [.syn], payload: String = "",
                           clientPort: UInt16 = clientPort, ttl: UInt8 = 64) -> Frame {
        l4(ip(.ethernet(destination: directorClientMAC, source: clientMAC), f, from: f.client, to: f.vip, ttl: ttl),
           proto, from: clientPort, to: virtualPort, flags: flags).payload(payload)
    }
}

/// Runs frames through one director with a controllable clock.
final class Harness {
    let director: Director
    var now: UInt64 = 1_000_000_000_000

    init(_ config: DirectorConfig, capacity: Int = 4096) {
        director = Director(config: config, capacity: capacity, now: now)
    }

    /// Processes `frame` arriving on `interface`; returns the verdict and the frame as it left.
    func run(_ frame: [UInt8], interface: Int = 0, checksumPartial: Bool = false,
             headroom: Int = PacketBuffer.recommendedHeadroom) -> (Verdict, [UInt8]) {
        let capacity = headroom + frame.count + 2048
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: capacity)
        frame.withUnsafeBytes { (raw + headroom).copyMemory(from: $0.baseAddress!, byteCount: frame.count) }
        var packet = PacketBuffer(base: raw, capacity: capacity, offset: headroom, length: frame.count,
                                  interface: interface, checksumPartial: checksumPartial)
        let verdict = director.process(&packet, now: now)
        let out = Array(UnsafeRawBufferPointer(start: packet.frame, count: packet.length))
        return (verdict, out)
    }

    func run(_ frame: Frame, interface: Int = 0) -> (Verdict, [UInt8]) { run(frame.bytes, interface: interface) }

    func advance(seconds: Double) {
        now += UInt64(seconds * 1_000_000_000)
        director.expire(now: now)
    }
}
