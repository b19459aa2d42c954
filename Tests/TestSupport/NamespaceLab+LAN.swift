import Foundation

extension NamespaceLab {
    /// One host on a `LAN`: its role (namespace), interface and address with prefix length.
    public struct Host: Sendable {
        public let role: String
        public let interface: String
        public let address: String
        public init(_ role: String, _ interface: String, _ address: String) {
            self.role = role
            self.interface = interface
            self.address = address
        }
    }

    /// One Ethernet segment: a namespace `sw` holding bridge `br0`, and each host in a
    /// namespace of its own joined to it by a veth pair (`p<role>` on the bridge's side).
    /// `ipv6` as in `addNamespace`. The suites with several directors or DR real servers
    /// share one subnet this way, as hosts on a switch do.
    public func buildLAN(_ hosts: [Host], ipv6: IPv6 = .off) throws {
        let sw = try addNamespace("sw", ipv6: ipv6)
        try addBridge("br0", in: sw)
        for host in hosts {
            let ns = try addNamespace(host.role, ipv6: ipv6)
            try addVeth(End(sw, "p\(host.role)", bridge: "br0"), End(ns, host.interface, host.address))
        }
    }

    /// An LVS-DR real server's VIP: on `lo` (/32), never answered for on the wire
    /// (`arp_ignore=1`, `arp_announce=2` on all and on `interface`), as the LVS HOWTO sets it.
    public func addDRVirtualAddress(_ vip: String, in ns: String, interface: String) throws {
        try Command.ip(["-n", ns, "address", "add", "\(vip)/32", "dev", "lo"])
        try sysctl(ns, "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
                   "net.ipv4.conf.\(interface).arp_ignore=1", "net.ipv4.conf.\(interface).arp_announce=2")
    }
}
