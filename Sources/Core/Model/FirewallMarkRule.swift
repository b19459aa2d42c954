import Wire

/// Which traffic carries a firewall mark: lvsd's stand-in for the `iptables -t mangle ... -j
/// MARK --set-mark N` rule that feeds a kernel IPVS `-f N` service.
///
/// AF_PACKET hands lvsd frames before netfilter has marked them (the skb mark is not in the
/// frame), so the operator states the classifier next to the services, in the rules file
/// (`fwmark N tcp|udp VIP[/prefix] PORTS`) or keepalived.conf's `lvsd_director` block.
/// A packet to `address`/`prefixLength` with protocol `proto` and a destination port in one
/// of `ports` carries `mark`. Rules are tried in configuration order; the first that matches
/// gives the mark (Docs/rules-file.md).
public struct FirewallMarkRule: Hashable, Sendable, CustomStringConvertible {
    public var mark: UInt32
    public var proto: TransportProtocol
    /// The destination network; host bits beyond `prefixLength` are ignored.
    public var address: IPAddress
    /// Within the family: 0...32 for IPv4, 0...128 for IPv6.
    public var prefixLength: Int
    /// Destination port ranges; empty means every port.
    public var ports: [ClosedRange<UInt16>]

    public init(mark: UInt32, proto: TransportProtocol, address: IPAddress, prefixLength: Int? = nil,
                ports: [ClosedRange<UInt16>] = []) {
        self.mark = mark
        self.proto = proto
        self.address = address
        self.prefixLength = prefixLength ?? (address.isIPv4 ? 32 : 128)
        self.ports = ports
    }

    /// Whether the rule names one address (a VIP the director answers ARP/ND for) rather than a network.
    public var isHost: Bool { prefixLength == (address.isIPv4 ? 32 : 128) }

    /// The rule as a rules-file line: `fwmark 1 tcp 198.18.0.100 80,443`.
    public var description: String {
        let net = isHost ? "\(address)" : "\(address.masked(prefixLength: prefixLength))/\(prefixLength)"
        let portText = ports.isEmpty ? "0-65535"
            : ports.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
                .joined(separator: ",")
        return "fwmark \(mark) \(proto == .tcp ? "tcp" : "udp") \(net) \(portText)"
    }
}
