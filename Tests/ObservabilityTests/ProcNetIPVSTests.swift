import Core
import Foundation
import Logging
@testable import Observability
import Testing

/// /proc/net/ip_vs and ip_vs_stats byte for byte as ip_vs_ctl.c's seq_printf formats print
/// them for `ObservationFixtures`.
@Suite struct ProcNetIPVSTests {
    @Test func services() {
        let expected = """
            IP Virtual Server version 1.2.1 (size=4096)
            Prot LocalAddress:Port Scheduler Flags
              -> RemoteAddress:Port Forward Weight ActiveConn InActConn
            TCP  C612000A:0050 rr  
              -> C6120101:1F90      Masq    1      1          3         
              -> C6120102:1F90      Masq    1      0          3         
              -> C6120103:1F90      Masq    0      2          1         
            UDP  [2001:0db8:0000:0000:0000:0000:0000:0010]:0035 wlc persistent 300 00000080
              -> [2001:0db8:0000:0000:0000:0000:0001:0001]:0035      Route   5      0          2         

            """
        #expect(ProcNetIPVS.services(ObservationFixtures.snapshot) == expected)
    }

    @Test func stats() {
        let o = ObservationFixtures.observation
        let expected = """
               Total Incoming Outgoing         Incoming         Outgoing
               Conns  Packets  Packets            Bytes            Bytes
                   C       34       28             1018             7530

             Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s
                   A       1E       18              BB8             6978

            """
        #expect(ProcNetIPVS.stats(totals: o.totals, rates: o.totalRates) == expected)
    }

    /// The exporter writes both files under DIR/net and replaces them whole.
    @Test func exporterWritesBothFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lvsd-mx-procfs-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = ObservationCache { ObservationFixtures.observation }
        let exporter = ProcfsExporter(directory: dir, cache: cache, logger: .init(label: "test"))
        try exporter.start()
        exporter.stop()
        let ipvs = try String(contentsOfFile: dir + "/net/ip_vs", encoding: .utf8)
        let stats = try String(contentsOfFile: dir + "/net/ip_vs_stats", encoding: .utf8)
        #expect(ipvs == ProcNetIPVS.services(ObservationFixtures.snapshot))
        #expect(stats.hasPrefix("   Total Incoming"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/net/ip_vs.lvsd-new"))
    }
}
