import Core
import PacketIO
import Wire

/// One interface as a `PacketWorker` sees it: a receive queue whose frames stay where they
/// were written until released, a transmit queue that sends nothing until flushed (one kick
/// per turn), and a sender for what no transmit slot holds (super-frames, jumbo frames).
///
/// Two kinds: `AFPacketLink`, the kernel's TPACKET rings and a ring-less socket, and
/// `InMemoryLink`, a device in memory for tests (SwiftNIO's EmbeddedChannel idea): a test puts
/// frames in, turns the worker, and reads what left. The pcap engine keeps its own copy-in
/// path (`PcapPort`): libpcap owns its buffers and says nothing about checksums or GSO.
///
/// The worker is generic over its link type and the requirements are the ring types' own
/// methods, so `PacketWorker<AFPacketLink>` is specialised to direct calls into `RXRing` and
/// `TXRing`: the per-frame code is the same text and the same machine code as before the
/// abstraction, with no witness tables, existentials or allocation on the data path.
protocol Link: AnyObject {
    associatedtype Receiver: ReceiveQueue
    associatedtype Transmitter: TransmitQueue
    associatedtype Sender: FrameSender
    var rx: Receiver { get }
    var tx: Transmitter { get }
    var sender: Sender { get }
    /// Index of this interface in the director's configuration.
    var interface: Int { get }
    /// The interface's MTU, for cutting super-frames in software; follows the snapshot
    /// (`PacketWorker.install`), so a kernel MTU change reaches it.
    var mtu: Int { get set }
    /// The descriptor `poll` waits on for received frames; -1 for none (poll skips it).
    var descriptor: Int32 { get }
    /// Frames lost because the receive queue was full, since the last call.
    func receiveDrops() -> UInt64
}

/// Frames handed out in place, valid until `release` (`RXRing`'s contract).
protocol ReceiveQueue: AnyObject {
    func next() -> ReceivedFrame?
    func release()
}

/// Frames copied into slots and sent on `flush` (`TXRing`'s contract).
protocol TransmitQueue: AnyObject {
    /// The largest frame a slot holds.
    var frameCapacity: Int { get }
    /// Frames enqueued since the last successful flush.
    var queuedFrames: Int { get }
    func enqueue(partialChecksum checksum: (start: UInt16, offset: UInt16)?,
                 _ body: (UnsafeMutableRawBufferPointer) -> Int) -> Bool
    @discardableResult
    func flush() throws(PacketIOError) -> Bool
}

extension TransmitQueue {
    /// A frame with finished checksums, as `TXRing.enqueue`'s default argument has it.
    @inline(__always)
    func enqueue(_ body: (UnsafeMutableRawBufferPointer) -> Int) -> Bool {
        enqueue(partialChecksum: nil, body)
    }
}

/// Sends one frame now, the virtio-net header first (`PacketSocket.send`'s contract).
protocol FrameSender: AnyObject {
    func send(_ bytes: UnsafeRawBufferPointer) throws(PacketIOError) -> Bool
}

extension RXRing: ReceiveQueue {}
extension TXRing: TransmitQueue {}
extension PacketSocket: FrameSender {}

/// One interface of one worker on AF_PACKET: its socket with a TPACKET RX and TX ring (with
/// several workers, one member of the interface's fanout group) and a ring-less socket whose
/// `send` carries frames too large for a TX slot: GSO super-frames (the kernel segments
/// them) and jumbo frames.
final class AFPacketLink: Link {
    let socket: PacketSocket
    let rx: RXRing
    let tx: TXRing
    let sender: PacketSocket
    let interface: Int
    var mtu: Int

    init(socket: PacketSocket, rx: RXRing, tx: TXRing, sender: PacketSocket, interface: Int, mtu: Int) {
        self.socket = socket
        self.rx = rx
        self.tx = tx
        self.sender = sender
        self.interface = interface
        self.mtu = mtu
    }

    var descriptor: Int32 { socket.descriptor }

    /// PACKET_STATISTICS (the kernel resets them on each read).
    func receiveDrops() -> UInt64 {
        guard let stats = try? socket.statistics() else { return 0 }
        return UInt64(stats.drops)
    }
}

/// How worker 0 asks for and announces neighbours on one interface: ARP requests and
/// gratuitous ARP, neighbour solicitations and unsolicited advertisements. `ARPSender` sends
/// them with libnet; `InMemoryLink` records them. Control plane only (a few a second), so the
/// resolver holds them as existentials.
protocol NeighbourSender: AnyObject {
    /// "Who has `target`? Tell `sender`" (IPv4 addresses in host order).
    func request(target: UInt32, sender: UInt32) throws(EngineError)
    /// Gratuitous ARP for an IPv4 address the director owns.
    func announce(_ address: UInt32) throws(EngineError)
    /// Neighbour solicitation for `target` from `source`.
    func solicit(target: IPAddress, source: IPAddress) throws(EngineError)
    /// Unsolicited neighbour advertisement for an IPv6 address the director owns.
    func advertise(_ address: IPAddress) throws(EngineError)
}

extension ARPSender: NeighbourSender {}
