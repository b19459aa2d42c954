@_exported import Core
@_exported import Wire

#if canImport(Glibc)
import Glibc
#endif

/// CPU time of the calling thread in nanoseconds: unlike wall time it does not count the
/// time other processes on these 2 vCPUs take the core away.
public func threadCPUNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Monotonic wall time in nanoseconds.
public func wallNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The lab the benchmarks run in: one IPv4 TCP virtual service 198.18.0.10:80 with two real
/// servers on a second interface, as in `Tests/CoreTests/Director/Lab.swift`. Clients come
/// from 100.64.0.0/10 (baseline) and 100.128.0.0/10 (fresh flows), so every one of the
/// million connections has its own client address.
public enum BenchLab {
    public static let clientMAC = MACAddress("02:00:00:00:c0:01")!
    public static let directorClientMAC = MACAddress("02:00:00:00:00:01")!
    public static let directorServerMAC = MACAddress("02:00:00:00:00:02")!
    public static let rs1MAC = MACAddress("02:00:00:00:01:11")!
    public static let rs2MAC = MACAddress("02:00:00:00:01:12")!
    public static let vip = IPAddress("198.18.0.10")!
    public static let rs1 = IPAddress("198.18.1.11")!
    public static let rs2 = IPAddress("198.18.1.12")!
    public static let virtualPort: UInt16 = 80
    public static let realPort: UInt16 = 8080

    /// The first address of the baseline clients (100.64.0.0) and of fresh clients (100.128.0.0).
    public static let baselineClientBase: UInt32 = 0x6440_0000
    public static let freshClientBase: UInt32 = 0x6480_0000

    public static func config(_ method: ForwardingMethod, scheduler: SchedulerKind) -> DirectorConfig {
        let rsPort = method == .nat ? realPort : virtualPort
        let service = VirtualServiceConfig(
            key: ServiceKey(.tcp, vip, virtualPort), scheduler: scheduler,
            realServers: [
                RealServerConfig(address: rs1, port: rsPort, weight: 1, method: method),
                RealServerConfig(address: rs2, port: rsPort, weight: 1, method: method),
            ])
        let interfaces = [
            InterfaceConfig(name: "client0", mac: directorClientMAC, mtu: 1500, addresses: [IPAddress("198.18.0.1")!]),
            InterfaceConfig(name: "server0", mac: directorServerMAC, mtu: 1500, addresses: [IPAddress("198.18.1.1")!]),
        ]
        let neighbours = [
            NeighbourConfig(address: rs1, mac: rs1MAC, interface: 1),
            NeighbourConfig(address: rs2, mac: rs2MAC, interface: 1),
        ]
        return DirectorConfig(services: [service], interfaces: interfaces, neighbours: neighbours)
    }

    /// Client `i` of a population starting at `base`: a distinct (address, port) for every i.
    @inline(__always)
    public static func client(_ i: Int, base: UInt32) -> (address: UInt32, port: UInt16) {
        let address = base &+ UInt32(truncatingIfNeeded: i & 0x3F_FFFF)
        let port = UInt16(truncatingIfNeeded: 1024 &+ (i >> 22) &+ (i & 0x3FF) &* 37)
        return (address, port)
    }
}

/// Writes minimal Ethernet + IPv4 + TCP frames (no options, no payload) with valid
/// checksums, the shape of a bare SYN or ACK. PacketBuilder is not a product of the root
/// package, so the benchmarks build frames here from Wire's offsets and checksums.
public enum TCPFrame {
    public static let ipOffset = EthernetFrame.headerLength
    public static let tcpOffset = ipOffset + IPv4Packet.minimumHeaderLength
    /// 54 bytes: the smallest TCP frame; the wire pads it to 60, the ring does not.
    public static let length = tcpOffset + TCPSegment.minimumHeaderLength

