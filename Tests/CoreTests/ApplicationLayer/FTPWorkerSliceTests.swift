import Core
import PacketBuilder
import Testing
import Wire

/// FullNAT FTP on one of several workers (Docs/ftp.md "With several workers"): the data
/// connections the helper creates, active at the PORT line and passive at the client's SYN,
/// take local ports from the worker's own slice, so the fanout program's `lport mod N` rule
/// brings the real server's frames to them back to the worker holding the session.
@Suite struct FTPWorkerSliceTests {
    typealias F = FTPDirectorTests

    @Test(arguments: [(0, 3), (1, 3), (2, 3), (1, 2)])
    func dataConnectionsTakeLocalPortsFromTheWorkersSlice(index: Int, count: Int) {
        var config = F.config(.fullNAT)
        config.workerSlice = WorkerSlice(index: index, count: count)
        let h = Harness(config)
        let side = F().open(h, .fullNAT)
        #expect(Int(side.1) % count == index, "control connection's local port \(side.1)")

        // Active: the PORT line's data connection.
        _ = h.run(F.fromClient([.ack, .psh], seq: F.clientISN + 1, ack: F.serverISN &+ 1, "PORT 198,18,0,100,156,65\r\n"))
        let active = h.director.connections().first { $0.virtualPort == 20 }
        #expect(active != nil && Int(active?.localPort ?? 1) % count == index, "active data local port \(active?.localPort ?? 0)")

        // Passive: the 227 reply expects the client's SYN to VIP:50000.
        let reply = "227 Entering Passive Mode (198,18,1,111,195,80).\r\n"
        _ = h.run(F.fromServer([.ack, .psh], seq: F.serverISN &+ 1, ack: F.clientISN + 1, to: side, reply), interface: 1)
        #expect(h.director.ftpExpectationCount == 1)
        _ = h.run(F.fromClient(.syn, seq: 7000, port: 40002, to: 50000))
        let passive = h.director.connections().first { $0.virtualPort == 50000 }
        #expect(passive?.clientPort == 40002)
        #expect(passive != nil && Int(passive?.localPort ?? 1) % count == index, "passive data local port \(passive?.localPort ?? 0)")
        #expect(h.director.ftpCounters.dataConnections == 2)
    }
}
