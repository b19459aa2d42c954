import Control
import Core
import Prometheus

/// lvsd's state in the Prometheus text format (version 0.0.4): node_exporter's `ipvs` families
/// under their exact names, then lvsd's own (`lvsd_`), then the process.
///
/// The counters live in the workers; each scrape copies one `DirectorObservation` into a new
/// registry (swift-prometheus owns names, escaping and the text format) and emits it. No
/// state survives between scrapes, so a `lvsadm -Z` shows up as a counter reset, as it does
/// for node_exporter over kernel IPVS.
public enum MetricsExposition {
    /// The `Content-Type` Prometheus expects for this format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ observation: DirectorObservation, build: BuildInfo = BuildInfo(),
                              process: ProcessSample? = nil) -> String {
        let registry = PrometheusCollectorRegistry()
        NodeIPVSFamilies.register(observation, in: registry)
        DirectorFamilies.register(observation, in: registry)
        HealthFamilies.register(observation.health, in: registry)
        VRRPFamilies.register(observation.vrrp, in: registry)
        build.register(in: registry)
        process?.register(in: registry)
        return registry.emitToString()
    }
}

/// The five traffic counters every level has (`struct ip_vs_kstats`), with the names
/// node_exporter gives their totals.
enum TrafficCounter: CaseIterable {
    case connections, incomingPackets, outgoingPackets, incomingBytes, outgoingBytes

    /// The metric name's middle: node_ipvs_<this>_total, lvsd_service_<this>_total, ...
    var name: String {
        switch self {
        case .connections: "connections"
        case .incomingPackets: "incoming_packets"
        case .outgoingPackets: "outgoing_packets"
        case .incomingBytes: "incoming_bytes"
        case .outgoingBytes: "outgoing_bytes"
        }
    }

    var help: String {
        switch self {
        case .connections: "connections made"
        case .incomingPackets: "packets from clients"
        case .outgoingPackets: "packets from real servers"
        case .incomingBytes: "bytes from clients"
        case .outgoingBytes: "bytes from real servers"
        }
    }

    func value(_ c: AdminSnapshot.Counters) -> UInt64 {
        switch self {
        case .connections: c.connections
        case .incomingPackets: c.packetsIn
        case .outgoingPackets: c.packetsOut
        case .incomingBytes: c.bytesIn
        case .outgoingBytes: c.bytesOut
        }
    }

    func rate(_ r: TrafficRates) -> UInt64 {
        switch self {
        case .connections: r.connectionsPerSecond
        case .incomingPackets: r.packetsInPerSecond
        case .outgoingPackets: r.packetsOutPerSecond
        case .incomingBytes: r.bytesInPerSecond
        case .outgoingBytes: r.bytesOutPerSecond
        }
    }
}

/// node_exporter's collector/ipvs_linux.go, name for name: the totals of /proc/net/ip_vs_stats
/// as counters without labels, and each real server of /proc/net/ip_vs as gauges labelled
/// with its service.
enum NodeIPVSFamilies {
    static func register(_ o: DirectorObservation, in registry: PrometheusCollectorRegistry) {
        let totals = o.totals
        for counter in TrafficCounter.allCases {
            registry.counter(name: "node_ipvs_\(counter.name)_total", help: "The total number of \(counter.help).")
                .increment(by: Int64(counter: counter.value(totals)))
        }
        for service in o.snapshot.services {
            for rs in service.realServers {
                let labels = MetricLabels.realServer(service.key, rs)
                registry.gauge(name: "node_ipvs_backend_connections_active", labels: labels,
                                   help: "The current active connections by local and remote address.")
                    .set(Int64(rs.activeConnections))
                registry.gauge(name: "node_ipvs_backend_connections_inactive", labels: labels,
                                   help: "The current inactive connections by local and remote address.")
                    .set(Int64(rs.inactiveConnections))
                registry.gauge(name: "node_ipvs_backend_weight", labels: labels,
                                   help: "The current backend weight by local and remote address.")
                    .set(Int64(rs.weight))
            }
        }
    }
}

