/// A TPACKET transmit ring: fixed frame slots the program fills and the kernel sends.
///
/// `enqueue` writes the next slot in ring order if the kernel has finished with it
/// (TP_STATUS_AVAILABLE) and marks it TP_STATUS_SEND_REQUEST with a release-store; nothing
/// leaves until `flush` kicks the kernel (`send(fd, NULL, 0, MSG_DONTWAIT)`), so a batch
/// costs one system call. Frame data starts 32 (TPACKET_V2) or 48 (TPACKET_V3) bytes into
/// each slot, as the kernel's transmit path expects.
///
/// On a socket with PACKET_VNET_HDR each slot starts with the virtio-net header; `enqueue`
/// writes one that asks the kernel to copy the whole frame into its own buffer
/// (`headerLength` = the frame's length): without it the kernel sends the slot's pages
/// themselves, and a receiver on the same host (veth) releases the slot when it takes the
/// packet, long before it has read the data. Owned by its `PacketSocket`'s thread.
public final class TXRing {
    public let geometry: RingGeometry
    public let version: RingVersion
    private let handle: PacketSocketHandle
    private let base: UnsafeMutableRawPointer
    private let virtioHeader: Bool
    private let framesPerBlock: Int
    private let frameCount: Int
    private var head = 0

    /// Frames marked for sending since the last successful `flush`.
    public private(set) var queuedFrames = 0

    /// The largest frame a slot holds (after the virtio-net header, if any).
    public let frameCapacity: Int

    init(handle: PacketSocketHandle, base: UnsafeMutableRawPointer, geometry: RingGeometry,
         version: RingVersion, virtioHeader: Bool) {
        self.handle = handle
        self.base = base
        self.geometry = geometry
        self.version = version
        self.virtioHeader = virtioHeader
        framesPerBlock = geometry.blockSize / geometry.frameSize
        frameCount = geometry.frameCount
        let dataOffset = version == .v2 ? LinuxPacket.transmitDataOffsetV2 : LinuxPacket.transmitDataOffset
        frameCapacity = geometry.frameSize - dataOffset - (virtioHeader ? VirtioNetHeader.size : 0)
    }

    @inline(__always)
    private func slot(_ index: Int) -> UnsafeMutableRawPointer {
        // Frames never straddle blocks: each block holds framesPerBlock whole slots.
        let (block, position) = index.quotientAndRemainder(dividingBy: framesPerBlock)
        return base + block * geometry.blockSize + position * geometry.frameSize
    }

    /// Whether the next slot is free, so `enqueue` would succeed.
    public var hasFreeSlot: Bool { LinuxPacket.frameIsAvailable(slot(head), version: version) }

    /// Lets `body` write a frame into the next free slot (`frameCapacity` bytes, starting
    /// at the Ethernet header) and return its length; 0 abandons the slot. With a virtio-net
    /// header, `checksum` (start, offset from the Ethernet header) marks the L4 checksum as
    /// partial for the kernel to finish. Returns false when the ring is full (every slot
    /// queued or in flight: `flush`, then wait for `.writable`) or the frame was abandoned.
    @inline(__always)
    public func enqueue(partialChecksum checksum: (start: UInt16, offset: UInt16)? = nil,
                        _ body: (UnsafeMutableRawBufferPointer) -> Int) -> Bool {
        let withHeader = virtioHeader
        let filled = LinuxPacket.fillFrame(slot(head), frameSize: geometry.frameSize, version: version) { data in
            guard withHeader, let start = data.baseAddress else { return body(data) }
            let frame = UnsafeMutableRawBufferPointer(start: start + VirtioNetHeader.size,
                                                      count: data.count - VirtioNetHeader.size)
            let length = body(frame)
            guard length > 0 else { return 0 }
            var header = VirtioNetHeader(headerLength: UInt16(truncatingIfNeeded: length))
            if let checksum {
                header.flags = VirtioNetHeader.needsChecksumFlag
                header.checksumStart = checksum.start
                header.checksumOffset = checksum.offset
            }
            header.store(to: start)
            return VirtioNetHeader.size + length
        }
        guard filled else { return false }
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
