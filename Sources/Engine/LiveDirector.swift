import Core
import PacketIO
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The live director's worker: one thread, one `Director`, one AF_PACKET socket with a
/// TPACKET_V3 RX and TX ring per interface (or, with `engine = .pcap`, one libpcap live
/// handle per interface: see PcapEngine.swift; everything else is shared).
///
/// The loop polls every socket; for each ready RX block it copies the frames (at most 32 at a
/// time) into preallocated buffers with `PacketBuffer.recommendedHeadroom` bytes of headroom,
/// runs `Director.process(batch:)`, copies each forwarded or answered frame into the TX ring
/// of the interface the verdict names and kicks each ring once per batch. ARP replies the
/// director passes feed the neighbour table; idle turns expire connections and do the
/// housekeeping (ARP retries, stats). Nothing on the per-frame path allocates, locks or
/// formats a string: buffers, verdicts and the poll set are allocated once here.
public final class LiveDirector {
    public struct Options {
        public var interfaces: [String]
        public var tableSize = 1_000_000
        /// Print counters this often (nanoseconds); 0 never.
        public var statsInterval: UInt64 = 0
        public var receiveRing = RingGeometry.receiveDefault
        public var transmitRing = RingGeometry.transmitDefault
        /// Which frame source and sink: AF_PACKET rings, or libpcap live handles (PcapEngine.swift).
        public var engine = PacketEngine.afPacket
        public init(interfaces: [String]) { self.interfaces = interfaces }
    }

    public enum PacketEngine: String, Sendable {
        case afPacket = "af_packet"
        case pcap
    }

    /// Counters the engine keeps next to the director's own.
    public struct EngineCounters {
        /// Frames longer than the RX ring slot (veth GSO/GRO super-frames): not processed.
        public var truncated: UInt64 = 0
        /// Frames too large for a buffer or a TX slot.
        public var tooLarge: UInt64 = 0
        /// Forwarded frames lost because the TX ring stayed full.
        public var transmitRingFull: UInt64 = 0
        /// Forwarded frames for an interface lvsd was not started on.
        public var noSuchInterface: UInt64 = 0
        /// Failed TX kicks (the frames stay queued for the next); with pcap, failed
        /// `pcap_inject` calls (that frame is lost).
        public var transmitErrors: UInt64 = 0
        /// Frames the kernel dropped because an RX ring was full (PACKET_STATISTICS).
        public var receiveRingDrops: UInt64 = 0
        public var arpRequestsSent: UInt64 = 0
        public var gratuitousARPSent: UInt64 = 0
        public var neighboursLearned: UInt64 = 0
    }

    final class Port {
        let socket: PacketSocket
        let rx: RXRing
        let tx: TXRing
        /// Index of this interface in the director's configuration.
        let interface: Int
        init(socket: PacketSocket, rx: RXRing, tx: TXRing, interface: Int) {
            self.socket = socket
            self.rx = rx
            self.tx = tx
            self.interface = interface
        }
    }

    public let director: Director
    public let config: DirectorConfig
    public private(set) var counters = EngineCounters()
    private let options: Options
    private let log: (String) -> Void
    private let ports: [Port]
    /// The pcap engine's handles (empty with AF_PACKET, where `ports` is used instead).
    private let pcapPorts: [PcapPort]
    /// Configuration interface index → index in `ports`, -1 when not opened.
    private let portOfInterface: [Int]
    private let arp: [ARPSender?]
    private let neighbours: NeighbourTable

    static let batchLimit = 32
    static let headroom = PacketBuffer.recommendedHeadroom
    static let slotSize = 64 + 2048 + 128
    private let storage: UnsafeMutableRawPointer
    private let batch: UnsafeMutablePointer<PacketBuffer>
    private let verdicts: UnsafeMutablePointer<Verdict>
    private var batchCount = 0
    private var now: UInt64 = 0
    private var resolveSoon = false
    private let pollSet: UnsafeMutablePointer<pollfd>

