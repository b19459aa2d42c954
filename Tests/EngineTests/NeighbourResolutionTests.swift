import Core
@testable import Engine
import PacketBuilder
import Testing
import Wire

/// Worker 0's ARP and neighbour discovery through the link: what it asks, when it asks
/// again, what it learns from replies, and how a learned MAC reaches the other workers.
@Suite struct NeighbourResolutionTests {
    typealias Request = InMemoryLink.NeighbourRequest
    static let rs1 = IPAddress(EngineLab.rs1)!, rs2 = IPAddress(EngineLab.rs2)!, dip = IPAddress(EngineLab.dip)!

    @Test func startAnnouncesTheVIPOnEveryInterface() {
        let rig = WorkerRig(EngineLab.config(ipv6: true))
        rig.start()
        for link in rig.links[0] {
            #expect(link.takeNeighbourRequests() == [.gratuitousARP(IPAddress(EngineLab.vip)!),
                                                      .advertisement(IPAddress(EngineLab.vip6)!)])
        }
        #expect(rig.workers[0].counters.gratuitousARPSent == 2)
        #expect(rig.workers[0].counters.unsolicitedAdvertisementsSent == 2)
    }

    /// rs1 and rs2 have no neighbour line: the first turn asks for both on server0; a SYN
    /// scheduled to rs1 drops as neighbour-unresolved; rs1's reply is learned; the SYN sent
    /// again leaves with rs1's MAC. A second later only rs2, still silent, is asked again.
    @Test func anUnresolvedServerIsAskedAndItsReplyLetsTheNextFrameThrough() {
        let rig = WorkerRig(EngineLab.config(pinned: false))
        let server = rig.links[0][1]
        rig.turn()
        #expect(server.takeNeighbourRequests() == [.arpRequest(target: Self.rs1, sender: Self.dip),
                                                   .arpRequest(target: Self.rs2, sender: Self.dip)])
        #expect(rig.links[0][0].takeNeighbourRequests().isEmpty)
        #expect(rig.workers[0].counters.arpRequestsSent == 2)

        rig.links[0][0].inject(EngineLab.fromClient())
        rig.advance(milliseconds: 200)
        rig.turn()
        #expect(server.takeSent().isEmpty)
        #expect(rig.workers[0].director.count(.neighbourUnresolved) == 1)
        // Asked 200 ms ago: the drop does not make it ask again within the retry interval.
        #expect(server.takeNeighbourRequests().isEmpty)

        server.inject(EngineLab.arpReply(from: EngineLab.rs1, mac: EngineLab.rs1MAC))
        rig.turn()
        #expect(rig.workers[0].counters.neighboursLearned == 1)
        rig.links[0][0].inject(EngineLab.fromClient())
        rig.turn()
        #expect(server.takeSent().map(\.bytes) == [EngineLab.towardServer(EngineLab.rs1MAC)])

        rig.advance(milliseconds: 1_000)
        rig.turn()
        #expect(server.takeNeighbourRequests() == [.arpRequest(target: Self.rs2, sender: Self.dip)])
    }

    /// An IPv6 real server is solicited from the director's address on its link and learned
    /// from its neighbour advertisement's target link-layer option.
    @Test func anIPv6ServerIsSolicitedAndLearnedFromItsAdvertisement() {
        let rig = WorkerRig(EngineLab.config(pinned: true, ipv6: true))
        let server = rig.links[0][1]
        rig.turn()
        #expect(server.takeNeighbourRequests() == [.solicitation(target: IPAddress(EngineLab.rs6)!,
                                                                 source: IPAddress(EngineLab.dip6)!)])
        #expect(rig.workers[0].counters.neighbourSolicitationsSent == 1)
        rig.links[0][0].inject(EngineLab.fromClient(ipv6: true))
        rig.turn()
        #expect(server.takeSent().isEmpty)

        server.inject(EngineLab.neighbourAdvertisement(target: EngineLab.rs6, mac: EngineLab.rs1MAC))
        rig.turn()
        #expect(rig.workers[0].counters.neighboursLearned == 1)
        rig.links[0][0].inject(EngineLab.fromClient(ipv6: true))
        rig.turn()
        #expect(server.takeSent().map(\.bytes) == [EngineLab.towardServer(EngineLab.rs1MAC, ipv6: true)])
    }

    /// Two workers: only worker 0 asks and learns; the MAC reaches worker 1 through its
    /// mailbox, drained on its next turn, after which worker 1 forwards to rs1 too.
    @Test func aNeighbourWorker0LearnsReachesWorker1ThroughItsMailbox() {
        let rig = WorkerRig(EngineLab.config(pinned: false), workers: 2)
        rig.turn(0)
        rig.turn(1)
        #expect(rig.links[0][1].takeNeighbourRequests().count == 2)
        #expect(rig.links[1].allSatisfy { $0.takeNeighbourRequests().isEmpty })

        rig.links[1][0].inject(EngineLab.fromClient())
        rig.turn(1)
        #expect(rig.links[1][1].takeSent().isEmpty)
        #expect(rig.workers[1].director.count(.neighbourUnresolved) == 1)

        rig.links[0][1].inject(EngineLab.arpReply(from: EngineLab.rs1, mac: EngineLab.rs1MAC))
        rig.turn(0)
        #expect(rig.workers[0].counters.neighboursLearned == 1)
        // Worker 1 learned nothing itself: its frame still drops until it reads the mailbox,
        // which it does at the start of its next turn, before the frames.
        rig.links[1][0].inject(EngineLab.fromClient())
        rig.turn(1)
        #expect(rig.links[1][1].takeSent().map(\.bytes) == [EngineLab.towardServer(EngineLab.rs1MAC)])
        #expect(rig.workers[1].counters.neighboursLearned == 0)
    }

    /// An ARP reply from an address that is no real server teaches nothing and goes nowhere.
    @Test func aReplyFromAStrangerIsIgnored() {
        let rig = WorkerRig(EngineLab.config(pinned: false), workers: 2)
        rig.turn(0)
        rig.links[0][1].inject(EngineLab.arpReply(from: "198.18.1.99", mac: EngineLab.rs2MAC))
        rig.turn(0)
        #expect(rig.workers[0].counters.neighboursLearned == 0)
        #expect(rig.workers[1].inbox?.receive { _ in } == 0)
    }
}
