import Core
@testable import Engine
import PacketIO
import Testing
import Wire

/// A sync backup with several workers: every datagram reaches every worker's sync inbox, and
/// each installs the connections the fanout program steers to it, so each connection lives on
/// the worker that will see its packets (Docs/connection-sync.md).
@Suite struct SyncBackupWorkerTests {
    static func message(_ records: [SyncConnectionRecord]) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 1472)
        let length = buffer.withUnsafeMutableBytes { raw in
            // Safety: the writer stays inside this closure and within the buffer.
            var writer = SyncMessageWriter(raw.baseAddress!, capacity: 1472, syncID: 0)
            for r in records { _ = writer.append(r) }
            return writer.length
        }
        return Array(buffer[..<length])
    }

    static func record(clientPort: UInt16) -> SyncConnectionRecord {
        SyncConnectionRecord(proto: .tcp, flags: .forwarding(SyncConnectionFlags.forwardDirectRoute), state: 1,
                             clientAddress: IPAddress(EngineLab.client)!, clientPort: clientPort,
                             virtualAddress: IPAddress(EngineLab.vip)!, virtualPort: EngineLab.port,
                             destinationAddress: IPAddress(EngineLab.rs1)!, destinationPort: EngineLab.port, timeout: 900)
    }

    @Test func eachWorkerInstallsWhatTheFanoutSteersToIt() {
        let rig = WorkerRig(EngineLab.config(), workers: 3)
        let ports = (0..<30).map { UInt16(41000 + $0) }
        let datagram = Self.message(ports.map { Self.record(clientPort: $0) })
        for worker in rig.workers {
            worker.syncBackupID = 0
            #expect(worker.syncInbox.post(datagram))
        }
        for k in 0..<3 { rig.turn(k) }
        var counts = [0, 0, 0]
        for port in ports {
            let home = FanoutProgram.worker(client: IPAddress(EngineLab.client)!, port: port, workers: 3)
            for (k, worker) in rig.workers.enumerated() {
                let found = worker.director.connections().contains { $0.clientPort == port }
                #expect(found == (k == home), "client port \(port): on worker \(k) \(found), fanout says \(home)")
                if found { counts[k] += 1 }
            }
        }
        #expect(counts.reduce(0, +) == 30 && counts.allSatisfy { $0 > 0 }, "\(counts)")
        // A synced connection's next client packet, steered to its home, is forwarded there.
        let port = ports[0]
        let home = FanoutProgram.worker(client: IPAddress(EngineLab.client)!, port: port, workers: 3)
        rig.links[home][0].inject(EngineLab.fromClient(port: port, flags: [.ack]))
        rig.turn(home)
        #expect(rig.links[home][1].takeSent().map(\.bytes) == [EngineLab.towardServer(EngineLab.rs1MAC, port: port, flags: [.ack])])
    }

    @Test func aWorkerThatIsNoBackupIgnoresDatagrams() {
        let rig = WorkerRig(EngineLab.config(), workers: 1)
        #expect(rig.workers[0].syncInbox.post(Self.message([Self.record(clientPort: 41000)])))
        rig.turn(0)
        #expect(rig.workers[0].director.connections().isEmpty)
        rig.workers[0].syncBackupID = 0
        #expect(rig.workers[0].syncInbox.post(Self.message([Self.record(clientPort: 41000)])))
        rig.turn(0)
        #expect(rig.workers[0].director.connections().count == 1)
    }
}