    /// Checks the configuration against the kernel (each interface exists, its MAC matches or
    /// the configuration's is 00:00:00:00:00:00 and the kernel's is taken), opens the sockets
    /// and builds the director. Must run in the director's network namespace.
    public init(config original: DirectorConfig, options: Options, log: @escaping (String) -> Void) throws(EngineError) {
        self.options = options
        self.log = log
        var config = original
        var indices: [Int] = []
        for name in options.interfaces {
            guard let index = config.interfaces.firstIndex(where: { $0.name == name }) else {
                throw EngineError("--interface \(name) has no 'interface \(name) mac MAC address IP' line in the rules file; add one (mac 00:00:00:00:00:00 takes the kernel's)")
            }
            guard !indices.contains(index) else { throw EngineError("--interface \(name) is given twice") }
            guard let kernelMAC = HostInterfaces.mac(of: name) else {
                throw EngineError("interface \(name) does not exist in this network namespace; check 'ip link' (run lvsd with 'ip netns exec NS' for a namespace)")
            }
            if config.interfaces[index].mac == .zero {
                config.interfaces[index].mac = kernelMAC
                log("lvsd: interface \(name): MAC \(kernelMAC) (from the kernel)")
            } else if config.interfaces[index].mac != kernelMAC {
                throw EngineError("interface \(name): the rules file says mac \(config.interfaces[index].mac) but the kernel says \(kernelMAC); fix the 'interface \(name)' line, or write mac 00:00:00:00:00:00 to take the kernel's")
            } else {
                log("lvsd: interface \(name): MAC \(kernelMAC) matches the kernel")
            }
            indices.append(index)
        }
        for (index, interface) in config.interfaces.enumerated() where !indices.contains(index) {
            log("lvsd: warning: interface \(interface.name) is in the rules file but not given with --interface; frames routed to it are dropped")
        }
        self.config = config

        var ports: [Port] = []
        var pcapPorts: [PcapPort] = []
        var portOfInterface = [Int](repeating: -1, count: config.interfaces.count)
        var arp = [ARPSender?](repeating: nil, count: config.interfaces.count)
        let filter = PcapFilter.expression(for: config)
        if options.engine == .pcap { log("lvsd: pcap filter: \(filter)") }
        for index in indices {
            let name = config.interfaces[index].name
            if options.engine == .pcap {
                let capture: PcapLiveCapture
                do {
                    capture = try PcapLiveCapture(interface: name, snapLength: Self.slotSize - Self.headroom - 64,
                                                  bufferBytes: 8 << 20, filter: filter)
                } catch { throw EngineError("\(error)") }
                portOfInterface[index] = pcapPorts.count
                pcapPorts.append(PcapPort(capture: capture, interface: index))
                arp[index] = try ARPSender(interface: name, mac: config.interfaces[index].mac)
                continue
            }
            var socketConfig = PacketSocket.Configuration()
            socketConfig.receiveRing = options.receiveRing
            socketConfig.transmitRing = options.transmitRing
            socketConfig.bypassQdisc = true
            socketConfig.ignoreOutgoing = true
            socketConfig.receiveBufferBytes = 8 << 20
            socketConfig.sendBufferBytes = 8 << 20
            let socket: PacketSocket
            do { socket = try PacketSocket(interface: name, configuration: socketConfig) } catch {
                throw EngineError("\(error)")
            }
            guard let rx = socket.receiveRing, let tx = socket.transmitRing else {
                throw EngineError("interface \(name): the socket has no RX or TX ring")
            }
            portOfInterface[index] = ports.count
            ports.append(Port(socket: socket, rx: rx, tx: tx, interface: index))
            arp[index] = try ARPSender(interface: name, mac: config.interfaces[index].mac)
        }
        self.ports = ports
        self.pcapPorts = pcapPorts
        self.portOfInterface = portOfInterface
        self.arp = arp

        // Which interface reaches each real server: the one whose kernel IPv4 network holds it.
        let networks = indices.map { (index: $0, networks: HostInterfaces.ipv4Networks(of: config.interfaces[$0].name)) }
        neighbours = NeighbourTable(config: config) { address in
            for (index, list) in networks {
                if let net = list.first(where: { $0.contains(address) }) { return (index, net.address) }
            }
            return nil
        }
        for address in neighbours.unreachable {
            log("lvsd: warning: real server \(address) is on no subnet of \(options.interfaces.joined(separator: ", ")) (per the kernel's addresses) and has no 'neighbour' line: it cannot be resolved; IPv6 real servers need a 'neighbour' line (no neighbour discovery yet)")
        }

        storage = .allocate(byteCount: Self.batchLimit * Self.slotSize, alignment: 64)
        batch = .allocate(capacity: Self.batchLimit)
        for i in 0..<Self.batchLimit {
            (batch + i).initialize(to: PacketBuffer(base: storage + i * Self.slotSize, capacity: Self.slotSize,
                                                    offset: Self.headroom, length: 0))
        }
        verdicts = .allocate(capacity: Self.batchLimit)
        verdicts.initialize(repeating: .pass(.notIP), count: Self.batchLimit)
        pollSet = .allocate(capacity: max(ports.count + pcapPorts.count, 1))
        for (i, port) in ports.enumerated() {
            pollSet[i] = pollfd(fd: port.socket.descriptor, events: Int16(POLLIN), revents: 0)
        }
        for (i, port) in pcapPorts.enumerated() {
            pollSet[ports.count + i] = pollfd(fd: port.capture.descriptor, events: Int16(POLLIN), revents: 0)
        }
        let start = Self.monotonicNanoseconds()
        director = Director(config: config, capacity: options.tableSize, hashSeed: UInt64.random(in: .min ... .max), now: start)
    }

