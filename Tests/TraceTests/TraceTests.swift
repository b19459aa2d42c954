import Control
import Core
import PacketBuilder
import Testing
import Trace
import Wire

/// The teaching view: exact text for the frames a user studies first (a NAT rewrite, a DR
/// MAC swap, a TUN encapsulation), and the decoder's field rules one by one.
@Suite struct TraceTests {
    static let clientMAC = MACAddress("02:00:00:00:00:01")!
    static let eth0MAC = MACAddress("02:00:00:00:00:0a")!
    static let serverMAC = MACAddress("02:00:00:00:01:0b")!

    static func rules(_ method: String, port: String) -> String {
        """
        interface eth0 mac 02:00:00:00:00:0a address 198.18.0.2
        interface eth1 mac 02:00:00:00:01:0a address 198.18.1.1
        neighbour 198.18.1.11 mac 02:00:00:00:01:0b interface eth1
        -A -t 198.18.0.10:80 -s rr
        -a -t 198.18.0.10:80 -r 198.18.1.11\(port) \(method)
        """
    }

    static var syn: [UInt8] {
        Frame.ethernet(destination: eth0MAC, source: clientMAC)
            .ipv4(source: "198.18.0.1", destination: "198.18.0.10", identification: 0x1001)
            .tcp(sourcePort: 40000, destinationPort: 80, flags: .syn, sequence: 1000)
            .bytes
    }

    /// Runs `frame` through a fresh director for `rules` and returns the trace block.
    static func trace(_ frame: [UInt8], rules text: String) throws -> (ReplayStep, String) {
        let config = try RulesFile.parse(text, file: "test.rules")
        let replayer = Replayer(config: config, connections: 64)
        let step = replayer.step(frame, nanoseconds: 1_000_000_000)
        return (step, step.trace(interfaces: config.interfaces))
    }

    // MARK: Golden traces

    @Test func natRewriteShowsDestinationAddressPortAndChecksumsChanged() throws {
        let (step, text) = try Self.trace(Self.syn, rules: Self.rules("-m", port: ":8080"))
        #expect(step.verdict == .forward(interface: 1))
        expectText(text, """
            #1 on eth0: TCP 198.18.0.1:40000 → 198.18.0.10:80 [S] seq 1000 win 65535 len 0
                  layer  field     before             after
                * eth    dst       02:00:00:00:00:0a  02:00:00:00:01:0b
                * eth    src       02:00:00:00:00:01  02:00:00:00:01:0a
                  eth    type      0x0800 (IPv4)      0x0800 (IPv4)
                  ipv4   tos       0x00               0x00
                  ipv4   length    40                 40
                  ipv4   id        4097               4097
                  ipv4   flags     DF                 DF
                * ipv4   ttl       64                 63
                  ipv4   protocol  6 (TCP)            6 (TCP)
                * ipv4   checksum  0x9e9f (ok)        0x9e9e (ok)
                  ipv4   src       198.18.0.1         198.18.0.1
                * ipv4   dst       198.18.0.10        198.18.1.11
                  tcp    sport     40000              40000
                * tcp    dport     80                 8080
                  tcp    flags     [S]                [S]
                  tcp    seq       1000               1000
                  tcp    ack       0                  0
                  tcp    window    65535              65535
                * tcp    checksum  0x833a (ok)        0x62f9 (ok)
                  tcp    data      0 bytes            0 bytes
              verdict: forward on eth1: TCP 198.18.0.1:40000 → 198.18.1.11:8080 [S] seq 1000 win 65535 len 0
              connection: new connection TCP 198.18.0.1:40000 → 198.18.0.10:80 scheduled to 198.18.1.11:8080 (Masq), state NONE → SYN_RECV
            """)
    }

    /// DR changes the MACs; like IPVS (`decrement_ttl` in ip_vs_xmit.c) the director also
    /// decrements the TTL, which changes the IPv4 header checksum. Nothing else moves.
    @Test func directRoutingShowsOnlyMACsAndTTLChanged() throws {
        let (step, text) = try Self.trace(Self.syn, rules: Self.rules("-g", port: ""))
        #expect(step.verdict == .forward(interface: 1))
        expectText(text, """
            #1 on eth0: TCP 198.18.0.1:40000 → 198.18.0.10:80 [S] seq 1000 win 65535 len 0
                  layer  field     before             after
                * eth    dst       02:00:00:00:00:0a  02:00:00:00:01:0b
                * eth    src       02:00:00:00:00:01  02:00:00:00:01:0a
                  eth    type      0x0800 (IPv4)      0x0800 (IPv4)
                  ipv4   tos       0x00               0x00
                  ipv4   length    40                 40
                  ipv4   id        4097               4097
                  ipv4   flags     DF                 DF
                * ipv4   ttl       64                 63
                  ipv4   protocol  6 (TCP)            6 (TCP)
                * ipv4   checksum  0x9e9f (ok)        0x9f9f (ok)
                  ipv4   src       198.18.0.1         198.18.0.1
                  ipv4   dst       198.18.0.10        198.18.0.10
                  tcp    sport     40000              40000
                  tcp    dport     80                 80
                  tcp    flags     [S]                [S]
                  tcp    seq       1000               1000
                  tcp    ack       0                  0
                  tcp    window    65535              65535
                  tcp    checksum  0x833a (ok)        0x833a (ok)
                  tcp    data      0 bytes            0 bytes
              verdict: forward on eth1: TCP 198.18.0.1:40000 → 198.18.0.10:80 [S] seq 1000 win 65535 len 0
              connection: new connection TCP 198.18.0.1:40000 → 198.18.0.10:80 scheduled to 198.18.1.11:80 (Route), state NONE → SYN_RECV
            """)
    }

