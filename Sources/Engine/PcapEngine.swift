import Core
import PacketIO
import Wire

/// The `pcap` engine's pieces: one libpcap live handle per interface, and the BPF filter that
/// keeps everything but the director's traffic in the kernel.
///
/// The worker loop, batching, ARP/neighbour handling, host settings and counters are
/// `LiveDirector`'s, shared with the AF_PACKET engine; only the frame source (nonblocking
/// `pcap_next_ex` after `poll` on the handle's selectable fd) and the sink (`pcap_inject`,
/// one frame per call, no ring to kick) differ.
///
/// Checksums: libpcap does not pass on `TP_STATUS_CSUMNOTREADY`, and on veth the sending stack
/// leaves the TCP/UDP checksum partial (pseudo-header sum only) for offload, so a frame can
/// arrive with a checksum that is "wrong" on the wire and that no incremental update fixes.
/// The pcap engine therefore marks every frame `checksumPartial`: Core then recomputes the
/// full L4 checksum of every frame it rewrites and forwards (one pass over the payload, as the
/// AF_PACKET engine already pays for CSUMNOTREADY frames on veth). The price: a frame that
/// arrived with a genuinely corrupt checksum leaves with a valid one.
final class PcapPort {
    let capture: PcapLiveCapture
    /// Index of this interface in the director's configuration.
    let interface: Int
    /// The interface's MTU: a captured frame with a longer IP datagram is a GSO/GRO
    /// super-frame, cut in user space before `pcap_inject` (which cannot send it whole).
    /// Follows the snapshot, like a link's.
    var mtu: Int
    init(capture: PcapLiveCapture, interface: Int, mtu: Int) {
        self.capture = capture
        self.interface = interface
        self.mtu = mtu
    }
}

enum PcapFilter {
    /// `arp or icmp or icmp6 or dst host VIP/LIP ... or src host RIP ...`: ARP and ICMP for
    /// the neighbour tables and answers, VIP and LIP traffic (client requests, FullNAT
    /// replies), and frames from real servers (NAT replies, which carry the client's address).
    ///
    /// The same terms again behind one and behind two 802.1Q/802.1ad tags, since Core forwards
    /// tagged frames (up to two tags, tags kept) and a plain `dst host` only looks at an
    /// untagged frame's offsets. In libpcap's grammar each `vlan` shifts the offsets for the
    /// rest of the expression, not just its own parentheses (pcap-filter(7), "vlan"), so the
    /// tagged alternatives are nested last: `T or (vlan and (T or (vlan and T)))`. Where the
    /// kernel has already taken the outer tag off into the packet's metadata (VLAN
    /// acceleration), libpcap's Linux BPF extensions match the first `vlan` on that metadata
    /// and the untagged offsets, so both shapes reach the director.
    static func expression(for config: DirectorConfig) -> String {
        var destinations: [IPAddress] = []
        var sources: [IPAddress] = []
        // VIPs (a firewall-mark service's are its `fwmark` lines' hosts) and local addresses.
        for address in config.ownedAddresses where !destinations.contains(address) { destinations.append(address) }
        for service in config.services {
            for rs in service.realServers where !sources.contains(rs.address) { sources.append(rs.address) }
        }
        var terms = ["arp", "icmp", "icmp6"]
        terms += destinations.map { "dst host \($0)" }
        let marks = Set(config.services.lazy.filter(\.key.isFirewallMark).map(\.key.fwmark))
        for rule in config.firewallMarks where marks.contains(rule.mark) && !rule.isHost {
            terms.append("dst net \(rule.address.masked(prefixLength: rule.prefixLength))/\(rule.prefixLength)")
        }
        terms += sources.map { "src host \($0)" }
        let untagged = terms.joined(separator: " or ")
        return "\(untagged) or (vlan and (\(untagged) or (vlan and (\(untagged)))))"
    }
}
