import Core
import Wire

/// The frame target's input: two bytes that choose the director and how frames reach it,
/// then up to `maximumRecords` frames, each with a control byte that says how it arrives.
///
/// ```
/// byte 0   director, one of 64: bits 0-1 forwarding method (ForwardingMethod's raw value:
///          DR, NAT, TUN, FullNAT), bits 2-5 a variant (FuzzLab.config): the scheduler
///          (SchedulerKind.allCases[variant % 14]), bit 2 persistence, bit 3 a table of 8
///          entries and 8 FullNAT local ports (else 256 and 64), bit 4 thresholds (-x 2
///          with its implied -y, or -x 2000000000 when the variant is odd), bit 5 worker 1
///          of 2 and short timeouts (tcp 5 s, fin 2 s, udp 3 s); the second real server
///          has weight 0 in variants 6, 7, 14 and 15
/// byte 1   bit 0 process all frames as one batch (process(batch:), one clock reading)
/// record   ctl, dt, length (2 bytes, big-endian), that many bytes of Ethernet frame
///          (the last record takes what is left when the input is shorter)
///   ctl    bits 0-1 interface (0 client side, 1 server side, 2 none such, 3 interface 255),
///          bits 2-3 how the engine saw it (0 finished frame; 1 AF_PACKET: virtio
///          NEEDS_CSUM, partial checksum, sink finishes; 2 libpcap: partial, super-frame when
///          longer than the MTU; 3 partial checksum that Core must finish),
///          bit 4 AF_PACKET super-frame (GSO, segment size dt × 16), bit 5 no headroom
///          (else 64), bit 6 2048 bytes of tailroom (else none), bit 7 expire before it
///   dt     clock step before the frame: dt × 10 ms below 200, else (dt − 199) minutes
/// ```
///
/// Every frame gets a buffer of its own whose allocation ends where its capacity ends, so
/// AddressSanitizer reports any read or write past the buffer.
public enum FrameInput {
    public static let maximumRecords = 32
    public static let recordHeaderLength = 4

    public struct Record: Sendable {
        public var control: UInt8
        public var clockStep: UInt8
        public var bytes: [UInt8]
        public init(control: UInt8 = 0, clockStep: UInt8 = 1, bytes: [UInt8]) {
            self.control = control
            self.clockStep = clockStep
            self.bytes = bytes
        }
    }

    // Control byte bits, for the seed writer.
    public static let clientSide: UInt8 = 0
    public static let serverSide: UInt8 = 1
    public static let afPacketPartial: UInt8 = 1 << 2
    public static let libpcap: UInt8 = 2 << 2
    public static let superFrame: UInt8 = 1 << 4

    /// The input bytes for `records` under the two director bytes.
    public static func encode(director: UInt8, batch: Bool = false, _ records: [Record]) -> [UInt8] {
        var out: [UInt8] = [director, batch ? 1 : 0]
        for r in records.prefix(maximumRecords) {
            let n = min(r.bytes.count, Int(UInt16.max))
            out += [r.control, r.clockStep, UInt8(n >> 8), UInt8(n & 0xFF)]
            out += r.bytes.prefix(n)
        }
        return out
    }

    /// Byte 0 for `method` in `variant` (0...15).
    public static func directorByte(_ method: ForwardingMethod, variant: UInt8 = 0) -> UInt8 {
        method.rawValue | (variant & 0x0F) << 2
    }
}

/// The addresses of the director the frame target runs: client network on interface 0,
/// real servers on interface 1, the same as Tests/CoreTests/Director/Lab.swift
/// (198.18.0.0/15 and 2001:db8::/32).
public enum FuzzLab {
    public static let clientMAC = MACAddress("02:00:00:00:c0:01")!
    public static let directorClientMAC = MACAddress("02:00:00:00:00:01")!
    public static let directorServerMAC = MACAddress("02:00:00:00:00:02")!
    public static let rs1MAC = MACAddress("02:00:00:00:01:11")!
    public static let rs2MAC = MACAddress("02:00:00:00:01:12")!

