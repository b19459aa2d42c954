import Wire

/// Which way a segment travels relative to the connection, as IPVS's TCP state table sees it
/// (TCP_DIR_INPUT / TCP_DIR_OUTPUT / TCP_DIR_INPUT_ONLY, net/netfilter/ipvs/ip_vs_proto_tcp.c).
///
/// `.inputOnly` is for client segments of a connection whose replies do not pass through the
/// director: IPVS marks such connections IP_VS_CONN_F_NOOUTPUT (every method except NAT) and
/// reads client segments from the INPUT-ONLY block until a reply is seen, after which the
/// connection leaves that mode for good (`set_tcp_state`).
public enum TCPDirection: Int, Sendable, CaseIterable {
    case input = 0
    case output = 1
    case inputOnly = 2
}

/// The flag classes `tcp_state_idx` maps a segment to, in table-row order. RST is tested
/// first, then SYN, FIN and ACK, so a segment is classified by the first of those it carries.
public enum TCPFlagClass: Int, Sendable, CaseIterable {
    case syn = 0
    case fin = 1
    case ack = 2
    case rst = 3

    /// nil when the segment has none of RST/SYN/FIN/ACK. IPVS then makes no table lookup, but
    /// note what `set_tcp_state` does in that case: the new state defaults to CLOSE, so such a
    /// segment moves the connection to `.close` (see `TCPStateTable.next(_:_:flags:)`).
    @inlinable
    public init?(_ flags: TCPFlags) {
        if flags.contains(.rst) {
            self = .rst
        } else if flags.contains(.syn) {
            self = .syn
        } else if flags.contains(.fin) {
            self = .fin
        } else if flags.contains(.ack) {
            self = .ack
        } else {
            return nil
        }
    }
}

/// IPVS's TCP state transition table: the normal (non-secure_tcp) `tcp_states` of
/// net/netfilter/ipvs/ip_vs_proto_tcp.c, three direction blocks of four flag-class rows over
/// the eleven TCP states.
///
/// This is a state tracker for a middlebox that may see only one direction, not RFC 9293's
/// endpoint machine: e.g. an input SYN in ESTABLISHED stays ESTABLISHED, and a client FIN in
/// INPUT-ONLY mode goes to FIN_WAIT because the server's half is never seen.
///
/// Not covered: the secure_tcp table (`tcp_states_dos`), which IPVS selects only when the
/// secure_tcp defence sysctl is on.
public enum TCPStateTable {
    /// Number of TCP states (IP_VS_TCP_S_LAST); the UDP state is not part of the table.
    public static let stateCount = 11

    /// The next state for a segment of `flagClass` seen in `direction` while in `state` (a TCP
    /// state, not .udp).
    @inlinable
    public static func next(_ state: ConnectionState, _ direction: TCPDirection, _ flagClass: TCPFlagClass) -> ConnectionState {
        precondition(state != .udp, "the TCP state table has no UDP state")
        let row = direction.rawValue &* 4 &+ flagClass.rawValue
        return transitions[row &* stateCount &+ Int(state.rawValue)]
    }

    /// `set_tcp_state` for a segment's flags: the table's next state, or `.close` when the
    /// segment carries none of RST/SYN/FIN/ACK (IPVS initialises the new state to CLOSE and
    /// skips the lookup when `tcp_state_idx` returns -1).
    @inlinable
    public static func next(_ state: ConnectionState, _ direction: TCPDirection, flags: TCPFlags) -> ConnectionState {
        guard let flagClass = TCPFlagClass(flags) else { return .close }
        return next(state, direction, flagClass)
    }

    // Short names for the literal below, in `ConnectionState` (= IPVS enum) order.
    @usableFromInline static let NO = ConnectionState.none
    @usableFromInline static let ES = ConnectionState.established
    @usableFromInline static let SS = ConnectionState.synSent
    @usableFromInline static let SR = ConnectionState.synRecv
    @usableFromInline static let FW = ConnectionState.finWait
    @usableFromInline static let TW = ConnectionState.timeWait
    @usableFromInline static let CL = ConnectionState.close
    @usableFromInline static let CW = ConnectionState.closeWait
    @usableFromInline static let LA = ConnectionState.lastAck
    @usableFromInline static let LI = ConnectionState.listen
    @usableFromInline static let SA = ConnectionState.synAck

    /// Row-major: row = direction * 4 + flag class, column = current state.
    @usableFromInline static let transitions: [ConnectionState] = [
        // input                  NO  ES  SS  SR  FW  TW  CL  CW  LA  LI  SA
        /* syn */ SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR,
        /* fin */ CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW,
        /* ack */ ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES,
        /* rst */ CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR,
        // output                 NO  ES  SS  SR  FW  TW  CL  CW  LA  LI  SA
        /* syn */ SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR,
        /* fin */ TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW,
        /* ack */ ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES,
        /* rst */ CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL,
        // input-only             NO  ES  SS  SR  FW  TW  CL  CW  LA  LI  SA
        /* syn */ SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR,
        /* fin */ CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW,
        /* ack */ ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES,
        /* rst */ CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL,
    ]
}
