import Core
import Dispatch
import Foundation
import PacketIO
import Wire
#if canImport(Glibc)
import Glibc
import Logging
#endif

/// The live director: checks the configuration against the kernel, opens the sockets and
/// runs one or more `PacketWorker`s, each on its own thread with its own `Director`.
///
/// One worker (the default) runs on the calling thread, exactly as the engine always has.
/// With N > 1 (AF_PACKET only), each interface gets one fanout group of N sockets, one per
/// worker, joined in worker order, and the group's classic BPF program (`FanoutProgram`)
/// steers every frame to the worker that owns its connection: client → VIP by the client's
/// address and port, FullNAT replies by the local port (each worker allocates only its slice
/// of the local ports, `WorkerSlice`), NAT replies by the client's address and port again,
/// ARP and whatever has no ports to worker 0 (Docs/adr/0002). Workers share nothing on the
/// data path: worker 0 alone resolves neighbours and posts each MAC it learns to the others'
/// mailboxes; each keeps its own counters, which `summary` (and lvsd's listing, over
/// `directors`) add up after the workers stopped. Scheduling is per worker, as DPVS schedules per lcore.
///
/// Threads and namespaces: sockets belong to the network namespace of the thread that
/// opens them, here the caller's; the worker threads are started from it and inherit it.
public final class LiveDirector {
    /// The workers of a live director run on AF_PACKET links (the pcap engine's handles ride
    /// along in worker 0).
    typealias Worker = PacketWorker<AFPacketLink>

    public struct Options: Sendable {
        public var interfaces: [String]
        /// Connection table capacity in total; each of N workers gets a table of 1/N of it.
        public var tableSize = 1_000_000
        /// Print counters this often (nanoseconds); 0 never. With several workers each
        /// prints its own.
        public var statsInterval: UInt64 = 0
        /// TPACKET_V2 (a frame reaches the director as soon as the kernel writes it) or V3
        /// (blocks handed over when full or on their timer); Docs/adr/0003.
        public var ringVersion = RingVersion.v2
        /// nil: `RingGeometry.receiveDefault` for V2, `receiveDenseDefault` for V3.
        public var receiveRing: RingGeometry? = nil
        public var transmitRing = RingGeometry.transmitDefault
        /// Which frame source and sink: AF_PACKET rings, or libpcap live handles (PcapEngine.swift).
        public var engine = PacketEngine.afPacket
        /// Worker threads; more than one needs the AF_PACKET engine (fanout).
        public var workers = 1
        /// Pin worker k to CPU `cpus[k % cpus.count]`; empty: no pinning.
        public var cpus: [Int] = []
        /// The interfaces as already read from the kernel (an `InterfaceMonitor`'s); nil:
        /// read them with a dump.
        public var kernel: KernelInterfaces?
        public init(interfaces: [String]) { self.interfaces = interfaces }
    }

    public enum PacketEngine: String, Sendable {
        case afPacket = "af_packet"
        case pcap
    }

    /// Counters the engine keeps next to the director's own.
    public struct EngineCounters {
        /// Frames longer than the RX ring slot (larger than a 64 KiB super-frame): not processed.
        public var truncated: UInt64 = 0
        /// Frames too large for a buffer or a TX slot, with no way to send them whole.
        public var tooLarge: UInt64 = 0
        /// GSO/GRO super-frames received (carried whole, or cut in software).
        public var superFrames: UInt64 = 0
        /// Super-frames cut into segments in user space (TUN, libpcap), and the segments sent.
        public var softwareSegmented: UInt64 = 0
        public var softwareSegments: UInt64 = 0
        /// Super-frames that could not be cut (not TCP or UDP, or a UFO frame): dropped.
        public var segmentationUnsupported: UInt64 = 0
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
        public var neighbourSolicitationsSent: UInt64 = 0
        public var unsolicitedAdvertisementsSent: UInt64 = 0
        public var neighboursLearned: UInt64 = 0
        /// ARP or ND from a real server's address that lvsd did not ask for (requests,
        /// unsolicited replies): learned from nothing, since anyone on the segment can send them.
        public var neighbourUnsolicited: UInt64 = 0
        /// A different MAC within the lock time of the last change: ignored.
        public var neighbourLocked: UInt64 = 0

