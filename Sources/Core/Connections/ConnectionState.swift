/// IPVS's TCP connection states (`enum ip_vs_tcp_states`, include/net/ip_vs.h), in its order,
/// plus UDP's single state. The raw values index the timeout and transition tables.
public enum ConnectionState: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case none = 0
    case established
    case synSent
    case synRecv
    case finWait
    case timeWait
    case close
    case closeWait
    case lastAck
    case listen
    case synAck
    /// UDP's only state (IP_VS_UDP_S_NORMAL).
    case udp

    /// The TCP states, in table order.
    public static let tcpStates: [ConnectionState] = [
        .none, .established, .synSent, .synRecv, .finWait, .timeWait, .close, .closeWait, .lastAck, .listen, .synAck,
    ]

    /// The names `ipvsadm -L -c` prints (tcp_state_name_table, udp_state_name_table).
    public var description: String {
        switch self {
        case .none: "NONE"
        case .established: "ESTABLISHED"
        case .synSent: "SYN_SENT"
        case .synRecv: "SYN_RECV"
        case .finWait: "FIN_WAIT"
        case .timeWait: "TIME_WAIT"
        case .close: "CLOSE"
        case .closeWait: "CLOSE_WAIT"
        case .lastAck: "LAST_ACK"
        case .listen: "LISTEN"
        case .synAck: "SYNACK"
        case .udp: "UDP"
        }
    }
}

/// Per-state timeouts in seconds (net/netfilter/ipvs/ip_vs_proto_tcp.c `tcp_timeouts`,
/// ip_vs_proto_udp.c `udp_timeouts`), changeable like `ipvsadm --set tcp tcpfin udp`.
public struct TimeoutTable: Hashable, Sendable {
    /// Indexed by `ConnectionState.rawValue` (all twelve states; `.udp` is the UDP timeout).
    public private(set) var seconds: [UInt32]

    public static let ipvsDefaults = TimeoutTable(seconds: [
        2,        // NONE
        15 * 60,  // ESTABLISHED
        2 * 60,   // SYN_SENT
        60,       // SYN_RECV
        2 * 60,   // FIN_WAIT
        2 * 60,   // TIME_WAIT
        10,       // CLOSE
        60,       // CLOSE_WAIT
        30,       // LAST_ACK
        2 * 60,   // LISTEN
        2 * 60,   // SYNACK
        5 * 60,   // UDP
    ])

    public subscript(state: ConnectionState) -> UInt32 {
        get { seconds[Int(state.rawValue)] }
        set { seconds[Int(state.rawValue)] = newValue }
    }

    /// `ipvsadm --set tcp tcpfin udp` (ip_vs_set_timeout): ESTABLISHED, FIN_WAIT and UDP.
    /// A zero leaves that value unchanged, as ipvsadm does.
    public mutating func set(tcp: UInt32, tcpFin: UInt32, udp: UInt32) {
        if tcp != 0 { self[.established] = tcp }
        if tcpFin != 0 { self[.finWait] = tcpFin }
        if udp != 0 { self[.udp] = udp }
    }

    /// The triple `ipvsadm -L --timeout` prints.
    public var tcpTcpFinUdp: (tcp: UInt32, tcpFin: UInt32, udp: UInt32) {
        (self[.established], self[.finWait], self[.udp])
    }
}
