import Core
import Testing
import Wire

@Suite struct TransportProtocolTests {
    /// Core's closed set of balanced protocols is Wire's numbers, not a second numbering.
    @Test func convertsToAndFromIPProtocol() {
        for proto in TransportProtocol.allCases {
            #expect(TransportProtocol(proto.ipProtocol) == proto)
        }
        #expect(TransportProtocol.tcp.ipProtocol == .tcp)
        #expect(TransportProtocol.udp.ipProtocol == .udp)
        #expect(TransportProtocol(IPProtocol.icmp) == nil)
        #expect(TransportProtocol(IPProtocol.icmpv6) == nil)
    }
}