        /// Every counter by the name lvsd's summary and metrics give it.
        public var named: [(name: String, value: UInt64)] {
            [
                ("rx-truncated", truncated), ("too-large", tooLarge), ("super-frames", superFrames),
                ("software-segmented", softwareSegmented), ("software-segments", softwareSegments),
                ("segmentation-unsupported", segmentationUnsupported), ("tx-ring-full", transmitRingFull),
                ("no-such-interface", noSuchInterface), ("tx-errors", transmitErrors),
                ("rx-ring-drops", receiveRingDrops), ("arp-requests-sent", arpRequestsSent),
                ("gratuitous-arp-sent", gratuitousARPSent), ("neighbour-solicitations-sent", neighbourSolicitationsSent),
                ("unsolicited-advertisements-sent", unsolicitedAdvertisementsSent), ("neighbours-learned", neighboursLearned),
                ("neighbour-unsolicited", neighbourUnsolicited), ("neighbour-locked", neighbourLocked),
            ]
        }

        /// Every counter of `self` plus `other`'s (the totals of several workers).
        func adding(_ other: EngineCounters) -> EngineCounters {
            var sum = self
            sum.truncated &+= other.truncated
            sum.tooLarge &+= other.tooLarge
            sum.superFrames &+= other.superFrames
            sum.softwareSegmented &+= other.softwareSegmented
            sum.softwareSegments &+= other.softwareSegments
            sum.segmentationUnsupported &+= other.segmentationUnsupported
            sum.transmitRingFull &+= other.transmitRingFull
            sum.noSuchInterface &+= other.noSuchInterface
            sum.transmitErrors &+= other.transmitErrors
            sum.receiveRingDrops &+= other.receiveRingDrops
            sum.arpRequestsSent &+= other.arpRequestsSent
            sum.gratuitousARPSent &+= other.gratuitousARPSent
            sum.neighbourSolicitationsSent &+= other.neighbourSolicitationsSent
            sum.unsolicitedAdvertisementsSent &+= other.unsolicitedAdvertisementsSent
            sum.neighboursLearned &+= other.neighboursLearned
            sum.neighbourUnsolicited &+= other.neighbourUnsolicited
            sum.neighbourLocked &+= other.neighbourLocked
            return sum
        }
    }

    /// The configuration running now (its interfaces as `DirectorInterfaces` resolved them: the
    /// kernel's values, or their lines').
    public var config: DirectorConfig { snapshot.config }
    /// The snapshot every worker runs; the next is built from it, once, off the workers.
    public private(set) var snapshot: DirectorSnapshot
    /// Keys the fanout program's hash (`FanoutProgram`): random per run, the same across
    /// reloads, so a connection stays on its worker and nobody outside can aim a flood of
    /// spoofed sources at one worker. A sync backup takes its master's
    /// (`adoptSteeringKey`). Changed only under `controlLock`.
    var steeringKey = UInt32.random(in: 1 ... .max)
    private let options: Options
    let logger: Logger
    let workers: [Worker]
    /// Serialises the control plane (reload, lvsadm, listings): one producer per mailbox.
    let controlLock = NSLock()
    /// The connection-sync daemons running (LiveDirector+Sync.swift).
    let syncDaemons = SyncDaemons()
    /// The kernel's networks (IPv4, global IPv6) of each opened interface, which say where a
    /// real server is; kept current with `kernel`.
    private var networks: [(index: Int, networks: [HostInterfaces.Network])]
    /// The interfaces as the kernel last described them (`InterfaceMonitor`), and which of
    /// the configuration's follow it (no `interface` line).
    private var kernel: KernelInterfaces
    private var interfaces: DirectorInterfaces
    /// The socket whose group program steers each interface's frames (several workers).
    let fanoutSockets: [PacketSocket]

