import Core
import Foundation
@testable import Observability
import Testing
import TestSupport

/// Every metric family against `ObservationFixtures`' known counters: the exact sample line
/// each must produce, and `promtool check metrics` on the whole output when promtool is installed.
@Suite struct MetricsExpositionTests {
    static let text = MetricsExposition.render(
        ObservationFixtures.observation, build: BuildInfo(version: "test", swift: "6.3", engine: "af_packet", workers: 2),
        process: ProcessSample(cpuSeconds: 1.5, residentBytes: 4096, virtualBytes: 8192, openFileDescriptors: 9,
                               maxFileDescriptors: 1024, startTime: 1_700_000_000))
    static var lines: Set<String> { Set(text.split(separator: "\n").map(String.init)) }

    static let rs1 = #"local_address="198.18.0.10",local_port="80",remote_address="198.18.1.1",remote_port="8080",proto="TCP",local_mark="""#
    static let rs3 = #"local_address="198.18.0.10",local_port="80",remote_address="198.18.1.3",remote_port="8080",proto="TCP",local_mark="""#
    static let web = #"local_address="198.18.0.10",local_port="80",proto="TCP",local_mark="""#

    /// Counters print as integers, gauges as swift-prometheus's doubles ("1.0"): both are
    /// the text format's float.
    func expectLines(_ expected: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let missing = expected.filter { !Self.lines.contains($0) }
        #expect(missing.isEmpty, "missing lines: \(missing)", sourceLocation: sourceLocation)
    }

    /// node_exporter's ipvs collector: totals over every service, backends with its six labels.
    @Test func nodeExporterFamilies() {
        expectLines([
            "# TYPE node_ipvs_connections_total counter",
            "node_ipvs_connections_total 12",
            "node_ipvs_incoming_packets_total 52",
            "node_ipvs_outgoing_packets_total 40",
            "node_ipvs_incoming_bytes_total 4120",
            "node_ipvs_outgoing_bytes_total 30000",
            "# TYPE node_ipvs_backend_connections_active gauge",
            "node_ipvs_backend_connections_active{\(Self.rs1)} 1.0",
            "node_ipvs_backend_connections_inactive{\(Self.rs1)} 3.0",
            "node_ipvs_backend_weight{\(Self.rs3)} 0.0",
            #"node_ipvs_backend_weight{local_address="2001:db8::10",local_port="53",remote_address="2001:db8::1:1",remote_port="53",proto="UDP",local_mark=""} 5.0"#,
        ])
    }

    @Test func serviceAndRealServerFamilies() {
        expectLines([
            "lvsd_service_connections_total{\(Self.web)} 10",
            "lvsd_service_incoming_bytes_total{\(Self.web)} 4000",
            "lvsd_service_connections_per_second{\(Self.web)} 10.0",
            "lvsd_real_server_connections_total{\(Self.rs1)} 4",
            "lvsd_real_server_incoming_packets_total{\(Self.rs1)} 20",
            "lvsd_real_server_outgoing_packets_total{\(Self.rs1)} 16",
            "lvsd_real_server_incoming_bytes_total{\(Self.rs1)} 1600",
            "lvsd_real_server_outgoing_bytes_total{\(Self.rs1)} 12000",
            "lvsd_real_server_outgoing_bytes_per_second{\(Self.rs1)} 9000.0",
            "lvsd_real_server_active_connections{\(Self.rs3)} 2.0",
            "lvsd_real_server_inactive_connections{\(Self.rs3)} 1.0",
            "lvsd_real_server_persistent_connections{\(Self.rs3)} 0.0",
            "lvsd_real_server_weight{\(Self.rs3)} 0.0",
            "lvsd_fullnat_local_ports_in_use{\(Self.web),snat_address=\"198.18.2.1\"} 7.0",
        ])
    }

