/// One frame in an RX ring block, handed to `RXRing.receive`'s closure.
///
/// `bytes` starts at the Ethernet header and lies in the ring itself: it is valid only
/// inside the closure (the block goes back to the kernel right after), and it may be
/// rewritten in place before copying to a TX ring.
public struct ReceivedFrame {
    /// The captured bytes (`tp_snaplen`), from the MAC header on.
    public let bytes: UnsafeMutableRawBufferPointer
    /// The frame's length on the wire (`tp_len`); larger than `bytes.count` when truncated.
    public let wireLength: Int
    /// `TP_STATUS_CSUMNOTREADY`: the L4 checksum is partial (the sender's stack left it to
    /// offload, normal on veth and loopback). A forwarder must complete it before sending.
    public let checksumNotReady: Bool

    /// Whether the ring held only part of the frame.
    public var isTruncated: Bool { bytes.count < wireLength }
}