    /// Each worker's director, worker 0 first.
    public var directors: [Director] { workers.map(\.director) }

    /// Reads the interfaces from the kernel and checks them (each exists and is up; an
    /// `interface` line's MAC is the kernel's, or 00:00:00:00:00:00 to take it; an interface
    /// with no line takes MAC, MTU and addresses from the kernel: `DirectorInterfaces`), opens
    /// the sockets and builds the workers and their directors. Must run in the director's
    /// network namespace.
    public init(config original: DirectorConfig, options: Options,
                logger: Logger) throws(EngineError) {
        self.options = options
        self.logger = logger
        let workerCount = options.workers
        guard workerCount >= 1 else { throw EngineError("--workers must be at least 1, got \(workerCount)") }
        if workerCount > 1 && options.engine == .pcap {
            throw EngineError("--workers \(workerCount) needs --engine af_packet: libpcap has no fanout to split frames between workers (use --workers 1 with pcap)")
        }
        let kernel: KernelInterfaces
        do { kernel = try options.kernel ?? KernelInterfaces.read() } catch {
            throw EngineError("cannot read the interfaces from the kernel: \(error)")
        }
        let resolved = try DirectorInterfaces.resolve(original, names: options.interfaces, kernel: kernel)
        let config = resolved.config
        for name in options.interfaces {
            guard let interface = config.interfaces.first(where: { $0.name == name }), let kernelSide = kernel[name] else { continue }
            let source = resolved.followed.contains(name) ? "from the kernel, followed while lvsd runs" : "its 'interface' line, MAC checked against the kernel"
            let addresses = resolved.followed.contains(name) ? kernelSide.directorAddresses.map(\.description) : interface.addresses.map(\.description)
            logger.info("lvsd: interface \(name): MAC \(interface.mac), MTU \(interface.mtu), addresses \(addresses.isEmpty ? "none" : addresses.joined(separator: " ")) (\(source))")
            if !kernelSide.hasCarrier { logger.warning("lvsd: warning: interface \(name) has no carrier (is the other end up?)") }
        }
        let indices = Array(options.interfaces.indices)
        for interface in config.interfaces.dropFirst(indices.count) {
            logger.warning("lvsd: warning: interface \(interface.name) is in the rules file but not given with --interface; frames routed to it are dropped")
        }
        interfaces = resolved
        self.kernel = kernel
        snapshot = DirectorSnapshot(config)

        // Per worker, per opened interface: its socket and rings. With several workers each
        // interface's sockets form one fanout group, joined in worker order (the program's
        // result is a member's position in the group).
        var ports = [[AFPacketLink]](repeating: [], count: workerCount)
        var pcapPorts: [PcapPort] = []
        var portOfInterface = [Int](repeating: -1, count: config.interfaces.count)
        var arp = [(any NeighbourSender)?](repeating: nil, count: config.interfaces.count)
        let filter = PcapFilter.expression(for: config)
        if options.engine == .pcap { logger.info("lvsd: pcap filter: \(filter)") }
        var program: FanoutProgram?
        if workerCount > 1 { program = try FanoutSteering.program(for: config, workers: workerCount, key: steeringKey) }
        for index in indices {
            let name = config.interfaces[index].name
            if options.engine == .pcap {
                let capture: PcapLiveCapture
                do {
                    capture = try PcapLiveCapture(interface: name, snapLength: Worker.pcapSnapLength,
                                                  bufferBytes: 8 << 20, filter: filter)
                } catch { throw EngineError("\(error)") }
                portOfInterface[index] = pcapPorts.count
                pcapPorts.append(PcapPort(capture: capture, interface: index, mtu: config.interfaces[index].mtu))
                arp[index] = try ARPSender(interface: name, mac: config.interfaces[index].mac)
                continue
            }
            var socketConfig = PacketSocket.Configuration()
            socketConfig.version = options.ringVersion
            socketConfig.virtioNetHeader = true
            socketConfig.reserve = Worker.ringReserve(options.ringVersion)
            socketConfig.receiveRing = options.receiveRing
                ?? (options.ringVersion == .v2 ? .receiveDefault : .receiveDenseDefault)
            socketConfig.transmitRing = options.transmitRing
            socketConfig.bypassQdisc = true
            socketConfig.ignoreOutgoing = true
            socketConfig.receiveBufferBytes = 8 << 20
            socketConfig.sendBufferBytes = 8 << 20
            var group: UInt16 = 0
            for k in 0..<workerCount {
                if workerCount > 1 {
                    socketConfig.fanout = k == 0 ? .newGroup(mode: .program) : PacketSocket.Fanout(group: group, mode: .program)
                }
                let socket: PacketSocket
                do { socket = try PacketSocket(interface: name, configuration: socketConfig) } catch {
                    throw EngineError("\(error)")
                }
                guard let rx = socket.receiveRing, let tx = socket.transmitRing else {
                    throw EngineError("interface \(name): the socket has no RX or TX ring")
                }
                if workerCount > 1 && k == 0 {
                    guard let id = socket.fanoutGroup else {
                        throw EngineError("interface \(name): the kernel created a fanout group but does not say its id")
                    }
                    group = id
                }
                // Super-frames and jumbo frames leave whole through a second socket with no
                // rings (its send copies the frame): a TX slot holds one MTU-sized frame.
                var senderConfig = PacketSocket.Configuration()
                senderConfig.receiveRing = nil
                senderConfig.transmitRing = nil
                senderConfig.receives = false
                senderConfig.virtioNetHeader = true
                senderConfig.bypassQdisc = true
                senderConfig.sendBufferBytes = 8 << 20
                let sender: PacketSocket
                do { sender = try PacketSocket(interface: name, configuration: senderConfig) } catch {
                    throw EngineError("\(error)")
                }
                ports[k].append(AFPacketLink(socket: socket, rx: rx, tx: tx, sender: sender, interface: index,
                                                  mtu: config.interfaces[index].mtu))
            }
            if let program, let first = ports[0].last {
                do { try first.socket.attachFanoutProgram(program) } catch { throw EngineError("\(error)") }
                logger.info("lvsd: interface \(name): fanout group \(group), \(workerCount) sockets, steering program of \(program.instructions.count) instructions")
            }
            portOfInterface[index] = ports[0].count - 1
            arp[index] = try ARPSender(interface: name, mac: config.interfaces[index].mac)
        }

        // Which interface reaches each real server: the one whose kernel network holds it.
        let networks = Self.networks(options.interfaces, kernel)
        self.networks = networks
        fanoutSockets = workerCount > 1 ? ports[0].map(\.socket) : []
        let neighbours = Self.neighbourTable(config, networks: networks, interfaces: options.interfaces, logger: logger)
        let capacity = (options.tableSize + workerCount - 1) / workerCount
        // A random start in each local port ring: a restarted lvsd does not reuse the
        // LIP:lport pairs the one before it just used (the real servers may still hold them
        // in TIME_WAIT and refuse the new SYNs).
        let workers = Worker.group(
            snapshot: snapshot, links: ports, pcapPorts: pcapPorts, portOfInterface: portOfInterface,
            neighbours: neighbours, senders: arp, interfaceNames: options.interfaces, capacity: capacity,
            now: Worker.monotonicNanoseconds(),
            seed: { _ in (UInt64.random(in: .min ... .max), Int.random(in: 0..<65_536)) }, logger: logger)
        self.workers = workers
        let director = workers[0].director
        let megabytes = (director.table.bytesPerConnection * capacity + (1 << 19)) >> 20
        let pages = director.table.hugePages ? "transparent huge pages" : "4 KiB pages"
        logger.info("lvsd: connection table: \(workerCount) × \(capacity) entries, \(megabytes) MiB each, on \(pages)")
    }

