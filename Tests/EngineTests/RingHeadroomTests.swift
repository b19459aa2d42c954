import Core
@testable import Engine
import PacketBuilder
import PacketIO
import Testing
import Wire

/// Room for what lvsd inserts, in the frames each ring version hands over: a TPACKET_V3 frame
/// has no tailroom (frames are packed back to back), so a PROXY protocol header and a TOA
/// option move the headers toward the slot's start, into the headroom `PACKET_RESERVE` leaves.
@Suite struct RingHeadroomTests {
    /// tpacket_rcv's arithmetic, as the kernel lays out a frame (the PacketRingTests end-to-end
    /// suite reads the same numbers off a live ring).
    @Test func headroomFollowsTheKernelsLayout() {
        #expect(RingVersion.v2.headroom(reserve: 32, virtioNetHeader: true) == 76)
        #expect(RingVersion.v3.headroom(reserve: 32, virtioNetHeader: true) == 76)
        #expect(RingVersion.v3.headroom(reserve: 0, virtioNetHeader: true) == 44)
        #expect(RingVersion.v3.headroom(reserve: 0, virtioNetHeader: false) == 34)
        #expect(RingVersion.v3.reserve(forHeadroom: 44, virtioNetHeader: true) == 0)
        #expect(RingVersion.v3.reserve(forHeadroom: 45, virtioNetHeader: true) == 16)
    }

    /// The reserve lvsd asks for: V2 keeps its 32 (its slots have tailroom); V3's leaves room
    /// for the largest insertion, a v1 header over IPv6 with TOA, and every tunnel header.
    @Test func theV3ReserveLeavesRoomForTheLargestInsertion() {
        #expect(WorkerRig.Worker.ringReserve(.v2) == 32)
        let reserve = WorkerRig.Worker.ringReserve(.v3)
        #expect(reserve % 16 == 0)
        let headroom = RingVersion.v3.headroom(reserve: reserve, virtioNetHeader: true)
        #expect(headroom >= PacketBuffer.insertionHeadroom)
        #expect(PacketBuffer.insertionHeadroom >= ProxyProtocolHeader.v1MaximumLength + TCPAddressOption.ipv6Length + 16)
        // IPv6 + UDP + GUE with its remote checksum option, and a virtio-net header before it.
        #expect(headroom >= 40 + 8 + 8 + VirtioNetHeader.size)
    }

    static let lip6 = "2001:db8:1::100"
    static let serverISN: UInt32 = 0x7000_0000

    /// [VIP6]:80 FullNAT to rs6 with a PROXY protocol v2 header and TOA: 52 + 20 bytes go into
    /// the client's first data segment.
    static func config() -> DirectorConfig {
        var config = EngineLab.config(ipv6: true)
        config.services = [VirtualServiceConfig(
            key: ServiceKey(.tcp, IPAddress(EngineLab.vip6)!, EngineLab.port), scheduler: .roundRobin,
            realServers: [RealServerConfig(address: IPAddress(EngineLab.rs6)!, port: EngineLab.port, method: .fullNAT)],
            localAddresses: [IPAddress(lip6)!])]
        config.services[0].proxyProtocol = .v2
        config.services[0].toa = true
        config.neighbours = [NeighbourConfig(address: IPAddress(EngineLab.rs6)!, mac: EngineLab.rs1MAC, interface: 1)]
        return config
    }

    static func client(_ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0, payload: String = "") -> [UInt8] {
        Frame.ethernet(destination: EngineLab.directorClientMAC, source: EngineLab.clientMAC)
            .ipv6(source: EngineLab.client6, destination: EngineLab.vip6)
            .tcp(sourcePort: 40000, destinationPort: EngineLab.port, flags: flags, sequence: seq, acknowledgment: ack)
            .payload(payload).bytes
    }

    /// Handshake and the first data segment through one worker whose links hand over frames as
    /// a ring of `ring` with `reserve` does; the frames that reached the real server.
    func firstSegment(ring: RingVersion, reserve: Int?) -> (RingHeadroomTests.Outcome) {
        let rig = WorkerRig(Self.config(), ring: ring, reserve: reserve)
        let director = rig.workers[0].director
        rig.links[0][0].inject(Self.client(.syn, seq: 1000))
        rig.turn()
        let syn = rig.links[0][1].takeSent()
        let lport = director.connections().first?.localPort ?? 0
        rig.links[0][1].inject(Frame.ethernet(destination: EngineLab.directorServerMAC, source: EngineLab.rs1MAC)
            .ipv6(source: EngineLab.rs6, destination: Self.lip6)
            .tcp(sourcePort: EngineLab.port, destinationPort: lport, flags: [.syn, .ack], sequence: Self.serverISN,
                 acknowledgment: 1001).bytes)
        rig.turn()
        _ = rig.links[0][0].takeSent()
        let request = "GET / HTTP/1.0\r\n\r\n"
        rig.links[0][0].inject(Self.client([.ack, .psh], seq: 1001, ack: Self.serverISN + 1, payload: request))
        rig.turn()
        let data = rig.links[0][1].takeSent()
        return Outcome(syn: syn.count, data: data.map(\.bytes), request: request.utf8.count,
                       noRoom: director.count(.proxyProtocolNoRoom), headers: director.proxyProtocolHeadersSent,
                       toa: director.toaAdded, toaNoRoom: director.toaNoRoom)
    }

    struct Outcome {
        var syn: Int, data: [[UInt8]], request: Int
        var noRoom: UInt64, headers: UInt64, toa: UInt64, toaNoRoom: UInt64
    }

    @Test(arguments: [RingVersion.v2, .v3])
    func theFirstSegmentCarriesTheHeaderAndTOA(_ ring: RingVersion) throws {
        let o = firstSegment(ring: ring, reserve: nil)
        #expect(o.syn == 1)
        #expect(o.noRoom == 0 && o.toaNoRoom == 0)
        #expect(o.headers == 1 && o.toa >= 1)
        let frame = try #require(o.data.first)
        // Ethernet, IPv6, TCP with a 20-byte TOA option, the 52-byte v2 header, the request.
        #expect(frame.count == 14 + 40 + 20 + 20 + 52 + o.request)
        let header = Array(frame[(14 + 40 + 40)...].prefix(12))
        #expect(header == ProxyProtocolHeader.signature)
        #expect(frame.suffix(o.request) == Array("GET / HTTP/1.0\r\n\r\n".utf8)[...])
    }

    /// What `--ring v3` did with the V2 reserve of 32: 76 bytes of headroom, 16 of them kept;
    /// the header took 52 and the option found no room (`toa-no-room`), and a longer header
    /// (v1 over IPv6 runs to 107 bytes) none either (`proxy-protocol-no-room`).
    @Test func theV2ReserveLeftAV3FrameTooLittleRoom() throws {
        let o = firstSegment(ring: .v3, reserve: 32)
        #expect(o.headers == 1 && o.toa == 0 && o.toaNoRoom == 1)
        let frame = try #require(o.data.first)
        #expect(frame.count == 14 + 40 + 20 + 52 + o.request)
    }
}
