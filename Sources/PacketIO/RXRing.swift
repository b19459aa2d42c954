/// A TPACKET_V3 receive ring: blocks the kernel fills with frames and hands over whole.
///
/// `receive` looks at the next block in ring order; when the kernel has released it
/// (TP_STATUS_USER, read with acquire ordering) it hands every frame to the closure in
/// arrival order, then gives the block back with a release-store of TP_STATUS_KERNEL.
/// Nothing is allocated or copied. Owned by its `PacketSocket`'s thread.
public final class RXRing {
    public let geometry: RingGeometry
    private let handle: PacketSocketHandle
    private let base: UnsafeMutableRawPointer
    private var nextBlock = 0

    init(handle: PacketSocketHandle, base: UnsafeMutableRawPointer, geometry: RingGeometry) {
        self.handle = handle
        self.base = base
        self.geometry = geometry
    }

    /// Drains at most one ready block through `body` and returns how many frames it held;
    /// 0 when no block is ready (then `PacketSocket.wait(for: .readable, ...)`). The frame's
    /// bytes are valid only inside `body`.
    @inline(__always)
    public func receive(_ body: (ReceivedFrame) -> Void) -> Int {
        let block = base + nextBlock * geometry.blockSize
        guard let count = LinuxPacket.drainBlock(block, blockSize: geometry.blockSize, body) else { return 0 }
        nextBlock = nextBlock + 1 == geometry.blockCount ? 0 : nextBlock + 1
        return count
    }
}