    /// The real servers to resolve by ARP or neighbour solicitation, each on the interface
    /// whose kernel network (IPv4, or global IPv6) holds it; warns about the ones no
    /// interface reaches.
    private static func neighbourTable(_ config: DirectorConfig, networks: [(index: Int, networks: [HostInterfaces.Network])],
                                       interfaces: [String], logger: Logger) -> NeighbourTable {
        let table = NeighbourTable(config: config) { address in
            for (index, list) in networks {
                if let net = list.first(where: { $0.contains(address) }) { return (index, net.address) }
            }
            return nil
        }
        for address in table.unreachable {
            logger.warning("lvsd: warning: real server \(address) is on no subnet of \(interfaces.joined(separator: ", ")) (per the kernel's addresses) and has no 'neighbour' line: it cannot be resolved")
        }
        return table
    }

    // MARK: Control plane

    /// Runs `body` on every worker's thread between its batches and waits until each has
    /// run it; a worker whose loop is not running (not started yet, or finished) has it run
    /// here, with the loop held off meanwhile.
    func performLocked(_ body: @escaping (Worker) -> Void) {
        var waiting: [(Worker, WorkerTask<AFPacketLink>)] = []
        for worker in workers {
            let task = WorkerTask(body)
            if worker.liveness.whileIdle({ task.run(on: worker) }) { continue }
            // One task at a time per worker (the lock), so the 8-slot mailbox never fills.
            _ = worker.control.post(task)
            worker.wakeUp.signal()
            waiting.append((worker, task))
        }
        for (worker, task) in waiting {
            while !task.wait(nanoseconds: 20_000_000) {
                // The loop ended before draining: run what it left, here.
                _ = worker.liveness.whileIdle { _ = worker.control.receive { $0.run(on: worker) } }
            }
        }
    }

