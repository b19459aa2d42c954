/// The settings a real server needs, as commands (so `--dry-run` can print exactly what a
/// run would do). Pure; `RealServerCommand` runs them.
///
/// DR and TUN (LVS-HOWTO, "the ARP problem"): the real server must accept packets for the
/// VIP, so the VIP goes on `lo` as a host address; it must never answer ARP for it
/// (`arp_ignore=1`: answer only for addresses on the receiving interface) nor use it as the
/// source of its own ARP requests (`arp_announce=2`), or clients would bypass the director.
/// TUN also makes reverse-path filtering loose on the TUN device, and only there: the
/// decapsulated packet comes from the client but arrives on the TUN device, not the interface
/// the route to the client uses, which strict filtering (1) drops and loose filtering (2, any
/// route back) accepts. The kernel applies the larger of `all` and the device's value, so the
/// device's 2 holds whatever `all` says, and every other interface keeps its own. Loose
/// filtering refuses everything on a device without an address (`__fib_validate_source`), so
/// the VIP goes on the TUN device too. IPv6 has no reverse-path filter of its own, so an
/// IPv6 VIP needs only the device up.
struct RealServerPlan: Equatable {
    enum Mode: String, CaseIterable { case dr, tun }

    var vip: String
    var mode: Mode
    /// The interfaces facing the director (every non-loopback interface by default).
    var interfaces: [String]
    /// The TUN device that hands decapsulated packets to the kernel.
    var tunnelDevice: String = "lvstun0"
    /// The directors' addresses: a tunnel from any other outer source is not decapsulated
    /// (empty: any source, with a warning).
    var directors: [String] = []
    /// The UDP port GUE arrives on (the director's `--tun-port`); 0: no GUE.
    var guePort: UInt16 = 0

    var isIPv6: Bool { vip.contains(":") }

    var commands: [[String]] {
        var list: [[String]] = []
        if isIPv6 {
            // IPv6 has no arp_ignore: neighbour discovery answers only for addresses on the
            // receiving interface, and the VIP is on lo.
            list.append(["ip", "-6", "address", "replace", "\(vip)/128", "dev", "lo", "nodad"])
        } else {
            list.append(["ip", "address", "replace", "\(vip)/32", "dev", "lo"])
            var sysctls = ["net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"]
            for name in interfaces {
                sysctls += ["net.ipv4.conf.\(name).arp_ignore=1", "net.ipv4.conf.\(name).arp_announce=2"]
            }
            list.append(["sysctl", "-qw"] + sysctls)
        }
        return list + tunnelCommands
    }

    /// TUN: what runs once the helper has created the device itself (TUNSETIFF).
    var tunnelCommands: [[String]] {
        guard mode == .tun else { return [] }
        if isIPv6 { return [["ip", "link", "set", tunnelDevice, "up"]] }
        return [
            ["ip", "link", "set", tunnelDevice, "up"],
            ["ip", "address", "replace", "\(vip)/32", "dev", tunnelDevice],
            ["sysctl", "-qw", "net.ipv4.conf.\(tunnelDevice).rp_filter=2"],
        ]
    }

    /// What a dry run prints for the decapsulation step, which is not a shell command.
    var tunnelDescription: String {
        let from = directors.isEmpty ? "from any source (no --director given)" : "from \(directors.joined(separator: ", "))"
        let gue = guePort == 0 ? "" : ", GUE on UDP port \(guePort)"
        return "# then: open TUN device \(tunnelDevice) (IFF_TUN|IFF_NO_PI), read IPIP, IPv6-in-IP and GRE\(gue) frames (IPv4 or IPv6 outside) addressed to this host \(from) on \(interfaces.joined(separator: ", ")) with AF_PACKET, write each inner packet to \(tunnelDevice), until SIGTERM"
    }
}
