/// A TPACKET receive ring: frames the kernel writes and user space reads in place.
///
/// `next` hands out the next frame the kernel has released to user space (status read with
/// acquire ordering) and keeps it: its bytes stay valid, and may be rewritten in place, until
/// `release` hands every frame handed out so far back to the kernel (release-stores of
/// TP_STATUS_KERNEL). So a batch of frames can be processed where the kernel wrote them and
/// copied once, to a TX ring.
///
/// TPACKET_V2 hands over single frames, TPACKET_V3 whole blocks: with V3 a block goes back
/// once `next` has read past its last frame. Nothing is allocated. Owned by its
/// `PacketSocket`'s thread.
public final class RXRing {
    public let geometry: RingGeometry
    public let version: RingVersion
    private let handle: PacketSocketHandle
    private let base: UnsafeMutableRawPointer
    private let virtioHeader: Bool
    private let framesPerBlock: Int
    private let frameCount: Int

    // TPACKET_V2: the next slot to read and how many slots before it are held.
    private var nextFrame = 0
    private var heldFrames = 0

    // TPACKET_V3: the block being read, its unread frames and where the next one starts, and
    // how many blocks before it were read to the end and are held.
    private var block = 0
    private var blockOpen = false
    private var remainingInBlock = 0
    private var offsetInBlock = 0
    private var heldBlocks = 0

    init(handle: PacketSocketHandle, base: UnsafeMutableRawPointer, geometry: RingGeometry,
         version: RingVersion, virtioHeader: Bool) {
        self.handle = handle
        self.base = base
        self.geometry = geometry
        self.version = version
        self.virtioHeader = virtioHeader
        framesPerBlock = geometry.blockSize / geometry.frameSize
        frameCount = geometry.frameCount
    }

    /// The next frame the kernel has handed to user space, or nil when none is ready (then
    /// `release` what is held and `PacketSocket.wait(for: .readable, ...)`). Also nil when
    /// every slot is held: `release` first.
    @inline(__always)
    public func next() -> ReceivedFrame? {
        version == .v2 ? nextV2() : nextV3()
    }

    /// Gives every frame `next` handed out back to the kernel. Their bytes are invalid after.
    @inline(__always)
    public func release() {
        if version == .v2 {
            var slot = nextFrame - heldFrames
            if slot < 0 { slot += frameCount }
            for _ in 0..<heldFrames {
                LinuxPacket.releaseFrameV2(slotAddress(slot))
                slot = slot + 1 == frameCount ? 0 : slot + 1
            }
            heldFrames = 0
            return
        }
        if blockOpen && remainingInBlock == 0 { closeBlock() }
        var b = block - heldBlocks
        if b < 0 { b += geometry.blockCount }
        for _ in 0..<heldBlocks {
            LinuxPacket.releaseBlock(base + b * geometry.blockSize)
            b = b + 1 == geometry.blockCount ? 0 : b + 1
        }
        heldBlocks = 0
    }

    /// Hands every ready frame (at most one V3 block, or 64 V2 frames) to `body`, then
    /// releases them; returns how many. For callers that do not batch across calls.
    @inline(__always)
    public func receive(_ body: (ReceivedFrame) -> Void) -> Int {
        var count = 0
        if version == .v2 {
            while count < 64, let frame = nextV2() {
                body(frame)
                count += 1
            }
        } else {
            if let first = nextV3() {
                body(first)
                count = 1
                while remainingInBlock > 0, let frame = nextV3() {
                    body(frame)
                    count += 1
                }
            }
        }
        release()
        return count
    }

    // MARK: TPACKET_V2

    @inline(__always)
    private func slotAddress(_ index: Int) -> UnsafeMutableRawPointer {
        // Frames never straddle blocks: each block holds framesPerBlock whole slots.
        let (b, position) = index.quotientAndRemainder(dividingBy: framesPerBlock)
        return base + b * geometry.blockSize + position * geometry.frameSize
    }

    @inline(__always)
    private func nextV2() -> ReceivedFrame? {
        guard heldFrames < frameCount else { return nil }
        let slot = slotAddress(nextFrame)
        guard let frame = LinuxPacket.readyFrameV2(slot, frameSize: geometry.frameSize, virtioHeader: virtioHeader) else {
            return nil
        }
        nextFrame = nextFrame + 1 == frameCount ? 0 : nextFrame + 1
        heldFrames += 1
        return frame
    }

    // MARK: TPACKET_V3

    @inline(__always)
    private func closeBlock() {
        blockOpen = false
        heldBlocks += 1
        block = block + 1 == geometry.blockCount ? 0 : block + 1
    }

    @inline(__always)
    private func nextV3() -> ReceivedFrame? {
        while true {
            if blockOpen {
                if remainingInBlock > 0 {
                    let start = base + block * geometry.blockSize
                    let (frame, advance) = LinuxPacket.frameV3(start, offset: offsetInBlock, blockSize: geometry.blockSize,
                                                               virtioHeader: virtioHeader)
                    remainingInBlock -= 1
                    offsetInBlock += advance
                    return frame
                }
                closeBlock()
            }
            guard heldBlocks < geometry.blockCount,
                  let (count, first) = LinuxPacket.readyBlock(base + block * geometry.blockSize) else { return nil }
            blockOpen = true
            remainingInBlock = count
            offsetInBlock = first
        }
    }
}
