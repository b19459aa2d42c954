import Core
import PacketIO
import Wire
#if canImport(Glibc)
import Glibc
import Logging
import POSIX
#endif

/// One worker of the live director: its own `Director` (connection table, schedulers,
/// counters), its own AF_PACKET socket with a TPACKET RX and TX ring per interface (with
/// several workers, each socket is one member of the interface's fanout group), or with
/// `engine = .pcap` one libpcap live handle per interface. Shared-nothing: nothing here is
/// touched by another thread while the worker runs, except its `Mailbox`.
///
/// AF_PACKET: frames are processed where the kernel wrote them. The loop takes up to 32 ready
/// frames from an RX ring (their slots stay held), runs `Director.process(batch:)` on them in
/// place (the ring reserves headroom for TUN's outer header), copies each forwarded or
/// answered frame once, into the TX ring of the interface the verdict names, then hands the
/// RX slots back; each TX ring is kicked once per turn. Every frame carries the kernel's
/// virtio-net header, so GSO/GRO super-frames (up to 64 KiB) and partial checksums keep their
/// meaning: a super-frame leaves whole through the port's `sender` socket for the kernel to
/// segment on egress, or, where no offload can describe it (TUN), cut by `SoftwareSegmenter`.
///
/// libpcap: frames are copied into preallocated buffers (libpcap owns its ring), and a
/// super-frame is always cut in software, since `pcap_inject` sends what fits the MTU.
///
/// The links are generic (`Link`): `AFPacketLink` in lvsd, `InMemoryLink` in tests, which
/// drive the loop one `turn(now:)` at a time with a clock of their own.
///
/// Between batches the worker drains its mailbox; idle turns expire connections. Worker 0
/// also does the ARP work for everyone (`NeighbourResolver`). Nothing on the per-frame path
/// allocates, locks or formats a string: buffers, verdicts and the poll set are allocated
/// once here.
final class PacketWorker<L: Link>: @unchecked Sendable {
    // Safety (@unchecked): a worker is built on the starting thread, then used only by the
    // thread that runs it until that thread ends (LiveDirector joins it before reading the
    // counters). The members other threads touch while it runs are `inbox` and `control`,
    // each safe for one producer and one consumer, and `liveness`, an atomic.

    let index: Int
    let director: Director
    private(set) var counters = LiveDirector.EngineCounters()
    /// Neighbours learned by worker 0 (nil for worker 0 itself).
    let inbox: Mailbox<WorkerMessage>?
    /// Tasks from the control plane (reload, listings); `LiveDirector` is the one producer.
    let control = Mailbox<WorkerTask<L>>(capacity: 8)
    /// Wakes the worker from its idle poll when a control task is posted.
    let wakeUp = SelfPipe()
    /// Set while `run` loops; the control plane reads it to know who may drain `control`.
    let liveness = WorkerLiveness()
    /// Worker 0's ARP duties (nil for the others).
    let resolver: NeighbourResolver?
    /// Connection sync master: where drained messages go (set and cleared by control tasks).
    var syncSender: SyncSender?
    /// Connection sync backup: datagrams from the receiver thread (its one producer), and the
    /// syncid to accept (nil: not a backup, datagrams are discarded). Docs/connection-sync.md.
    let syncInbox = Mailbox<[UInt8]>(capacity: 256)
    var syncBackupID: UInt8?
    /// The fanout program's steering key, for routing synced connections (0: unkeyed).
    var syncSteeringKey: UInt32 = 0
    /// Worker 0's flag, raised when this worker drops a frame for an unresolved neighbour.
    private let resolveRequest: ResolveRequest
    private let ports: [L]
    /// The pcap engine's handles (empty with AF_PACKET, where `ports` is used instead).
    private let pcapPorts: [PcapPort]
    /// Configuration interface index → index in `ports`, -1 when not opened.
    private let portOfInterface: [Int]
    private let logger: Logger