/// lvsd's own families: services, real servers, FullNAT local addresses, the connection
/// table, every drop and pass reason, and each worker's load.
enum DirectorFamilies {
    static func register(_ o: DirectorObservation, in registry: PrometheusCollectorRegistry) {
        for service in o.snapshot.services {
            let labels = MetricLabels.service(service.key)
            for counter in TrafficCounter.allCases {
                registry.counter(name: "lvsd_service_\(counter.name)_total", labels: labels,
                                     help: "The virtual service's \(counter.help) (since the last lvsadm -Z).")
                    .increment(by: Int64(counter: counter.value(service.stats)))
                registry.gauge(name: "lvsd_service_\(counter.name)_per_second", labels: labels,
                                   help: "The virtual service's \(counter.help) per second (IPVS's 2 s estimator).")
                    .set(Int64(counter: counter.rate(service.rates)))
            }
            for rs in service.realServers {
                let labels = MetricLabels.realServer(service.key, rs)
                for counter in TrafficCounter.allCases {
                    registry.counter(name: "lvsd_real_server_\(counter.name)_total", labels: labels,
                                         help: "The real server's \(counter.help) (since the last lvsadm -Z).")
                        .increment(by: Int64(counter: counter.value(rs.stats)))
                    registry.gauge(name: "lvsd_real_server_\(counter.name)_per_second", labels: labels,
                                       help: "The real server's \(counter.help) per second (IPVS's 2 s estimator).")
                        .set(Int64(counter: counter.rate(rs.rates)))
                }
                registry.gauge(name: "lvsd_real_server_active_connections", labels: labels,
                                   help: "Connections to the real server in an established state (ipvsadm ActiveConn).")
                    .set(Int64(rs.activeConnections))
                registry.gauge(name: "lvsd_real_server_inactive_connections", labels: labels,
                                   help: "Connections to the real server in any other state (ipvsadm InActConn).")
                    .set(Int64(rs.inactiveConnections))
                registry.gauge(name: "lvsd_real_server_persistent_connections", labels: labels,
                                   help: "Persistence templates pointing at the real server (ipvsadm PersistConn).")
                    .set(Int64(rs.persistentConnections))
                registry.gauge(name: "lvsd_real_server_weight", labels: labels,
                                   help: "The weight the real server runs with (0: quiesced).")
                    .set(Int64(rs.weight))
            }
            for local in service.localAddresses {
                let labels = labels + [("snat_address", MetricLabels.address(local.address))]
                registry.gauge(name: "lvsd_fullnat_local_ports_in_use", labels: labels,
                                   help: "FullNAT local ports of this local address held by connections.")
                    .set(Int64(local.connections))
            }
        }
        registry.gauge(name: "lvsd_connection_table_entries", help: "Connections and templates in every worker's table.")
            .set(Int64(o.tableEntries))
        registry.gauge(name: "lvsd_connection_table_capacity", help: "Entries every worker's table can hold (--connections).")
            .set(Int64(o.tableCapacity))
        for reason in DropReason.allCases {
            registry.counter(name: "lvsd_frames_dropped_total", labels: [("reason", reason.description)],
                                 help: "Frames the director dropped, by reason.")
                .increment(by: Int64(counter: o.dropped(reason)))
        }
        for reason in PassReason.allCases {
            registry.counter(name: "lvsd_frames_passed_total", labels: [("reason", reason.description)],
                                 help: "Frames handed to the host's own stack, by reason.")
                .increment(by: Int64(counter: o.passed(reason)))
        }
        for worker in o.workers {
            let labels = [("worker", String(worker.index))]
            let frames: [(String, UInt64)] = [
                ("received", worker.framesReceived), ("forwarded", worker.framesForwarded),
                ("answered", worker.framesAnswered), ("passed", worker.framesPassed), ("dropped", worker.framesDropped),
            ]
            for (verdict, value) in frames {
                registry.counter(name: "lvsd_worker_frames_total", labels: labels + [("verdict", verdict)],
                                     help: "Frames each worker read (received) and what it did with them.")
                    .increment(by: Int64(counter: value))
            }
            for event in worker.engine {
                registry.counter(name: "lvsd_engine_events_total", labels: labels + [("event", event.name)],
                                 help: "The packet engine's own counters per worker: ring and transmit losses (rx-ring-drops, tx-ring-full, too-large, ...) and neighbour traffic.")
                    .increment(by: Int64(counter: event.count))
            }
            registry.gauge(name: "lvsd_worker_connection_table_entries", labels: labels,
                               help: "Connections and templates in the worker's own table.")
                .set(Int64(worker.tableEntries))
        }
    }
}

