import Core
@testable import Engine
import PacketBuilder
import Testing
import Wire

/// Configuration snapshots reaching workers through their control mailboxes, installed
/// between batches as `LiveDirector.reconfigure` has them installed.
@Suite struct WorkerReconfigureTests {
    /// rs1 goes to weight 0: the task waits in the mailbox until the worker's next turn, then
    /// new connections avoid rs1 while the established one on rs1 keeps flowing there.
    @Test func aWeightZeroServerTakesNoNewConnectionsButKeepsItsEstablishedOne() {
        let rig = WorkerRig(EngineLab.config())
        let client = rig.links[0][0], server = rig.links[0][1]
        client.inject(EngineLab.fromClient(port: 40000))
        client.inject(EngineLab.fromClient(port: 40000, flags: [.ack]))
        rig.turn()
        #expect(server.takeSent().map(\.bytes) == [EngineLab.towardServer(EngineLab.rs1MAC, port: 40000),
                                                   EngineLab.towardServer(EngineLab.rs1MAC, port: 40000, flags: [.ack])])

        let tasks = rig.postReconfiguration(EngineLab.config(weights: (0, 1)))
        #expect(!tasks[0].wait(nanoseconds: 0))
        #expect(rig.workers[0].director.snapshot.generation != rig.snapshot.generation)
        rig.turn()
        #expect(tasks[0].wait(nanoseconds: 0))
        #expect(rig.workers[0].director.snapshot.generation == rig.snapshot.generation)

        let ports: [UInt16] = [40001, 40002, 40003, 40004]
        for port in ports { client.inject(EngineLab.fromClient(port: port)) }
        client.inject(EngineLab.fromClient(port: 40000, flags: [.ack], payload: "still here"))
        rig.turn()
        let expected = ports.map { EngineLab.towardServer(EngineLab.rs2MAC, port: $0) }
            + [EngineLab.towardServer(EngineLab.rs1MAC, port: 40000, flags: [.ack], payload: "still here")]
        #expect(server.takeSent().map(\.bytes) == expected)
    }

    /// A new MTU in the snapshot (the kernel's, for an interface with no line) reaches every
    /// worker's link on its next turn, where the software segmenter reads it.
    @Test func anMTUChangeReachesTheLinks() {
        let rig = WorkerRig(EngineLab.config(), workers: 2)
        #expect(rig.links.allSatisfy { $0[1].mtu == 1500 })
        var config = EngineLab.config()
        config.interfaces[1].mtu = 1400
        _ = rig.postReconfiguration(config)
        #expect(rig.links.allSatisfy { $0[1].mtu == 1500 }, "changed before the workers' turns")
        rig.turn(0)
        rig.turn(1)
        #expect(rig.links.map { $0[1].mtu } == [1400, 1400])
        #expect(rig.links.map { $0[0].mtu } == [1500, 1500])
    }

    /// Every worker installs the same snapshot on its own turn; until then it runs the old.
    @Test func eachWorkerSwapsOnItsOwnTurn() {
        let rig = WorkerRig(EngineLab.config(), workers: 2)
        let tasks = rig.postReconfiguration(EngineLab.config(weights: (0, 1)))
        let old = rig.workers[1].director.snapshot.generation
        rig.turn(0)
        #expect(tasks[0].wait(nanoseconds: 0))
        #expect(!tasks[1].wait(nanoseconds: 0))
        #expect(rig.workers[1].director.snapshot.generation == old)
        rig.links[1][0].inject(EngineLab.fromClient(port: 40010))
        rig.turn(1)
        #expect(tasks[1].wait(nanoseconds: 0))
        // The task ran before the frames of that turn: rs1 already at weight 0.
        #expect(rig.links[1][1].takeSent().map(\.bytes) == [EngineLab.towardServer(EngineLab.rs2MAC, port: 40010)])
        #expect(rig.workers.allSatisfy { $0.director.snapshot.generation == rig.snapshot.generation })
    }

    /// A reload that adds a real server with no neighbour line: worker 0 takes the new
    /// neighbour table and asks for it on its next housekeeping, and announces a new VIP.
    @Test func aReloadResolvesAddedServersAndAnnouncesAddedAddresses() {
        let rig = WorkerRig(EngineLab.config())
        rig.turn()
        #expect(rig.links[0][1].takeNeighbourRequests().isEmpty)
        var config = EngineLab.config()
        config.services[0].realServers.append(RealServerConfig(address: IPAddress("198.18.1.13")!, port: 80))
        config.services.append(VirtualServiceConfig(key: ServiceKey(.tcp, IPAddress("198.18.0.20")!, 80),
                                                    realServers: [RealServerConfig(address: IPAddress(EngineLab.rs1)!, port: 80)]))
        _ = rig.postReconfiguration(config)
        rig.advance(milliseconds: 200)
        rig.turn()
        let requests = rig.links[0][1].takeNeighbourRequests()
        #expect(requests == [.gratuitousARP(IPAddress("198.18.0.20")!),
                             .arpRequest(target: IPAddress("198.18.1.13")!, sender: IPAddress(EngineLab.dip)!)])
        #expect(rig.links[0][0].takeNeighbourRequests() == [.gratuitousARP(IPAddress("198.18.0.20")!)])
    }
}
