import Core
import PacketBuilder
import Testing
import Wire

/// One direction's shift (IPVS `struct ip_vs_seq`, ip_vs_app.c as behaviour): what moves,
/// what a retransmission keeps, how shifts compose, and the wrap at 2^32.
@Suite struct SequenceShiftTests {
    @Test func aRewriteShiftsTheBytesAfterItsSegmentOnly() {
        var d = SequenceShift()
        #expect(d.isIdentity && d.sequence(1000) == 1000 && d.acknowledgment(1000) == 1000)
        d.record(sequence: 1000, diff: 3)
        // The rewritten segment itself (a retransmission) starts before the change.
        #expect(d.sequence(1000) == 1000)
        #expect(d.sequence(1030) == 1033)
        // Acknowledgments in the shifted numbering: up to the rewritten segment's start, unshifted;
        // inside what the rewrite added, the segment's start; past it, shifted back.
        #expect(d.acknowledgment(1000) == 1000)
        #expect(d.acknowledgment(1002) == 1000)
        #expect(d.acknowledgment(1003) == 1000)
        #expect(d.acknowledgment(1033) == 1030)
        // A retransmission rewritten again records nothing more.
        d.record(sequence: 1000, diff: 3)
        #expect(d == SequenceShift(initialSequence: 1000, delta: 3, previousDelta: 0))
        // A later shortening: the deltas add up, the earlier one stays for older segments.
        d.record(sequence: 1030, diff: -5)
        #expect(d.sequence(1031) == 1031 &- 2)
        #expect(d.sequence(1030) == 1033)
        #expect(d.sequence(1020) == 1023)
        // An acknowledgment up to the shortened segment's start is exact, even past init + delta.
        #expect(d.acknowledgment(1033) == 1030)
        #expect(d.acknowledgment(1032) == 1029)
        #expect(d.acknowledgment(1040) == 1042)
    }

    @Test func aProxyHeaderIsAnInsertionAtTheFirstByte() {
        // 28 bytes before ISN+1 = 101: that segment keeps its number and grows.
        let d = SequenceShift(initialSequence: 101, delta: 28, previousDelta: 0)
        #expect(d.sequence(100) == 100 && d.sequence(101) == 101 && d.sequence(102) == 130)
        #expect(d.acknowledgment(101) == 101)
        // The server acknowledged part or all of the header: none of the client's bytes.
        #expect(d.acknowledgment(102) == 101 && d.acknowledgment(129) == 101)
        #expect(d.acknowledgment(130) == 102)
    }

    @Test func aConstantShiftHasNoPositionAndARewriteComposesOnIt() {
        var d = SequenceShift.constant(0x8000_0000)
        for s: UInt32 in [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF] {
            #expect(d.sequence(s) == s &+ 0x8000_0000)
            #expect(d.acknowledgment(s &+ 0x8000_0000) == s)
        }
        // Any segment may follow a constant shift (the SYN proxy's server ISN is anywhere).
        d.record(sequence: 0x1234, diff: 4)
        #expect(d == SequenceShift(initialSequence: 0x1234, delta: 0x8000_0004, previousDelta: 0x8000_0000))
        #expect(d.sequence(0x1234) == 0x8000_1234 && d.sequence(0x1300) == 0x8000_1304)
        #expect(d.acknowledgment(0x8000_1304) == 0x1300)
    }

    @Test func wrapsAt2To32() {
        var d = SequenceShift()
        let near: UInt32 = 0xFFFF_FFF0
        d.record(sequence: near, diff: 7)
        #expect(d.sequence(near &+ 0x20) == 0x17)  // past 2^32: still after
        #expect(d.sequence(near &- 1) == near &- 1)
        #expect(d.acknowledgment(0x17) == 0x10)
        #expect(d.acknowledgment(near) == near)
    }
}
