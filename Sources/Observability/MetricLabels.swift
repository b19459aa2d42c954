import Control
import Prometheus
import Core
import Wire

/// The label sets lvsd's metric families share. Services and real servers carry node_exporter's
/// `ipvs` collector labels (collector/ipvs_linux.go: local_address, local_port, remote_address,
/// remote_port, proto, local_mark), so a query can join lvsd_ and node_ipvs_ series on them.
enum MetricLabels {
    /// node_exporter prints the protocol as /proc/net/ip_vs does: TCP, UDP, and FWM for a
    /// firewall-mark service (SCTP unsupported here).
    static func proto(_ key: ServiceKey) -> String { key.isFirewallMark ? "FWM" : key.proto == .tcp ? "TCP" : "UDP" }

    /// An address as Go's `net.IP.String()` prints it (IPv6 compressed, RFC 5952).
    static func address(_ address: IPAddress) -> String { address.description }

    /// The service's half of the labels as node_exporter reads a /proc/net/ip_vs service line
    /// (prometheus/procfs ipvs.go): an address service has its address and port and an empty
    /// mark; an `FWM` line has no address (node_exporter prints ""), port 0 and the mark as
    /// the line's eight upper-case hex digits.
    static func local(_ key: ServiceKey) -> [(String, String)] {
        if key.isFirewallMark {
            return [("local_address", ""), ("local_port", "0")]
        }
        return [("local_address", address(key.address)), ("local_port", String(key.port))]
    }

    static func mark(_ key: ServiceKey) -> String {
        key.isFirewallMark ? ProcNetIPVS.hex(UInt64(key.fwmark), width: 8) : ""
    }

    static func service(_ key: ServiceKey) -> [(String, String)] {
        local(key) + [("proto", proto(key)), ("local_mark", mark(key))]
    }

    static func realServer(_ key: ServiceKey, _ rs: AdminSnapshot.RealServer) -> [(String, String)] {
        local(key) + [("remote_address", address(rs.address)), ("remote_port", String(rs.port)),
                      ("proto", proto(key)), ("local_mark", mark(key))]
    }

    static func realServer(_ key: ServiceKey, _ endpoint: Endpoint) -> [(String, String)] {
        local(key) + [("remote_address", address(endpoint.address)), ("remote_port", String(endpoint.port)),
                      ("proto", proto(key)), ("local_mark", mark(key))]
    }
}

/// Prometheus counters are signed 64-bit in the client library; a counter past Int64.max
/// (never in practice: 292 years at 1 Gpps) is clamped, not trapped.
extension Int64 {
    init(counter value: UInt64) { self.init(clamping: value) }
}

extension PrometheusCollectorRegistry {
    /// A counter by its full name (swift-prometheus builds names from descriptor parts; lvsd's
    /// names are fixed by node_exporter and the keepalived exporters, so they are given whole).
    func counter(name: String, labels: [(String, String)] = [], help: String) -> Counter {
        let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        return labels.isEmpty ? makeCounter(descriptor: descriptor) : makeCounter(descriptor: descriptor, labels: labels)
    }

    func gauge(name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        return labels.isEmpty ? makeGauge(descriptor: descriptor) : makeGauge(descriptor: descriptor, labels: labels)
    }
}