    // Computed, not stored: a generic class has no static stored properties. Constants all
    // the same once specialised.
    static var batchLimit: Int { 32 }
    /// PACKET_RESERVE for a ring of `version`. A TPACKET_V2 slot holds the largest frame, so
    /// an ordinary frame has kilobytes of tailroom for an insertion to grow into; 32 leaves
    /// 76 bytes of headroom for TUN's outer header. TPACKET_V3 packs frames back to back: no
    /// tailroom, so a PROXY protocol header or TOA option moves the headers toward the slot's
    /// start, and the reserve must leave `PacketBuffer.insertionHeadroom` (112: 156 bytes).
    static func ringReserve(_ version: RingVersion) -> Int {
        version == .v2 ? 32 : version.reserve(forHeadroom: PacketBuffer.insertionHeadroom, virtioNetHeader: true)
    }
    /// The pcap engine's copies: a 64 KiB super-frame with headroom and tailroom.
    static var pcapHeadroom: Int { PacketBuffer.recommendedHeadroom }
    static var pcapSnapLength: Int { 65_535 + 40 + 14 + 8 }
    static var pcapSlotSize: Int { pcapHeadroom + pcapSnapLength + 64 }
    /// Frames taken from one port per turn, so one busy interface cannot starve the others.
    static var framesPerTurn: Int { 1024 }
    /// Storage for the pcap engine's copies (nil with AF_PACKET, which works in place).
    private let storage: UnsafeMutableRawPointer?
    /// Where `SoftwareSegmenter` builds segments for `pcap_inject`.
    private let segmentScratch: UnsafeMutableRawPointer?
    private let batch: UnsafeMutablePointer<PacketBuffer>
    private let verdicts: UnsafeMutablePointer<Verdict>
    private var batchCount = 0
    /// Bit i: TX ring of port i has frames queued and not yet kicked.
    private var pendingKicks: UInt64 = 0
    private var now: UInt64 = 0
    private var resolveSoon = false
    /// When worker 0 next asks for due neighbours and re-posts refused messages.
    private var nextHousekeeping: UInt64 = 0
    private let pollSet: UnsafeMutablePointer<pollfd>
    /// Each port's TX ring, unretained (the ports own them), for the per-frame path.
    private let transmitRings: UnsafeMutablePointer<Unmanaged<L.Transmitter>>
    /// The largest frame every TX ring slot holds (all rings share one geometry).
    private let transmitCapacity: Int

    init(index: Int, director: Director, ports: [L], pcapPorts: [PcapPort], portOfInterface: [Int],
         inbox: Mailbox<WorkerMessage>?, resolver: NeighbourResolver?, resolveRequest: ResolveRequest,
         logger: Logger) {
        self.index = index
        self.director = director
        self.ports = ports
        self.pcapPorts = pcapPorts
        self.portOfInterface = portOfInterface
        self.inbox = inbox
        self.resolver = resolver
        self.resolveRequest = resolveRequest
        self.logger = logger
        batch = .allocate(capacity: Self.batchLimit)
        if pcapPorts.isEmpty {
            storage = nil
            segmentScratch = nil
            // Placeholders: every entry is overwritten with a view into the RX ring before use.
            batch.initialize(repeating: PacketBuffer(base: UnsafeMutableRawPointer(bitPattern: 64)!, capacity: 0,
                                                     offset: 0, length: 0), count: Self.batchLimit)
        } else {
            let pool = UnsafeMutableRawPointer.allocate(byteCount: Self.batchLimit * Self.pcapSlotSize, alignment: 64)
            storage = pool
            segmentScratch = .allocate(byteCount: Self.pcapSlotSize, alignment: 64)
            for i in 0..<Self.batchLimit {
                (batch + i).initialize(to: PacketBuffer(base: pool + i * Self.pcapSlotSize, capacity: Self.pcapSlotSize,
                                                        offset: Self.pcapHeadroom, length: 0))
            }
        }
        transmitRings = .allocate(capacity: max(ports.count, 1))
        for (i, port) in ports.enumerated() { (transmitRings + i).initialize(to: .passUnretained(port.tx)) }
        transmitCapacity = ports.map(\.tx.frameCapacity).min() ?? 0
        verdicts = .allocate(capacity: Self.batchLimit)
        verdicts.initialize(repeating: .pass(.notIP), count: Self.batchLimit)
        pollSet = .allocate(capacity: ports.count + pcapPorts.count + 1)
        for (i, port) in ports.enumerated() {
            pollSet[i] = pollfd(fd: port.descriptor, events: Int16(POLLIN), revents: 0)
        }
        for (i, port) in pcapPorts.enumerated() {
            pollSet[ports.count + i] = pollfd(fd: port.capture.descriptor, events: Int16(POLLIN), revents: 0)
        }
        pollSet[ports.count + pcapPorts.count] = pollfd(fd: wakeUp.descriptor, events: Int16(POLLIN), revents: 0)
    }

