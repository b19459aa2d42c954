import Control
import Core
import Wire

/// /proc/net/ip_vs and /proc/net/ip_vs_stats in the kernel's exact text, so tools that read
/// kernel IPVS through procfs (node_exporter's `ipvs` collector via prometheus/procfs,
/// `--path.procfs`) read lvsd unchanged. Formats: net/netfilter/ipvs/ip_vs_ctl.c,
/// `ip_vs_info_seq_show` and `ip_vs_stats_show`.
public enum ProcNetIPVS {
    /// `ip_vs`: addresses and ports as big-endian hex (`%08X:%04X`), IPv6 as `[%pI6]` (eight
    /// zero-padded groups), a firewall-mark service as `FWM` and its mark, then per real server
    /// the forwarding method, weight and connection counts.
    public static func services(_ snapshot: AdminSnapshot) -> String {
        var out = "IP Virtual Server version 1.2.1 (size=\(snapshot.tableSize))\n"
        out += "Prot LocalAddress:Port Scheduler Flags\n"
        out += "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n"
        for service in snapshot.services {
            let proto = service.key.proto == .tcp ? "TCP" : "UDP"
            let port = hex(UInt64(service.key.port), width: 4)
            // "ops " is the one-packet flag (-o); the kernel prints it on IPv4 and FWM lines only.
            let ops = service.onePacket ? "ops " : ""
            if service.key.isFirewallMark {
                // "FWM  %08X %s %s": the mark, the scheduler, the flag, and no space of its
                // own after it, unlike an address line.
                out += "FWM  \(hex(UInt64(service.key.fwmark), width: 8)) \(service.scheduler) \(ops)"
            } else if service.key.address.isIPv4 {
                // "%s %s ": the scheduler, the flag, then a space, so without -o two spaces
                // follow the scheduler's name.
                out += "\(proto)  \(hex(UInt64(service.key.address.ipv4), width: 8)):\(port) \(service.scheduler) \(ops) "
            } else {
                out += "\(proto)  [\(fullIPv6(service.key.address))]:\(port) \(service.scheduler) "
            }
            if let timeout = service.persistence {
                out += "persistent \(timeout) \(hex(UInt64(netmask(service)), width: 8))\n"
            } else {
                out += "\n"
            }
            for rs in service.realServers {
                let address = rs.address.isIPv4 ? hex(UInt64(rs.address.ipv4), width: 8) : "[\(fullIPv6(rs.address))]"
                out += "  -> \(address):\(hex(UInt64(rs.port), width: 4))      \(left(rs.method.description, 7)) "
                out += "\(left(String(rs.weight), 6)) \(left(String(rs.activeConnections), 10)) \(left(String(rs.inactiveConnections), 10))\n"
            }
        }
        return out
    }

    /// `ip_vs_stats`: the totals and their rates, each as upper-case hex (`%8LX`, `%16LX`).
    public static func stats(totals: AdminSnapshot.Counters, rates: TrafficRates) -> String {
        var out = "   Total Incoming Outgoing         Incoming         Outgoing\n"
        out += "   Conns  Packets  Packets            Bytes            Bytes\n"
        out += "\(right(totals.connections, 8)) \(right(totals.packetsIn, 8)) \(right(totals.packetsOut, 8)) "
        out += "\(right(totals.bytesIn, 16)) \(right(totals.bytesOut, 16))\n\n"
        out += " Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n"
        out += "\(right(rates.connectionsPerSecond, 8)) \(right(rates.packetsInPerSecond, 8)) \(right(rates.packetsOutPerSecond, 8)) "
        out += "\(right(rates.bytesInPerSecond, 16)) \(right(rates.bytesOutPerSecond, 16))\n"
        return out
    }

    /// The persistence netmask as IPVS keeps it for IPv4 (`svc->netmask`); IPv6 services keep
    /// a prefix length there, printed the same way.
    static func netmask(_ service: AdminSnapshot.Service) -> UInt32 {
        guard service.key.address.isIPv4 else { return UInt32(service.prefixLength) }
        let bits = max(0, min(32, service.prefixLength))
        return bits == 0 ? 0 : UInt32.max << UInt32(32 - bits)
    }

    /// `%pI6`: eight groups of four lower-case hex digits.
    static func fullIPv6(_ address: IPAddress) -> String {
        (0..<8).map { i -> String in
            let word = i < 4 ? address.high : address.low
            return hex(word >> (48 - 16 * UInt64(i % 4)) & 0xFFFF, width: 4, upper: false)
        }.joined(separator: ":")
    }

    static func hex(_ value: UInt64, width: Int, upper: Bool = true) -> String {
        let digits = String(value, radix: 16, uppercase: upper)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// `%-Nd` / `%-Ns`.
    static func left(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// `%NLX`.
    static func right(_ value: UInt64, _ width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return digits.count >= width ? digits : String(repeating: " ", count: width - digits.count) + digits
    }
}
