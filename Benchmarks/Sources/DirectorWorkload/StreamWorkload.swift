import PacketBuilder

#if canImport(Glibc)
import Glibc
#endif

/// The per-packet cost of the paths that look inside a TCP stream: FullNAT plain against
/// FullNAT with a PROXY protocol v2 header (Docs/adr/0008) or TOA, an FTP control connection's
/// 227 and PORT rewrites (Docs/ftp.md) against a plain NAT connection, and the SYN proxy's
/// handshake (Docs/adr/0007). Unlike `Workload` it holds a few thousand connections, not a
/// million: the point is what each feature adds to the same packet, not cache misses.
public enum StreamScenario: String, CaseIterable, Sendable {
    /// FullNAT, data both ways on established connections.
    case fullNAT = "fullnat"
    /// The same with `proxy_protocol v2`: every segment's numbers shifted by the header.
    case fullNATProxyV2 = "fullnat-proxy-v2"
    /// The same with TOA.
    case fullNATTOA = "fullnat-toa"
    /// NAT, data both ways: the baseline of the FTP rows.
    case nat = "nat"
    /// NAT FTP control connections: each packet is the server's `227` reply, rewritten to the
    /// VIP (one character shorter), with its passive data connection expected.
    case ftpPassiveReply = "ftp-227"
    /// FullNAT FTP control connections: each packet is the client's `PORT`, rewritten to the
    /// data connection's local address and port (the data connection exists after the first).
    case ftpActivePort = "ftp-port"
    /// NAT FTP control connections after a `227` rewrite: commands and replies both ways,
    /// each scanned for PORT/227 and shifted by the rewrite's −1.
    case ftpShifted = "ftp-shifted"

    var method: ForwardingMethod {
        switch self {
        case .fullNAT, .fullNATProxyV2, .fullNATTOA, .ftpActivePort: .fullNAT
        case .nat, .ftpPassiveReply, .ftpShifted: .nat
        }
    }
    var isFTP: Bool { self == .ftpPassiveReply || self == .ftpActivePort || self == .ftpShifted }
}

/// Addresses of the stream lab (198.18.0.0/15 only). FTP real servers have one more
/// character than the VIP, so a 227 rewrite shortens the reply and leaves a shift behind.
public enum StreamLab {
    public static let vip = "198.18.0.10"
    public static let lip = "198.18.1.100"
    public static let realServers = ["198.18.1.11", "198.18.1.12"]
    public static let ftpRealServers = ["198.18.1.111", "198.18.1.112"]
    public static let clientPort: UInt16 = 40000
    /// A 100-byte payload, the size of a small request or reply.
    public static let payload = [UInt8](repeating: 0x61, count: 100)

    /// Client `i`: 198.19.0.0 + (i mod 65536), port 1024 + i / 65536 (distinct up to 4M).
    public static func client(_ i: Int) -> (address: UInt32, port: UInt16) {
        (0xC613_0000 | UInt32(i & 0xFFFF), UInt16(truncatingIfNeeded: 1024 + (i >> 16)))
    }

    public static func dotted(_ a: UInt32) -> String {
        "\(a >> 24).\((a >> 16) & 0xFF).\((a >> 8) & 0xFF).\(a & 0xFF)"
    }

    public static func config(_ method: ForwardingMethod, virtualPort: UInt16, realPort: UInt16, servers: [String],
                              synProxy: Bool = false, proxyProtocol: ProxyProtocolHeader.Version? = nil,
                              toa: Bool = false) -> DirectorConfig {
        var service = VirtualServiceConfig(
            key: ServiceKey(.tcp, IPAddress(vip)!, virtualPort), scheduler: .roundRobin,
            realServers: servers.map { RealServerConfig(address: IPAddress($0)!, port: realPort, method: method) },
            localAddresses: method == .fullNAT ? [IPAddress(lip)!] : [], synProxy: synProxy)
        service.proxyProtocol = proxyProtocol
        service.toa = toa
        let interfaces = [
            InterfaceConfig(name: "client0", mac: BenchLab.directorClientMAC, mtu: 1500, addresses: [IPAddress("198.18.0.1")!]),
            InterfaceConfig(name: "server0", mac: BenchLab.directorServerMAC, mtu: 1500, addresses: [IPAddress("198.18.1.1")!]),
        ]
        let macs = [BenchLab.rs1MAC, BenchLab.rs2MAC]
        let neighbours = servers.enumerated().map { NeighbourConfig(address: IPAddress($1)!, mac: macs[$0 % 2], interface: 1) }
        return DirectorConfig(services: [service], interfaces: interfaces, neighbours: neighbours)
    }
}