    /// Runs `body` with each worker's director on that worker's thread, between batches
    /// (worker index, director), and returns when all have. For listings and statistics:
    /// the data path never waits for the control plane, the control plane waits for at
    /// most one batch and one idle poll (50 ms).
    public func withEachDirector(_ body: @escaping (Int, Director) -> Void) {
        controlLock.lock()
        defer { controlLock.unlock() }
        performLocked { worker in body(worker.index, worker.director) }
    }

    /// `withEachDirector` with each worker's engine counters too (the metrics exporter).
    public func withEachWorker(_ body: @escaping (Int, Director, EngineCounters) -> Void) {
        controlLock.lock()
        defer { controlLock.unlock() }
        performLocked { worker in body(worker.index, worker.director, worker.counters) }
    }

    /// Sends `count` gratuitous ARPs (IPv4) or unsolicited neighbour advertisements (IPv6) for
    /// each of `addresses` on every interface, from worker 0 between its batches (a VRRP
    /// master's bursts, keepalived's garp_master_repeat).
    public func announce(_ addresses: [IPAddress], count: Int) {
        controlLock.lock()
        defer { controlLock.unlock() }
        performLocked { worker in worker.announce(addresses, count: count) }
    }

    /// A configuration swap as the engine saw it.
    public struct Swap: Sendable {
        public var summary: ReconfigureSummary
        /// The snapshot now in force.
        public var generation: UInt64
        /// Nanoseconds from the call to every worker running the new snapshot: the time from
        /// an `lvsadm -e` reaching the engine to its effect.
        public var elapsed: UInt64
        /// The longest any worker spent swapping (it forwards nothing meanwhile), nanoseconds.
        public var longestStall: UInt64
    }

    /// The kernel changed one of lvsd's interfaces (`InterfaceMonitor`): the next
    /// `reconfigure` takes its MTU and addresses (when it has no `interface` line) and the
    /// networks that say which interface reaches a real server. Call `reconfigure` next.
    public func kernelChanged(_ kernel: KernelInterfaces) {
        controlLock.lock()
        defer { controlLock.unlock() }
        self.kernel = kernel
        networks = Self.networks(options.interfaces, kernel)
    }

    /// The interfaces lvsd started without an `interface` line: their values follow the
    /// kernel until lvsd stops (a line a reload adds for one is not read).
    public var followedInterfaces: Set<String> {
        controlLock.lock()
        defer { controlLock.unlock() }
        return interfaces.followed
    }

