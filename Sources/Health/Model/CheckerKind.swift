/// keepalived.conf's checker kinds, named by their keyword. SwiftLVS runs all but BFD_CHECK,
/// which the keepalived.conf reader refuses (there is no BFD daemon to follow); a kind without
/// a runtime would be planned with a checker that always fails (`NotImplementedChecker`), so a
/// server it guards starts down instead of counting as healthy.
public enum CheckerKind: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case tcp = "TCP_CHECK"
    case httpGet = "HTTP_GET"
    case sslGet = "SSL_GET"
    case misc = "MISC_CHECK"
    case ping = "PING_CHECK"
    case udp = "UDP_CHECK"
    case dns = "DNS_CHECK"
    case smtp = "SMTP_CHECK"
    case file = "FILE_CHECK"
    case bfd = "BFD_CHECK"

    /// Whether SwiftLVS runs this kind.
    public var isImplemented: Bool {
        switch self {
        case .tcp, .httpGet, .sslGet, .misc, .ping, .udp, .dns, .smtp, .file: true
        case .bfd: false
        }
    }

    public var description: String { rawValue }
}
