import Wire

/// A virtual service's identity: protocol + VIP + vport (ipvsadm `-t VIP:port` / `-u VIP:port`),
/// or a firewall mark (`-f MARK`, `-f MARK -6`).
///
/// A firewall-mark service has no address of its own: its key holds the mark, the family's
/// zero address (0.0.0.0 or ::) and port 0, as IPVS keeps `svc->fwmark` with an empty
/// address (ip_vs_ctl.c). Which traffic carries the mark is said by the configuration's
/// `FirewallMarkRule`s, since lvsd cannot read the kernel's skb mark on AF_PACKET.
public struct ServiceKey: Hashable, Sendable, CustomStringConvertible {
    public var proto: TransportProtocol
    public var address: IPAddress
    public var port: UInt16
    /// The firewall mark of a `-f` service; 0 for an address service.
    public var fwmark: UInt32

    public init(_ proto: TransportProtocol, _ address: IPAddress, _ port: UInt16) {
        self.proto = proto
        self.address = address
        self.port = port
        self.fwmark = 0
    }

    /// The firewall-mark service `mark` (1 or more) of one address family.
    public init(fwmark mark: UInt32, ipv6: Bool = false) {
        proto = .tcp
        address = ipv6 ? .zero : IPAddress(ipv4: 0)
        port = 0
        fwmark = mark
    }

    public var isFirewallMark: Bool { fwmark != 0 }
    public var isIPv6: Bool { !address.isIPv4 }

    /// The address a firewall-mark service's persistence templates carry as their virtual
    /// address: the mark in the address's first 32 bits, as IPVS's fwmark template
    /// `<IPPROTO_IP, caddr, 0, fwmark, 0>` fills `nf_inet_addr.ip` (ip_vs_sched_persist), so
    /// `-Lc` shows `0.0.0.1` for mark 1 and templates synced with a kernel director match.
    /// For IPv6 that is `0:1::`, which no VIP and no IPv4-mapped address can be.
    public var markAddress: IPAddress { Self.markAddress(fwmark, ipv4: address.isIPv4) }

    /// `markAddress` of the mark service `mark` of one family.
    @inlinable
    public static func markAddress(_ mark: UInt32, ipv4: Bool) -> IPAddress {
        ipv4 ? IPAddress(ipv4: mark) : IPAddress(high: UInt64(mark) << 32, low: 0)
    }

    public var endpoint: Endpoint { Endpoint(address, port) }
    public var description: String {
        isFirewallMark ? "FWM \(fwmark)\(isIPv6 ? " IPv6" : "")" : "\(proto) \(endpoint)"
    }
}