/// Frames of different lengths, one per 256-byte stride in one allocation, each with the
/// interface it arrives on; made before measuring.
public final class FrameList {
    public static let stride = 256
    public let count: Int
    let base: UnsafeMutableRawPointer
    let lengths: UnsafeMutablePointer<Int>
    let interfaces: UnsafeMutablePointer<Int>

    public init(_ frames: [(bytes: [UInt8], interface: Int)]) {
        count = frames.count
        base = .allocate(byteCount: max(1, count) * Self.stride, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count) * Self.stride)
        lengths = .allocate(capacity: max(1, count))
        interfaces = .allocate(capacity: max(1, count))
        for (i, f) in frames.enumerated() {
            precondition(f.bytes.count <= Self.stride, "frame \(i) is \(f.bytes.count) bytes")
            f.bytes.withUnsafeBytes { (base + i * Self.stride).copyMemory(from: $0.baseAddress!, byteCount: f.bytes.count) }
            lengths[i] = f.bytes.count
            interfaces[i] = f.interface
        }
    }
    deinit {
        base.deallocate()
        lengths.deallocate()
        interfaces.deallocate()
    }

    @inline(__always) public func frame(_ i: Int) -> UnsafeMutableRawPointer { base + i * Self.stride }
    @inline(__always) public func length(_ i: Int) -> Int { lengths[i] }
    @inline(__always) public func interface(_ i: Int) -> Int { interfaces[i] }
}

/// One director, one scenario: `connections` connections opened in setup (handshake, and the
/// first data or the first rewrite where the scenario needs one), then `frames`, the
/// packets a measured loop replays in order. Each replayed frame is copied into a scratch
/// buffer first (a ring hands over fresh bytes; the director rewrites in place) and must come
/// out `.forward`. Not shared between threads.
public final class StreamWorkload: @unchecked Sendable {
    public let scenario: StreamScenario
    public let director: Director
    public var now: UInt64 = startOfTime
    public private(set) var frames: FrameList
    /// Room for a PROXY header or a longer rewrite, as a ring slot has.
    public static let scratchCapacity = 2048
    let scratch: UnsafeMutableRawPointer
    public var processed = 0
    public var forwarded = 0
    public var lastUnexpected: Verdict?

    static let clientISN: UInt32 = 1000
    static let serverISN: UInt32 = 0x9000_0000

