import Core
import PacketIO
import Wire

/// A link with no kernel behind it, for tests (SwiftNIO's EmbeddedChannel idea): frames a
/// test `inject`s come out of `rx` as an RX ring would hand them (in place, in preallocated
/// slots with head- and tailroom, with the checksum flag and virtio-net header the test
/// gives), and what the worker sends is kept: ring frames once a `flush` kicks them, whole
/// frames from `sender` at once, and neighbour requests as `NeighbourRequest`s.
///
/// So a `PacketWorker<InMemoryLink>` runs the AF_PACKET engine's own code (batches, in-place
/// processing, one copy into a TX slot, kicks, super-frames through the sender) without
/// sockets, root or namespaces. One thread at a time, like the worker that owns it. Tests may
/// allocate per frame; the data path of lvsd never sees this type.
final class InMemoryLink: Link, ReceiveQueue, TransmitQueue, FrameSender, NeighbourSender {
    /// A frame that left the link.
    struct Sent: Equatable {
        enum Path: Equatable {
            /// Through a TX slot, sent by a flush.
            case ring
            /// Whole, through the sender socket (super-frames, frames larger than a slot).
            case whole
        }
        var bytes: [UInt8]
        var path: Path
        /// The virtio-net header it left with: for ring frames the one `TXRing` would write
        /// (copy the whole frame, `needsChecksum` with start and offset when left partial).
        var virtioHeader: VirtioNetHeader
    }

    /// A neighbour request or announcement the resolver sent on this link.
    enum NeighbourRequest: Equatable {
        case arpRequest(target: IPAddress, sender: IPAddress)
        case gratuitousARP(IPAddress)
        case solicitation(target: IPAddress, source: IPAddress)
        case advertisement(IPAddress)
    }

    let interface: Int
    var mtu: Int
    var rx: InMemoryLink { self }
    var tx: InMemoryLink { self }
    var sender: InMemoryLink { self }
    /// Nothing to poll: `PacketWorker.run` would sleep its idle timeout; tests call `turn`.
    var descriptor: Int32 { -1 }

    /// Headroom before each received frame: what a ring of `ring`'s version with `reserve`
    /// (`PacketWorker.ringReserve` unless a test says otherwise) leaves, the virtio-net header
    /// the kernel wrote included: 76 bytes for TPACKET_V2.
    let headroom: Int
    /// TPACKET_V2 slots leave the rest of the slot after a frame; TPACKET_V3 packs the next
    /// frame right after it, so a V3 frame has none.
    let ring: RingVersion
    /// A slot holds a 64 KiB super-frame with tags, as `RingGeometry.receiveDefault` does.
    static let slotSize = 66_560
    /// The TX slot's frame capacity of `RingGeometry.transmitDefault` with a virtio header.
    static let defaultFrameCapacity = 2048 - 32 - VirtioNetHeader.size

    let frameCapacity: Int
    private let receiveSlots: Int
    private let transmitSlots: Int
    private let storage: UnsafeMutableRawPointer
    private var waiting: [(bytes: [UInt8], checksumNotReady: Bool, virtio: VirtioNetHeader?, wireLength: Int)] = []
    private var held = 0
    private var queued: [Sent] = []
    /// Frames that left, oldest first (`takeSent` empties it).
    private(set) var sent: [Sent] = []
    private(set) var neighbourRequests: [NeighbourRequest] = []
    /// Flushes that sent something: the worker kicks once per turn, not per frame.
    private(set) var kicks = 0
    /// When true, `enqueue` reports a full ring (the kernel has not freed a slot).
    var transmitRingFull = false

    /// - Parameters:
    ///   - receiveSlots: frames handed out before a `release` (an RX ring's slot count).
    ///   - transmitSlots: frames queued before a `flush` (a TX ring's slot count).
    ///   - ring, reserve: the RX ring version and `PACKET_RESERVE` whose frames this link hands
    ///     over (their head- and tailroom).
    init(interface: Int, mtu: Int = 1500, receiveSlots: Int = 64, transmitSlots: Int = 64,
         frameCapacity: Int = InMemoryLink.defaultFrameCapacity, ring: RingVersion = .v2, reserve: Int? = nil) {
        self.ring = ring
        headroom = ring.headroom(reserve: reserve ?? PacketWorker<InMemoryLink>.ringReserve(ring), virtioNetHeader: true)
        self.interface = interface
        self.mtu = mtu
        self.receiveSlots = receiveSlots
        self.transmitSlots = transmitSlots
        self.frameCapacity = frameCapacity
        storage = .allocate(byteCount: receiveSlots * Self.slotSize, alignment: 64)
    }

