#if canImport(Glibc)
import Glibc
#endif

/// The TPACKET version of a socket's rings (`PACKET_VERSION`); see Docs/adr/0003.
public enum RingVersion: Sendable, Equatable, CustomStringConvertible {
    /// One status word per fixed-size frame: the kernel hands each frame to user space as it
    /// writes it and wakes a waiting `poll` at once. Every frame slot must hold the largest
    /// frame (a 64 KiB GSO super-frame), so the ring holds few frames per megabyte.
    case v2
    /// Frames packed back to back in blocks handed over whole, when full or when the block
    /// timer fires: dense in memory, but at low rates every frame waits for the timer.
    case v3

    public var description: String { self == .v2 ? "v2" : "v3" }

    /// TPACKET2_HDRLEN / TPACKET3_HDRLEN: what the kernel reserves before each frame.
    var frameHeaderLength: Int { self == .v2 ? LinuxPacket.frameHeaderLengthV2 : LinuxPacket.frameHeaderLength }

    /// The ring's frame header proper (`struct tpacket2_hdr` / `tpacket3_hdr`), which stays
    /// the kernel's; the `sockaddr_ll` after it is headroom like the rest.
    var ringHeaderLength: Int { self == .v2 ? LinuxPacket.ringHeaderLengthV2 : LinuxPacket.ringHeaderLength }

    /// The headroom a received Ethernet frame has in its slot: the bytes between the ring's
    /// frame header and the MAC header (`ReceivedFrame.headroom`). The kernel puts the network
    /// header at `TPACKET_ALIGN(tp_hdrlen + 16) + tp_reserve`, plus the virtio-net header when
    /// on, and the MAC header 14 bytes before it (tpacket_rcv, net/packet/af_packet.c): 76
    /// bytes for either version with a reserve of 32 and virtio-net headers, 44 for V3 with no
    /// reserve.
    public func headroom(reserve: Int, virtioNetHeader: Bool) -> Int {
        let aligned = (frameHeaderLength + 16 + 15) & ~15
        return aligned + reserve + (virtioNetHeader ? VirtioNetHeader.size : 0) - 14 - ringHeaderLength
    }

    /// The smallest `PACKET_RESERVE`, a multiple of 16 as the kernel aligns its headers, that
    /// leaves a received frame at least `headroom` bytes before it.
    public func reserve(forHeadroom headroom: Int, virtioNetHeader: Bool) -> Int {
        let short = headroom - self.headroom(reserve: 0, virtioNetHeader: virtioNetHeader)
        return short <= 0 ? 0 : (short + 15) & ~15
    }
}

/// The shape of one TPACKET ring: `blockCount` blocks of `blockSize` bytes, carved into
/// `frameSize`-byte slots.
///
/// RX with TPACKET_V2: fixed `frameSize` slots, `blockSize / frameSize` per block, each
/// frame handed over on its own; a frame longer than its slot is truncated.
///
/// RX with TPACKET_V3 (kernel `tpacket_req3`, Documentation/networking/packet_mmap.rst): frames are packed
/// into a block back to back at their own lengths; `frameSize` only sets the kernel's frame
/// count and the largest frame it copies whole. A block goes to user space when full or
/// `retireBlockTimeoutMilliseconds` after its first frame, so a small timeout (1–10 ms)
/// bounds latency at low rates.
///
/// TX: fixed `frameSize` slots, `blockSize / frameSize` per block; a frame's data starts 48
/// bytes into its slot, so the largest frame sent is `frameSize - 48`. The kernel refuses a
/// TX ring with a block timeout, so it is ignored (sent as 0) there.
///
/// Validated before any system call: block size a multiple of the page size, frame size a
/// multiple of 16 (TPACKET_ALIGNMENT) larger than the 68-byte frame header and no larger
/// than a block, at least one block, and a ring whose size fits the kernel's 32-bit counts.
public struct RingGeometry: Equatable, Sendable {
    public var blockSize: Int
    public var blockCount: Int
    public var frameSize: Int
    public var retireBlockTimeoutMilliseconds: Int

    public init(blockSize: Int, blockCount: Int, frameSize: Int, retireBlockTimeoutMilliseconds: Int = 2) {
        self.blockSize = blockSize
        self.blockCount = blockCount
        self.frameSize = frameSize
        self.retireBlockTimeoutMilliseconds = retireBlockTimeoutMilliseconds
    }

    /// The largest frame a receive slot must hold whole: a 64 KiB GSO/GRO super-frame (IP
    /// datagram up to 65,535 bytes plus IPv6's 40-byte header) behind Ethernet with two VLAN
    /// tags, the 10-byte virtio-net header and up to 128 bytes of ring header and reserve.
    public static let largestReceivedFrame = 65_535 + 40 + 14 + 8 + 10 + 128 + 1_024

    /// TPACKET_V2, one frame per slot: 8 blocks of 2 MiB, each 31 slots of 66,560 bytes
    /// (248 frames, 16 MiB): every slot holds a 64 KiB super-frame.
    public static let receiveDefault = RingGeometry(
        blockSize: 1 << 21, blockCount: 8, frameSize: 66_560, retireBlockTimeoutMilliseconds: 0)

    /// TPACKET_V3: 64 blocks of 256 KiB (16 MiB) packed densely, 2 ms block timeout; blocks
    /// larger than any super-frame. For throughput at full rings (Benchmarks/drain.sh), not
    /// latency (Docs/adr/0003).
    public static let receiveDenseDefault = RingGeometry(
        blockSize: 1 << 18, blockCount: 64, frameSize: 2048, retireBlockTimeoutMilliseconds: 2)

    /// 16 blocks of 256 KiB: 2048 slots of 2048 bytes (frames up to 2000 bytes).
    public static let transmitDefault = RingGeometry(
        blockSize: 1 << 18, blockCount: 16, frameSize: 2048, retireBlockTimeoutMilliseconds: 0)

    /// Bytes the ring occupies in the socket's mapping.
    public var byteCount: Int { blockSize * blockCount }

    /// Frame slots in the ring (`tp_frame_nr`).
    public var frameCount: Int { blockSize / frameSize * blockCount }

    /// Throws a sentence naming the ring and interface when the kernel would refuse (or
    /// misuse) this geometry.
    func validate(ring: String, interface: String, version: RingVersion = .v3) throws(PacketIOError) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let header = version.frameHeaderLength
        func refuse(_ why: String) -> PacketIOError {
            PacketIOError(message: "cannot set up the \(ring) ring on \(interface): \(why)")
        }
        guard blockCount >= 1 else {
            throw refuse("block count \(blockCount) must be at least 1")
        }
        guard blockSize > 0, blockSize % page == 0 else {
            throw refuse("block size \(blockSize) must be a positive multiple of the page size (\(page))")
        }
        guard frameSize > header, frameSize % 16 == 0 else {
            throw refuse("frame size \(frameSize) must be a multiple of 16 larger than the \(header)-byte frame header")
        }
        guard frameSize <= blockSize else {
            throw refuse("frame size \(frameSize) must not exceed the block size \(blockSize)")
        }
        guard blockSize <= Int(UInt32.max), blockCount <= Int(UInt32.max) / blockSize,
              frameCount <= Int(UInt32.max) else {
            throw refuse("\(blockCount) blocks of \(blockSize) bytes is larger than the kernel accepts")
        }
        guard retireBlockTimeoutMilliseconds >= 0, retireBlockTimeoutMilliseconds <= Int(UInt32.max) else {
            throw refuse("block timeout \(retireBlockTimeoutMilliseconds) ms must be between 0 and \(UInt32.max)")
        }
    }
}
