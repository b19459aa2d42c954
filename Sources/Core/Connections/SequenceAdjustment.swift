import Wire

/// Sequence-number translation for one TCP connection whose two halves do not agree on
/// numbers: the client's half and the real server's half were opened separately (a SYN
/// proxy answered the client with a cookie ISN, the server chose its own) or the director
/// inserts or rewrites bytes of a stream (a PROXY protocol header, an FTP helper's rewrite).
/// Linux keeps the same state for its NAT helpers and SYNPROXY target (nf_conntrack_seqadj.c,
/// nf_synproxy_core.c `synproxy_tstamp_adjust`) and IPVS for its application helpers
/// (`struct ip_vs_seq`); this is the behaviour, rewritten. Each direction is one
/// `SequenceShift`, into which every feature records (Docs/adr/0009).
///
/// Checksums are updated incrementally (RFC 1624), one 32-bit field at a time. A frame with
/// a partial checksum gets its checksum rewritten afterwards (`Director.finishChecksum`), so
/// the update is harmless there.
public struct SequenceAdjustment: Hashable, Sendable {
    /// How the client's stream moved: its sequence numbers forward, the real server's
    /// acknowledgments and SACK edges back (IPVS `in_seq`).
    public var fromClient: SequenceShift
    /// How the real server's stream moved (IPVS `out_seq`). A SYN proxy: cookie ISN − server
    /// ISN, constant.
    public var fromServer: SequenceShift
    /// Added to the real server's TSval, subtracted from the client's TSecr (RFC 7323 §5): the
    /// client saw the director's TSval first, and PAWS drops a segment whose TSval is older.
    public var timestampOffset: UInt32
    /// The real server's window scale minus the one the client was told (RFC 7323 §2): the
    /// server's raw windows are shifted by it on their way to the client.
    public var serverWindowShift: Int8

    public init(fromClient: SequenceShift, fromServer: SequenceShift, timestampOffset: UInt32 = 0,
                serverWindowShift: Int8 = 0) {
        self.fromClient = fromClient
        self.fromServer = fromServer
        self.timestampOffset = timestampOffset
        self.serverWindowShift = serverWindowShift
    }

    /// Constant shifts of the whole of each stream.
    public init(clientSequenceOffset: UInt32 = 0, serverSequenceOffset: UInt32 = 0,
                timestampOffset: UInt32 = 0, serverWindowShift: Int8 = 0) {
        self.init(fromClient: .constant(clientSequenceOffset), fromServer: .constant(serverSequenceOffset),
                  timestampOffset: timestampOffset, serverWindowShift: serverWindowShift)
    }

    /// Nothing to translate.
    public static let identity = SequenceAdjustment()

    /// Whether some segment would change.
    @inlinable public var isIdentity: Bool {
        fromClient.isIdentity && fromServer.isIdentity && timestampOffset == 0 && serverWindowShift == 0
    }

    /// Translates a segment from the client, in place, on its way to the real server.
    @inlinable
    public func translateFromClient(_ tcp: TCPSegment) {
        Self.translate(tcp, sequence: fromClient, acknowledgment: fromServer,
                       valueOffset: 0, echoOffset: timestampOffset, windowShift: 0)
    }

    /// Translates a segment from the real server, in place, on its way to the client.
    @inlinable
    public func translateFromServer(_ tcp: TCPSegment) {
        Self.translate(tcp, sequence: fromServer, acknowledgment: fromClient,
                       valueOffset: timestampOffset, echoOffset: 0, windowShift: serverWindowShift)
    }

