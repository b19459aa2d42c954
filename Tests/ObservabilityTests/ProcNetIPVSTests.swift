import Control
import Core
import Foundation
import Logging
@testable import Observability
import Testing
import Wire

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

/// A firewall-mark service (`-f 1`) as ip_vs_info_seq_show prints it, and the labels
/// node_exporter gives it (procfs ipvs.go reads an `FWM` line as proto FWM, no address,
/// port 0, the mark's hex digits as local_mark).
@Suite struct FirewallMarkExportTests {
    static var snapshot: AdminSnapshot {
        let rs = AdminSnapshot.RealServer(address: IPAddress("198.18.1.7")!, port: 80, method: .directRouting, weight: 2,
                                          activeConnections: 4, inactiveConnections: 1)
        let plain = AdminSnapshot.Service(key: ServiceKey(fwmark: 1), scheduler: "wlc", realServers: [rs])
        var persistent = AdminSnapshot.Service(key: ServiceKey(fwmark: 0x1ab), scheduler: "rr", persistence: 360, realServers: [rs])
        persistent.onePacket = true
        return AdminSnapshot(tableSize: 4096, services: [plain, persistent])
    }

    @Test func procNetIPVSPrintsFWMLines() {
        let expected = """
            IP Virtual Server version 1.2.1 (size=4096)
            Prot LocalAddress:Port Scheduler Flags
              -> RemoteAddress:Port Forward Weight ActiveConn InActConn
            FWM  00000001 wlc 
              -> C6120107:0050      Route   2      4          1         
            FWM  000001AB rr ops persistent 360 FFFFFFFF
              -> C6120107:0050      Route   2      4          1         

            """
        #expect(ProcNetIPVS.services(Self.snapshot) == expected)
    }

    @Test func metricsCarryTheMarkAndNoAddress() {
        let observation = DirectorObservation(snapshot: Self.snapshot, workers: [], health: [], vrrp: [], takenAt: 0)
        let text = MetricsExposition.render(observation, build: BuildInfo(version: "test", swift: "6.3", engine: "af_packet", workers: 1),
                                            process: ProcessSample(cpuSeconds: 0, residentBytes: 0, virtualBytes: 0, openFileDescriptors: 0,
                                                                   maxFileDescriptors: 0, startTime: 0))
        let lines = Set(text.split(separator: "\n").map(String.init))
        let backend = #"local_address="",local_port="0",remote_address="198.18.1.7",remote_port="80",proto="FWM",local_mark="00000001""#
        for line in ["node_ipvs_backend_connections_active{\(backend)} 4.0",
                     "node_ipvs_backend_connections_inactive{\(backend)} 1.0",
                     "node_ipvs_backend_weight{\(backend)} 2.0",
                     #"lvsd_service_connections_total{local_address="",local_port="0",proto="FWM",local_mark="000001AB"} 0"#] {
            #expect(lines.contains(line), "missing \(line) in:\n\(text)")
        }
    }
}