/// The health checkers: each checked real server up or down, and each checker's last result.
enum HealthFamilies {
    static func register(_ health: [RealServerHealthObservation], in registry: PrometheusCollectorRegistry) {
        for rs in health {
            let labels = MetricLabels.realServer(rs.service, rs.endpoint)
            registry.gauge(name: "lvsd_real_server_up", labels: labels,
                               help: "1 when the real server's checkers find it alive, 0 when they took it out.")
                .set(Int64(rs.alive ? 1 : 0))
            registry.counter(name: "lvsd_real_server_transitions_total", labels: labels,
                             help: "Times the checkers took the real server out or put it back since lvsd started.")
                .increment(by: Int64(counter: rs.transitions))
            for checker in rs.checkers {
                let labels = labels + [("checker", checker.kind)]
                registry.gauge(name: "lvsd_health_checker_up", labels: labels,
                                   help: "1 when the checker's last verdict was up.")
                    .set(Int64(checker.up ? 1 : 0))
                if let seconds = checker.lastDuration {
                    registry.gauge(name: "lvsd_health_checker_duration_seconds", labels: labels,
                                   help: "How long the checker's last check took, from its start to its verdict (a timeout counts in full).")
                        .set(seconds)
                }
            }
        }
    }
}

/// VRRP instances under the names the keepalived exporters use (keepalived_vrrp_state with
/// 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT; keepalived_become_master_total, ...), prefixed lvsd_vrrp_.
enum VRRPFamilies {
    static let stateValues = ["INIT": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3, "STOP": 4]

    /// keepalived's vrrp_stats counter (lvsd's `VRRPCounter` raw value) → the exporter's metric.
    /// Refusals keepalived does not count separately go under `lvsd_vrrp_advert_errors_total`.
    static let counterNames: [(counter: String, metric: String)] = [
        ("adverts_received", "lvsd_vrrp_advertisements_received_total"),
        ("adverts_sent", "lvsd_vrrp_advertisements_sent_total"),
        ("became_master", "lvsd_vrrp_become_master_total"),
        ("released_master", "lvsd_vrrp_release_master_total"),
        ("priority_zero_received", "lvsd_vrrp_priority_zero_received_total"),
        ("priority_zero_sent", "lvsd_vrrp_priority_zero_sent_total"),
        ("bad_length", "lvsd_vrrp_packet_length_errors_total"),
        ("interval_mismatch", "lvsd_vrrp_advertisements_interval_errors_total"),
        ("ttl_error", "lvsd_vrrp_ip_ttl_errors_total"),
        ("bad_type", "lvsd_vrrp_invalid_type_received_total"),
        ("address_list_mismatch", "lvsd_vrrp_address_list_errors_total"),
        ("auth_type_mismatch", "lvsd_vrrp_authentication_mismatch_total"),
        ("auth_failure", "lvsd_vrrp_authentication_failure_total"),
    ]
    static let otherErrors = ["truncated", "bad_version", "bad_checksum", "address_count_mismatch", "wrong_version"]

    static func register(_ instances: [VRRPObservation], in registry: PrometheusCollectorRegistry) {
        for instance in instances {
            let labels = [("iname", instance.name)]
            registry.gauge(name: "lvsd_vrrp_state", labels: labels,
                               help: "The instance's state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT, 4 STOP.")
                .set(Int64(stateValues[instance.state] ?? 0))
            registry.gauge(name: "lvsd_vrrp_priority", labels: labels, help: "The instance's configured priority.")
                .set(Int64(instance.priority))
            registry.gauge(name: "lvsd_vrrp_effective_priority", labels: labels,
                               help: "The priority it advertises after tracking.")
                .set(Int64(instance.effectivePriority))
            for (counter, metric) in counterNames {
                registry.counter(name: metric, labels: labels, help: "keepalived's vrrp_stats \(counter).")
                    .increment(by: Int64(counter: instance.counters[counter] ?? 0))
            }
            for reason in otherErrors {
                registry.counter(name: "lvsd_vrrp_advert_errors_total", labels: labels + [("reason", reason)],
                                     help: "Adverts refused for reasons keepalived's exporters have no own name for.")
                    .increment(by: Int64(counter: instance.counters[reason] ?? 0))
            }
        }
    }
}

/// `lvsd_build_info{version, swift}` = 1, as Prometheus's own `*_build_info`.
public struct BuildInfo: Sendable, Hashable {
    public var version: String
    public var swift: String
    public var engine: String
    public var workers: Int

    public init(version: String = "dev", swift: String = BuildInfo.compilerVersion, engine: String = "af_packet", workers: Int = 1) {
        self.version = version
        self.swift = swift
        self.engine = engine
        self.workers = workers
    }

    public static var compilerVersion: String {
        #if compiler(>=6.3)
        "6.3"
        #elseif compiler(>=6.2)
        "6.2"
        #else
        "6.1"
        #endif
    }

    func register(in registry: PrometheusCollectorRegistry) {
        registry.gauge(name: "lvsd_build_info",
                           labels: [("version", version), ("swift", swift), ("engine", engine), ("workers", String(workers))],
                           help: "Always 1; the labels say which lvsd runs and how.")
            .set(Int64(1))
    }
}
