/// How a connection's packets reach its real server, bound once per connection
/// (IPVS binds `cp->packet_xmit` in `ip_vs_bind_xmit`, net/netfilter/ipvs/ip_vs_conn.c).
public enum ForwardingMethod: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `-g`, gatewaying: rewrite the destination MAC only; the real server owns the VIP on `lo`.
    case directRouting
    /// `-m`, masquerading: rewrite VIP:vport → RIP:rport in, RIP:rport → VIP:vport out.
    case nat
    /// `-i`, ipip: encapsulate in an outer IPv4 header addressed to the real server (RFC 2003).
    case tunnel
    /// `-b` (DPVS): rewrite both ends, CIP:cport → LIP:lport and VIP:vport → RIP:rport.
    case fullNAT

    /// Replies come back through the director (so the connection is also hashed by its reply tuple).
    public var repliesTraverseDirector: Bool { self == .nat || self == .fullNAT }

    /// ipvsadm's Forward column: `Route`, `Masq`, `Tunnel`, and DPVS's `FullNat`.
    public var description: String {
        switch self {
        case .directRouting: "Route"
        case .nat: "Masq"
        case .tunnel: "Tunnel"
        case .fullNAT: "FullNat"
        }
    }
}