    deinit {
        batch.deinitialize(count: Self.batchLimit)
        batch.deallocate()
        verdicts.deallocate()
        transmitRings.deallocate()
        storage?.deallocate()
        segmentScratch?.deallocate()
        pollSet.deallocate()
    }

    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    // MARK: The loop

    /// Runs until `stop` is set or the monotonic clock reaches `deadline`. `stats` prints this
    /// worker's counters every `statsInterval` nanoseconds (0: never).
    func run(stop: StopSignal, deadline: UInt64?, statsInterval: UInt64,
             stats: (PacketWorker) -> [SummaryLine]) {
        now = Self.monotonicNanoseconds()
        liveness.started()
        defer { liveness.finished() }
        start()
        var nextStats = statsInterval > 0 ? now &+ statsInterval : UInt64.max
        while !stop.isSet {
            now = Self.monotonicNanoseconds()
            if let deadline, now >= deadline { break }
            let frames = turn()
            if now >= nextStats {
                nextStats = now &+ statsInterval
                for line in stats(self) { logger.info("\(line.text)", metadata: line.metadata) }
            }
            if frames == 0 {
                let wake = ports.count + pcapPorts.count
                if poll(pollSet, nfds_t(wake + 1), 50) > 0 && pollSet[wake].revents != 0 { wakeUp.clear() }
            }
        }
        for port in ports { counters.receiveRingDrops &+= port.receiveDrops() }
        for port in pcapPorts {
            if let drops = port.capture.drops() { counters.receiveRingDrops &+= drops }
        }
    }

    /// What the loop does once before its first turn: worker 0 announces the VIPs and LIPs.
    func start() {
        if let resolver { resolver.announce(counters: &counters) }
    }

    /// Worker 0: `count` announcements of each address (a VRRP master's GARP/NA bursts).
    func announce(_ addresses: [IPAddress], count: Int) {
        resolver?.announce(addresses, count: count, counters: &counters)
    }

    /// One turn of the loop at `now` (monotonic nanoseconds), without waiting: what `run`
    /// does between two polls. Tests drive a worker with this and a clock of their own.
    /// Returns how many frames were taken.
    @discardableResult
    func turn(now: UInt64) -> Int {
        self.now = now
        return turn()
    }

    /// Mailboxes, then every link's ready frames, then worker 0's neighbour housekeeping;
    /// an idle turn expires connections.
    private func turn() -> Int {
        if let inbox { _ = inbox.receive { apply($0) } }
        _ = control.receive { $0.run(on: self) }
        _ = syncInbox.receive { installSynced($0) }
        var frames = 0
        for port in ports {
            var taken = 0
            while taken < Self.framesPerTurn, let frame = port.rx.next() {
                accept(frame, port: port)
                taken += 1
                if batchCount == Self.batchLimit {
                    processBatch()
                    port.rx.release()
                }
            }
            if batchCount > 0 { processBatch() }
            port.rx.release()
            frames += taken
            // One kick per port and turn, not per frame: each kick is a system call, and
            // at low rates a turn holds the one frame that just arrived anyway.
            if pendingKicks != 0 { kickPending() }
        }
        for port in pcapPorts {
            // Up to a batch per turn and interface; every frame may carry a partial checksum.
            for _ in 0..<Self.batchLimit {
                let n = port.capture.next { bytes, wireLength in
                    accept(bytes, wireLength: wireLength, port: port)
                }
                if n <= 0 { break }
                frames += n
            }
            if batchCount > 0 { processBatch() }
        }
        // Notes taken in this turn's batches leave now, not when a message fills.
        if let syncSender {
            director.refreshSync(now: now)
            if director.pendingSyncNotes > 0 { director.drainSync { syncSender.send($0) } }
        }
        if let resolver, resolveSoon || resolveRequest.take() || now >= nextHousekeeping {
            resolveSoon = false
            nextHousekeeping = now &+ 100_000_000
            resolver.resolve(now: now, counters: &counters)
        }
        if frames == 0 { director.expire(now: now) }
        return frames
    }

