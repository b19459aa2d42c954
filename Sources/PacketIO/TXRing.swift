/// A TPACKET_V3 transmit ring: fixed frame slots the program fills and the kernel sends.
///
/// `enqueue` writes the next slot in ring order if the kernel has finished with it
/// (TP_STATUS_AVAILABLE) and marks it TP_STATUS_SEND_REQUEST with a release-store; nothing
/// leaves until `flush` kicks the kernel (`send(fd, NULL, 0, MSG_DONTWAIT)`), so a batch
/// costs one system call. Frame data starts 48 bytes into each slot with `tp_next_offset`
/// 0, as the kernel's TPACKET_V3 transmit path expects. Owned by its `PacketSocket`'s thread.
public final class TXRing {
    public let geometry: RingGeometry
    private let handle: PacketSocketHandle
    private let base: UnsafeMutableRawPointer
    private let framesPerBlock: Int
    private let frameCount: Int
    private var head = 0

    /// Frames marked for sending since the last successful `flush`.
    public private(set) var queuedFrames = 0

    /// The largest frame a slot holds.
    public var frameCapacity: Int { geometry.frameSize - LinuxPacket.transmitDataOffset }

    init(handle: PacketSocketHandle, base: UnsafeMutableRawPointer, geometry: RingGeometry) {
        self.handle = handle
        self.base = base
        self.geometry = geometry
        framesPerBlock = geometry.blockSize / geometry.frameSize
        frameCount = geometry.frameCount
    }

    @inline(__always)
    private func slot(_ index: Int) -> UnsafeMutableRawPointer {
        // Frames never straddle blocks: each block holds framesPerBlock whole slots.
        let (block, position) = index.quotientAndRemainder(dividingBy: framesPerBlock)
        return base + block * geometry.blockSize + position * geometry.frameSize
    }

    /// Whether the next slot is free, so `enqueue` would succeed.
    public var hasFreeSlot: Bool { LinuxPacket.frameIsAvailable(slot(head)) }

    /// Lets `body` write a frame into the next free slot (`frameCapacity` bytes, starting
    /// at the Ethernet header) and return its length; 0 abandons the slot. Returns false
    /// when the ring is full (every slot queued or in flight: `flush`, then wait for
    /// `.writable`) or the frame was abandoned.
    @inline(__always)
    public func enqueue(_ body: (UnsafeMutableRawBufferPointer) -> Int) -> Bool {
        guard LinuxPacket.fillFrame(slot(head), frameSize: geometry.frameSize, body) else { return false }
        head = head + 1 == frameCount ? 0 : head + 1
        queuedFrames += 1
        return true
    }

    /// Copies `frame` into the next free slot; false when the ring is full.
    public func enqueue(copying frame: UnsafeRawBufferPointer) -> Bool {
        precondition(frame.count <= frameCapacity,
                     "a \(frame.count)-byte frame does not fit the \(frameCapacity)-byte TX slots")
        return enqueue { slot in
            slot.copyMemory(from: frame)
            return frame.count
        }
    }

    /// Asks the kernel to send every queued frame. Returns false when the device or socket
    /// buffer is busy (EAGAIN/ENOBUFS): the frames stay queued for the next call.
    @discardableResult
    public func flush() throws(PacketIOError) -> Bool {
        switch LinuxPacket.kick(handle.descriptor) {
        case .done:
            queuedFrames = 0
            return true
        case .wouldBlock:
            return false
        case .failed(let code):
            throw .system("send \(queuedFrames) queued frames on \(handle.interface)", errno: code)
        }
    }
}
