import Testing
import Wire

/// The TCP option walk and the SYN options a SYN proxy reads and writes (RFC 9293 §3.2,
/// RFC 7323, RFC 2018), over the captured Linux SYN and literal byte arrays.
@Suite struct TCPOptionsTests {
    static let syn: [UInt8] = Array(Frames.ipv4TCPSyn[34...])

    /// A 20-byte header followed by `options` (padded with EOL to a multiple of 4).
    static func segment(options: [UInt8]) -> [UInt8] {
        var o = options
        while o.count % 4 != 0 { o.append(0) }
        var bytes: [UInt8] = [0x00, 0x50, 0xb3, 0xc2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0x12, 0xff, 0xff, 0, 0, 0, 0]
        bytes[12] = UInt8((20 + o.count) / 4) << 4
        return bytes + o
    }

    @Test func readsLinuxSynOptions() throws {
        try reading(Self.syn) { base, length in
            let tcp = try TCPSegment(base, length: length)
            let found = tcp.synOptions
            #expect(found.maximumSegmentSize == 1460)
            #expect(found.sackPermitted)
            #expect(found.windowScale == 7)
            #expect(found.timestamp?.value == 0x000a_1b2c)
            #expect(found.timestamp?.echo == 0)
            #expect(tcp.timestampValueOffset == 28)
            var kinds: [UInt8] = []
            var walk = tcp.options
            while let o = walk.next() { kinds.append(o.kind) }
            #expect(kinds == [2, 4, 8, 3])
        }
    }

    @Test func writtenOptionsReadBackInLinuxOrder() throws {
        let offered = TCPSynOptions(maximumSegmentSize: 1460, windowScale: 7, sackPermitted: true,
                                    timestamp: (0x0102_0304, 0x0506_0708))
        #expect(offered.encodedLength == 20)
        var bytes = Self.segment(options: [UInt8](repeating: 0xEE, count: 20))
        bytes.withUnsafeMutableBytes { raw in
            // Safety: the options area is 20 bytes from offset 20, inside the array.
            offered.write(into: raw.baseAddress! + 20)
        }
        #expect(Array(bytes[20...]) == [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7])
        try reading(bytes) { base, length in
            let tcp = try TCPSegment(base, length: length)
            #expect(tcp.synOptions == offered)
        }
        // SACK-permitted without timestamps gets two NOPs; MSS alone is 4 bytes.
        let noTimestamp = TCPSynOptions(maximumSegmentSize: 536, sackPermitted: true)
        #expect(noTimestamp.encodedLength == 8)
        var short = Self.segment(options: [UInt8](repeating: 0xEE, count: 8))
        short.withUnsafeMutableBytes { raw in noTimestamp.write(into: raw.baseAddress! + 20) }
        #expect(Array(short[20...]) == [2, 4, 0x02, 0x18, 1, 1, 4, 2])
        #expect(TCPSynOptions(maximumSegmentSize: 1460).encodedLength == 4)
    }

    @Test func malformedOptionEndsTheWalkKeepingWhatCameBefore() throws {
        // MSS, then an option claiming length 1 (below 2): the walk stops there.
        try reading(Self.segment(options: [2, 4, 0x05, 0xb4, 3, 1, 7, 0])) { base, length in
            let tcp = try TCPSegment(base, length: length)
            #expect(tcp.synOptions == TCPSynOptions(maximumSegmentSize: 1460))
        }
        // A timestamp running past the header is not read.
        try reading(Self.segment(options: [1, 1, 8, 10, 0, 0, 0, 1])) { base, length in
            let tcp = try TCPSegment(base, length: length)
            #expect(tcp.synOptions.timestamp == nil)
            #expect(tcp.timestampValueOffset == nil)
        }
        // A wrong-length MSS or window scale is ignored, the rest still read.
        try reading(Self.segment(options: [2, 3, 5, 3, 4, 7, 0, 4, 2])) { base, length in
            let tcp = try TCPSegment(base, length: length)
            #expect(tcp.synOptions == TCPSynOptions(sackPermitted: true))
        }
        // A kind byte in the last position has no length byte: the walk ends.
        try reading(Self.segment(options: [1, 1, 1, 5])) { base, length in
            var walk = try TCPSegment(base, length: length).options
            #expect(walk.next() == nil)
        }
    }

    @Test func endOfListStopsAndNoOptionsYieldNothing() throws {
        try reading(Self.segment(options: [0, 2, 4, 5])) { base, length in
            let tcp = try TCPSegment(base, length: length)
            #expect(tcp.synOptions == TCPSynOptions())
        }
        try reading(Self.segment(options: [])) { base, length in
            var walk = try TCPSegment(base, length: length).options
            #expect(walk.next() == nil)
        }
    }
}