    /// Each opened interface's position and its networks per the kernel.
    private static func networks(_ names: [String], _ kernel: KernelInterfaces) -> [(index: Int, networks: [HostInterfaces.Network])] {
        names.enumerated().map { (index: $0.offset, networks: kernel[$0.element]?.directorAddresses ?? []) }
    }

    /// Swaps in a new configuration while traffic flows (SIGHUP, lvsadm): checked first,
    /// compiled once into the successor snapshot here, off the workers, then every worker
    /// swaps it in between batches with `Director.install` (established connections stay;
    /// those of servers that left expire on their next packet). The interfaces must stay the
    /// ones lvsd was started on. On error nothing has changed.
    public func reconfigure(_ proposed: DirectorConfig) throws(EngineError) -> Swap {
        controlLock.lock()
        defer { controlLock.unlock() }
        let start = Worker.monotonicNanoseconds()
        let resolved = try DirectorInterfaces.resolve(proposed, names: options.interfaces, kernel: kernel, running: interfaces)
        let new = resolved.config
        guard new.interfaces.map(\.name) == config.interfaces.map(\.name) else {
            throw EngineError("the interfaces cannot change while lvsd runs (running: \(config.interfaces.map(\.name).joined(separator: ", ")); new: \(new.interfaces.map(\.name).joined(separator: ", "))); restart lvsd to change them")
        }
        let count = workers.count
        if count > 1 {
            let program = try FanoutSteering.program(for: new, workers: count, key: steeringKey)
            for socket in fanoutSockets {
                do { try socket.attachFanoutProgram(program) } catch { throw EngineError("\(error)") }
            }
        }
        let table = Self.neighbourTable(new, networks: networks, interfaces: options.interfaces, logger: logger)
        let next = snapshot.successor(new)
        let filter = PcapFilter.expression(for: new)
        let results = ReconfigureResults(count: count)
        performLocked { worker in
            let t0 = Worker.monotonicNanoseconds()
            let summary = worker.install(next, neighbours: worker.index == 0 ? table : nil)
            results.store(summary, stall: Worker.monotonicNanoseconds() &- t0, at: worker.index)
            // libpcap keeps the filter in the handle: replace it on the thread that reads it.
            worker.setPcapFilter(filter)
        }
        snapshot = next
        interfaces = resolved
        return Swap(summary: results.total, generation: next.generation,
                    elapsed: Worker.monotonicNanoseconds() &- start, longestStall: results.longestStall)
    }

    // MARK: Running

    /// Runs every worker until `stop` is set or `duration` (nanoseconds) has passed; returns
    /// when all have stopped. One worker runs on the calling thread, several on threads of
    /// their own (named lvsd-worker-K), each pinned if `Options.cpus` says so.
    public func run(stop: StopSignal, duration: UInt64?) {
        let deadline = duration.map { Worker.monotonicNanoseconds() &+ $0 }
        let interval = options.statsInterval
        let cpus = options.cpus
        let logger = logger
        let several = workers.count > 1
        if !several {
            if let cpu = cpus.first { Self.pin(worker: 0, cpu: cpu, logger: logger) }
            workers[0].run(stop: stop, deadline: deadline, statsInterval: interval) { worker in
                Self.summary(label: "stats", workers: [worker])
            }
            return
        }
        let finished = DispatchGroup()
        for worker in workers {
            finished.enter()
            let thread = Thread {
                if !cpus.isEmpty { Self.pin(worker: worker.index, cpu: cpus[worker.index % cpus.count], logger: logger) }
                worker.run(stop: stop, deadline: deadline, statsInterval: interval) { worker in
                    Self.summary(label: "stats (worker \(worker.index))", workers: [worker])
                }
                finished.leave()
            }
            thread.name = "lvsd-worker-\(worker.index)"
            thread.start()
        }
        finished.wait()
    }

    private static func pin(worker: Int, cpu: Int, logger: Logger) {
        do {
            try ThreadAffinity.pinCurrentThread(toCPU: cpu)
            logger.info("lvsd: worker \(worker) pinned to CPU \(cpu)")
        } catch {
            logger.warning("lvsd: warning: worker \(worker) runs unpinned: \(error)")
        }
    }