    deinit {
        batch.deinitialize(count: Self.batchLimit)
        batch.deallocate()
        verdicts.deallocate()
        storage.deallocate()
        pollSet.deallocate()
    }

    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    // MARK: The loop

    /// Runs until `stop` is set or `duration` (nanoseconds) has passed.
    public func run(stop: StopSignal, duration: UInt64?) {
        now = Self.monotonicNanoseconds()
        let deadline = duration.map { now &+ $0 }
        announce()
        var nextHousekeeping: UInt64 = 0
        var nextStats = options.statsInterval > 0 ? now &+ options.statsInterval : UInt64.max
        while !stop.isSet {
            now = Self.monotonicNanoseconds()
            if let deadline, now >= deadline { break }
            var frames = 0
            for port in ports {
                // Bounded per turn, so one busy interface cannot starve the others.
                for _ in 0..<16 {
                    let n = port.rx.receive { frame in accept(frame, interface: port.interface) }
                    if batchCount > 0 { processBatch() }
                    if n == 0 { break }
                    frames += n
                }
            }
            for port in pcapPorts {
                // Up to a batch per turn and interface; every frame may carry a partial checksum.
                for _ in 0..<Self.batchLimit {
                    let n = port.capture.next { bytes, wireLength in
                        accept(bytes, wireLength: wireLength, checksumPartial: true, interface: port.interface)
                    }
                    if n <= 0 { break }
                    frames += n
                }
                if batchCount > 0 { processBatch() }
            }
            if resolveSoon || now >= nextHousekeeping {
                resolveSoon = false
                nextHousekeeping = now &+ 100_000_000
                resolveNeighbours()
            }
            if now >= nextStats {
                nextStats = now &+ options.statsInterval
                for line in summary(final: false) { log(line) }
            }
            if frames == 0 {
                director.expire(now: now)
                _ = poll(pollSet, nfds_t(ports.count + pcapPorts.count), 50)
            }
        }
        for port in ports {
            if let stats = try? port.socket.statistics() { counters.receiveRingDrops &+= UInt64(stats.drops) }
        }
        for port in pcapPorts {
            if let drops = port.capture.drops() { counters.receiveRingDrops &+= drops }
        }
    }