    public static func write(to p: UnsafeMutableRawPointer, sourceMAC: MACAddress, destinationMAC: MACAddress,
                      source: UInt32, destination: UInt32, sourcePort: UInt16, destinationPort: UInt16,
                      flags: TCPFlags, sequence: UInt32, acknowledgment: UInt32) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: length)
        storeMAC(destinationMAC, p + EthernetFrame.Offset.destination)
        storeMAC(sourceMAC, p + EthernetFrame.Offset.source)
        store16(EtherType.ipv4.rawValue, p, EthernetFrame.Offset.etherType)

        let ip = p + ipOffset
        ip.storeBytes(of: 0x45, toByteOffset: IPv4Packet.Offset.versionIHL, as: UInt8.self)
        store16(UInt16(IPv4Packet.minimumHeaderLength + TCPSegment.minimumHeaderLength), ip, IPv4Packet.Offset.totalLength)
        store16(IPv4Packet.Flag.dontFragment, ip, IPv4Packet.Offset.flagsFragment)
        ip.storeBytes(of: 64, toByteOffset: IPv4Packet.Offset.timeToLive, as: UInt8.self)
        ip.storeBytes(of: IPProtocol.tcp.rawValue, toByteOffset: IPv4Packet.Offset.protocol, as: UInt8.self)
        store32(source, ip, IPv4Packet.Offset.source)
        store32(destination, ip, IPv4Packet.Offset.destination)
        store16(Checksum.finish(Checksum.sum(ip, count: IPv4Packet.minimumHeaderLength)), ip, IPv4Packet.Offset.checksum)

        let tcp = p + tcpOffset
        store16(sourcePort, tcp, TCPSegment.Offset.sourcePort)
        store16(destinationPort, tcp, TCPSegment.Offset.destinationPort)
        store32(sequence, tcp, TCPSegment.Offset.sequence)
        store32(acknowledgment, tcp, TCPSegment.Offset.acknowledgment)
        tcp.storeBytes(of: UInt8(TCPSegment.minimumHeaderLength / 4) << 4, toByteOffset: TCPSegment.Offset.dataOffset, as: UInt8.self)
        tcp.storeBytes(of: flags.rawValue, toByteOffset: TCPSegment.Offset.flags, as: UInt8.self)
        store16(65535, tcp, TCPSegment.Offset.window)
        let pseudo = Checksum.pseudoHeaderIPv4(source: source, destination: destination, protocol: IPProtocol.tcp,
                                               length: TCPSegment.minimumHeaderLength)
        store16(Checksum.finish(Checksum.sum(tcp, count: TCPSegment.minimumHeaderLength, initial: pseudo)), tcp,
                TCPSegment.Offset.checksum)
    }

    @inline(__always) public static func store16(_ v: UInt16, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt16.self)
    }
    @inline(__always) public static func store32(_ v: UInt32, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: v.bigEndian, toByteOffset: offset, as: UInt32.self)
    }
    public static func storeMAC(_ mac: MACAddress, _ p: UnsafeMutableRawPointer) {
        for i in 0..<6 { p.storeBytes(of: UInt8(truncatingIfNeeded: mac.rawValue >> (40 - 8 * UInt64(i))), toByteOffset: i, as: UInt8.self) }
    }
}

/// `count` frames of up to 64 bytes each in one allocation, made before measuring.
public final class FramePool {
    public static let stride = 64
    public let base: UnsafeMutableRawPointer
    public let count: Int

    public init(count: Int) {
        self.count = count
        base = .allocate(byteCount: count * Self.stride, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: count * Self.stride)
    }
    deinit { base.deallocate() }

    @inline(__always) public func frame(_ i: Int) -> UnsafeMutableRawPointer { base + i * Self.stride }
}