    // MARK: Reporting

    /// Counter lines: frames in/forwarded/answered/passed/dropped, then every non-zero pass and
    /// drop reason by name and the engine's own counters, all summed over the workers; with
    /// several workers, then one line per worker. Call when the workers have stopped.
    public func summary(final: Bool) -> [SummaryLine] {
        var lines = Self.summary(label: final ? "totals" : "stats", workers: workers)
        if workers.count > 1 {
            for worker in workers {
                let d = worker.director
                lines.append(SummaryLine("lvsd:   worker \(worker.index): frames in \(d.framesReceived), forwarded \(d.framesForwarded), answered \(d.framesAnswered), passed \(d.framesPassed), dropped \(d.framesDropped), connections \(d.table.count)", ["worker": "\(worker.index)"]))
            }
        }
        return lines
    }

    static func summary<L: Link>(label: String, workers: [PacketWorker<L>]) -> [SummaryLine] {
        let ds = workers.map(\.director)
        func sum(_ value: (Director) -> UInt64) -> UInt64 { ds.reduce(0) { $0 &+ value($1) } }
        let connections = ds.reduce(0) { $0 + $1.table.count }
        var lines = [SummaryLine("lvsd: \(label): frames in \(sum(\.framesReceived)), forwarded \(sum(\.framesForwarded)), answered \(sum(\.framesAnswered)), passed \(sum(\.framesPassed)), dropped \(sum(\.framesDropped)), connections \(connections)")]
        for reason in PassReason.allCases {
            let n = sum { $0.count(reason) }
            if n > 0 { lines.append(SummaryLine("lvsd:   passed \(reason): \(n)", ["pass_reason": "\(reason)", "count": "\(n)"])) }
        }
        for reason in DropReason.allCases {
            let n = sum { $0.count(reason) }
            if n > 0 { lines.append(SummaryLine("lvsd:   dropped \(reason): \(n)", ["reason": "\(reason)", "count": "\(n)"])) }
        }
        // The SYN proxy's answers (Docs/adr/0007): frames it sent that no drop or pass counts.
        for (name, n) in [("syn-proxy-cookies-sent", sum(\.synProxyCookiesSent)),
                          ("syn-proxy-server-resets", sum(\.synProxyServerResets)),
                          ("syn-proxy-server-syns-resent", sum(\.synProxyServerSynsResent)),
                          // The client's address for the real servers (Docs/adr/0008).
                          ("proxy-protocol-headers-sent", sum(\.proxyProtocolHeadersSent)),
                          ("toa-added", sum(\.toaAdded)), ("toa-no-room", sum(\.toaNoRoom))] where n > 0 {
            lines.append(SummaryLine("lvsd:   \(name): \(n)", ["counter": "\(name)", "count": "\(n)"]))
        }
        // The FTP helper's work and refusals (Docs/ftp.md).
        let ftp = ds.reduce(FTPCounters()) { $0.adding($1.ftpCounters) }
        for (name, n) in ftp.named where n > 0 {
            lines.append(SummaryLine("lvsd:   \(name): \(n)", ["counter": "\(name)", "count": "\(n)"]))
        }
        let c = workers.dropFirst().reduce(workers[0].counters) { $0.adding($1.counters) }
        for (name, value) in c.named where value > 0 {
            lines.append(SummaryLine("lvsd:   engine \(name): \(value)", ["counter": "\(name)", "count": "\(value)"]))
        }
        return lines
    }
}

/// One line of the counters' summary and its fields (`reason=`, `count=`), so a log reader can
/// pick drop reasons out without parsing the text.
public struct SummaryLine: Sendable, CustomStringConvertible {
    public var text: String
    public var metadata: Logger.Metadata

    public init(_ text: String, _ metadata: Logger.Metadata = [:]) {
        self.text = text
        self.metadata = metadata
    }

    public var description: String { text }
}
