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

    /// Only answers to lvsd's own questions teach a MAC: a real server's ARP request and a
    /// second, different reply after the first are counted as unsolicited and change
    /// nothing; rs1's frames keep leaving with the MAC of the reply lvsd asked for.
    @Test func requestsAndRepliesNobodyAskedForTeachNothing() {
        let rig = WorkerRig(EngineLab.config(pinned: false))
        let server = rig.links[0][1]
        rig.turn()
        _ = server.takeNeighbourRequests()
        // A request from rs1 before its reply: its sender fields are not taken.
        server.inject(EngineLab.arpRequest(from: EngineLab.rs1, mac: EngineLab.rs2MAC))
        rig.turn()
        #expect(rig.workers[0].counters.neighboursLearned == 0)
        #expect(rig.workers[0].counters.neighbourUnsolicited == 1)

        server.inject(EngineLab.arpReply(from: EngineLab.rs1, mac: EngineLab.rs1MAC))
        rig.turn()
        #expect(rig.workers[0].counters.neighboursLearned == 1)
        // The question is answered: another reply, with another MAC, is nobody's answer.
        rig.advance(milliseconds: 2_000)
        server.inject(EngineLab.arpReply(from: EngineLab.rs1, mac: EngineLab.rs2MAC))
        rig.turn()
        #expect(rig.workers[0].counters.neighboursLearned == 1)
        #expect(rig.workers[0].counters.neighbourUnsolicited == 2)
        rig.links[0][0].inject(EngineLab.fromClient())
        rig.turn()
        #expect(server.takeSent().map(\.bytes) == [EngineLab.towardServer(EngineLab.rs1MAC)])
    }

    /// A known neighbour's gratuitous ARP moves it (a real server's NIC failover), but not
    /// within the lock time of the last change: a second announcement 200 ms later is
    /// counted as locked; one after the lock time is taken.
    @Test func gratuitousUpdatesOfAKnownNeighbourRespectTheLockTime() {
        let rig = WorkerRig(EngineLab.config(pinned: false))
        let server = rig.links[0][1]
        let moved = MACAddress(0x02, 0, 0, 0, 0x0a, 0x0b)
        rig.turn()
        // Unknown yet: a gratuitous announcement does not create the entry.
        server.inject(EngineLab.gratuitousARP(EngineLab.rs1, mac: EngineLab.rs2MAC))
        rig.turn()
        #expect(rig.workers[0].counters.neighboursLearned == 0)
        #expect(rig.workers[0].counters.neighbourUnsolicited == 1)

        server.inject(EngineLab.arpReply(from: EngineLab.rs1, mac: EngineLab.rs1MAC))
        rig.turn()
        rig.advance(milliseconds: 200)
        server.inject(EngineLab.gratuitousARP(EngineLab.rs1, mac: moved))
        rig.turn()
        #expect(rig.workers[0].counters.neighboursLearned == 1)
        #expect(rig.workers[0].counters.neighbourLocked == 1)

        rig.advance(milliseconds: 1_000)
        server.inject(EngineLab.gratuitousARP(EngineLab.rs1, mac: moved))
        rig.turn()
        #expect(rig.workers[0].counters.neighboursLearned == 2)
        rig.links[0][0].inject(EngineLab.fromClient())
        rig.turn()
        #expect(server.takeSent().map(\.bytes) == [EngineLab.towardServer(moved)])
    }

    /// IPv6 as RFC 4861 §7.2.5: an advertisement with neither Solicited nor Override teaches
    /// nothing; a solicited one answers the solicitation.
    @Test func anAdvertisementWithoutSolicitedOrOverrideIsIgnored() {
        let rig = WorkerRig(EngineLab.config(pinned: true, ipv6: true))
        let server = rig.links[0][1]
        rig.turn()
        server.inject(EngineLab.neighbourAdvertisement(target: EngineLab.rs6, mac: EngineLab.rs1MAC, flags: 0))
        rig.turn()
        #expect(rig.workers[0].counters.neighboursLearned == 0)
        #expect(rig.workers[0].counters.neighbourUnsolicited == 1)
        server.inject(EngineLab.neighbourAdvertisement(target: EngineLab.rs6, mac: EngineLab.rs1MAC, flags: 0x4000_0000))
        rig.turn()
        #expect(rig.workers[0].counters.neighboursLearned == 1)
    }
}