/// Deterministic 64-bit generator (SplitMix64) for the visiting order.
public struct SplitMix64 {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The clock the benchmarks give the director: it starts at 1000 s and advances 100 ns per
/// packet (10 Mpps), so the timer wheel turns as it would under load.
public let startOfTime: UInt64 = 1_000_000_000_000
public let nanosPerPacket: UInt64 = 100

/// A director holding `liveConnections` established TCP connections, plus the frames a
/// benchmark replays. Everything here is built in the benchmark's setup closure, outside
/// the measured region. Not shared between threads: each benchmark runs in its own process.
public final class Workload: @unchecked Sendable {
    public let director: Director
    public var now: UInt64 = startOfTime
    public let liveConnections: Int
    /// Real server chosen for baseline client i (index into the director's real servers).
    public var realServerOf: [UInt8]
    /// One scratch buffer the replayed frame is copied into (the director rewrites in place).
    public let scratch: UnsafeMutableRawPointer
    public static let scratchCapacity = 256
    /// Frames per `Director.process(batch:)` call in the batched replay (a ring block's worth).
    public static let batchSize = 32
    let batchBuffers: UnsafeMutableRawPointer
    let batchPackets: UnsafeMutablePointer<PacketBuffer>
    let batchVerdicts: UnsafeMutablePointer<Verdict>
    /// Packets processed, and those that came out `.forward`: checked after each run.
    public var processed = 0
    public var forwarded = 0
    public var lastUnexpected: Verdict?

    /// A table for `live` connections plus `growth` new ones that stays below 7/8 full, where
    /// table pressure starts refusing new flows (Docs/adr/0006): a benchmark measures the
    /// path, not the defence.
    public static func capacity(live: Int, growth: Int = 0) -> Int {
        let n = live + growth
        return n + n / 7 + 1024
    }

    public init(method: ForwardingMethod, scheduler: SchedulerKind, liveConnections: Int, capacity: Int) {
        director = Director(config: BenchLab.config(method, scheduler: scheduler), capacity: capacity,
                            hashSeed: 0x5157_4C56_535F_5345, now: startOfTime)
        self.liveConnections = liveConnections
        realServerOf = [UInt8](repeating: 0, count: liveConnections)
        scratch = .allocate(byteCount: Self.scratchCapacity, alignment: 64)
        batchBuffers = .allocate(byteCount: Self.batchSize * Self.scratchCapacity, alignment: 64)
        batchBuffers.initializeMemory(as: UInt8.self, repeating: 0, count: Self.batchSize * Self.scratchCapacity)
        batchPackets = .allocate(capacity: Self.batchSize)
        batchVerdicts = .allocate(capacity: Self.batchSize)
        batchVerdicts.initialize(repeating: .pass(.notIP), count: Self.batchSize)
        scratch.initializeMemory(as: UInt8.self, repeating: 0, count: Self.scratchCapacity)
        establishBaseline()
    }

    deinit {
        scratch.deallocate()
        batchBuffers.deallocate()
        batchPackets.deallocate()
        batchVerdicts.deallocate()
    }

    /// Sends a SYN then an ACK from each of `liveConnections` distinct clients, so every
    /// connection is ESTABLISHED (the hit benchmarks then see the common state).
    private func establishBaseline() {
        for i in 0..<liveConnections {
            let (address, port) = BenchLab.client(i, base: BenchLab.baselineClientBase)
            writeFromClient(to: scratch + PacketBuffer.recommendedHeadroom, address: address, port: port, flags: [.syn])
            guard case .forward = processScratch() else { fatalError("baseline SYN \(i) was not forwarded: \(String(describing: lastUnexpected))") }
            realServerOf[i] = UInt8(director.lastEvent.realServer)
            writeFromClient(to: scratch + PacketBuffer.recommendedHeadroom, address: address, port: port, flags: [.ack])
            guard case .forward = processScratch() else { fatalError("baseline ACK \(i) was not forwarded") }
        }
        precondition(director.table.count == liveConnections, "expected \(liveConnections) connections, table holds \(director.table.count)")
        processed = 0
        forwarded = 0
    }