    @Test func tunnelShowsTheAddedOuterHeader() throws {
        let (step, text) = try Self.trace(Self.syn, rules: Self.rules("-i", port: ""))
        #expect(step.verdict == .forward(interface: 1))
        expectText(text, """
            #1 on eth0: TCP 198.18.0.1:40000 → 198.18.0.10:80 [S] seq 1000 win 65535 len 0
                  layer       field     before             after
                * eth         dst       02:00:00:00:00:0a  02:00:00:00:01:0b
                * eth         src       02:00:00:00:00:01  02:00:00:00:01:0a
                  eth         type      0x0800 (IPv4)      0x0800 (IPv4)
                + outer ipv4  tos                          0x00
                + outer ipv4  length                       60
                + outer ipv4  id                           1
                + outer ipv4  flags                        DF
                + outer ipv4  ttl                          63
                + outer ipv4  protocol                     4 (IPIP)
                + outer ipv4  checksum                     0xad8c (ok)
                + outer ipv4  src                          198.18.1.1
                + outer ipv4  dst                          198.18.1.11
                  ipv4        tos       0x00               0x00
                  ipv4        length    40                 40
                  ipv4        id        4097               4097
                  ipv4        flags     DF                 DF
                * ipv4        ttl       64                 63
                  ipv4        protocol  6 (TCP)            6 (TCP)
                * ipv4        checksum  0x9e9f (ok)        0x9f9f (ok)
                  ipv4        src       198.18.0.1         198.18.0.1
                  ipv4        dst       198.18.0.10        198.18.0.10
                  tcp         sport     40000              40000
                  tcp         dport     80                 80
                  tcp         flags     [S]                [S]
                  tcp         seq       1000               1000
                  tcp         ack       0                  0
                  tcp         window    65535              65535
                  tcp         checksum  0x833a (ok)        0x833a (ok)
                  tcp         data      0 bytes            0 bytes
              verdict: forward on eth1: IPIP 198.18.1.1 → 198.18.1.11 carrying TCP 198.18.0.1:40000 → 198.18.0.10:80 [S] seq 1000 win 65535 len 0
              connection: new connection TCP 198.18.0.1:40000 → 198.18.0.10:80 scheduled to 198.18.1.11:80 (Tunnel), state NONE → SYN_RECV
            """)
    }

    @Test func droppedFrameShowsItsFieldsVerdictAndNoConnection() throws {
        let ack = Frame.ethernet(destination: Self.eth0MAC, source: Self.clientMAC)
            .ipv4(source: "198.18.0.1", destination: "198.18.0.10", identification: 7)
            .tcp(sourcePort: 40000, destinationPort: 80, flags: .ack, sequence: 1, acknowledgment: 2)
            .bytes
        let (step, text) = try Self.trace(ack, rules: Self.rules("-m", port: ":8080"))
        #expect(step.verdict == .drop(.noConnection))
        #expect(step.output == nil)
        expectText(text, """
            #1 on eth0: TCP 198.18.0.1:40000 → 198.18.0.10:80 [.] seq 1 ack 2 win 65535 len 0
                  layer  field     value
                  eth    dst       02:00:00:00:00:0a
                  eth    src       02:00:00:00:00:01
                  eth    type      0x0800 (IPv4)
                  ipv4   tos       0x00
                  ipv4   length    40
                  ipv4   id        7
                  ipv4   flags     DF
                  ipv4   ttl       64
                  ipv4   protocol  6 (TCP)
                  ipv4   checksum  0xae99 (ok)
                  ipv4   src       198.18.0.1
                  ipv4   dst       198.18.0.10
                  tcp    sport     40000
                  tcp    dport     80
                  tcp    flags     [.]
                  tcp    seq       1
                  tcp    ack       2
                  tcp    window    65535
                  tcp    checksum  0x8711 (ok)
                  tcp    data      0 bytes
              verdict: drop (no-connection)
            """)
    }

    // MARK: Decoder rules

