import Wire

/// Sequence-number translation for one TCP connection whose two halves do not agree on
/// numbers: the client's half and the real server's half were opened separately (a SYN
/// proxy answered the client with a cookie ISN, the server chose its own) or the director
/// inserts bytes into a stream (a PROXY protocol header, TOA, an FTP helper's rewrite).
/// Linux keeps the same state for its NAT helpers and SYNPROXY target (nf_conntrack_seqadj.c,
/// nf_synproxy_core.c `synproxy_tstamp_adjust`); this is the behaviour, rewritten.
///
/// Every offset is modulo 2^32 (RFC 9293 §3.4: sequence space arithmetic wraps), so a
/// negative shift is its two's complement. Each offset applies to the whole stream: bytes
/// inserted before the first byte of data (PROXY protocol, a SYN proxy's ISN) are covered;
/// a rewrite that changes a length in the middle of a stream (an FTP helper) needs a
/// correction position as Linux's `nf_ct_seqadj` keeps, and would add it here.
///
/// Checksums are updated incrementally (RFC 1624), one 32-bit field at a time. A frame with
/// a partial checksum gets its checksum rewritten afterwards (`Director.finishChecksum`), so
/// the update is harmless there.
public struct SequenceAdjustment: Equatable, Sendable {
    /// Added to the sequence numbers the client sends; subtracted from the acknowledgments and
    /// SACK edges the real server sends. Bytes the director adds to the client's stream.
    public var clientSequenceOffset: UInt32
    /// Added to the sequence numbers the real server sends; subtracted from the client's
    /// acknowledgments and SACK edges. A SYN proxy: cookie ISN − server ISN.
    public var serverSequenceOffset: UInt32
    /// Added to the real server's TSval, subtracted from the client's TSecr (RFC 7323 §5): the
    /// client saw the director's TSval first, and PAWS drops a segment whose TSval is older.
    public var timestampOffset: UInt32
    /// The real server's window scale minus the one the client was told (RFC 7323 §2): the
    /// server's raw windows are shifted by it on their way to the client.
    public var serverWindowShift: Int8

    public init(clientSequenceOffset: UInt32 = 0, serverSequenceOffset: UInt32 = 0,
                timestampOffset: UInt32 = 0, serverWindowShift: Int8 = 0) {
        self.clientSequenceOffset = clientSequenceOffset
        self.serverSequenceOffset = serverSequenceOffset
        self.timestampOffset = timestampOffset
        self.serverWindowShift = serverWindowShift
    }

    /// Nothing to translate.
    public static let identity = SequenceAdjustment()

    /// Translates a segment from the client, in place, on its way to the real server.
    @inlinable
    public func translateFromClient(_ tcp: TCPSegment) {
        Self.translate(tcp, sequenceOffset: clientSequenceOffset, acknowledgmentOffset: serverSequenceOffset,
                       valueOffset: 0, echoOffset: timestampOffset, windowShift: 0)
    }

    /// Translates a segment from the real server, in place, on its way to the client.
    @inlinable
    public func translateFromServer(_ tcp: TCPSegment) {
        Self.translate(tcp, sequenceOffset: serverSequenceOffset, acknowledgmentOffset: clientSequenceOffset,
                       valueOffset: timestampOffset, echoOffset: 0, windowShift: serverWindowShift)
    }

    /// seq += sequenceOffset; ack and SACK edges −= acknowledgmentOffset (they name the other
    /// side's bytes); TSval += valueOffset; TSecr −= echoOffset; window rescaled.
    @inlinable
    static func translate(_ tcp: TCPSegment, sequenceOffset: UInt32, acknowledgmentOffset: UInt32,
                          valueOffset: UInt32, echoOffset: UInt32, windowShift: Int8) {
        var checksum = tcp.checksum
        let flags = tcp.flags
        if sequenceOffset != 0 {
            let old = tcp.sequenceNumber
            let new = old &+ sequenceOffset
            tcp.sequenceNumber = new
            checksum = Checksum.update(checksum, old: old, new: new)
        }
        // An acknowledgment field without ACK is not a number (RFC 9293 §3.1): left as sent.
        if acknowledgmentOffset != 0 && flags.contains(.ack) {
            let old = tcp.acknowledgmentNumber
            let new = old &- acknowledgmentOffset
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
        if tcp.headerLength > TCPSegment.minimumHeaderLength
            && (acknowledgmentOffset != 0 || valueOffset != 0 || echoOffset != 0) {
            var walk = tcp.options
            while let o = walk.next() {
                switch o.kind {
                case TCPOptionKind.sack where acknowledgmentOffset != 0:
                    // Blocks are whole 8-byte pairs after kind and length (RFC 2018 §3); a
                    // trailing fragment is left alone, as the receiver ignores it.
                    var edge = o.offset + 2
                    while edge + TCPOptionKind.sackBlockLength <= o.offset + o.length {
                        add(0 &- acknowledgmentOffset, toWordAt: edge, of: tcp, &checksum)
                        add(0 &- acknowledgmentOffset, toWordAt: edge + 4, of: tcp, &checksum)
                        edge += TCPOptionKind.sackBlockLength
                    }
                case TCPOptionKind.timestamp where o.length == TCPOptionKind.timestampLength:
                    if valueOffset != 0 { add(valueOffset, toWordAt: o.offset + 2, of: tcp, &checksum) }
                    if echoOffset != 0 { add(0 &- echoOffset, toWordAt: o.offset + 6, of: tcp, &checksum) }
                default:
                    break
                }
            }
        }
        tcp.checksum = checksum
    }

    /// Adds `offset` (mod 2^32) to the header word at `at` and follows it in `checksum`.
    ///
    /// Options need not be aligned (a sender may pad with one NOP, or none): a field at an odd
    /// offset straddles the checksum's 16-bit words, and its share of the sum is its value with
    /// the bytes of each half swapped (ones' complement sums commute with byte swapping,
    /// RFC 1071 §2(B)).
    @inlinable @inline(__always)
    static func add(_ offset: UInt32, toWordAt at: Int, of tcp: TCPSegment, _ checksum: inout UInt16) {
        let old = tcp.headerWord(at: at)
        let new = old &+ offset
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
