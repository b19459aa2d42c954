/// One frame in an RX ring, handed out by `RXRing.next` (or `receive`'s closure).
///
/// `bytes` starts at the Ethernet header and lies in the ring itself: it is valid until the
/// ring's `release` (the kernel refills the slot after it), and it may be rewritten in place,
/// including `headroom` bytes before it and `tailroom` bytes after it that belong to the
/// same slot, before copying to a TX ring.
public struct ReceivedFrame {
    /// The captured bytes (`tp_snaplen`), from the MAC header on.
    public let bytes: UnsafeMutableRawBufferPointer
    /// The frame's length on the wire (`tp_len`); larger than `bytes.count` when truncated.
    public let wireLength: Int
    /// `TP_STATUS_CSUMNOTREADY`: the L4 checksum is partial (the sender's stack left it to
    /// offload, normal on veth and loopback). A forwarder must complete it before sending,
    /// or send it on with the virtio-net header's `needsChecksum`.
    public let checksumNotReady: Bool
    /// Writable bytes before `bytes` in the frame's slot (the ring and virtio-net headers
    /// already read, and `PACKET_RESERVE`).
    public let headroom: Int
    /// Writable bytes after `bytes` in the frame's slot (0 in a TPACKET_V3 block, where the
    /// next frame follows).
    public let tailroom: Int
    /// The virtio-net header the kernel wrote before the frame (sockets with
    /// `PACKET_VNET_HDR`): GSO type and segment size, checksum start and offset.
    public let virtioHeader: VirtioNetHeader?

    public init(bytes: UnsafeMutableRawBufferPointer, wireLength: Int, checksumNotReady: Bool,
                headroom: Int = 0, tailroom: Int = 0, virtioHeader: VirtioNetHeader? = nil) {
        self.bytes = bytes
        self.wireLength = wireLength
        self.checksumNotReady = checksumNotReady
        self.headroom = headroom
        self.tailroom = tailroom
        self.virtioHeader = virtioHeader
    }

    /// Whether the ring held only part of the frame.
    public var isTruncated: Bool { bytes.count < wireLength }
}