    /// Refreshes every baseline connection (an ACK each) so it outlives long clock jumps.
    public func refreshBaseline() {
        for i in 0..<liveConnections {
            let (address, port) = BenchLab.client(i, base: BenchLab.baselineClientBase)
            writeFromClient(to: scratch + PacketBuffer.recommendedHeadroom, address: address, port: port, flags: [.ack])
            _ = processScratch()
        }
    }

    public func writeFromClient(to p: UnsafeMutableRawPointer, address: UInt32, port: UInt16, flags: TCPFlags) {
        TCPFrame.write(to: p, sourceMAC: BenchLab.clientMAC, destinationMAC: BenchLab.directorClientMAC,
                       source: address, destination: BenchLab.vip.ipv4, sourcePort: port,
                       destinationPort: BenchLab.virtualPort, flags: flags, sequence: 1000,
                       acknowledgment: flags.contains(.ack) ? 5000 : 0)
    }

    /// What real server `rs` sends back to baseline client `i` (NAT reply direction).
    public func writeReply(to p: UnsafeMutableRawPointer, client i: Int) {
        let (address, port) = BenchLab.client(i, base: BenchLab.baselineClientBase)
        let rs = director.realServer(at: Int(realServerOf[i]))
        TCPFrame.write(to: p, sourceMAC: rs.address == BenchLab.rs1 ? BenchLab.rs1MAC : BenchLab.rs2MAC,
                       destinationMAC: BenchLab.directorServerMAC, source: rs.address.ipv4, destination: address,
                       sourcePort: rs.port, destinationPort: port, flags: [.ack], sequence: 5000, acknowledgment: 1001)
    }

    /// Processes the frame already in the scratch buffer (arriving on interface 0).
    @inline(__always)
    public func processScratch(interface: Int = 0) -> Verdict {
        var packet = PacketBuffer(base: scratch, capacity: Self.scratchCapacity, offset: PacketBuffer.recommendedHeadroom,
                                  length: TCPFrame.length, interface: interface)
        now &+= nanosPerPacket
        let verdict = director.process(&packet, now: now)
        processed &+= 1
        if case .forward = verdict { forwarded &+= 1 } else { lastUnexpected = verdict }
        return verdict
    }

    /// The hot loop of the hit benchmarks: copy frame `cursor` of `frames` into the scratch
    /// buffer (as a receive ring would hand over fresh bytes) and process it.
    @inline(never)
    public func replay(_ frames: FramePool, from cursor: inout Int, count: Int, interface: Int) {
        let dst = scratch + PacketBuffer.recommendedHeadroom
        for _ in 0..<count {
            dst.copyMemory(from: frames.frame(cursor), byteCount: TCPFrame.length)
            cursor &+= 1
            if cursor == frames.count { cursor = 0 }
            _ = processScratch(interface: interface)
        }
    }

    /// The hit loop through `Director.process(batch:)`: frames are copied `batch` at a time
    /// into their own buffers (as a ring block hands them over) and processed as one batch.
    @inline(never)
    public func replayBatched(_ frames: FramePool, from cursor: inout Int, count: Int, interface: Int) {
        let batch = Self.batchSize
        let buffers = batchBuffers, packets = batchPackets, verdicts = batchVerdicts
        var done = 0
        while done < count {
            let n = min(batch, count - done)
            for i in 0..<n {
                let base = buffers + i * Self.scratchCapacity
                (base + PacketBuffer.recommendedHeadroom).copyMemory(from: frames.frame(cursor), byteCount: TCPFrame.length)
                cursor &+= 1
                if cursor == frames.count { cursor = 0 }
                (packets + i).initialize(to: PacketBuffer(base: base, capacity: Self.scratchCapacity,
                                                          offset: PacketBuffer.recommendedHeadroom,
                                                          length: TCPFrame.length, interface: interface))
            }
            now &+= nanosPerPacket &* UInt64(n)
            director.process(batch: packets, count: n, verdicts: verdicts, now: now)
            for i in 0..<n {
                processed &+= 1
                if case .forward = verdicts[i] { forwarded &+= 1 } else { lastUnexpected = verdicts[i] }
            }
            done += n
        }
    }