    /// seq moved by `sequence`; ack and SACK edges back by `acknowledgment` (they name the
    /// other side's bytes); TSval += valueOffset; TSecr −= echoOffset; window rescaled.
    @inlinable
    static func translate(_ tcp: TCPSegment, sequence: SequenceShift, acknowledgment: SequenceShift,
                          valueOffset: UInt32, echoOffset: UInt32, windowShift: Int8) {
        var checksum = tcp.checksum
        let flags = tcp.flags
        let acknowledges = !acknowledgment.isIdentity
        if !sequence.isIdentity {
            let old = tcp.sequenceNumber
            let new = sequence.sequence(old)
            tcp.sequenceNumber = new
            checksum = Checksum.update(checksum, old: old, new: new)
        }
        // An acknowledgment field without ACK is not a number (RFC 9293 §3.1): left as sent.
        if acknowledges && flags.contains(.ack) {
            let old = tcp.acknowledgmentNumber
            let new = acknowledgment.acknowledgment(old)
            tcp.acknowledgmentNumber = new
            checksum = Checksum.update(checksum, old: old, new: new)
        }
        // A SYN's window is never scaled (RFC 7323 §2.2).
        if windowShift != 0 && !flags.contains(.syn) {
            let old = tcp.window
            let new = windowShift > 0
                ? UInt16(truncatingIfNeeded: min(UInt32(old) << UInt32(windowShift), 0xFFFF))
                : old >> UInt16(-Int(windowShift))
            tcp.window = new
            checksum = Checksum.update(checksum, old: old, new: new)
        }
        if tcp.headerLength > TCPSegment.minimumHeaderLength && (acknowledges || valueOffset != 0 || echoOffset != 0) {
            var walk = tcp.options
            while let o = walk.next() {
                switch o.kind {
                case TCPOptionKind.sack where acknowledges:
                    // Blocks are whole 8-byte pairs after kind and length (RFC 2018 §3); a
                    // trailing fragment is left alone, as the receiver ignores it. Each edge
                    // is a position of its own in the stream.
                    var edge = o.offset + 2
                    while edge + TCPOptionKind.sackBlockLength <= o.offset + o.length {
                        set(acknowledgment.acknowledgment(tcp.headerWord(at: edge)), atWord: edge, of: tcp, &checksum)
                        set(acknowledgment.acknowledgment(tcp.headerWord(at: edge + 4)), atWord: edge + 4, of: tcp, &checksum)
                        edge += TCPOptionKind.sackBlockLength
                    }
                case TCPOptionKind.timestamp where o.length == TCPOptionKind.timestampLength:
                    if valueOffset != 0 {
                        set(tcp.headerWord(at: o.offset + 2) &+ valueOffset, atWord: o.offset + 2, of: tcp, &checksum)
                    }
                    if echoOffset != 0 {
                        set(tcp.headerWord(at: o.offset + 6) &- echoOffset, atWord: o.offset + 6, of: tcp, &checksum)
                    }
                default:
                    break
                }
            }
        }
        tcp.checksum = checksum
    }

    /// Writes `new` over the header word at `at` and follows it in `checksum`.
    ///
    /// Options need not be aligned (a sender may pad with one NOP, or none): a field at an odd
    /// offset straddles the checksum's 16-bit words, and its share of the sum is its value with
    /// the bytes of each half swapped (ones' complement sums commute with byte swapping,
    /// RFC 1071 §2(B)).
    @inlinable @inline(__always)
    static func set(_ new: UInt32, atWord at: Int, of tcp: TCPSegment, _ checksum: inout UInt16) {
        let old = tcp.headerWord(at: at)
        tcp.setHeaderWord(new, at: at)
        if at & 1 == 0 {
            checksum = Checksum.update(checksum, old: old, new: new)
        } else {
            checksum = Checksum.update(checksum, old: swappingHalves(old), new: swappingHalves(new))
        }
    }

    /// The bytes of each 16-bit half swapped: 0xAABBCCDD → 0xBBAADDCC.
    @inlinable @inline(__always)
    static func swappingHalves(_ v: UInt32) -> UInt32 {
        (v & 0x00FF_00FF) << 8 | (v >> 8) & 0x00FF_00FF
    }
}
