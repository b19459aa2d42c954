/// A frame in memory the caller owns, with headroom before it and tailroom after it so
/// that encapsulation (TUN adds 20 bytes) and generated answers can be written in place.
public struct PacketBuffer {
    /// Start of the whole buffer.
    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    /// Where the frame starts (bytes before it are headroom).
    public var offset: Int
    public var length: Int
    /// The interface the frame arrived on (an index into the configuration's interfaces).
    public var interface: Int
    /// The L4 checksum holds only a partial (pseudo-header) sum, as veth hands frames to
    /// AF_PACKET (`TP_STATUS_CSUMNOTREADY`): the director computes the full checksum.
    public var checksumPartial: Bool

    /// Headroom a buffer should leave for every rewrite the director makes.
    public static let recommendedHeadroom = 64

    public init(base: UnsafeMutableRawPointer, capacity: Int, offset: Int, length: Int,
                interface: Int = 0, checksumPartial: Bool = false) {
        precondition(offset >= 0 && length >= 0 && offset + length <= capacity)
        self.base = base
        self.capacity = capacity
        self.offset = offset
        self.length = length
        self.interface = interface
        self.checksumPartial = checksumPartial
    }

    @inlinable public var frame: UnsafeMutableRawPointer { base + offset }
}
