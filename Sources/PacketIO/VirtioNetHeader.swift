/// The virtio-net header (`struct virtio_net_hdr`, 10 bytes) an AF_PACKET socket with
/// `PACKET_VNET_HDR` puts before every received frame and expects before every sent one.
///
/// It carries what the kernel knows about a frame beyond its bytes: whether the L4 checksum
/// still has to be computed (`needsChecksum`, from `checksumStart` to the end, stored at
/// `checksumStart + checksumOffset`) and whether the frame is a GSO/GRO super-frame to be cut
/// into `segmentSize`-byte payloads (`segmentation`). Sending a super-frame back with its
/// header lets the kernel (or the NIC) segment it on egress instead of user space.
///
/// Fields are little-endian: packet sockets use the legacy virtio layout in host order
/// (`vio_le()` in net/packet/af_packet.c), and every host lvsd runs on is little-endian.
/// (include/uapi/linux/virtio_net.h; virtio 1.2 §5.1.6.)
public struct VirtioNetHeader: Equatable, Sendable {
    /// `sizeof(struct virtio_net_hdr)`.
    public static let size = 10

    public enum Offset {
        public static let flags = 0
        public static let gsoType = 1
        public static let headerLength = 2
        public static let segmentSize = 4
        public static let checksumStart = 6
        public static let checksumOffset = 8
    }

    /// VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum at checksumStart + checksumOffset holds only
    /// the pseudo-header sum.
    public static let needsChecksumFlag: UInt8 = 1
    /// VIRTIO_NET_HDR_F_DATA_VALID: the checksum was verified (receive only).
    public static let dataValidFlag: UInt8 = 2

    /// `VIRTIO_NET_HDR_GSO_*` without the ECN bit.
    public enum GSOType: UInt8, Sendable {
        case none = 0
        case tcpIPv4 = 1
        /// UFO: IPv4 UDP fragmentation; no longer produced by Linux senders.
        case udpFragmentation = 3
        case tcpIPv6 = 4
        /// UDP_L4 (USO, `UDP_SEGMENT`): `VIRTIO_NET_HDR_GSO_UDP_L4`, newer than Debian 12's headers.
        case udpL4 = 5
    }
    /// VIRTIO_NET_HDR_GSO_ECN: the sender set CWR on the first segment only.
    public static let ecnBit: UInt8 = 0x80

    public var flags: UInt8
    public var gsoType: UInt8
    /// Bytes of headers (Ethernet + IP + transport) in the frame; a hint on receive.
    public var headerLength: UInt16
    /// Payload bytes per segment (the MSS for TCP).
    public var segmentSize: UInt16
    public var checksumStart: UInt16
    public var checksumOffset: UInt16

    public init(flags: UInt8 = 0, gsoType: UInt8 = 0, headerLength: UInt16 = 0, segmentSize: UInt16 = 0,
                checksumStart: UInt16 = 0, checksumOffset: UInt16 = 0) {
        self.flags = flags
        self.gsoType = gsoType
        self.headerLength = headerLength
        self.segmentSize = segmentSize
        self.checksumStart = checksumStart
        self.checksumOffset = checksumOffset
    }

    /// Reads the header at `raw` (10 bytes the caller vouches for).
    @inline(__always)
    public init(loadingFrom raw: UnsafeRawPointer) {
        flags = raw.load(fromByteOffset: Offset.flags, as: UInt8.self)
        gsoType = raw.load(fromByteOffset: Offset.gsoType, as: UInt8.self)
        headerLength = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: Offset.headerLength, as: UInt16.self))
        segmentSize = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: Offset.segmentSize, as: UInt16.self))
        checksumStart = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: Offset.checksumStart, as: UInt16.self))
        checksumOffset = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: Offset.checksumOffset, as: UInt16.self))
    }

    /// Writes the header to `raw` (10 bytes the caller vouches for).
    @inline(__always)
    public func store(to raw: UnsafeMutableRawPointer) {
        raw.storeBytes(of: flags, toByteOffset: Offset.flags, as: UInt8.self)
        raw.storeBytes(of: gsoType, toByteOffset: Offset.gsoType, as: UInt8.self)
        raw.storeBytes(of: headerLength.littleEndian, toByteOffset: Offset.headerLength, as: UInt16.self)
        raw.storeBytes(of: segmentSize.littleEndian, toByteOffset: Offset.segmentSize, as: UInt16.self)
        raw.storeBytes(of: checksumStart.littleEndian, toByteOffset: Offset.checksumStart, as: UInt16.self)
        raw.storeBytes(of: checksumOffset.littleEndian, toByteOffset: Offset.checksumOffset, as: UInt16.self)
    }

    public var needsChecksum: Bool { flags & Self.needsChecksumFlag != 0 }
    /// The GSO type without the ECN bit (nil for a type this code does not know).
    public var segmentation: GSOType? { GSOType(rawValue: gsoType & ~Self.ecnBit) }
    public var isSegmentationOffload: Bool { gsoType & ~Self.ecnBit != 0 }
}
