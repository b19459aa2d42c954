/// How the director moved one direction of a TCP stream: IPVS's `struct ip_vs_seq`
/// (`init_seq`, `delta`, `previous_delta`; net/netfilter/ipvs/ip_vs_app.c `vs_fix_seq`,
/// `vs_fix_ack_seq`, `vs_seq_update`), as behaviour. Bytes after the segment that starts at
/// `initialSequence` (in the sender's own numbering) are `delta` later in the receiver's;
/// that segment and everything before it `previousDelta` later. All arithmetic is modulo 2^32
/// (RFC 9293 §3.4); a shortening is a negative delta in two's complement.
///
/// Every feature that moves a stream records into this one value, so their moves compose:
/// - a constant shift (a SYN proxy's server ISN against the cookie) has `delta ==
///   previousDelta`, and its position does not matter;
/// - bytes inserted before the first byte (a PROXY protocol header of `n` bytes at ISN+1) are
///   `initialSequence = ISN+1, delta = n, previousDelta = 0`: the segment at ISN+1 keeps its
///   number and grows by `n`;
/// - a rewrite that changes a segment's length by `diff` (the FTP helper) moves
///   `delta` to `previousDelta` and adds `diff`, recorded in the sender's numbering.
/// Only the latest change is positional, as in IPVS: a retransmission of a segment from before
/// the one before it would take `previousDelta`.
public struct SequenceShift: Hashable, Sendable {
    /// The sender's sequence number of the last segment whose length changed.
    public var initialSequence: UInt32
    /// The shift of bytes after it.
    public var delta: UInt32
    /// The shift of that segment and the bytes before it.
    public var previousDelta: UInt32

    public init(initialSequence: UInt32 = 0, delta: UInt32 = 0, previousDelta: UInt32 = 0) {
        self.initialSequence = initialSequence
        self.delta = delta
        self.previousDelta = previousDelta
    }

    /// The same shift for every byte.
    public static func constant(_ offset: UInt32) -> SequenceShift {
        SequenceShift(delta: offset, previousDelta: offset)
    }

    /// Nothing moves.
    @inlinable public var isIdentity: Bool { delta == 0 && previousDelta == 0 }

    /// RFC 9293's "a is after b": a − b read as a signed 32-bit number is positive.
    @inlinable @inline(__always)
    static func after(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }

    /// A sequence number of this direction in the receiver's numbering (`vs_fix_seq`).
    @inlinable @inline(__always)
    public func sequence(_ s: UInt32) -> UInt32 {
        s &+ (Self.after(s, initialSequence) ? delta : previousDelta)
    }

    /// An acknowledgment (or SACK edge) of this direction's bytes, sent by the receiver in its
    /// numbering, back in the sender's (`vs_fix_ack_seq`).
    ///
    /// IPVS reads everything up to `initialSequence + delta` with `previousDelta`, so when the
    /// segment grew, an acknowledgment inside what the growth added acknowledges sender bytes
    /// the receiver never got (a PROXY header's n bytes would acknowledge n client bytes). Here
    /// such an acknowledgment says the segment's start (none of it arrived), and one past the
    /// start of a segment that shrank takes `delta` (IPVS's boundary would let one up to the
    /// start acknowledge bytes beyond it).
    @inlinable @inline(__always)
    public func acknowledgment(_ a: UInt32) -> UInt32 {
        let growth = Int32(bitPattern: delta &- previousDelta)
        let start = initialSequence &+ previousDelta
        if Self.after(a, growth > 0 ? initialSequence &+ delta : start) { return a &- delta }
        if growth > 0 && Self.after(a, start) { return initialSequence }
        return a &- previousDelta
    }

    /// Records that the sender's segment at `sequence` changed length by `diff` (`vs_seq_update`).
    /// A retransmission of the segment last changed, or of one before it, records nothing; a
    /// constant shift has no position, so any segment may follow it.
    public mutating func record(sequence: UInt32, diff: Int) {
        guard diff != 0, delta == previousDelta || Self.after(sequence, initialSequence) else { return }
        previousDelta = delta
        delta = delta &+ UInt32(truncatingIfNeeded: diff)
        initialSequence = sequence
    }
}