    /// Copies one received frame into the next batch buffer; processes the batch when full.
    @inline(__always)
    private func accept(_ frame: ReceivedFrame, interface: Int) {
        accept(UnsafeRawBufferPointer(frame.bytes), wireLength: frame.wireLength,
               checksumPartial: frame.checksumNotReady, interface: interface)
    }

    /// Copies one received frame (from either engine) into the next batch buffer.
    @inline(__always)
    private func accept(_ bytes: UnsafeRawBufferPointer, wireLength: Int, checksumPartial: Bool, interface: Int) {
        if bytes.count < wireLength {
            counters.truncated &+= 1
            return
        }
        let length = bytes.count
        guard length <= Self.slotSize - Self.headroom - 64, let source = bytes.baseAddress else {
            counters.tooLarge &+= 1
            return
        }
        let buffer = batch + batchCount
        // Safety: the slot holds slotSize bytes and offset + length stays 64 bytes short of it.
        (buffer.pointee.base + Self.headroom).copyMemory(from: source, byteCount: length)
        buffer.pointee.offset = Self.headroom
        buffer.pointee.length = length
        buffer.pointee.interface = interface
        buffer.pointee.checksumPartial = checksumPartial
        batchCount += 1
        if batchCount == Self.batchLimit { processBatch() }
    }

    private func processBatch() {
        let count = batchCount
        batchCount = 0
        director.process(batch: batch, count: count, verdicts: verdicts, now: now)
        var kicked: UInt64 = 0  // bit i: port i has frames queued
        for i in 0..<count {
            switch verdicts[i] {
            case .forward(let interface), .answer(let interface):
                if let port = transmit(batch[i], on: interface) { kicked |= 1 << UInt64(port & 63) }
            case .pass(.arpNotForDirector):
                learn(from: batch[i])
            case .drop(.neighbourUnresolved):
                resolveSoon = true
            default:
                break
            }
        }
        var p = 0
        while kicked != 0 {
            if kicked & 1 != 0 {
                do { _ = try ports[p].tx.flush() } catch { counters.transmitErrors &+= 1 }
            }
            kicked >>= 1
            p += 1
        }
    }

    /// Copies a frame into `interface`'s TX ring; returns the port index, or nil if dropped.
    @inline(__always)
    private func transmit(_ packet: PacketBuffer, on interface: Int) -> Int? {
        guard interface >= 0, interface < portOfInterface.count, portOfInterface[interface] >= 0 else {
            counters.noSuchInterface &+= 1
            return nil
        }
        let p = portOfInterface[interface]
        if !pcapPorts.isEmpty {
            // pcap: one send per frame, nothing queued, nothing to kick.
            if !pcapPorts[p].capture.inject(UnsafeRawPointer(packet.base + packet.offset), length: packet.length) {
                counters.transmitErrors &+= 1
            }
            return nil
        }
        let tx = ports[p].tx
        let length = packet.length
        guard length <= tx.frameCapacity else {
            counters.tooLarge &+= 1
            return nil
        }
        let source = UnsafeRawPointer(packet.base + packet.offset)
        if Self.enqueue(tx, source, length) { return p }
        // Full: kick what is queued and try once more; the kernel frees slots as it sends.
        do { _ = try tx.flush() } catch { counters.transmitErrors &+= 1 }
        if Self.enqueue(tx, source, length) { return p }
        counters.transmitRingFull &+= 1
        return nil
    }