    public init(_ scenario: StreamScenario, connections: Int) {
        self.scenario = scenario
        let ftp = scenario.isFTP
        director = Director(
            config: StreamLab.config(scenario.method, virtualPort: ftp ? 21 : 80, realPort: ftp ? 21 : 8080,
                                     servers: ftp ? StreamLab.ftpRealServers : StreamLab.realServers,
                                     proxyProtocol: scenario == .fullNATProxyV2 ? .v2 : nil, toa: scenario == .fullNATTOA),
            capacity: Workload.capacity(live: 2 * connections), hashSeed: 0x5157_4C56_535F_5345, now: startOfTime)
        scratch = .allocate(byteCount: Self.scratchCapacity, alignment: 64)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: Self.scratchCapacity)
        frames = FrameList([])
        var measured: [(bytes: [UInt8], interface: Int)] = []
        for i in 0..<connections { measured += open(i) }
        frames = FrameList(measured)
        processed = 0
        forwarded = 0
    }

    deinit { scratch.deallocate() }

    /// The real server's side of one connection, read from the director's output.
    struct Side {
        var server: String
        var address: String
        var port: UInt16
    }

    func fromClient(_ i: Int, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, payload: [UInt8] = []) -> [UInt8] {
        let (address, port) = StreamLab.client(i)
        return Frame.ethernet(destination: BenchLab.directorClientMAC, source: BenchLab.clientMAC)
            .ipv4(source: StreamLab.dotted(address), destination: StreamLab.vip)
            .tcp(sourcePort: port, destinationPort: scenario.isFTP ? 21 : 80, flags: flags, sequence: seq,
                 acknowledgment: ack)
            .payload(payload).bytes
    }

    func fromServer(_ side: Side, _ flags: TCPFlags, seq: UInt32, ack: UInt32, payload: [UInt8] = []) -> [UInt8] {
        Frame.ethernet(destination: BenchLab.directorServerMAC, source: BenchLab.rs1MAC)
            .ipv4(source: side.server, destination: side.address)
            .tcp(sourcePort: scenario.isFTP ? 21 : 8080, destinationPort: side.port, flags: flags, sequence: seq,
                 acknowledgment: ack)
            .payload(payload).bytes
    }

    /// Runs one setup frame; it must be forwarded. Returns the frame as it left.
    @discardableResult
    func setup(_ bytes: [UInt8], interface: Int = 0) -> [UInt8] {
        bytes.withUnsafeBytes { (scratch + PacketBuffer.recommendedHeadroom).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        var packet = PacketBuffer(base: scratch, capacity: Self.scratchCapacity, offset: PacketBuffer.recommendedHeadroom,
                                  length: bytes.count, interface: interface)
        now &+= nanosPerPacket
        let verdict = director.process(&packet, now: now)
        guard case .forward = verdict else { fatalError("\(scenario.rawValue): setup frame not forwarded: \(verdict)") }
        return Array(UnsafeRawBufferPointer(start: packet.frame, count: packet.length))
    }

    /// Opens connection `i` and returns the frames the measured loop replays for it.
    func open(_ i: Int) -> [(bytes: [UInt8], interface: Int)] {
        let c = Self.clientISN &+ UInt32(i), s = Self.serverISN &+ UInt32(i)
        let syn = setup(fromClient(i, .syn, seq: c))
        let ip = EthernetFrame.headerLength, tcp = ip + IPv4Packet.minimumHeaderLength
        func address(_ offset: Int) -> String {
            StreamLab.dotted(syn[ip + offset ..< ip + offset + 4].reduce(0) { $0 << 8 | UInt32($1) })
        }
        let side = Side(server: address(IPv4Packet.Offset.destination), address: address(IPv4Packet.Offset.source),
                        port: UInt16(syn[tcp]) << 8 | UInt16(syn[tcp + 1]))
        setup(fromServer(side, [.syn, .ack], seq: s, ack: c &+ 1), interface: 1)
        setup(fromClient(i, .ack, seq: c &+ 1, ack: s &+ 1))

        let (clientAddress, clientPort) = StreamLab.client(i)
        let p = StreamLab.payload
        let n = UInt32(p.count)
        switch scenario {
        case .fullNAT, .fullNATProxyV2, .fullNATTOA, .nat:
            // The first request carries the PROXY header, if any; what follows is shifted by it.
            let shift: UInt32 = scenario == .fullNATProxyV2
                ? UInt32(ProxyProtocolHeader(version: .v2, source: IPAddress(ipv4: clientAddress), sourcePort: clientPort,
                                             destination: IPAddress(StreamLab.vip)!, destinationPort: 80).encodedLength)
                : 0
            setup(fromClient(i, [.ack, .psh], seq: c &+ 1, ack: s &+ 1, payload: p))
            setup(fromServer(side, .ack, seq: s &+ 1, ack: c &+ 1 &+ n &+ shift), interface: 1)
            // The client has seen the reply: past the handshake, TOA adds nothing (it rides
            // only on segments that acknowledge the SYN-ACK alone).
            return [(fromClient(i, [.ack, .psh], seq: c &+ 1 &+ n, ack: s &+ 1 &+ n, payload: p), 0),
                    (fromServer(side, [.ack, .psh], seq: s &+ 1, ack: c &+ 1 &+ 2 &* n &+ shift, payload: p), 1)]
        case .ftpPassiveReply:
            let port = 50000 + i % 10000
            let reply = Array("227 Entering Passive Mode (\(side.server.split(separator: ".").joined(separator: ",")),\(port >> 8),\(port & 0xFF)).\r\n".utf8)
            let frame = fromServer(side, [.ack, .psh], seq: s &+ 1, ack: c &+ 1, payload: reply)
            let out = setup(frame, interface: 1)
            precondition(out.count == frame.count - 1, "the 227 was not rewritten to the VIP")
            return [(frame, 1)]
        case .ftpActivePort:
            let port = 20000 + i % 10000
            let a = clientAddress
            let line = Array("PORT \(a >> 24),\((a >> 16) & 0xFF),\((a >> 8) & 0xFF),\(a & 0xFF),\(port >> 8),\(port & 0xFF)\r\n".utf8)
            let frame = fromClient(i, [.ack, .psh], seq: c &+ 1, ack: s &+ 1, payload: line)
            let out = setup(frame)
            precondition(out != frame && director.ftpCounters.dataConnections == UInt64(i + 1),
                         "the PORT made no data connection or was not rewritten")
            return [(frame, 0)]
        case .ftpShifted:
            let reply = Array("227 Entering Passive Mode (\(side.server.split(separator: ".").joined(separator: ",")),195,80).\r\n".utf8)
            setup(fromServer(side, [.ack, .psh], seq: s &+ 1, ack: c &+ 1, payload: reply), interface: 1)
            let r = UInt32(reply.count)
            setup(fromClient(i, .ack, seq: c &+ 1, ack: s &+ r))  // the client saw one byte less
            let command = Array("RETR pub/releases/swiftlvs-1.0.tar.gz\r\n".utf8)
            let answer = Array("150 Opening BINARY mode data connection for pub/releases/swiftlvs-1.0.tar.gz (104857600 bytes).\r\n".utf8)
            let k = UInt32(command.count)
            return [(fromClient(i, [.ack, .psh], seq: c &+ 1, ack: s &+ r, payload: command), 0),
                    (fromServer(side, [.ack, .psh], seq: s &+ 1 &+ r, ack: c &+ 1 &+ k, payload: answer), 1)]
        }
    }

    /// The measured loop: frame `cursor` of `frames` into the scratch buffer, then `process`.
    @inline(never)
    public func replay(from cursor: inout Int, count: Int) {
        let frames = frames
        let dst = scratch + PacketBuffer.recommendedHeadroom
        for _ in 0..<count {
            let length = frames.length(cursor)
            dst.copyMemory(from: frames.frame(cursor), byteCount: length)
            var packet = PacketBuffer(base: scratch, capacity: Self.scratchCapacity, offset: PacketBuffer.recommendedHeadroom,
                                      length: length, interface: frames.interface(cursor))
            cursor &+= 1
            if cursor == frames.count { cursor = 0 }
            now &+= nanosPerPacket
            let verdict = director.process(&packet, now: now)
            processed &+= 1
            if case .forward = verdict { forwarded &+= 1 } else { lastUnexpected = verdict }
        }
    }
}

