import Testing
import Wire

@Suite struct ProtocolNumbersTests {
    /// IANA's numbers, written out here rather than read back from the types under test.
    @Test func rawValuesAreTheAssignedNumbers() {
        #expect([EtherType.ipv4, .arp, .ipv6, .vlan, .qinq].map(\.rawValue) == [0x0800, 0x0806, 0x86DD, 0x8100, 0x88A8])
        #expect([IPProtocol.hopByHop, .icmp, .ipip, .tcp, .udp, .ipv6, .routing, .fragment, .esp, .authentication,
                 .icmpv6, .noNextHeader, .destinationOptions, .vrrp].map(\.rawValue) == [0, 1, 4, 6, 17, 41, 43, 44, 50, 51, 58, 59, 60, 112])
        #expect([ICMPv4Type.echoReply, .destinationUnreachable, .sourceQuench, .redirect, .echoRequest, .timeExceeded,
                  .parameterProblem].map(\.rawValue) == [0, 3, 4, 5, 8, 11, 12])
        #expect([ICMPv6Type.destinationUnreachable, .packetTooBig, .timeExceeded, .parameterProblem, .echoRequest,
                  .echoReply, .routerSolicitation, .routerAdvertisement, .neighborSolicitation,
                  .neighborAdvertisement].map(\.rawValue) == [1, 2, 3, 4, 128, 129, 133, 134, 135, 136])
        #expect(ICMPv4Code.fragmentationNeeded.rawValue == 4)
        #expect(ICMPv4Code.portUnreachable.rawValue == 3)
        #expect([ARPPacket.Operation.request, .reply].map(\.rawValue) == [1, 2])
    }

    @Test func viewsHandBackTypedFields() throws {
        try reading(Frames.ipv4TCPSyn) { base, length in
            let eth = try EthernetFrame(base, length: length)
            #expect(eth.etherType == .ipv4)
            let ip = try IPv4Packet(eth.payload, length: eth.payloadLength)
            #expect(ip.protocol == .tcp)
            switch ip.protocol {
            case .udp, .icmp: Issue.record("a TCP segment matched another protocol")
            case .tcp: break
            default: Issue.record("a TCP segment matched no protocol")
            }
        }
        try reading(Frames.ipv6Echo) { base, length in
            let eth = try EthernetFrame(base, length: length)
            #expect(eth.etherType == .ipv6)
            let ip = try IPv6Packet(eth.payload, length: eth.payloadLength)
            #expect(ip.upperProtocol == .icmpv6)
            let icmp = try ICMPv6Message(ip.upper, length: ip.upperLength)
            #expect(icmp.type == .echoRequest && icmp.code == .zero && !icmp.type.isError)
        }
    }

    @Test func unknownValuesSurvive() {
        // The wire may hold anything: a value with no name is kept, not refused.
        #expect(IPProtocol(rawValue: 132).rawValue == 132)
        #expect(IPProtocol(rawValue: 132) != .tcp)
        #expect(EtherType(rawValue: 0x88B5) != .ipv4)
    }

    @Test func descriptionsAreTheNumbersAsUsuallyWritten() {
        #expect(EtherType.ipv6.description == "0x86dd")
        #expect(EtherType.ipv4.description == "0x0800")
        #expect("\(IPProtocol.udp)" == "17")
        #expect("\(ICMPv4Type.echoRequest) \(ICMPv4Code.fragmentationNeeded)" == "8 4")
        #expect("\(ICMPv6Type.packetTooBig)" == "2")
    }

    @Test func icmpv6ErrorsAreTheTypesBelow128() {
        #expect(ICMPv6Type.parameterProblem.isError)
        #expect(ICMPv6Type(rawValue: 127).isError)
        #expect(!ICMPv6Type.echoRequest.isError)
        #expect(!ICMPv6Type.neighborAdvertisement.isError)
    }
}
