import Wire

/// A frame in memory the caller owns, with headroom before it and tailroom after it so
/// that encapsulation (TUN adds 20 bytes) and generated answers can be written in place.
///
/// Besides the bytes it carries what the kernel said about them, for frames that are not
/// finished wire packets yet: a partial L4 checksum, and GSO/GRO super-frames (`segmentation`)
/// longer than any MTU that are cut into segments on egress. Core keeps both meaningful
/// through its rewrites and says how the frame must leave (`checksumStart`, `needsSoftwareSegmentation`).
public struct PacketBuffer {
    /// Start of the whole buffer.
    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    /// Where the frame starts (bytes before it are headroom).
    public var offset: Int
    public var length: Int
    /// The interface the frame arrived on (an index into the configuration's interfaces).
    public var interface: Int
    /// The L4 checksum holds only the pseudo-header sum, as a sending stack leaves it for
    /// offload (`TP_STATUS_CSUMNOTREADY` on veth). On the way in: as received. On the way
    /// out: still partial, with `checksumStart`/`checksumOffset` saying where, for the sink to
    /// finish (virtio-net `NEEDS_CSUM`); false when Core computed the full checksum.
    public var checksumPartial: Bool
    /// Whether the sink can finish a partial checksum (AF_PACKET with a virtio-net header).
    /// When false, Core completes every partial checksum of a frame it forwards.
    public var sinkFinishesChecksum: Bool
    /// Out: where the partial checksum's coverage starts (from the Ethernet header) and where
    /// in it the checksum field is, when `checksumPartial` is still true.
    public var checksumStart: Int
    public var checksumOffset: Int
    /// A GSO/GRO super-frame: nil for an ordinary frame.
    public var segmentation: Segmentation?
    /// Out: the super-frame must be cut in user space (`SoftwareSegmenter`) because no
    /// kernel offload describes it (an IPIP-encapsulated TCP super-frame).
    public var needsSoftwareSegmentation: Bool
    /// Out, with `needsSoftwareSegmentation`: bytes of TUN headers (outer IP header, then GRE
    /// or UDP and GUE) between the Ethernet header and the inner datagram; 0 when none.
    public var tunnelHeaderLength: Int

    /// What a super-frame's virtio-net header said about cutting it.
    public struct Segmentation: Equatable, Sendable {
        /// Payload bytes per segment (the MSS for TCP); 0 when unknown (a super-frame seen
        /// through libpcap): cut to the egress MTU.
        public var segmentSize: Int
        /// The virtio-net GSO type byte, ECN bit included, passed on unchanged.
        public var gsoType: UInt8
        public init(segmentSize: Int, gsoType: UInt8) {
            self.segmentSize = segmentSize
            self.gsoType = gsoType
        }
    }

    /// Headroom a buffer should leave for every rewrite the director makes.
    public static let recommendedHeadroom = 64

    /// Headroom a buffer with no tailroom (a TPACKET_V3 ring frame) needs for the largest
    /// insertion the director makes by moving the headers toward its start: a PROXY protocol
    /// v1 header over IPv6 (107 bytes at most, the protocol's own bound) and the IPv6 TOA
    /// option (20) in one segment, with the bytes kept free before a moved frame
    /// (`Director.clientAddressHeadroom`, a super-frame's virtio-net header). The outer headers
    /// of every tunnel (at most 56 bytes: IPv6, UDP, GUE with an option) fit in it too.
    public static let insertionHeadroom = ProxyProtocolHeader.v1MaximumLength + TCPAddressOption.ipv6Length
        + Director.clientAddressHeadroom

    public init(base: UnsafeMutableRawPointer, capacity: Int, offset: Int, length: Int,
                interface: Int = 0, checksumPartial: Bool = false, sinkFinishesChecksum: Bool = false,
                segmentation: Segmentation? = nil) {
        precondition(offset >= 0 && length >= 0 && offset + length <= capacity)
        self.base = base
        self.capacity = capacity
        self.offset = offset
        self.length = length
        self.interface = interface
        self.checksumPartial = checksumPartial
        self.sinkFinishesChecksum = sinkFinishesChecksum
        checksumStart = 0
        checksumOffset = 0
        self.segmentation = segmentation
        needsSoftwareSegmentation = false
        tunnelHeaderLength = 0
    }

    @inlinable public var frame: UnsafeMutableRawPointer { base + offset }
}
