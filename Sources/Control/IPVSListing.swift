import Core
import Wire

/// `ipvsadm -L -n` for a running director: the header, one line per virtual service and
/// one per real server with its live weight and connection counters, in ipvsadm 1.31's
/// layout (ipvsadm.c `print_title`, `print_service_entry`; the real-server rows are
/// `"  -> %-28s %-7s %-6d %-10u %-10u"`). `lvsadm` (the control-plane issue) will print
/// the same rows; byte-exact golden tests for every flag belong there.
public enum IPVSListing {
    public static func render(_ director: Director) -> String {
        var lines = [
            "IP Virtual Server version 1.2.1 (size=\(director.table.capacity))",
            "Prot LocalAddress:Port Scheduler Flags",
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
        ]
        for service in director.config.services {
            var line = "\(service.key.proto)  \(service.key.endpoint) \(service.scheduler.rawValue)"
            if let p = service.persistence {
                line += " persistent \(p.timeout)"
                let full = service.key.address.isIPv4 ? 32 : 128
                if p.prefixLength < full {
                    line += service.key.address.isIPv4 ? " mask \(dottedMask(p.prefixLength))" : " mask \(p.prefixLength)"
                }
            }
            lines.append(line)
            for rs in director.realServers(ofService: service.key) where !rs.isRemoved {
                let endpoint = Endpoint(rs.address, rs.port).description
                lines.append("  -> " + pad(endpoint, 28) + " " + pad(rs.method.description, 7) + " "
                             + pad(String(rs.weight), 6) + " " + pad(String(rs.activeConnections), 10) + " "
                             + pad(String(rs.inactiveConnections), 10))
            }
        }
        return lines.joined(separator: "\n")
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func dottedMask(_ prefix: Int) -> String {
        let mask: UInt32 = prefix <= 0 ? 0 : ~(UInt32.max >> UInt32(min(prefix, 32)))
        return "\(mask >> 24).\(mask >> 16 & 0xFF).\(mask >> 8 & 0xFF).\(mask & 0xFF)"
    }
}