    /// Every drop and pass reason appears by name, zero or not, summed over the workers.
    @Test func dropPassTableAndWorkerFamilies() {
        var expected = [
            #"lvsd_frames_dropped_total{reason="ipv4-bad-checksum"} 5"#,
            #"lvsd_frames_dropped_total{reason="frame-truncated"} 1"#,
            #"lvsd_frames_passed_total{reason="not-for-director"} 3"#,
            "lvsd_connection_table_entries 12.0",
            "lvsd_connection_table_capacity 4096.0",
            #"lvsd_worker_frames_total{worker="0",verdict="received"} 100"#,
            #"lvsd_worker_frames_total{worker="1",verdict="forwarded"} 49"#,
            #"lvsd_engine_events_total{worker="0",event="rx-ring-drops"} 17"#,
            #"lvsd_engine_events_total{worker="0",event="tx-ring-full"} 0"#,
            #"lvsd_worker_connection_table_entries{worker="1"} 4.0"#,
        ]
        for reason in DropReason.allCases where reason != .ipv4BadChecksum && reason != .frameTruncated {
            expected.append(#"lvsd_frames_dropped_total{reason="\#(reason)"} 0"#)
        }
        for reason in PassReason.allCases where reason != .notForDirector {
            expected.append(#"lvsd_frames_passed_total{reason="\#(reason)"} 0"#)
        }
        expectLines(expected)
    }

    @Test func healthFamilies() {
        expectLines([
            "lvsd_real_server_up{\(Self.rs1)} 1.0",
            "lvsd_real_server_up{\(Self.rs3)} 0.0",
            "lvsd_real_server_transitions_total{\(Self.rs1)} 0",
            "lvsd_real_server_transitions_total{\(Self.rs3)} 3",
            "lvsd_health_checker_up{\(Self.rs1),checker=\"HTTP_GET\"} 1.0",
            "lvsd_health_checker_up{\(Self.rs3),checker=\"TCP_CHECK\"} 0.0",
            "lvsd_health_checker_duration_seconds{\(Self.rs1),checker=\"HTTP_GET\"} 0.25",
        ])
        // A checker that has not finished a check yet has no duration.
        #expect(!Self.text.contains("lvsd_health_checker_duration_seconds{\(Self.rs3)"))
        #expect(ObservationFixtures.health[1].downReason == "TCP_CHECK: connection refused")
    }

    /// keepalived exporter names: state as a number, counters by their names.
    @Test func vrrpFamilies() {
        expectLines([
            #"lvsd_vrrp_state{iname="VI_1"} 2.0"#,
            #"lvsd_vrrp_priority{iname="VI_1"} 150.0"#,
            #"lvsd_vrrp_effective_priority{iname="VI_1"} 140.0"#,
            #"lvsd_vrrp_become_master_total{iname="VI_1"} 2"#,
            #"lvsd_vrrp_advertisements_sent_total{iname="VI_1"} 42"#,
            #"lvsd_vrrp_advertisements_received_total{iname="VI_1"} 7"#,
            #"lvsd_vrrp_release_master_total{iname="VI_1"} 0"#,
            #"lvsd_vrrp_advert_errors_total{iname="VI_1",reason="bad_checksum"} 1"#,
        ])
    }

    @Test func buildAndProcessFamilies() {
        expectLines([
            #"lvsd_build_info{version="test",swift="6.3",engine="af_packet",workers="2"} 1.0"#,
            "process_cpu_seconds_total 1.5",
            "process_resident_memory_bytes 4096.0",
            "process_open_fds 9.0",
            "process_max_fds 1024.0",
        ])
    }

    /// /proc/self/stat's fields after the command name, which may hold spaces and ')'.
    @Test func processStatParsing() throws {
        // Fields 3...24: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime cutime cstime priority nice threads itrealvalue starttime vsize rss.
        let stat = "4242 (lv sd) x) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 3 0 1000 123456 300 rest"
        let sample = try #require(ProcessSample.parse(stat: stat, bootTime: 1_000, ticksPerSecond: 100, pageSize: 4096,
                                                      openFileDescriptors: 3, maxFileDescriptors: 64))
        #expect(sample.cpuSeconds == 4)
        #expect(sample.startTime == 1_010)
        #expect(sample.virtualBytes == 123_456)
        #expect(sample.residentBytes == 300 * 4096)
        #expect(ProcessSample.current() != nil)
    }

    /// Prometheus's own linter accepts the exposition (Debian's `prometheus` package).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool"), "needs promtool (Debian prometheus)"))
    func promtoolAcceptsTheOutput() throws {
        let run = try Command.run("/usr/bin/promtool", ["check", "metrics"], stdin: Self.text)
        #expect(run.status == 0, "promtool: \(run.stdout)\(run.stderr)")
    }
}
