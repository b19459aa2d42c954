/// Service names a port may be given by (`-t 198.18.0.10:http`), as ipvsadm resolves them
/// through /etc/services. A fixed table keeps parsing independent of the machine: the
/// names operators actually put in LVS rules, with their IANA port numbers.
enum PortNames {
    static let table: [(name: String, port: UInt16)] = [
        ("ftp", 21),
        ("ssh", 22),
        ("telnet", 23),
        ("smtp", 25),
        ("domain", 53),
        ("http", 80),
        ("pop3", 110),
        ("ntp", 123),
        ("imap", 143),
        ("https", 443),
        ("imaps", 993),
        ("pop3s", 995),
        ("mysql", 3306),
    ]

    static func port(named name: String) -> UInt16? {
        table.first { $0.name == name }?.port
    }

    static var knownNames: String { table.map(\.name).joined(separator: ", ") }
}