    deinit { storage.deallocate() }

    // MARK: What a test does

    /// A frame arrives, as the kernel would write it into the RX ring. `wireLength` larger
    /// than the bytes makes it truncated.
    func inject(_ bytes: [UInt8], checksumNotReady: Bool = false, virtioHeader: VirtioNetHeader? = nil,
                wireLength: Int? = nil) {
        precondition(headroom + bytes.count <= Self.slotSize, "a \(bytes.count)-byte frame does not fit a slot")
        waiting.append((bytes, checksumNotReady, virtioHeader, wireLength ?? bytes.count))
    }

    /// Frames injected and not yet taken by the worker.
    var pendingFrames: Int { waiting.count }

    /// What left since the last call, oldest first.
    func takeSent() -> [Sent] {
        defer { sent = [] }
        return sent
    }

    /// Neighbour requests since the last call, oldest first.
    func takeNeighbourRequests() -> [NeighbourRequest] {
        defer { neighbourRequests = [] }
        return neighbourRequests
    }

    // MARK: ReceiveQueue

    func next() -> ReceivedFrame? {
        guard held < receiveSlots, !waiting.isEmpty else { return nil }
        let frame = waiting.removeFirst()
        let slot = storage + held * Self.slotSize
        held += 1
        let start = slot + headroom
        // Safety: the slot holds headroom + the frame (checked by `inject`).
        frame.bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return ReceivedFrame(bytes: UnsafeMutableRawBufferPointer(start: start, count: frame.bytes.count),
                             wireLength: frame.wireLength, checksumNotReady: frame.checksumNotReady,
                             headroom: headroom, tailroom: ring == .v2 ? Self.slotSize - headroom - frame.bytes.count : 0,
                             virtioHeader: frame.virtio)
    }

    /// Gives the held slots back; their bytes are scribbled over, as the kernel's refill
    /// would, so a worker that read a frame after releasing it sends garbage a test sees.
    func release() {
        if held > 0 { storage.initializeMemory(as: UInt8.self, repeating: 0xEE, count: held * Self.slotSize) }
        held = 0
    }

    // MARK: TransmitQueue

    var queuedFrames: Int { queued.count }

    func enqueue(partialChecksum checksum: (start: UInt16, offset: UInt16)?,
                 _ body: (UnsafeMutableRawBufferPointer) -> Int) -> Bool {
        guard !transmitRingFull, queued.count < transmitSlots else { return false }
        var slot = [UInt8](repeating: 0, count: frameCapacity)
        let length = slot.withUnsafeMutableBytes { body($0) }
        guard length > 0 else { return false }
        var header = VirtioNetHeader(headerLength: UInt16(truncatingIfNeeded: length))
        if let checksum {
            header.flags = VirtioNetHeader.needsChecksumFlag
            header.checksumStart = checksum.start
            header.checksumOffset = checksum.offset
        }
        queued.append(Sent(bytes: Array(slot[0..<length]), path: .ring, virtioHeader: header))
        return true
    }

    func flush() throws(PacketIOError) -> Bool {
        if !queued.isEmpty { kicks += 1 }
        sent += queued
        queued = []
        return true
    }

    // MARK: FrameSender

    func send(_ bytes: UnsafeRawBufferPointer) throws(PacketIOError) -> Bool {
        guard let start = bytes.baseAddress, bytes.count >= VirtioNetHeader.size else { return true }
        sent.append(Sent(bytes: Array(bytes[VirtioNetHeader.size...]), path: .whole,
                         virtioHeader: VirtioNetHeader(loadingFrom: start)))
        return true
    }

    /// An injected frame always waits for a slot, so nothing is ever lost here.
    func receiveDrops() -> UInt64 { 0 }

    // MARK: NeighbourSender

    func request(target: UInt32, sender: UInt32) throws(EngineError) {
        neighbourRequests.append(.arpRequest(target: IPAddress(ipv4: target), sender: IPAddress(ipv4: sender)))
    }

    func announce(_ address: UInt32) throws(EngineError) {
        neighbourRequests.append(.gratuitousARP(IPAddress(ipv4: address)))
    }

    func solicit(target: IPAddress, source: IPAddress) throws(EngineError) {
        neighbourRequests.append(.solicitation(target: target, source: source))
    }

    func advertise(_ address: IPAddress) throws(EngineError) {
        neighbourRequests.append(.advertisement(address))
    }
}