    /// One copy into the next TX slot. A closure literal passed straight to `enqueue` stays
    /// non-escaping (a closure stored in a local first would be a heap-allocated context).
    @inline(__always)
    private static func enqueue(_ tx: TXRing, _ source: UnsafeRawPointer, _ length: Int) -> Bool {
        tx.enqueue { slot in
            // Safety: the caller checked length <= frameCapacity, the slot's size.
            slot.baseAddress!.copyMemory(from: source, byteCount: length)
            return length
        }
    }

    // MARK: Neighbours

    private func learn(from packet: PacketBuffer) {
        guard let eth = try? EthernetFrame(packet.frame, length: packet.length), eth.etherType == 0x0806,
              let arp = try? ARPPacket(eth.payload, length: eth.payloadLength) else { return }
        let mac = arp.senderMAC
        let address = arp.senderIP
        let before = neighbours.entries.first { $0.address == address && $0.interface == packet.interface }
        guard neighbours.learn(address: address, mac: mac, interface: packet.interface, now: now) else { return }
        director.setNeighbour(IPAddress(ipv4: address), mac: mac, interface: packet.interface)
        if before?.resolvedAt == nil || before?.mac != mac {
            counters.neighboursLearned &+= 1
            log("lvsd: neighbour \(IPAddress(ipv4: address)) is at \(mac) on \(config.interfaces[packet.interface].name)")
        }
    }

    private func resolveNeighbours() {
        neighbours.due(now: now) { entry in
            guard let sender = arp[entry.interface] else { return }
            do {
                try sender.request(target: entry.address, sender: entry.senderAddress)
                counters.arpRequestsSent &+= 1
            } catch {
                log("lvsd: \(error)")
            }
        }
    }

    /// Gratuitous ARP for every IPv4 VIP and LIP on every interface, so neighbours that
    /// cached another owner switch to this director at once.
    private func announce() {
        var owned: [IPAddress] = []
        for service in config.services {
            if !owned.contains(service.key.address) { owned.append(service.key.address) }
            for lip in service.localAddresses where !owned.contains(lip) { owned.append(lip) }
        }
        for address in owned where address.isIPv4 {
            for case let sender? in arp {
                do {
                    try sender.announce(address.ipv4)
                    counters.gratuitousARPSent &+= 1
                } catch {
                    log("lvsd: \(error)")
                }
            }
        }
        if counters.gratuitousARPSent > 0 {
            log("lvsd: sent \(counters.gratuitousARPSent) gratuitous ARP (\(owned.filter(\.isIPv4).map(\.description).joined(separator: ", ")) on \(options.interfaces.joined(separator: ", ")))")
        }
    }

    // MARK: Reporting

    /// Counter lines: frames in/forwarded/answered/passed/dropped, then every non-zero pass and
    /// drop reason by name and the engine's own counters.
    public func summary(final: Bool) -> [String] {
        let d = director
        var lines = ["lvsd: \(final ? "totals" : "stats"): frames in \(d.framesReceived), forwarded \(d.framesForwarded), answered \(d.framesAnswered), passed \(d.framesPassed), dropped \(d.framesDropped), connections \(d.table.count)"]
        for reason in PassReason.allCases where d.count(reason) > 0 {
            lines.append("lvsd:   passed \(reason): \(d.count(reason))")
        }
        for reason in DropReason.allCases where d.count(reason) > 0 {
            lines.append("lvsd:   dropped \(reason): \(d.count(reason))")
        }
        let c = counters
        let engine: [(String, UInt64)] = [
            ("rx-truncated", c.truncated), ("too-large", c.tooLarge), ("tx-ring-full", c.transmitRingFull),
            ("no-such-interface", c.noSuchInterface), ("tx-errors", c.transmitErrors),
            ("rx-ring-drops", c.receiveRingDrops), ("arp-requests-sent", c.arpRequestsSent),
            ("gratuitous-arp-sent", c.gratuitousARPSent), ("neighbours-learned", c.neighboursLearned),
        ]
        for (name, value) in engine where value > 0 { lines.append("lvsd:   engine \(name): \(value)") }
        return lines
    }
}