    /// Swaps in a new configuration snapshot between batches; worker 0 also updates the
    /// neighbours it resolves and announces addresses it newly owns.
    func install(_ snapshot: DirectorSnapshot, neighbours: NeighbourTable?) -> ReconfigureSummary {
        let summary = director.install(snapshot)
        // On this worker's thread, between batches: the MTU the configuration now says (an
        // interface with no `interface` line follows the kernel's).
        let interfaces = snapshot.config.interfaces
        for port in ports where interfaces.indices.contains(port.interface) { port.mtu = interfaces[port.interface].mtu }
        for port in pcapPorts where interfaces.indices.contains(port.interface) { port.mtu = interfaces[port.interface].mtu }
        if let resolver, let neighbours { resolver.reconfigure(config: snapshot.config, table: neighbours, counters: &counters) }
        return summary
    }

    /// The pcap engine's BPF filter after a reload; on failure the old filter stays.
    func setPcapFilter(_ filter: String) {
        for port in pcapPorts {
            do { try port.capture.setFilter(filter) } catch { logger.warning("lvsd: warning: \(error); the previous filter stays") }
        }
    }

    /// One sync datagram from the backup's receiver, between batches.
    private func installSynced(_ datagram: [UInt8]) {
        guard let syncID = syncBackupID else { return }
        var bytes = datagram
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            let slice = director.workerSlice
            if slice.count == 1 {
                _ = director.receiveSyncMessage(base, length: raw.count, syncID: syncID, now: now)
            } else {
                // Every worker gets every datagram; each installs what the fanout steers to it.
                let config = director.config, key = syncSteeringKey
                let clientAddressVIPs = Set(FanoutSteering.clientAddressSteering(for: config).virtualAddresses)
                _ = director.receiveSyncMessage(base, length: raw.count, syncID: syncID, now: now) {
                    FanoutSteering.worker(for: $0, config: config, clientAddressVIPs: clientAddressVIPs,
                                          workers: slice.count, key: key) == slice.index
                }
            }
        }
    }

    /// One message from the mailbox, between batches.
    private func apply(_ message: WorkerMessage) {
        switch message {
        case .neighbour(let address, let mac, let interface):
            director.setNeighbour(address, mac: mac, interface: interface)
        }
    }

    /// Adds a frame in the RX ring to the batch as a view of its slot (no copy): the slot's
    /// free bytes around it are the buffer's head- and tailroom.
    @inline(__always)
    private func accept(_ frame: ReceivedFrame, port: L) {
        guard !frame.isTruncated, let start = frame.bytes.baseAddress else {
            counters.truncated &+= 1
            return
        }
        var partial = frame.checksumNotReady
        var segmentation: PacketBuffer.Segmentation? = nil
        if let virtio = frame.virtioHeader {
            if virtio.isSegmentationOffload {
                // A super-frame's checksum is always left to whoever cuts it (a GRO frame from
                // a NIC says DATA_VALID instead, and its checksum field is the first segment's).
                segmentation = PacketBuffer.Segmentation(segmentSize: Int(virtio.segmentSize), gsoType: virtio.gsoType)
                partial = true
                counters.superFrames &+= 1
            } else if virtio.needsChecksum {
                partial = true
            }
        }
        batch[batchCount] = PacketBuffer(
            base: start - frame.headroom, capacity: frame.headroom + frame.bytes.count + frame.tailroom,
            offset: frame.headroom, length: frame.bytes.count, interface: port.interface,
            checksumPartial: partial, sinkFinishesChecksum: true, segmentation: segmentation)
        batchCount += 1
    }

    /// Copies one frame libpcap captured into the next batch buffer; processes the batch
    /// when full. libpcap says nothing of partial checksums or GSO: every frame is taken as
    /// partially checksummed (Core completes it), and one whose IP datagram is longer than
    /// the interface's MTU can only be a super-frame.
    @inline(__always)
    private func accept(_ bytes: UnsafeRawBufferPointer, wireLength: Int, port: PcapPort) {
        if bytes.count < wireLength {
            counters.truncated &+= 1
            return
        }
        let length = bytes.count
        guard length <= Self.pcapSnapLength, let source = bytes.baseAddress, let storage else {
            counters.tooLarge &+= 1
            return
        }
        let buffer = batch + batchCount
        let base = storage + batchCount * Self.pcapSlotSize
        // Safety: the slot holds pcapSlotSize bytes, headroom + pcapSnapLength of them fit.
        (base + Self.pcapHeadroom).copyMemory(from: source, byteCount: length)
        var segmentation: PacketBuffer.Segmentation? = nil
        if length > port.mtu + EthernetFrame.headerLength + EthernetFrame.maxTags * EthernetFrame.tagLength {
            segmentation = PacketBuffer.Segmentation(segmentSize: 0, gsoType: 0)
            counters.superFrames &+= 1
        }
        buffer.pointee = PacketBuffer(base: base, capacity: Self.pcapSlotSize, offset: Self.pcapHeadroom, length: length,
                                      interface: port.interface, checksumPartial: true, sinkFinishesChecksum: false,
                                      segmentation: segmentation)
        batchCount += 1
        if batchCount == Self.batchLimit { processBatch() }
    }

    private func processBatch() {
        let count = batchCount
        batchCount = 0
        director.process(batch: batch, count: count, verdicts: verdicts, now: now)
        var kicked = pendingKicks  // bit i: port i has frames queued
        for i in 0..<count {
            switch verdicts[i] {
            case .forward(let interface), .answer(let interface):
                if let port = transmit(&batch[i], on: interface) { kicked |= 1 << UInt64(port & 63) }
            case .pass(.arpNotForDirector), .pass(.icmpNotRelated):
                resolver?.learn(from: batch[i], director: director, now: now, counters: &counters)
            case .drop(.neighbourUnresolved):
                if resolver != nil { resolveSoon = true } else { resolveRequest.raise() }
            default:
                break
            }
        }
        pendingKicks = kicked
    }

    /// Kicks every TX ring that has frames queued since the last kick.
    private func kickPending() {
        var kicked = pendingKicks
        pendingKicks = 0
        var p = 0
        while kicked != 0 {
            if kicked & 1 != 0 {
                do { _ = try ports[p].tx.flush() } catch { counters.transmitErrors &+= 1 }
            }
            kicked >>= 1
            p += 1
        }
    }

    /// Sends a processed frame on `interface`: one copy into its TX ring, or whole through
    /// the port's sender socket, or cut into segments. Returns the port index when frames
    /// were queued on its ring (to kick), nil otherwise.
    @inline(__always)
    private func transmit(_ packet: inout PacketBuffer, on interface: Int) -> Int? {
        guard interface >= 0, interface < portOfInterface.count, portOfInterface[interface] >= 0 else {
            counters.noSuchInterface &+= 1
            return nil
        }
        let p = portOfInterface[interface]
        if !pcapPorts.isEmpty {
            injectPcap(&packet, port: pcapPorts[p])
            return nil
        }
        if packet.needsSoftwareSegmentation {
            return transmitSegments(packet, port: ports[p]) ? p : nil
        }
        if packet.segmentation != nil || packet.length > transmitCapacity {
            transmitWhole(&packet, port: ports[p])
            return nil
        }
        let length = packet.length
        let source = UnsafeRawPointer(packet.frame)
        let checksum: (start: UInt16, offset: UInt16)? = packet.checksumPartial
            ? (UInt16(truncatingIfNeeded: packet.checksumStart), UInt16(truncatingIfNeeded: packet.checksumOffset)) : nil
        // A guaranteed reference: `ports` keeps every ring alive for the worker's life, and a
        // strong one would cost a retain and a release per frame.
        let queued = transmitRings[p]._withUnsafeGuaranteedRef { tx -> Bool in
            if Self.enqueue(tx, source, length, checksum) { return true }
            // Full: kick what is queued and try once more; the kernel frees slots as it sends.
            do { _ = try tx.flush() } catch { counters.transmitErrors &+= 1 }
            return Self.enqueue(tx, source, length, checksum)
        }
        if queued { return p }
        counters.transmitRingFull &+= 1
        return nil
    }

    /// A super-frame (or a frame larger than a TX slot) leaves through the sender socket,
    /// its virtio-net header written into the headroom just before it, after whatever the
    /// ring holds for the interface, so a flow's frames keep their order.
    private func transmitWhole(_ packet: inout PacketBuffer, port: L) {
        guard packet.offset >= VirtioNetHeader.size else {
            counters.tooLarge &+= 1
            return
        }
        if port.tx.queuedFrames > 0 {
            do { _ = try port.tx.flush() } catch { counters.transmitErrors &+= 1 }
        }
        var header = VirtioNetHeader()
        if packet.checksumPartial {
            header.flags = VirtioNetHeader.needsChecksumFlag
            header.checksumStart = UInt16(truncatingIfNeeded: packet.checksumStart)
            header.checksumOffset = UInt16(truncatingIfNeeded: packet.checksumOffset)
            // Headers up to the checksum field at least go in the kernel's linear area.
            header.headerLength = UInt16(truncatingIfNeeded: packet.checksumStart + packet.checksumOffset + 2)
        }
        if let segmentation = packet.segmentation {
            header.gsoType = segmentation.gsoType
            header.segmentSize = UInt16(truncatingIfNeeded: segmentation.segmentSize)
        }
        let start = packet.frame - VirtioNetHeader.size
        header.store(to: start)
        do {
            if try !port.sender.send(UnsafeRawBufferPointer(start: start, count: packet.length + VirtioNetHeader.size)) {
                counters.transmitRingFull &+= 1
            }
        } catch {
            counters.transmitErrors &+= 1
        }
    }

    /// Cuts a super-frame no offload can carry (TUN) into the TX ring, one slot a segment,
    /// each with finished checksums.
    private func transmitSegments(_ packet: PacketBuffer, port: L) -> Bool {
        guard let segmenter = SoftwareSegmenter(frame: packet.frame, length: packet.length,
                                                segmentSize: packet.segmentation?.segmentSize ?? 0, mtu: port.mtu,
                                                tunnelHeaderLength: packet.tunnelHeaderLength) else {
            counters.segmentationUnsupported &+= 1
            return false
        }
        counters.softwareSegmented &+= 1
        var queued = false
        for k in 0..<segmenter.count {
            var sent = port.tx.enqueue { slot in segmenter.write(k, into: slot.baseAddress!, capacity: slot.count) }
            if !sent {
                do { _ = try port.tx.flush() } catch { counters.transmitErrors &+= 1 }
                sent = port.tx.enqueue { slot in segmenter.write(k, into: slot.baseAddress!, capacity: slot.count) }
            }
            if sent {
                queued = true
                counters.softwareSegments &+= 1
            } else {
                counters.transmitRingFull &+= 1
            }
        }
        return queued
    }

    /// libpcap: one `pcap_inject` per frame; a super-frame is cut first, into scratch.
    private func injectPcap(_ packet: inout PacketBuffer, port: PcapPort) {
        guard packet.segmentation != nil, let scratch = segmentScratch else {
            if !port.capture.inject(UnsafeRawPointer(packet.frame), length: packet.length) {
                counters.transmitErrors &+= 1
            }
            return
        }
        guard let segmenter = SoftwareSegmenter(frame: packet.frame, length: packet.length,
                                                segmentSize: packet.segmentation?.segmentSize ?? 0, mtu: port.mtu,
                                                tunnelHeaderLength: packet.tunnelHeaderLength) else {
            counters.segmentationUnsupported &+= 1
            return
        }
        counters.softwareSegmented &+= 1
        for k in 0..<segmenter.count {
            let length = segmenter.write(k, into: scratch, capacity: Self.pcapSlotSize)
            guard length > 0, port.capture.inject(UnsafeRawPointer(scratch), length: length) else {
                counters.transmitErrors &+= 1
                continue
            }
            counters.softwareSegments &+= 1
        }
    }

    /// One copy into the next TX slot. A closure literal passed straight to `enqueue` stays
    /// non-escaping (a closure stored in a local first would be a heap-allocated context).
    @inline(__always)
    private static func enqueue(_ tx: L.Transmitter, _ source: UnsafeRawPointer, _ length: Int,
                                _ checksum: (start: UInt16, offset: UInt16)?) -> Bool {
        tx.enqueue(partialChecksum: checksum) { slot in
            // Safety: the caller checked length <= frameCapacity, the slot's size.
            slot.baseAddress!.copyMemory(from: source, byteCount: length)
            return length
        }
    }
}