/// SYN proxy handshakes with data (FullNAT, Docs/adr/0007), five packets each from a
/// never-seen client: the client's SYN (answered with a cookie), its ACK (validated, turned
/// into the SYN to the real server), the server's SYN-ACK (answered with the ACK to the
/// server), a 100-byte request and a 100-byte reply, both translated. The frames are made in
/// setup with the cookie and the local port left zero; the loop writes the cookie it read from
/// the director's SYN-ACK into the client's acknowledgments and the local port it read from
/// the SYN to the server into the server's frames, each with an RFC 1624 checksum update (a
/// few ns of the driver's own in each handshake).
public final class SynProxyWorkload: @unchecked Sendable {
    public static let packetsPerHandshake = 5
    public let director: Director
    public var now: UInt64 = startOfTime
    let frames: FrameList
    public var cursor = 0
    let scratch: UnsafeMutableRawPointer
    public var handshakes = 0
    /// Packets whose verdict was the one the handshake expects (answer or forward, and where).
    public var asExpected = 0
    public var processed = 0
    public var lastUnexpected: Verdict?

    static let serverISN: UInt32 = 0x9000_0000
    static let tcpOffset = EthernetFrame.headerLength + IPv4Packet.minimumHeaderLength

    /// `pool` handshakes' frames (distinct clients); the loop wraps around after an
    /// unmeasured clock jump that expires every connection they made.
    public init(pool: Int) {
        let server = StreamLab.realServers[0]
        director = Director(config: StreamLab.config(.fullNAT, virtualPort: 80, realPort: 8080, servers: [server], synProxy: true),
                            capacity: Workload.capacity(live: pool), hashSeed: 0x5157_4C56_535F_5345, now: startOfTime)
        scratch = .allocate(byteCount: StreamWorkload.scratchCapacity, alignment: 64)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: StreamWorkload.scratchCapacity)
        let mss: [UInt8] = [2, 4, 0x05, 0xB4]
        let p = StreamLab.payload
        var list: [(bytes: [UInt8], interface: Int)] = []
        list.reserveCapacity(pool * Self.packetsPerHandshake)
        for i in 0..<pool {
            let (address, port) = StreamLab.client(i)
            let c = UInt32(truncatingIfNeeded: 1000 &* (i + 1))
            let s = Self.serverISN &+ UInt32(i)
            func client(_ flags: TCPFlags, seq: UInt32, options: [UInt8] = [], payload: [UInt8] = []) -> [UInt8] {
                Frame.ethernet(destination: BenchLab.directorClientMAC, source: BenchLab.clientMAC)
                    .ipv4(source: StreamLab.dotted(address), destination: StreamLab.vip)
                    .tcp(sourcePort: port, destinationPort: 80, flags: flags, sequence: seq, acknowledgment: 0, options: options)
                    .payload(payload).bytes
            }
            func fromServer(_ flags: TCPFlags, seq: UInt32, ack: UInt32, options: [UInt8] = [], payload: [UInt8] = []) -> [UInt8] {
                Frame.ethernet(destination: BenchLab.directorServerMAC, source: BenchLab.rs1MAC)
                    .ipv4(source: server, destination: StreamLab.lip)
                    .tcp(sourcePort: 8080, destinationPort: 0, flags: flags, sequence: seq, acknowledgment: ack, options: options)
                    .payload(payload).bytes
            }
            list.append((client(.syn, seq: c, options: mss), 0))
            list.append((client(.ack, seq: c &+ 1), 0))
            list.append((fromServer([.syn, .ack], seq: s, ack: c &+ 1, options: mss), 1))
            list.append((client([.ack, .psh], seq: c &+ 1, payload: p), 0))
            list.append((fromServer([.ack, .psh], seq: s &+ 1, ack: c &+ 1 &+ UInt32(p.count), payload: p), 1))
        }
        frames = FrameList(list)
    }

    deinit { scratch.deallocate() }

    /// Outside the measured region: when fewer than `handshakes` fresh clients remain, jumps
    /// the clock past the established timeout, expires every connection and starts over.
    public func prepare(handshakes: Int) {
        guard cursor + handshakes * Self.packetsPerHandshake > frames.count else { return }
        now &+= UInt64(director.timeouts[.established] + 60) * 1_000_000_000
        director.expire(now: now)
        precondition(director.table.count == 0, "\(director.table.count) connections outlived the clock jump")
        cursor = 0
    }

    @inline(__always) static func load32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always) static func load16(_ p: UnsafeRawPointer, _ offset: Int) -> UInt16 {
        UInt16(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    /// Writes `value` into the 32-bit TCP field at `offset` of the segment at `tcp` and updates its checksum.
    @inline(__always) static func patch(_ tcp: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt32) {
        let old = load32(tcp, offset)
        tcp.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
        let sum = Checksum.update(load16(tcp, TCPSegment.Offset.checksum), old: old, new: value)
        tcp.storeBytes(of: sum.bigEndian, toByteOffset: TCPSegment.Offset.checksum, as: UInt16.self)
    }
    @inline(__always) static func patch(_ tcp: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt16) {
        let old = load16(tcp, offset)
        tcp.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
        let sum = Checksum.update(load16(tcp, TCPSegment.Offset.checksum), old: old, new: value)
        tcp.storeBytes(of: sum.bigEndian, toByteOffset: TCPSegment.Offset.checksum, as: UInt16.self)
    }

    /// The measured loop: `count` whole handshakes with their request and reply.
    @inline(never)
    public func run(handshakes count: Int) {
        let frames = frames
        let dst = scratch + PacketBuffer.recommendedHeadroom
        let tcp = dst + Self.tcpOffset
        var cookie: UInt32 = 0
        var localPort: UInt16 = 0
        for _ in 0..<count {
            for role in 0..<Self.packetsPerHandshake {
                let length = frames.length(cursor)
                dst.copyMemory(from: frames.frame(cursor), byteCount: length)
                switch role {
                case 1, 3: Self.patch(tcp, TCPSegment.Offset.acknowledgment, cookie &+ 1)
                case 2, 4: Self.patch(tcp, TCPSegment.Offset.destinationPort, localPort)
                default: break
                }
                var packet = PacketBuffer(base: scratch, capacity: StreamWorkload.scratchCapacity,
                                          offset: PacketBuffer.recommendedHeadroom, length: length,
                                          interface: frames.interface(cursor))
                cursor &+= 1
                now &+= nanosPerPacket
                let verdict = director.process(&packet, now: now)
                processed &+= 1
                let out = UnsafeRawPointer(packet.frame) + Self.tcpOffset
                switch (role, verdict) {
                case (0, .answer(interface: 0)):
                    cookie = Self.load32(out, TCPSegment.Offset.sequence)
                    asExpected &+= 1
                case (1, .forward(interface: 1)):
                    localPort = Self.load16(out, TCPSegment.Offset.sourcePort)
                    asExpected &+= 1
                case (2, .answer(interface: 1)), (3, .forward(interface: 1)), (4, .forward(interface: 0)):
                    asExpected &+= 1
                default:
                    lastUnexpected = verdict
                }
            }
            handshakes &+= 1
        }
    }
}
