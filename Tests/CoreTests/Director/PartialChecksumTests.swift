import Core
import PacketBuilder
import Testing
import Wire

/// What the live engine relies on from Core for veth's partial checksums.
@Suite struct PartialChecksumTests {
    /// veth hands AF_PACKET frames whose TCP checksum holds only the pseudo-header sum
    /// (TP_STATUS_CSUMNOTREADY); the engine passes that flag as `checksumPartial`. A DR frame
    /// keeps its IP header, so Core must still complete the checksum before it leaves.
    @Test func directRoutingCompletesAPartialChecksum() {
        let client = MACAddress(0x02, 0, 0, 0, 0, 0x01), director = MACAddress(0x02, 0, 0, 0, 0, 0xD0)
        let server = MACAddress(0x02, 0, 0, 0, 0, 0x51)
        let vip = IPAddress("198.18.0.100")!
        let config = DirectorConfig(
            services: [VirtualServiceConfig(key: ServiceKey(.tcp, vip, 80), scheduler: .roundRobin,
                                            realServers: [RealServerConfig(address: IPAddress("198.18.1.2")!, port: 80)])],
            interfaces: [InterfaceConfig(name: "d0", mac: director, addresses: [IPAddress("198.18.0.1")!])],
            neighbours: [NeighbourConfig(address: IPAddress("198.18.1.2")!, mac: server)])
        let director0 = Director(config: config, capacity: 1024)
        let frame = Frame.ethernet(destination: director, source: client)
            .ipv4(source: "198.18.0.2", destination: "198.18.0.100")
            .tcp(sourcePort: 40000, destinationPort: 80, flags: .syn)
            .payload("partial checksum")
            .bytes
        let tcpOffset = 14 + 20, checksumOffset = tcpOffset + 16
        var partial = frame
        // What the sending stack leaves for offload: the folded pseudo-header sum, not complemented.
        let pseudo = Checksum.pseudoHeaderIPv4(source: vip.ipv4 &- 98, destination: vip.ipv4, protocol: .tcp,
                                               length: frame.count - tcpOffset)
        let folded = Checksum.fold(pseudo)
        partial[checksumOffset] = UInt8(folded >> 8)
        partial[checksumOffset + 1] = UInt8(folded & 0xFF)
        #expect(partial != frame)

        // DR rewrites the MACs and, like IPVS, decrements the TTL; the TCP checksum is complete.
        let expected = Frame.ethernet(destination: server, source: director)
            .ipv4(source: "198.18.0.2", destination: "198.18.0.100", ttl: 63)
            .tcp(sourcePort: 40000, destinationPort: 80, flags: .syn)
            .payload("partial checksum")
            .bytes
        let capacity = 64 + partial.count + 64
        let base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        defer { base.deallocate() }
        partial.withUnsafeBytes { (base + 64).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var packet = PacketBuffer(base: base, capacity: capacity, offset: 64, length: partial.count, checksumPartial: true)
        let verdict = director0.process(&packet, now: 1)
        #expect(verdict == .forward(interface: 0))
        let out = Array(UnsafeRawBufferPointer(start: packet.frame, count: packet.length))
        #expect(out == expected, "a DR frame with a partial checksum must leave with the complete one")
        #expect(!packet.checksumPartial)
    }
}