    @Test(arguments: [
        (TCPFlags.syn, "[S]"), ([.syn, .ack], "[S.]"), ([.fin, .ack], "[F.]"), (.rst, "[R]"),
        ([.rst, .ack], "[R.]"), ([.psh, .ack], "[P.]"), (.ack, "[.]"), ([], "[none]"),
        ([.syn, .ece, .cwr], "[SEW]"),
    ] as [(TCPFlags, String)])
    func tcpFlagsUseTcpdumpLetters(flags: TCPFlags, expected: String) {
        let frame = Frame.ethernet(destination: Self.eth0MAC, source: Self.clientMAC)
            .ipv4(source: "198.18.0.1", destination: "198.18.0.10")
            .tcp(sourcePort: 1, destinationPort: 2, flags: flags).bytes
        #expect(FrameFields.decode(frame).first { $0.key == "tcp flags" }?.value == expected)
    }

    @Test func badChecksumsAreNamedWithTheValueThatWouldBeRight() {
        var frame = Self.syn
        let good = FrameFields.decode(frame)
        #expect(good.first { $0.key == "ipv4 checksum" }?.value == "0x9e9f (ok)")
        frame[14 + 11] ^= 0x01  // IPv4 checksum, low byte
        frame[14 + 20 + 17] ^= 0x10  // TCP checksum, low byte
        let fields = FrameFields.decode(frame)
        #expect(fields.first { $0.key == "ipv4 checksum" }?.value == "0x9e9e (BAD, want 0x9e9f)")
        #expect(fields.first { $0.key == "tcp checksum" }?.value == "0x832a (BAD, want 0x833a)")
    }

    @Test func vlanTagsAndIPv6AreDecoded() {
        let frame = Frame.ethernet(destination: Self.eth0MAC, source: Self.clientMAC, vlan: 100)
            .ipv6(source: "2001:db8:c::1", destination: "2001:db8::10", hopLimit: 9)
            .udp(sourcePort: 5353, destinationPort: 53).payload("q").bytes
        let decoded = FrameFields.describe(frame)
        #expect(decoded.fields.first { $0.key == "eth vlan" }?.value == "100")
        #expect(decoded.fields.first { $0.key == "ipv6 hop limit" }?.value == "9")
        #expect(decoded.fields.first { $0.key == "udp checksum" }?.value.hasSuffix("(ok)") == true)
        #expect(decoded.summary == "vlan 100 UDP [2001:db8:c::1]:5353 → [2001:db8::10]:53 len 1")
    }

    @Test func icmpErrorShowsTheQuotedDatagramsAddressesAndPorts() {
        let quoted = Frame.raw.ipv4(source: "198.18.0.1", destination: "198.18.1.11", ttl: 63)
            .udp(sourcePort: 5354, destinationPort: 53).payload("query")
        let frame = Frame.ethernet(destination: Self.eth0MAC, source: Self.serverMAC)
            .ipv4(source: "198.18.1.11", destination: "198.18.0.1")
            .icmpv4(type: 3, code: 3).quoting(quoted).bytes
        let decoded = FrameFields.describe(frame)
        let value = { (key: String) in decoded.fields.first { $0.key == key }?.value }
        #expect(value("icmp type") == "3 (destination unreachable)")
        #expect(value("icmp code") == "3 (port unreachable)")
        #expect(value("quoted ipv4 src") == "198.18.0.1")
        #expect(value("quoted ipv4 dst") == "198.18.1.11")
        #expect(value("quoted udp sport") == "5354")
        #expect(value("quoted udp dport") == "53")
        #expect(value("quoted udp checksum")?.hasSuffix("(ok)") == true)
        #expect(decoded.summary == "ICMP 198.18.1.11 → 198.18.0.1 destination unreachable (port unreachable) quoting UDP 198.18.0.1:5354 → 198.18.1.11:53")
    }

    @Test func truncatedFrameBecomesAnErrorFieldNotATrap() {
        let frame = Array(Self.syn.prefix(30))
        let decoded = FrameFields.describe(frame)
        #expect(decoded.fields.last == Field("ipv4", "error", "truncated (16 bytes)"))
        #expect(decoded.summary == "malformed IPv4 packet: truncated (16 bytes)")
        #expect(FrameFields.describe([]).summary == "empty frame")
    }

    @Test func comparisonKeepsRemovedFieldsInPlaceAndMarksAddedOnes() {
        let before = [Field("a", "x", "1"), Field("b", "y", "2"), Field("c", "z", "3")]
        let after = [Field("a", "x", "1"), Field("n", "w", "9"), Field("c", "z", "4")]
        let rows = TraceFormatter.compare(before: before, after: after)
        #expect(rows.map(\.change) == [.same, .added, .removed, .changed])
        #expect(TraceFormatter.table(rows, indent: "") == """
              layer  field  before  after
              a      x      1       1
            + n      w              9
            - b      y      2
            * c      z      3       4
            """)
    }
}

/// Compares multi-line text and, on a mismatch, prints both so the golden can be updated.
func expectText(_ actual: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual == expected, "actual text:\n\(actual)\n--- expected:\n\(expected)", sourceLocation: sourceLocation)
}
