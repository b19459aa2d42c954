import Core

/// lvsd's lines for what kernel IPVS keeps in sysctls and ipvsadm cannot set
/// (Documentation/networking/ipvs-sysctl.rst), read alike in a rules file and in
/// keepalived.conf's `lvsd_director` block:
///
///     tunable expire_nodest_conn|expire_quiescent_template|conn_reuse_mode|sloppy_tcp VALUE
///     tunable ftp_ports PORT[,PORT...]      (ip_vs_ftp's ports=, default 21; 0: no FTP helper)
///     timeout STATE SECONDS
///
/// `timeout` sets one connection state's timeout, as the kernel's per-state table holds them
/// (`--set` reaches only ESTABLISHED, FIN_WAIT and UDP): STATE is a name `lvsadm -Lc` prints
/// (`syn_recv`, `time_wait`, ..., `udp`), in either case.
enum TunableLine {
    static let tunableKeyword = "tunable"
    static let timeoutKeyword = "timeout"
    static let ftpPortsName = "ftp_ports"

    static func apply(_ tokens: [RulesToken], to builder: inout RulesBuilder, at location: RulesLocation) throws(ConfigError) {
        let values = RulesValues(location: location)
        let names = tokens[0].text == tunableKeyword
            ? (IPVSTunables.Name.allCases.map(\.rawValue) + [ftpPortsName]).joined(separator: ", ")
            : ConnectionState.allCases.map { $0.description.lowercased() }.joined(separator: ", ")
        let usage = tokens[0].text == tunableKeyword ? "write 'tunable NAME VALUE' (NAME: \(names))" : "write 'timeout STATE SECONDS' (STATE: \(names))"
        guard tokens.count == 3 else {
            throw location.error(tokens.count < 3 ? "'\(tokens[0].text)' needs a name and a value; \(usage)"
                                 : "unexpected word '\(tokens[3].text)'; \(usage)", at: tokens.count < 3 ? tokens[0] : tokens[3])
        }
        if tokens[0].text == tunableKeyword && tokens[1].text == ftpPortsName {
            builder.setFTPPorts(try ftpPorts(tokens[2], location: location))
        } else if tokens[0].text == tunableKeyword {
            guard let name = IPVSTunables.Name(rawValue: tokens[1].text) else {
                throw location.error("unknown tunable '\(tokens[1].text)'; known: \(names)", at: tokens[1])
            }
            let value = try values.number(tokens[2], in: 0...Int(name.maximum), what: name.rawValue)
            builder.setTunable(name, UInt8(value))
        } else {
            guard let state = ConnectionState.allCases.first(where: { $0.description.lowercased() == tokens[1].text.lowercased() }) else {
                throw location.error("unknown connection state '\(tokens[1].text)'; known: \(names)", at: tokens[1])
            }
            let seconds = try values.number(tokens[2], in: 1...RulesValues.maximumTimeout, what: "timeout in seconds")
            builder.setTimeout(state, UInt32(seconds))
        }
    }

    /// `21,2121`: up to 8 ports (IPVS's `IP_VS_APP_MAX_PORTS`), each 1–65535; `0` alone: none.
    static func ftpPorts(_ token: RulesToken, location: RulesLocation) throws(ConfigError) -> FTPPorts {
        if token.text == "0" { return .none }
        var ports: [UInt16] = []
        var column = token.column
        for part in token.text.split(separator: ",", omittingEmptySubsequences: false) {
            let item = RulesToken(text: String(part), column: column)
            column += part.count + 1
            guard let port = UInt16(part), port != 0 else {
                throw location.error("invalid FTP port '\(part)'; give ports from 1 to 65535 separated by commas (0 alone: no FTP helper)",
                                     at: item)
            }
            ports.append(port)
        }
        guard let set = FTPPorts(ports) else {
            throw location.error("too many FTP ports; at most \(FTPPorts.maximumCount), as ip_vs_ftp takes", at: token)
        }
        return set
    }
}
