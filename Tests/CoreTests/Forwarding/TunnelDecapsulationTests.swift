import Core
import PacketBuilder
import Testing
import Wire

/// The real server's half of TUN: what the director's own TUN frames decapsulate to, and
/// what is refused (another destination, a fragment, a source that is no director).
@Suite struct TunnelDecapsulationTests {
    static let rs1 = IPAddress(Lab.v4.rs1)!
    static let director = IPAddress("198.18.1.1")!

    /// Runs the client's SYN through a TUN director; returns what it sent to rs1 and the
    /// client's datagram as the director forwards it (TTL one less, as ip_vs_tunnel_xmit's
    /// decrement_ttl).
    static func tunnelFrame(payload: String = "") -> (sent: [UInt8], clientDatagram: [UInt8]) {
        let h = Harness(Lab.config(.tunnel))
        let (verdict, out) = h.run(Lab.fromClient(Lab.v4, .tcp, payload: payload).bytes)
        #expect(verdict == .forward(interface: 1))
        let forwarded = Lab.fromClient(Lab.v4, .tcp, payload: payload, ttl: 63).bytes
        return (out, Array(forwarded.dropFirst(EthernetFrame.headerLength)))
    }

    static func decapsulate(_ frame: [UInt8], local: Set<IPAddress> = [rs1], directors: Set<IPAddress> = []) -> (TunnelDecapsulation, [UInt8]?) {
        var copy = frame
        return copy.withUnsafeMutableBytes { raw in
            let d = TunnelDecapsulation.of(raw, localAddresses: local, directors: directors)
            if case .inner(let inner) = d { return (d, Array(UnsafeRawBufferPointer(inner))) }
            return (d, nil)
        }
    }

    @Test func theDirectorsFrameGivesBackTheClientsDatagramUnchanged() {
        let (sent, datagram) = Self.tunnelFrame(payload: "GET / HTTP/1.0\r\n\r\n")
        // Byte for byte what the director put inside (RFC 2003 §3.1: the inner datagram is not changed).
        #expect(Self.decapsulate(sent).1 == datagram)
        #expect(Self.decapsulate(sent, directors: [Self.director]).1 == datagram)
    }

    @Test func refusesOtherDestinationsFragmentsAndStrangers() {
        let (sent, _) = Self.tunnelFrame()
        if case .notForUs = Self.decapsulate(sent, local: [IPAddress(Lab.v4.rs2)!]).0 {} else { Issue.record("another host's tunnel was decapsulated") }
        if case .foreign = Self.decapsulate(sent, directors: [IPAddress("198.18.1.8")!]).0 {} else { Issue.record("a stranger's tunnel was decapsulated") }
        // The outer header as a first fragment (MF set): IPIP fragments are not reassembled here.
        var fragment = sent
        fragment[EthernetFrame.headerLength + 6] |= 0x20
        if case .notForUs = Self.decapsulate(fragment).0 {} else { Issue.record("a fragment was decapsulated") }
        // Cut short: the inner header claims more than the frame holds.
        if case .notForUs = Self.decapsulate(Array(sent.dropLast(1))).0 {} else { Issue.record("a truncated frame was decapsulated") }
    }
}
