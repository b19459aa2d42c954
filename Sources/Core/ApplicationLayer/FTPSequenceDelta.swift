/// The sequence shift one direction of an FTP control connection carries after the helper
/// changed the length of lines in it: IPVS's `struct ip_vs_seq` and its rules
/// (net/netfilter/ipvs/ip_vs_app.c `vs_fix_seq`, `vs_fix_ack_seq`, `vs_seq_update`), as
/// behaviour. Bytes after the last rewritten segment shift by `delta`; that segment and
/// everything before it (a retransmission) by `previousDelta`. All arithmetic is modulo 2^32
/// (RFC 9293 §3.4); a shortening is a negative delta in two's complement.
///
/// The shifts feed `SequenceAdjustment`, which applies them to seq, ack and SACK edges with
/// incremental checksum updates.
public struct FTPSequenceDelta: Equatable, Sendable {
    /// The original sequence number of the last segment whose length the helper changed.
    public var initialSequence: UInt32 = 0
    /// The shift of bytes after it.
    public var delta: UInt32 = 0
    /// The shift in force before it.
    public var previousDelta: UInt32 = 0
    /// Whether any rewrite changed a length yet (IPVS's `IP_VS_CONN_F_IN_SEQ`/`_OUT_SEQ`).
    public var active = false

    public init() {}

    /// RFC 9293's "a is after b": a − b read as a signed 32-bit number is positive.
    @inline(__always)
    static func after(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }

    /// The shift to add to a sequence number of this direction (`vs_fix_seq`).
    @inline(__always)
    public func sequenceOffset(_ sequence: UInt32) -> UInt32 {
        guard active else { return 0 }
        return Self.after(sequence, initialSequence) ? delta : previousDelta
    }

    /// The shift to subtract from an acknowledgment of this direction's bytes, as the other
    /// side sends it in the shifted numbering (`vs_fix_ack_seq`).
    @inline(__always)
    public func acknowledgmentOffset(_ acknowledgment: UInt32) -> UInt32 {
        guard active else { return 0 }
        return Self.after(acknowledgment, initialSequence &+ delta) ? delta : previousDelta
    }

    /// Records that the segment with original sequence number `sequence` changed length by
    /// `diff`. A retransmission of an already rewritten segment (not after the last one)
    /// changes nothing (`vs_seq_update`).
    public mutating func record(sequence: UInt32, diff: Int) {
        guard diff != 0, !active || Self.after(sequence, initialSequence) else { return }
        previousDelta = delta
        delta = delta &+ UInt32(truncatingIfNeeded: diff)
        initialSequence = sequence
        active = true
    }
}
