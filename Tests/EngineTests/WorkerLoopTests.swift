import Core
@testable import Engine
import PacketBuilder
import PacketIO
import Testing
import Wire

/// The worker loop over in-memory links: frames in, a turn, frames out, with the AF_PACKET
/// engine's own batching, TX copies and kicks, and no sockets or root.
@Suite struct WorkerLoopTests {
    @Test func aClientSYNLeavesOnTheServerInterfaceWithTheRealServersMAC() {
        let rig = WorkerRig(EngineLab.config())
        rig.links[0][0].inject(EngineLab.fromClient())
        #expect(rig.turn() == 1)
        let sent = rig.links[0][1].takeSent()
        #expect(sent.count == 1)
        #expect(sent.first?.bytes == EngineLab.towardServer(EngineLab.rs1MAC))
        #expect(sent.first?.path == .ring)
        // A complete checksum came in, so none is left for the kernel to finish.
        #expect(sent.first?.virtioHeader == VirtioNetHeader(headerLength: UInt16(sent.first?.bytes.count ?? 0)))
        #expect(rig.links[0][0].takeSent().isEmpty)
        #expect(rig.workers[0].director.framesForwarded == 1)
        #expect(rig.workers[0].director.table.count == 1)
    }

    /// 40 frames in one turn: a full batch of 32 is processed and its RX slots released
    /// before the last 8 are taken (the link scribbles over released slots, so a frame read
    /// after its release would leave corrupt), and the TX ring is kicked once for all.
    @Test func moreThanABatchInOneTurnLeavesInOrderWithOneKick() {
        let rig = WorkerRig(EngineLab.config())
        let ports = (0..<40).map { UInt16(41000 + $0) }
        for port in ports { rig.links[0][0].inject(EngineLab.fromClient(port: port)) }
        #expect(rig.turn() == 40)
        let sent = rig.links[0][1].takeSent()
        // Round robin: rs1, rs2, rs1, ...
        let expected = ports.enumerated().map { i, port in
            EngineLab.towardServer(i % 2 == 0 ? EngineLab.rs1MAC : EngineLab.rs2MAC, port: port)
        }
        #expect(sent.map(\.bytes) == expected)
        #expect(rig.links[0][1].kicks == 1)
    }

    /// Frames a turn cannot hold (all RX slots held) wait for the next turn, none lost.
    @Test func framesBeyondTheHeldSlotsWaitForTheNextTurn() {
        let config = EngineLab.config()
        let rig = WorkerRig(config)
        for port in 0..<(1024 + 5) { rig.links[0][0].inject(EngineLab.fromClient(port: UInt16(20000 + port))) }
        // `framesPerTurn` bounds one interface's share of a turn.
        #expect(rig.turn() == 1024)
        #expect(rig.links[0][0].pendingFrames == 5)
        #expect(rig.turn() == 5)
        #expect(rig.links[0][1].takeSent().count == 1029)
    }

    @Test func aPartialChecksumLeavesPartialForTheKernelToFinish() {
        let rig = WorkerRig(EngineLab.config())
        rig.links[0][0].inject(EngineLab.fromClient(), checksumNotReady: true)
        rig.turn()
        let sent = rig.links[0][1].takeSent()
        #expect(sent.count == 1)
        #expect(sent.first?.virtioHeader.needsChecksum == true)
        // Checksum coverage starts at the TCP header (14 + 20) and the field is 16 into it.
        #expect(sent.first?.virtioHeader.checksumStart == 34)
        #expect(sent.first?.virtioHeader.checksumOffset == 16)
    }

    /// A GSO super-frame (virtio-net header with a TCP GSO type) is larger than a TX slot: it
    /// leaves whole through the sender with its GSO type and segment size, for the kernel to cut.
    @Test func aSuperFrameLeavesWholeThroughTheSender() {
        let rig = WorkerRig(EngineLab.config())
        let payload = String(repeating: "x", count: 4000)
        let gso = VirtioNetHeader(flags: VirtioNetHeader.needsChecksumFlag, gsoType: VirtioNetHeader.GSOType.tcpIPv4.rawValue,
                                  headerLength: 54, segmentSize: 1448, checksumStart: 34, checksumOffset: 16)
        rig.links[0][0].inject(EngineLab.fromClient(flags: [.ack], payload: payload), virtioHeader: gso)
        // The connection exists first, so the super-frame has one to follow.
        rig.links[0][0].inject(EngineLab.fromClient())
        rig.turn()
        rig.links[0][0].inject(EngineLab.fromClient(flags: [.ack], payload: payload), virtioHeader: gso)
        rig.turn()
        let sent = rig.links[0][1].takeSent()
        let whole = sent.filter { $0.path == .whole }
        #expect(whole.count == 1)
        #expect(whole.first?.bytes.count == EngineLab.fromClient(flags: [.ack], payload: payload).count)
        #expect(whole.first?.virtioHeader.gsoType == VirtioNetHeader.GSOType.tcpIPv4.rawValue)
        #expect(whole.first?.virtioHeader.segmentSize == 1448)
        #expect(rig.workers[0].counters.superFrames == 2)
    }

    @Test func aFullTransmitRingIsCountedAndNothingLeaves() {
        let rig = WorkerRig(EngineLab.config())
        rig.links[0][1].transmitRingFull = true
        rig.links[0][0].inject(EngineLab.fromClient())
        rig.turn()
        #expect(rig.links[0][1].takeSent().isEmpty)
        #expect(rig.workers[0].counters.transmitRingFull == 1)
        rig.links[0][1].transmitRingFull = false
        rig.links[0][0].inject(EngineLab.fromClient(flags: [.ack]))
        rig.turn()
        #expect(rig.links[0][1].takeSent().map(\.bytes) == [EngineLab.towardServer(EngineLab.rs1MAC, flags: [.ack])])
    }

    /// An idle turn expires connections: a SYN_RECV connection (60 s in IPVS's table) is
    /// gone after an idle turn past its timeout, and kept by one before it.
    @Test func idleTurnsExpireConnections() {
        let rig = WorkerRig(EngineLab.config())
        rig.links[0][0].inject(EngineLab.fromClient())
        rig.turn()
        #expect(rig.workers[0].director.table.count == 1)
        rig.advance(milliseconds: 30_000)
        #expect(rig.turn() == 0)
        #expect(rig.workers[0].director.table.count == 1)
        rig.advance(milliseconds: 31_000)
        rig.turn()
        #expect(rig.workers[0].director.table.count == 0)
    }
}