    public struct Family: Sendable {
        public let client, vip, rs1, rs2, lip, directorServer: String
        public let isIPv6: Bool
    }
    public static let v4 = Family(client: "198.18.0.100", vip: "198.18.0.10", rs1: "198.18.1.11", rs2: "198.18.1.12",
                                  lip: "198.18.1.100", directorServer: "198.18.1.1", isIPv6: false)
    public static let v6 = Family(client: "2001:db8::100", vip: "2001:db8::10", rs1: "2001:db8:1::11",
                                  rs2: "2001:db8:1::12", lip: "2001:db8:1::100", directorServer: "2001:db8:1::1",
                                  isIPv6: true)
    public static let virtualPort: UInt16 = 80
    public static let realPort: UInt16 = 8080
    public static let firstLocalPort: UInt16 = 1024

    public static let interfaces = [
        InterfaceConfig(name: "client0", mac: directorClientMAC, mtu: 1500,
                        addresses: [IPAddress("198.18.0.1")!, IPAddress("2001:db8::1")!]),
        InterfaceConfig(name: "server0", mac: directorServerMAC, mtu: 1500,
                        addresses: [IPAddress("198.18.1.1")!, IPAddress("2001:db8:1::1")!]),
    ]

    /// The configuration byte 0 names: a TCP and a UDP service per family on port 80, two
    /// real servers each (TUN/DR: port 80; NAT/FullNAT: 8080). Also returns the table size.
    public static func config(director b0: UInt8) -> (config: DirectorConfig, capacity: Int) {
        let method = ForwardingMethod(rawValue: b0 & 3)!
        let variant = Int(b0 >> 2 & 0x0F)
        let scheduler = SchedulerKind.allCases[variant % SchedulerKind.allCases.count]
        let persistence = variant & 1 != 0 ? Persistence(timeout: 300, prefixLength: 24) : nil
        let small = variant & 2 != 0
        let (upper, lower): (UInt32, UInt32) = variant & 4 == 0 ? (0, 0) : variant & 1 != 0 ? (2_000_000_000, 0) : (2, 0)
        let idleServer = variant & 6 == 6
        // The SYN proxy (Docs/adr/0007) on the small-table NAT and FullNAT directors.
        let synProxy = (method == .nat || method == .fullNAT) && variant & 0x0A == 0x02
        let rsPort = method == .directRouting || method == .tunnel ? virtualPort : realPort
        var services: [VirtualServiceConfig] = []
        var neighbours: [NeighbourConfig] = []
        for f in [v4, v6] {
            neighbours.append(NeighbourConfig(address: IPAddress(f.rs1)!, mac: rs1MAC, interface: 1))
            neighbours.append(NeighbourConfig(address: IPAddress(f.rs2)!, mac: rs2MAC, interface: 1))
            for proto in TransportProtocol.allCases {
                services.append(VirtualServiceConfig(
                    key: ServiceKey(proto, IPAddress(f.vip)!, virtualPort), scheduler: scheduler, persistence: persistence,
                    realServers: [
                        RealServerConfig(address: IPAddress(f.rs1)!, port: rsPort, weight: 1, method: method,
                                         upperThreshold: upper, lowerThreshold: lower),
                        RealServerConfig(address: IPAddress(f.rs2)!, port: rsPort, weight: idleServer ? 0 : 2,
                                         method: method, upperThreshold: upper, lowerThreshold: lower),
                    ],
                    localAddresses: method == .fullNAT ? [IPAddress(f.lip)!] : [],
                    synProxy: synProxy && proto == .tcp))
            }
        }
        let worker = variant & 8 != 0
        var config = DirectorConfig(services: services, interfaces: interfaces, neighbours: neighbours,
                                    localPortRange: small ? 1024...1031 : 1024...1087,
                                    workerSlice: worker ? WorkerSlice(index: 1, count: 2) : .whole)
        if worker { config.timeouts.set(tcp: 5, tcpFin: 2, udp: 3) }
        return (config, small ? 8 : 256)
    }
}