    /// The same loop without the director: what the frame copy and loop cost alone.
    @inline(never)
    public func copyOnly(_ frames: FramePool, from cursor: inout Int, count: Int) -> Int {
        let dst = scratch + PacketBuffer.recommendedHeadroom
        var sum = 0
        for _ in 0..<count {
            dst.copyMemory(from: frames.frame(cursor), byteCount: TCPFrame.length)
            sum &+= Int(dst.load(fromByteOffset: TCPFrame.tcpOffset, as: UInt8.self))
            cursor &+= 1
            if cursor == frames.count { cursor = 0 }
        }
        return sum
    }

    /// Frames for the hit benchmarks: an ACK from (or, with `replies`, a reply to) each of
    /// `count` baseline clients, in a random order so the table is probed at random.
    public func hitFrames(count: Int, replies: Bool) -> FramePool {
        var order = Array(0..<liveConnections)
        var rng = SplitMix64(state: 42)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        let pool = FramePool(count: count)
        for k in 0..<count {
            let i = order[k]
            if replies {
                writeReply(to: pool.frame(k), client: i)
            } else {
                let (address, port) = BenchLab.client(i, base: BenchLab.baselineClientBase)
                writeFromClient(to: pool.frame(k), address: address, port: port, flags: [.ack])
            }
        }
        return pool
    }

    // MARK: New connections

    /// Fresh clients handed out so far (never reused, so every SYN misses the table).
    public var freshClients = 0

    /// Writes `pool.count` SYNs from never-seen clients into `pool`. When the table has no
    /// room for them below the fill where table pressure starts refusing new flows, jumps the
    /// clock past the SYN_RECV timeout so the director expires the SYN_RECV connections earlier
    /// batches made (the ESTABLISHED baseline stays; it is refreshed before it could time out).
    /// Runs outside the measured region.
    public func prepareSYNs(_ pool: FramePool) {
        if Self.roomBeforePressure(capacity: director.table.capacity, count: director.table.count) < pool.count {
            let synRecv = UInt64(director.timeouts[.synRecv]) * 1_000_000_000
            now &+= synRecv + 2_000_000_000
            if now - lastBaselineRefresh > UInt64(director.timeouts[.established] / 2) * 1_000_000_000 {
                refreshBaseline()
                lastBaselineRefresh = now
            }
            director.expire(now: now)
            precondition(Self.roomBeforePressure(capacity: director.table.capacity, count: director.table.count) >= pool.count,
                         "clock jump freed too little: \(director.table.count) of \(director.table.capacity) in use")
        }
        for k in 0..<pool.count {
            let (address, port) = BenchLab.client(freshClients, base: BenchLab.freshClientBase)
            freshClients += 1
            writeFromClient(to: pool.frame(k), address: address, port: port, flags: [.syn])
        }
    }

    public var lastBaselineRefresh: UInt64 = startOfTime

    /// New connections `table` takes before its fill reaches 7/8 of capacity, where the
    /// director starts refusing new flows at random (`refusedUnderPressure`, Docs/adr/0006).
    /// Waiting for the table to be full instead let the SYNs past 7/8 drop as `table-pressure`:
    /// `ProfileDriver new-nat` forwarded half of them.
    public static func roomBeforePressure(capacity: Int, count: Int) -> Int {
        max(0, capacity - capacity / 8 - count)
    }

    /// The hot loop of the new-connection benchmarks: each SYN is processed where it lies.
    @inline(never)
    public func processInPlace(_ pool: FramePool) {
        for k in 0..<pool.count {
            var packet = PacketBuffer(base: pool.base, capacity: pool.count * FramePool.stride,
                                      offset: k * FramePool.stride, length: TCPFrame.length, interface: 0)
            now &+= nanosPerPacket
            let verdict = director.process(&packet, now: now)
            processed &+= 1
            if case .forward = verdict { forwarded &+= 1 } else { lastUnexpected = verdict }
        }
    }
}
