import Core

/// Service names a port may be given by (`-t 198.18.0.10:http`) and is listed by
/// (`lvsadm -L` without `-n`), as ipvsadm resolves them through /etc/services with
/// `getservbyname`/`getservbyport` for the service's protocol. A fixed table keeps parsing
/// and listing independent of the machine: the names operators put in LVS rules, each with
/// its port, protocols and aliases exactly as Debian's netbase 6.4 /etc/services has them
/// (so `-L` prints `imap2` for 143/tcp, and `ntp` only for UDP).
enum PortNames {
    struct Entry {
        var name: String
        var port: UInt16
        var tcp: Bool
        var udp: Bool
        var aliases: [String] = []

        func serves(_ proto: TransportProtocol?) -> Bool {
            switch proto {
            case nil: true
            case .tcp: tcp
            case .udp: udp
            }
        }
    }

    static let table: [Entry] = [
        Entry(name: "ftp", port: 21, tcp: true, udp: false),
        Entry(name: "ssh", port: 22, tcp: true, udp: false),
        Entry(name: "telnet", port: 23, tcp: true, udp: false),
        Entry(name: "smtp", port: 25, tcp: true, udp: false, aliases: ["mail"]),
        Entry(name: "domain", port: 53, tcp: true, udp: true),
        Entry(name: "http", port: 80, tcp: true, udp: false, aliases: ["www"]),
        Entry(name: "kerberos", port: 88, tcp: true, udp: true, aliases: ["kerberos5", "krb5", "kerberos-sec"]),
        Entry(name: "pop3", port: 110, tcp: true, udp: false, aliases: ["pop-3"]),
        Entry(name: "ntp", port: 123, tcp: false, udp: true),
        Entry(name: "imap2", port: 143, tcp: true, udp: false, aliases: ["imap"]),
        Entry(name: "snmp", port: 161, tcp: true, udp: true),
        Entry(name: "ldap", port: 389, tcp: true, udp: true),
        Entry(name: "https", port: 443, tcp: true, udp: true),
        Entry(name: "syslog", port: 514, tcp: false, udp: true),
        Entry(name: "submission", port: 587, tcp: true, udp: false),
        Entry(name: "ldaps", port: 636, tcp: true, udp: true),
        Entry(name: "imaps", port: 993, tcp: true, udp: false),
        Entry(name: "pop3s", port: 995, tcp: true, udp: false),
        Entry(name: "radius", port: 1812, tcp: true, udp: true),
        Entry(name: "mysql", port: 3306, tcp: true, udp: false),
        Entry(name: "postgresql", port: 5432, tcp: true, udp: false, aliases: ["postgres"]),
        Entry(name: "sip", port: 5060, tcp: true, udp: true),
        Entry(name: "redis", port: 6379, tcp: true, udp: false),
        Entry(name: "http-alt", port: 8080, tcp: true, udp: false, aliases: ["webcache"]),
    ]

    /// The port a name (or alias) stands for under `proto` (`getservbyname(name, "tcp")`);
    /// with no protocol, under either.
    static func port(named name: String, proto: TransportProtocol? = nil) -> UInt16? {
        table.first { ($0.name == name || $0.aliases.contains(name)) && $0.serves(proto) }?.port
    }

    /// The official name of `port` under `proto` (`getservbyport`), or nil to print the number.
    static func name(of port: UInt16, proto: TransportProtocol) -> String? {
        table.first { $0.port == port && $0.serves(proto) }?.name
    }

    static var knownNames: String { table.map(\.name).joined(separator: ", ") }
}
