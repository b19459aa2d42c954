/// The start of a TCP, UDP or ICMPv6 header, as much of it as is present: the fields a
/// translator rewrites (ports) and keeps right (the checksum that covers the IP
/// pseudo-header), whether the header is whole or only quoted in an ICMP error, where
/// RFC 792 promises just its first 8 bytes.
///
/// No validating initializer: the IP layer has bounded `length`, and every accessor checks
/// that its field lies within it (ports need 4 bytes, the checksum its own offset + 2).
public struct TransportHeader {
    /// TCP and UDP keep their ports in the same first four bytes (RFC 9293 §3.1, RFC 768).
    public enum Offset {
        public static let sourcePort = 0
        public static let destinationPort = 2
    }
    /// Bytes that hold both ports.
    public static let portsLength = 4

    /// Where the view starts. Internal so bytes are reached only through accessors; inlinable
    /// accessors still see it.
    @usableFromInline let base: UnsafeMutableRawPointer
    /// Bytes present from `base` (the whole segment, or what an ICMP error quotes).
    public let length: Int
    public let `protocol`: IPProtocol

    /// A view over `length` bytes of a header of protocol `proto` (no checks).
    @inlinable
    public init(unchecked base: UnsafeMutableRawPointer, length: Int, protocol proto: IPProtocol) {
        self.base = base
        self.length = length
        self.protocol = proto
    }

    /// Whether both ports are present (the caller reads them only then).
    @inlinable public var hasPorts: Bool { length >= TransportHeader.portsLength }

    // Safety for the port accessors: callers check `hasPorts` (a parsed TCP or UDP header has them).
    @inlinable public var sourcePort: UInt16 {
        get { base.wireU16(Offset.sourcePort) }
        nonmutating set { base.wireSetU16(newValue, Offset.sourcePort) }
    }
    @inlinable public var destinationPort: UInt16 {
        get { base.wireU16(Offset.destinationPort) }
        nonmutating set { base.wireSetU16(newValue, Offset.destinationPort) }
    }

    /// Whether a TCP header's sequence number is present (RFC 792 quotes 8 bytes: it is).
    @inlinable public var hasTCPSequence: Bool {
        self.protocol == .tcp && length >= TCPSegment.Offset.sequence + 4
    }

    /// A TCP header's sequence number; callers check `hasTCPSequence`.
    @inlinable public var tcpSequenceNumber: UInt32 {
        get { base.wireU32(TCPSegment.Offset.sequence) }
        nonmutating set { base.wireSetU32(newValue, TCPSegment.Offset.sequence) }
    }

    /// Offset of `proto`'s checksum when it covers the IP pseudo-header (TCP, UDP, ICMPv6);
    /// nil for the rest (ICMPv4's covers the message only).
    @inlinable
    public static func pseudoHeaderChecksumOffset(_ proto: IPProtocol) -> Int? {
        switch proto {
        case .tcp: TCPSegment.Offset.checksum
        case .udp: UDPDatagram.Offset.checksum
        case .icmpv6: ICMPv6Message.Offset.checksum
        default: nil
        }
    }

    /// Where this header's pseudo-header checksum is, when it has one and it is present.
    @inlinable public var pseudoHeaderChecksumOffset: Int? {
        guard let offset = TransportHeader.pseudoHeaderChecksumOffset(self.protocol), offset + 2 <= length else {
            return nil
        }
        return offset
    }

    /// Applies `update` (an RFC 1624 incremental update) to the checksum that covers the
    /// pseudo-header, if there is one within the bytes present. UDP over IPv4 with checksum
    /// 0 carries none and keeps it; a UDP checksum that comes out 0 is sent as 0xFFFF (RFC 768).
    @inlinable @inline(__always)
    public func updatePseudoHeaderChecksum(overIPv6: Bool, _ update: (UInt16) -> UInt16) {
        guard let offset = pseudoHeaderChecksumOffset else { return }
        let old = base.wireU16(offset)
        if self.protocol == .udp {
            if old == 0 && !overIPv6 { return }
            let new = update(old)
            base.wireSetU16(new == 0 ? 0xFFFF : new, offset)
            return
        }
        base.wireSetU16(update(old), offset)
    }

    /// Stores the folded, uncomplemented pseudo-header sum in the checksum field, as a
    /// sending stack leaves it for offload to finish (Linux `__tcp_v4_send_check`).
    @inlinable
    public func setPartialChecksum(pseudoHeaderSum: UInt32) {
        guard let offset = pseudoHeaderChecksumOffset else { return }
        base.wireSetU16(Checksum.fold(pseudoHeaderSum), offset)
    }

    /// The header's length: TCP's data offset × 4, UDP's 8; 0 for other protocols or a TCP
    /// header cut short.
    @inlinable public var headerLength: Int {
        switch self.protocol {
        case .tcp:
            guard length >= TCPSegment.minimumHeaderLength else { return 0 }
            return Int(base.wireU8(TCPSegment.Offset.dataOffset) >> 4) * 4
        case .udp: return UDPDatagram.headerLength
        default: return 0
        }
    }
}
