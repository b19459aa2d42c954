/// IPVS's behaviour switches that are sysctls in the kernel (Documentation/networking/ipvs-sysctl.rst),
/// as lvsd settings. Rules file: `tunable NAME VALUE`; keepalived.conf: the `lvsd_director` block.
public struct IPVSTunables: Hashable, Sendable {
    /// `expire_nodest_conn`: a connection whose real server left the configuration is expired by
    /// its next packet, which is then treated as new (a SYN is scheduled afresh). Off: the
    /// packet is dropped and the connection kept until its timeout, as IPVS's default 0 does.
    /// lvsd's default is on, the behaviour it has always had (Docs/rules-file.md says why).
    public var expireNodestConn: Bool
    /// `expire_quiescent_template`: a persistence template whose server has weight 0 is
    /// expired when next used, so the client is scheduled afresh. IPVS's default: off.
    public var expireQuiescentTemplate: Bool
    /// `conn_reuse_mode`: 0 never reschedules; any other value lets a SYN that reuses the tuple
    /// of a TIME_WAIT connection no template controls be scheduled afresh; bit 2 also does so
    /// for FIN_WAIT connections whose replies bypass the director (DR, TUN). IPVS's default: 1
    /// (`is_new_conn_expected`, ip_vs_core.c).
    public var connReuseMode: UInt8
    /// `sloppy_tcp`: a TCP segment without SYN (and without RST) may start a connection, so
    /// connections established before a restart without sync continue. IPVS's default: off
    /// (`tcp_conn_schedule`, ip_vs_proto_tcp.c).
    public var sloppyTCP: Bool
    /// ip_vs_ftp's `ports=`: the virtual ports whose NAT and FullNAT TCP services get the FTP
    /// helper (Docs/ftp.md). Default 21. Rules file: `tunable ftp_ports 21,2121` (`0`: none).
    public var ftpPorts: FTPPorts = .standard

    public init(expireNodestConn: Bool = true, expireQuiescentTemplate: Bool = false, connReuseMode: UInt8 = 1,
                sloppyTCP: Bool = false) {
        self.expireNodestConn = expireNodestConn
        self.expireQuiescentTemplate = expireQuiescentTemplate
        self.connReuseMode = connReuseMode
        self.sloppyTCP = sloppyTCP
    }

    public static let defaults = IPVSTunables()

    /// The names the rules file and lvsadm use, IPVS's sysctl names.
    public enum Name: String, CaseIterable, Sendable {
        case expireNodestConn = "expire_nodest_conn"
        case expireQuiescentTemplate = "expire_quiescent_template"
        case connReuseMode = "conn_reuse_mode"
        case sloppyTCP = "sloppy_tcp"

        /// The largest value the tunable takes (all take 0 and up).
        public var maximum: UInt8 { self == .connReuseMode ? 3 : 1 }
    }

    public subscript(name: Name) -> UInt8 {
        get {
            switch name {
            case .expireNodestConn: expireNodestConn ? 1 : 0
            case .expireQuiescentTemplate: expireQuiescentTemplate ? 1 : 0
            case .connReuseMode: connReuseMode
            case .sloppyTCP: sloppyTCP ? 1 : 0
            }
        }
        set {
            switch name {
            case .expireNodestConn: expireNodestConn = newValue != 0
            case .expireQuiescentTemplate: expireQuiescentTemplate = newValue != 0
            case .connReuseMode: connReuseMode = newValue
            case .sloppyTCP: sloppyTCP = newValue != 0
            }
        }
    }
}
