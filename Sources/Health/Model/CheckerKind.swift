/// The checker kinds SwiftLVS runs, named by their keepalived.conf keyword.
public enum CheckerKind: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case tcp = "TCP_CHECK"
    case httpGet = "HTTP_GET"
    case sslGet = "SSL_GET"
    case misc = "MISC_CHECK"
    case ping = "PING_CHECK"
    case udp = "UDP_CHECK"

    public var description: String { rawValue }
}
